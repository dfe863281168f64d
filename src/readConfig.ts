/**
 * Reads the Worker's environment into its `Config` (src/config.ts), once per isolate: the shared piece and every
 * registered engine's (src/engines/index.ts). A bad deployment answers 500 BAD_CONFIGURATION naming every
 * offending variable, never its value (values may be secrets). Only the top imports this module (src/app.ts,
 * src/index.ts, the scripts): it imports the registry, and the code below the engines must not.
 */
import { variablesOf, type ConfigPiece } from "./configFields";
import { sharedConfig, type Config, type ConfigResult, type Env } from "./config";
import { engines } from "./engines";
import { GatewayError } from "./errors";
import { isObj } from "./jsonValue";

/** Every piece, the shared one first: problems are reported in this order. */
const PIECES: readonly ConfigPiece[] = [sharedConfig, ...new Set(engines.flatMap((e) => (e.config ? [e.config] : [])))];

/** Every variable the Worker reads (the local stack passes each through from its environment). */
export const CONFIG_VARIABLE_NAMES: readonly string[] = PIECES.flatMap(variablesOf);

/**
 * Sections are put together member by member; a member two pieces both give as an object (`upstreams`,
 * `uiUpstreams`: one entry per engine) is merged one level deep.
 */
function addSection(into: Record<string, unknown>, section: object): void {
  for (const [k, v] of Object.entries(section)) {
    const had = into[k];
    into[k] = isObj(had) && isObj(v) ? { ...had, ...v } : v;
  }
}

/**
 * Validates the environment. Pure: the same env always gives the same answer. Messages name variables and what is
 * wrong with them, never a value.
 */
export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of CONFIG_VARIABLE_NAMES) {
    const v = env[key];
    if (v === undefined || v === null) continue;
    if (typeof v === "string") input[key] = v;
    else if (typeof v === "number" || typeof v === "boolean") input[key] = String(v);
    else problems.push(`${key}: must be a string`);
  }
  if (!env.KEY_CACHE || typeof (env.KEY_CACHE as KVNamespace).get !== "function") {
    problems.push("KEY_CACHE: KV namespace binding is missing");
  }
  const config: Record<string, unknown> = {};
  for (const piece of PIECES) {
    const parsed = piece.safeParse(input);
    if (parsed.success) {
      addSection(config, parsed.data);
      continue;
    }
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      problems.push(`${name}: ${issue.code === "invalid_type" ? "is required" : issue.message}`);
    }
  }
  if (problems.length > 0) {
    const variables = [...new Set(problems.map((p) => p.split(":")[0]!))];
    return {
      ok: false,
      error: new GatewayError("BAD_CONFIGURATION", `invalid configuration: ${problems.join("; ")}`, { variables }),
    };
  }
  // Each section is its piece's output, and Config's type is made of the same pieces' outputs (src/config.ts and the
  // engines' augmentations of it, each in the piece's own file).
  return { ok: true, config: config as unknown as Config };
}

const memo = new WeakMap<object, ConfigResult>();

/** `parseConfig`, once per env object (workerd hands the same object to every request of an isolate). */
export function configFor(env: Env): ConfigResult {
  let result = memo.get(env);
  if (!result) {
    result = parseConfig(env);
    memo.set(env, result);
  }
  return result;
}
