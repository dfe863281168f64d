/**
 * The `${...}` expressions Conductor resolves in what a definition holds. Pure.
 *
 * conductor-oss/conductor core/utils/ParametersUtils.java `replaceVariables` resolves every `${path}` in a task's
 * inputs, a workflow's outputs, a task definition's `inputTemplate` and an event handler's start input (values at
 * any depth, also inside lists), and for each path:
 * - resolves a `${...}` nested in the path first (so the path's name can come from the start input);
 * - `workflow.secrets.*` and `workflow.env.*` come from the server's secret and environment stores, which every
 *   tenant shares;
 * - a path naming an environment variable or a Java system property of the server (common/utils/EnvUtils.java
 *   `isEnvironmentVariable`, `getSystemParametersValue`: `System.getenv`, `System.getProperty`) is replaced by its
 *   value, before the workflow's own document is read;
 * - anything else is a JsonPath over the workflow's own document: `workflow` (the keys of `getTaskInputV2`'s
 *   workflowParams) and each task by reference name (its taskParams).
 * So a path is accepted only when it reads that document: `workflow.<key>` or `<ref>.<key>` with a key of those
 * maps, or `CPEWF_TASK_ID` (the task's own id). A path nested in a path, unclosed, or naming anything else is
 * refused: it would read the shared server's environment or stores.
 *
 * An event handler's action input is resolved the same way over the event's payload (core/events/
 * SimpleActionProcessor.java, `parametersUtils.replace(input, payload)`), whose keys are anyone's: there a path is
 * accepted only rooted at the payload, `$.<key>` or `$[...]` (no environment variable or property is so named),
 * since a bare `${http_proxy}` or `${user.home}` would read the server's.
 */
import { MAX_JSON_DEPTH } from "../../constants";
import { isObj } from "../../jsonValue";

/** workflowParams of ParametersUtils.getTaskInputV2: what `${workflow.<key>}` reads. */
const WORKFLOW_KEYS = [
  "input",
  "output",
  "status",
  "workflowId",
  "parentWorkflowId",
  "parentWorkflowTaskId",
  "workflowType",
  "version",
  "correlationId",
  "reasonForIncompletion",
  "schemaVersion",
  "variables",
];

/** taskParams of ParametersUtils.getTaskInputV2: what `${<taskReferenceName>.<key>}` reads. */
const TASK_KEYS = [
  "input",
  "output",
  "taskType",
  "status",
  "referenceTaskName",
  "retryCount",
  "correlationId",
  "pollCount",
  "taskDefName",
  "scheduledTime",
  "startTime",
  "endTime",
  "workflowInstanceId",
  "taskId",
  "reasonForIncompletion",
  "callbackAfterSeconds",
  "workerId",
  "iteration",
];

/**
 * What may follow a path's root: property names (dotted, or bracketed in quotes), indices and wildcards, the
 * JsonPath that only selects. Conductor reads a path with Jayway JsonPath (json-path 2.4.0), whose functions
 * compute: `concat()` joins strings, so `${workflow.input.parts.concat()}` or `${x.concat("$", "\u007b...")}`
 * would build a `${workflow.secrets.*}` reference inside one expression that `substituteSecrets` then replaces at
 * hand-off; a filter `[?(...)]` runs predicates, `=~` a regular expression of the writer's on the shared server. So
 * no function, filter, slice, union or script is accepted: only what this grammar names.
 */
const NAME = String.raw`[\p{L}\p{N}_\-]+`;
const QUOTED = String.raw`'[^'"\\\[\](){}$]*'|"[^'"\\\[\](){}$]*"`;
const SELECTOR = String.raw`(?:\.(?:${NAME}|\*)|\.\.${NAME}|\[(?:-?[0-9]{1,9}|\*|${QUOTED})\])`;
const TAIL = `${SELECTOR}*`;

const DOCUMENT_PATH = new RegExp(`^(?:workflow\\.(?:${WORKFLOW_KEYS.join("|")})|${NAME}\\.(?:${TASK_KEYS.join("|")}))${TAIL}$`, "u");

/** A JsonPath rooted at the event's payload, held to the same selectors. */
const PAYLOAD_PATH = new RegExp(`^\\$${TAIL}$`, "u");

/** What a `${...}` is resolved over: a workflow's own document, or an event's payload. */
export type ExpressionRoot = "workflow" | "payload";

/** Why one string's expressions are refused, or null. */
function stringProblem(s: string, root: ExpressionRoot): string | null {
  let at = s.indexOf("${");
  while (at !== -1) {
    const end = s.indexOf("}", at + 2);
    if (end === -1) return "an unclosed ${";
    const path = s.slice(at + 2, end);
    if (path.includes("{")) return "a ${...} nested in an expression (its name would be chosen at run time)";
    const trimmed = path.trim();
    if (root === "payload") {
      if (trimmed !== "" && !PAYLOAD_PATH.test(path))
        return `\${${path.slice(0, 64)}} is not a path of the event's payload ($.<field>): Conductor would read the server's environment or system properties by that name`;
    } else if (trimmed !== "" && trimmed !== "CPEWF_TASK_ID" && !DOCUMENT_PATH.test(path)) {
      return `\${${path.slice(0, 64)}} does not read the workflow's own document (workflow.<field> or <taskReferenceName>.<field>): Conductor would read the server's environment, system properties or shared stores`;
    }
    at = s.indexOf("${", end + 1);
    const after = s.slice(end + 1, at === -1 ? undefined : at);
    if (at !== -1 && after === "")
      return "two ${...} side by side (their values would join into an expression Conductor resolves at hand-off)";
    if (continuesSecretOpening(after, at !== -1))
      return `the text after \${${path.slice(0, 64)}} could complete a \${workflow.secrets.*} with the value before it`;
  }
  return null;
}

/**
 * Whether text written right after an interpolated value could finish a secret reference that value starts: the
 * resolved string is joined from values and text, and `substituteSecrets` then reads the joined string. A value
 * may not hold `${workflow.secrets` itself (`secretReferenceProblem`), so only the text's start is looked at; text
 * that a further value follows may also end inside the opening.
 */
function continuesSecretOpening(text: string, valueFollows: boolean): boolean {
  for (let k = 1; k < SECRET_REFUSED.length; k++) {
    const rest = SECRET_OPENING.slice(k);
    if (text.startsWith(rest) || (valueFollows && text !== "" && rest.startsWith(text))) return true;
  }
  return false;
}

/** Why an expression somewhere in `value` (any depth, values only) is refused, naming its place, or null. */
export function expressionProblem(value: unknown, where: string, root: ExpressionRoot = "workflow", depth = 0): string | null {
  if (typeof value === "string") {
    const p = stringProblem(value, root);
    return p === null ? null : `${where || "(value)"}: ${p}`;
  }
  if (depth > MAX_JSON_DEPTH) return `${where}: nested too deep`;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = expressionProblem(v, `${where}[${i}]`, root, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const p = expressionProblem(v, where === "" ? k.slice(0, 64) : `${where}.${k.slice(0, 64)}`, root, depth + 1);
      if (p) return p;
    }
  }
  return null;
}

/**
 * What Conductor resolves in data as well: `${workflow.secrets.<name>}` is left literal when a task's input is
 * resolved and is replaced at hand-off, over the resolved input, whoever wrote the string (ParametersUtils
 * `substituteSecrets`, SECRET_PATTERN `\$\{workflow\.secrets\.([^}]+)\}`, called from ExecutionService.poll,
 * AsyncSystemTaskExecutor and the synchronous system tasks), from a store every tenant shares (by default
 * core/secrets/EnvVariableSecretsDAO.java: the server's `CONDUCTOR_SECRET_*` and LLM API key variables). A start
 * input, a rerun's overrides or a task's output passed on as `${workflow.input.x}` would hand it to the tenant's
 * worker, so no string a client sends Conductor may hold its opening.
 */
const SECRET_OPENING = "${workflow.secrets.";
/** What a value may not hold: the opening but for its last dot, so that no value joined to `.` completes it. */
const SECRET_REFUSED = SECRET_OPENING.slice(0, -1);

/**
 * Rounds of escape decoding read before a string is refused: each round peels one level of escaping (a JSON text
 * held in a string, or an escape written as escapes), and no JSON a client writes nests escapes this deep. The bound
 * keeps the check linear: without it `\u005cu005cu005c...` loses one level a round, n/5 rounds over n characters.
 */
const MAX_ESCAPE_ROUNDS = 16;

/**
 * Whether a string holds the opening, as written or once its `\uXXXX` escapes are decoded, at any level of
 * escaping: Conductor parses JSON held in strings (an event handler's `expandInlineJSON`, Jackson's `readValue` of
 * each string that looks like JSON), so `{"x":"\u0024{workflow.secrets.DB}"}` becomes `${workflow.secrets.DB}`
 * after the gateway looked. A run of backslashes is read as one whatever its length (one per level of nesting), and
 * decoding repeats until nothing changes, so an escape that decodes to an escape is read too; escapes still
 * changing after MAX_ESCAPE_ROUNDS rounds are refused as such (fail closed, and linear).
 */
function secretOpening(s: string): "held" | "nested" | null {
  if (s.includes(SECRET_REFUSED)) return "held";
  if (!s.includes("\\")) return null; // no escape to decode: the common case, one scan
  let text = s;
  for (let round = 0; round < MAX_ESCAPE_ROUNDS; round++) {
    // Runs of backslashes collapse to one first (one linear pass: `\\+u` tried at each backslash of a long run that
    // no `u` follows would be quadratic), then each escape is decoded.
    const decoded = text
      .replace(/\\+/g, "\\")
      .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (decoded === text) return null;
    if (decoded.includes(SECRET_REFUSED)) return "held";
    text = decoded;
  }
  return "nested";
}

const SECRET_HELD = "${workflow.secrets.*}, which Conductor would replace by a secret of the shared server";
const ESCAPES_NESTED = `escapes nested more than ${MAX_ESCAPE_ROUNDS} levels deep, which the gateway does not read through`;

/** Where a string of `value` (any depth, keys too) holds a secret reference Conductor resolves in data, or null. */
export function secretReferenceProblem(value: unknown, where = "body", depth = 0): string | null {
  if (typeof value === "string") {
    const found = secretOpening(value);
    if (found === "nested") return `${where}: ${ESCAPES_NESTED}`;
    return found === "held"
      ? `${where}: \${workflow.secrets.*} is not allowed in data (Conductor would replace it by a secret of the shared server)`
      : null;
  }
  if (depth > MAX_JSON_DEPTH) return `${where}: nested too deep`;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = secretReferenceProblem(v, `${where}[${i}]`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const at = `${where}.${k.slice(0, 64)}`;
      const p = secretReferenceProblem(k, at, depth + 1) ?? secretReferenceProblem(v, at, depth + 1);
      if (p) return p;
    }
  }
  return null;
}

/**
 * Where a request about to be sent to Conductor carries a secret reference: a path segment, a query parameter's
 * name or value (Spring binds both decoded), or the body's text. Conductor copies query parameters into the
 * workflow's document (a terminate's `reason` becomes `reasonForIncompletion` and a failure workflow's input; a
 * poll's `workerid` the task's `workerId`), where a selecting path reads them and `substituteSecrets` replaces the
 * joined reference at hand-off; so every value of every request is held to the data rule, at the one place all of
 * them leave the gateway (`ConductorUpstream.send`), whoever chose it (the client, or the gateway from the
 * principal). The body is the gateway's own JSON text: `JSON.stringify` escapes none of the opening's characters,
 * so a string (or key) holding it shows it verbatim, and two strings cannot join into it across a quote.
 */
export function secretInRequest(
  segments: readonly string[],
  query: URLSearchParams | undefined,
  bodyText: string | undefined,
): string | null {
  const refused = (found: "held" | "nested") => (found === "held" ? `holds ${SECRET_HELD}` : `holds ${ESCAPES_NESTED}`);
  for (const s of segments) {
    const found = secretOpening(s);
    if (found !== null) return `the path ${refused(found)}`;
  }
  if (query)
    for (const [k, v] of query) {
      const found = secretOpening(k) ?? secretOpening(v);
      if (found !== null) return `query parameter ${JSON.stringify(k.slice(0, 64))} ${refused(found)}`;
    }
  const found = bodyText === undefined ? null : secretOpening(bodyText);
  if (found !== null) return `the body ${refused(found)}`;
  return null;
}
