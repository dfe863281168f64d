/**
 * docs/deploy.md, followed word for word. Every command of every `sh` block of the guide runs here, in the guide's
 * order, in bash from the checkout, except the Cloudflare-only ones (an account is needed). In place of
 * `wrangler deploy --secrets-file F`, the bundle the guide's dry run wrote (`dist/index.js`, the bytes `wrangler
 * deploy` uploads) is checked against Workers' size limit and started on workerd with that secrets file and the
 * guide's `[vars]`, against a real PostgreSQL (PGlite, or a scratch database on TEST_DATABASE_URL's server) that
 * stands in for Neon; the engines are the suite's stand-ins. Nothing is left out silently: a command the test does
 * not know to be Cloudflare-only is run, a shell variable the guide uses must be set by an earlier command or be
 * one of the guide's "What you bring", and a secret or variable the Worker does not read fails the test.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { SignJWT, exportSPKI, generateKeyPair, jwtVerify } from "jose";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db";
import { startIdp, type Idp } from "../../scripts/idp-stub";
import { startRuntime, wranglerFacts } from "../../scripts/worker-runtime";
import { CONFIG_VARIABLE_NAMES } from "../../src/readConfig";

const ROOT = new URL("../../", import.meta.url).pathname;
const GUIDE = readFileSync(`${ROOT}docs/deploy.md`, "utf8");
/** Workers' limit on a Worker's compressed size on the free plan (the paid plan's is 10 MiB). */
const FREE_PLAN_GZIP_LIMIT = 3 * 1024 * 1024;

/** Commands that need a Cloudflare account: the guide's introduction names the same ones. */
const CLOUDFLARE_ONLY = [
  /^npx wrangler (login|whoami|kv |deployments |rollback)/,
  /^npx wrangler deploy(?!.* --dry-run)/,
  /(^|\| *)npx wrangler secret put [A-Z_]+$/,
  /^cloudflared /,
];

interface Block {
  section: string;
  lang: string;
  text: string;
}

/** The fenced blocks of the guide, with the `## ` section each is in (fences may be indented, in a list item). */
function blocksOf(markdown: string): Block[] {
  const out: Block[] = [];
  let section = "";
  let open: { lang: string; indent: string; lines: string[] } | null = null;
  for (const line of markdown.split("\n")) {
    if (open) {
      if (line.trim() === "```") {
        out.push({ section, lang: open.lang, text: open.lines.join("\n") });
        open = null;
      } else open.lines.push(line.startsWith(open.indent) ? line.slice(open.indent.length) : line);
      continue;
    }
    const fence = /^(\s*)```(\w*)\s*$/.exec(line);
    if (fence) open = { lang: fence[2]!, indent: fence[1]!, lines: [] };
    else if (line.startsWith("## ")) section = line.slice(3);
  }
  return out;
}

/** A block's commands: continued lines joined, blank and comment lines left out; a `{ ... }` group is one command. */
function commandsOf(text: string): string[] {
  const commands: string[] = [];
  let current = "";
  let depth = 0;
  for (const raw of text.split("\n")) {
    if (depth === 0 && current === "" && (raw.trim() === "" || raw.trim().startsWith("#"))) continue;
    current += (current === "" ? "" : "\n") + raw;
    if (raw.trim() === "{") depth++;
    if (/^\s*}/.test(raw)) depth--;
    if (depth === 0 && !raw.endsWith("\\")) {
      commands.push(current);
      current = "";
    }
  }
  expect(current, "an unfinished command in the guide").toBe("");
  return commands;
}

const isCloudflareOnly = (command: string) => CLOUDFLARE_ONLY.some((re) => re.test(command));

function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const blocks = blocksOf(GUIDE);
/** The variables the guide asks the operator to bring (its "What you bring" table). */
const BROUGHT = [...GUIDE.split("## 1.")[0]!.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);

let db: LocalDatabase;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
let home: string;
let mf: Miniflare | undefined;
let idp: Idp | undefined;
const tag = `deploy${Date.now().toString(36)}`;
const stub = (path: string) => `http://127.0.0.1:${inject("stubPort")}${path}`;
/** The shell's variables: what the operator brings, then what the guide's commands set. */
let shell: Record<string, string> = {};
let flowauthToken = "";
const ran: string[] = [];
/** What the guide's secrets file held when it was deployed. */
let deployed: Record<string, string> = {};
const report: string[] = [];

beforeAll(async () => {
  // A database of its own, empty: the guide's migration is what creates the tables.
  const server = process.env.TEST_DATABASE_URL;
  scratch = server ? await createScratchDatabase(server, "deploy") : null;
  db = await startLocalDatabase({ databaseUrl: scratch?.url, migrate: false });
  // The operator's home: where the guide keeps the secrets file, and no CLI config file of the developer's.
  home = mkdtempSync(join(tmpdir(), "flowgate-deploy-home-"));
  const flowauth = await generateKeyPair("RS256", { extractable: true });
  writeFileSync(join(home, "flowauth-public.pem"), await exportSPKI(flowauth.publicKey));
  flowauthToken = await new SignJWT({
    aud: "flowapi",
    sub: "smoke",
    jti: crypto.randomUUID(),
    user_claims: { smoke: ["get_result", "nonspatial:available_dates:available_dates"] },
  })
    .setProtectedHeader({ alg: "RS256" })
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(flowauth.privateKey);
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await idp?.close();
  await db?.close();
  await scratch?.drop();
  rmSync(home, { recursive: true, force: true });
  rmSync(`${ROOT}dist`, { recursive: true, force: true });
});

/** Runs a run of the guide's commands as one bash script; the variables they set carry over to the next. */
async function bash(commands: string[]): Promise<string> {
  const envFile = join(home, ".guide-env");
  const script = ["set -euo pipefail", "set -a", ...commands, `env -0 > ${JSON.stringify(envFile)}`].join("\n");
  const { FLOWGATE_URL, FLOWGATE_ADMIN_KEY, FLOWGATE_CONFIG, DATABASE_URL, ...inherited } = process.env;
  try {
    const { stdout } = await promisify(execFile)("bash", ["-c", script], {
      cwd: ROOT,
      env: { ...inherited, ...shell, HOME: home },
      maxBuffer: 16 * 1024 * 1024,
    });
    shell = Object.fromEntries(
      readFileSync(envFile, "utf8")
        .split("\0")
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    ran.push(...commands);
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`the guide's commands failed:\n${commands.join("\n")}\n${e.stderr ?? ""}${e.stdout ?? ""}${e.message}`);
  }
}

/** `wrangler deploy --secrets-file F`, locally: the dry run's bundle on workerd with F and the guide's [vars]. */
async function deployLocally(command: string): Promise<void> {
  const file = /--secrets-file (\S+)/.exec(command)?.[1]?.replace(/^~/, home);
  expect(file, "the guide deploys with its secrets file").toBeDefined();
  const secrets = parseDotenv(readFileSync(file!, "utf8"));
  deployed = secrets;
  const vars = parseDotenv(
    blocks
      .filter((b) => b.lang === "toml")
      .map((b) => b.text.replace(/^([A-Z_]+) = "(.*)"$/gm, "$1=$2"))
      .join("\n"),
  );
  for (const name of [...Object.keys(secrets), ...Object.keys(vars)]) expect(CONFIG_VARIABLE_NAMES, `${name} in the guide`).toContain(name);
  // The guide's engines, each at the suite's stand-in for it (their real addresses are the operator's).
  const standIns: Record<string, string> = {
    PREFECT_GRAPHQL_URL: stub(`/prefect/${tag}/graphql`),
    CONDUCTOR_URL: stub(`/conductor/${tag}`),
    SCHELLAR_URL: stub(`/schellar/${tag}`),
    ARGO_URL: stub(`/argo/${tag}`),
    FLOWAPI_URL: stub(`/flowapi/${tag}`),
  };
  for (const name of Object.keys(vars)) if (name.endsWith("_URL") && standIns[name]) vars[name] = standIns[name];
  expect(
    Object.keys(standIns).filter((n) => !(n in vars)),
    "every engine in the guide's [vars]",
  ).toEqual([]);
  // The OpenID provider likewise: a real one (node-oidc-provider) knowing the guide's client, secret and redirect URI.
  expect(vars.OIDC_ISSUER && vars.OIDC_CLIENT_ID && vars.OIDC_REDIRECT_URI, "the guide's OIDC_* [vars]").toBeTruthy();
  idp = await startIdp({
    clients: [{ client_id: vars.OIDC_CLIENT_ID!, client_secret: secrets.OIDC_CLIENT_SECRET!, redirect_uris: [vars.OIDC_REDIRECT_URI!] }],
  });
  vars.OIDC_ISSUER = idp.issuer;

  const bundle = `${ROOT}dist/index.js`;
  expect(existsSync(bundle), "the dry run wrote dist/index.js").toBe(true);
  const gzipped = gzipSync(readFileSync(bundle)).length;
  report.push(`bundle: ${(readFileSync(bundle).length / 1024).toFixed(0)} KiB, gzip ${(gzipped / 1024).toFixed(0)} KiB`);
  expect(gzipped).toBeLessThan(FREE_PLAN_GZIP_LIMIT);

  // The guide's `wrangler check startup`: the profile of the startup phase, within Cloudflare's 1 s (a loaded
  // test machine is slower than Cloudflare's, so this bound is generous there).
  const profile = JSON.parse(readFileSync(`${ROOT}dist/startup.cpuprofile`, "utf8")) as { startTime: number; endTime: number };
  const startupMs = (profile.endTime - profile.startTime) / 1000;
  report.push(`startup profile: ${startupMs.toFixed(0)} ms`);
  expect(startupMs).toBeGreaterThan(0);
  expect(startupMs).toBeLessThan(1000);

  const started = performance.now();
  const runtime = await startRuntime({
    scriptPath: bundle,
    port: 0,
    compatibilityDate: wranglerFacts().compatibilityDate,
    // wrangler.toml's [vars], the guide's, its secrets file; and the one local-only binding: the Neon driver's
    // WebSocket reaches the local database through the bridge, as it reaches Neon's proxy in production.
    bindings: { ...wranglerFacts().vars, ...vars, ...secrets, DB_WS_PROXY: db.wsProxy },
    onStdout: () => {},
    onStderr: (l) => report.push(`workerd: ${l}`),
  });
  mf = runtime.mf;
  // Started: the bundle's top level evaluated and its first request answered (Cloudflare allows 1 s of startup;
  // a loaded test machine is no measure of that, so the time is reported, not held to it).
  expect((await fetch(`${runtime.url}/healthz`)).status).toBe(200);
  report.push(`workerd start to first answer: ${(performance.now() - started).toFixed(0)} ms`);
  shell.GW = runtime.url;
}

describe("docs/deploy.md", () => {
  it("asks the operator for what it uses, and names only variables the Worker reads", () => {
    expect(BROUGHT.sort()).toEqual([
      "FLOWAUTH_PUBLIC_KEY_FILE",
      "FLOWAUTH_TOKEN",
      "GW",
      "NEON_DIRECT",
      "NEON_POOLED",
      "OIDC_CLIENT_SECRET",
    ]);
    for (const m of GUIDE.matchAll(/wrangler secret put ([A-Z_]+)/g)) expect(CONFIG_VARIABLE_NAMES, m[1]).toContain(m[1]);
    // Every secret the guide's table lists is one the Worker reads.
    const table = GUIDE.split("## 4.")[1]!.split("```")[0]!;
    for (const m of table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)) expect(CONFIG_VARIABLE_NAMES, m[1]).toContain(m[1]);
    expect(readFileSync(`${ROOT}wrangler.toml`, "utf8")).toContain("docs/contract.md");
  });

  it("run command by command, gives a bundle within Workers' limits, a migrated database, a first admin key, and a gateway answering every smoke check", async () => {
    shell = {
      NEON_POOLED: db.workerDatabaseUrl,
      NEON_DIRECT: db.nodeDatabaseUrl,
      OIDC_CLIENT_SECRET: "stand-in-oidc-client-secret",
      FLOWAUTH_PUBLIC_KEY_FILE: join(home, "flowauth-public.pem"),
      FLOWAUTH_TOKEN: flowauthToken,
    };
    const skipped: string[] = [];
    const outputs = new Map<string, string>();
    for (const block of blocks.filter((b) => b.lang === "sh")) {
      let pending: string[] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        const known = new Set(Object.keys(shell));
        for (const c of pending) {
          for (const m of c.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g))
            expect(known.has(m[1]!), `${m[1]} in ${JSON.stringify(c.slice(0, 80))}: set earlier or brought`).toBe(true);
          const assigned = /^([A-Z_][A-Z0-9_]*)=/.exec(c)?.[1];
          if (assigned) known.add(assigned);
        }
        outputs.set(block.section, (outputs.get(block.section) ?? "") + (await bash(pending)));
        pending = [];
      };
      for (const command of commandsOf(block.text)) {
        if (!isCloudflareOnly(command)) {
          pending.push(command);
          continue;
        }
        await flush();
        skipped.push(command);
        if (/^npx wrangler deploy /.test(command)) await deployLocally(command);
      }
      await flush();
      // The database before the first admin key: the guide's migration made every table.
      if (block.section.startsWith("3.")) {
        const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
        await client.connect();
        const tables = (await client.query("select tablename from pg_tables where schemaname = 'public'")).rows.map((r) => r.tablename);
        await client.end();
        expect(tables).toEqual(expect.arrayContaining(["api_keys", "audit_events"]));
      }
    }
    console.log(`[deploy guide] ${report.join("; ")}\n  ran ${ran.length} commands; Cloudflare-only, not run: ${skipped.join(" | ")}`);

    // Every section the guide says is local ran something, and the Cloudflare-only part is what it says.
    expect(skipped.some((c) => c.startsWith("npx wrangler deploy --secrets-file"))).toBe(true);
    expect(ran.some((c) => c === "npx wrangler deploy --dry-run --outdir dist")).toBe(true);
    expect(ran.some((c) => c.includes("drizzle-kit migrate"))).toBe(true);
    expect(shell.ADMIN).toMatch(/^fgk_/);
    // The Conductor SDK login's token is signed with the secret the guide generated.
    expect(deployed.GATEWAY_TOKEN_SECRET).toMatch(/^[0-9a-f]{64}$/);
    await jwtVerify(shell.TOKEN!, new TextEncoder().encode(deployed.GATEWAY_TOKEN_SECRET));
    expect(existsSync(join(home, "flowgate-secrets.env")), "the guide removes its local copy of the secrets").toBe(false);

    // The smoke checks' answers, and what the engines received.
    const smoke = outputs.get("9. Smoke checks") ?? "";
    expect(smoke).toContain('{"status":"ok"}');
    expect(smoke).toMatch(/"subject":"root"/);
    expect(smoke).toContain('"project":[');
    expect(smoke).toContain("available_dates");
    expect(smoke).toContain(`${idp!.issuer}/`); // the provider's authorization URL: sign-in starts
    // The upstream assertion key the guide generated is published, and every engine call carried its assertion.
    expect(deployed.UPSTREAM_ASSERTION_KEYS).toBeTruthy();
    expect(smoke).toMatch(/"keys":\[\{[^\]]*"crv":"Ed25519"/);
    const recorded = (await (await fetch(stub(`/engine-records/${tag}`))).json()) as {
      path: string;
      headers: Record<string, string | undefined>;
    }[];
    expect(recorded.map((r) => r.path)).toEqual(expect.arrayContaining(["/graphql", "/api/v1/workflows/", "/api/0/available_dates"]));
    for (const r of recorded) expect(r.headers["x-flowgate-assertion"], r.path).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    // The smoke key is revoked, and the first admin key is the bootstrap's, audited as such.
    const keys = await fetch(`${shell.GW}/admin/keys?subject=smoke&includeRevoked=true`, {
      headers: { authorization: `Bearer ${shell.ADMIN}` },
    });
    expect(((await keys.json()) as { keys: { revokedAt: string | null }[] }).keys.map((k) => k.revokedAt !== null)).toEqual([true]);
    const audit = await fetch(`${shell.GW}/admin/audit?action=key.create`, { headers: { authorization: `Bearer ${shell.ADMIN}` } });
    expect(((await audit.json()) as { events: { details: { door: string } }[] }).events.map((e) => e.details.door).sort()).toEqual([
      "cli",
      "cli-bootstrap",
    ]);
  }, 300_000);
});
