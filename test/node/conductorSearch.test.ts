/**
 * The gateway's search queries, read by Conductor's own readers (issue 25, class 8): the Elasticsearch/OpenSearch
 * parser of es7-persistence (`dao/query/parser`, the same grammar in es8 and os-persistence-v2/v3) and
 * postgres-persistence's `PostgresIndexQueryBuilder` (sqlite-persistence's reads alike), compiled with the JDK
 * from Conductor's source at a pinned commit, beside stubs of their few dependencies
 * (test/node/conductorSearch/java: the query tree they build is recorded as JSON; the SQL and its parameters as
 * they are). Conductor's source is never committed here, and the suite reaches no network: it is read from a git
 * directory of conductor-oss/conductor holding that commit, named by CONDUCTOR_GIT_DIR. Without one (or without
 * `javac`) the file is skipped with a warning; run it with
 * `CONDUCTOR_GIT_DIR=/path/to/conductor.git npx vitest run test/node/conductorSearch.test.ts`.
 *
 * Every query the gateway would send, for client queries built to escape and for random ones, is read by
 * Conductor's reader; the filter or the SQL it yields is then evaluated on executions of the caller, of another
 * user of the tenant and of other tenants (one whose name the `_` wildcard reaches), reading every construct the
 * check cannot evaluate (a Lucene query_string, a time range) as matching anything. None but the caller's may match.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { scopedSearchQuery, type SearchScope } from "../../src/engines/conductor/search";

const COMMIT = "b54f0d4ee546c1053367e1c14405c5396c17bfb1";
const PARSER = "es7-persistence/src/main/java/com/netflix/conductor/es7/dao/query/parser";
const SOURCES = [
  ...["Expression", "FilterProvider", "GroupedExpression", "NameValue"].map((f) => `${PARSER}/${f}.java`),
  ...[
    "AbstractNode",
    "BooleanOp",
    "ComparisonOp",
    "ConstValue",
    "FunctionThrowingException",
    "ListConst",
    "Name",
    "ParserException",
    "Range",
  ].map((f) => `${PARSER}/internal/${f}.java`),
  "postgres-persistence/src/main/java/com/netflix/conductor/postgres/util/PostgresIndexQueryBuilder.java",
];

const hasJavac = spawnSync("javac", ["-version"]).status === 0;
const work = join(tmpdir(), `flowgate-conductor-oracle-${COMMIT.slice(0, 12)}`);
const stubs = fileURLToPath(new URL("./conductorSearch/java", import.meta.url));

const gitDir = process.env.CONDUCTOR_GIT_DIR;
if (!hasJavac || !gitDir) {
  console.warn(
    `[conductorSearch] skipped: ${hasJavac ? "" : "no javac; "}${gitDir ? "" : "CONDUCTOR_GIT_DIR (a git directory of conductor-oss/conductor) is not set"}`,
  );
}

async function conductorSource(path: string): Promise<string> {
  return execFileSync("git", [`--git-dir=${gitDir}`, "show", `${COMMIT}:${path}`], { encoding: "utf8" });
}

const javaFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? javaFiles(join(dir, f)) : f.endsWith(".java") ? [join(dir, f)] : [],
  );

type EsNode =
  | { bool: { must: EsNode[]; should: EsNode[]; mustNot: EsNode[] } }
  | { prefix: { field: string; value: string } }
  | { terms: { field: string; values: string[] } }
  | { query_string: string }
  | { range: unknown }
  | { match_all: unknown }
  | { exists: string };
type EsAnswer = { ok: true; filter: EsNode } | { ok: false; error: string };
type SqlAnswer = { ok: true; sql: string; params: (string | string[])[] } | { ok: false; error: string };

/** Runs Conductor's reader on every query at once: one JVM per grammar. */
function oracle<T>(grammar: "es" | "sql", queries: readonly string[]): T[] {
  const input = `${queries.map((q) => Buffer.from(q, "utf8").toString("base64")).join("\n")}\n`;
  const out = execFileSync("java", ["-Dfile.encoding=UTF-8", "-cp", join(work, "out"), "Oracle", grammar], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as T);
}

interface Execution {
  workflowType: string;
  correlationId: string;
  status: string;
}
const TENANT = "FACEBOOK";
const EXECUTIONS: Execution[] = [
  { workflowType: "FACEBOOK___wfA", correlationId: "alice", status: "RUNNING" },
  { workflowType: "FACEBOOK___wfB", correlationId: "bob", status: "RUNNING" },
  { workflowType: "OTHER___wfA", correlationId: "alice", status: "RUNNING" },
  // Reached by `FACEBOOK___%` in SQL LIKE, where `_` is any character.
  { workflowType: "FACEBOOKXYZ___wfA", correlationId: "alice", status: "RUNNING" },
  { workflowType: "legacy", correlationId: "alice", status: "RUNNING" },
];
const mayBeFoundBy = (scope: SearchScope) => (x: Execution) =>
  x.workflowType.startsWith(`${scope.tenant}___`) && (scope.ownExecutionsOf === null || x.correlationId === scope.ownExecutionsOf);

// Elasticsearch: whether a filter may match (anything the check cannot evaluate matches), or surely does.
const esField = (x: Execution, field: string) => (x as unknown as Record<string, string | undefined>)[field];
function esMay(n: EsNode, x: Execution): boolean {
  if ("prefix" in n) return esField(x, n.prefix.field)?.startsWith(n.prefix.value) ?? false;
  if ("terms" in n) return n.terms.values.includes(esField(x, n.terms.field) ?? "\u0000");
  if ("bool" in n) {
    const { must, should, mustNot } = n.bool;
    return must.every((m) => esMay(m, x)) && (should.length === 0 || should.some((s) => esMay(s, x))) && !mustNot.some((m) => esSure(m, x));
  }
  return true;
}
function esSure(n: EsNode, x: Execution): boolean {
  if ("prefix" in n || "terms" in n) return esMay(n, x);
  if ("match_all" in n) return true;
  if ("bool" in n) {
    const { must, should, mustNot } = n.bool;
    return (
      must.every((m) => esSure(m, x)) && (should.length === 0 || should.some((s) => esSure(s, x))) && !mustNot.some((m) => esMay(m, x))
    );
  }
  return false;
}

// SQL: the WHERE of the builder's statement, its `?` bound to the parameters in order, as PostgreSQL reads them.
const COLUMNS: Record<string, keyof Execution> = { workflow_type: "workflowType", correlation_id: "correlationId", status: "status" };
const like = (pattern: string) =>
  new RegExp(
    `^${[...pattern].map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}$`,
    "s",
  );
function sqlMay(answer: SqlAnswer, x: Execution): boolean {
  if (!answer.ok) return false; // Conductor fails the search: nothing is found
  const where = /WHERE (.*) LIMIT \? OFFSET \?$/.exec(answer.sql)?.[1];
  if (where === undefined) return true; // no condition at all: everything
  const fragments = where.split(" AND ");
  const placeholders = fragments.reduce((n, f) => n + (f.match(/\?/g)?.length ?? 0), 0);
  if (placeholders !== answer.params.length) return false; // pgjdbc refuses to bind a parameter past the last `?`
  let i = 0;
  return fragments.every((f) => {
    const m = /^\(?([a-z_]+) (= ANY\(\?\)|= \?|LIKE \?)( OR [a-z_]+ IS NULL\))?$/.exec(f);
    const n = f.match(/\?/g)?.length ?? 0;
    const params = answer.params.slice(i, i + n);
    i += n;
    const column = m ? COLUMNS[m[1]!] : undefined;
    if (!m || !column) return true; // a time, the full-text or JSON operators: not evaluated, may match
    const v = x[column];
    const p = params[0]!;
    // A text bound where an array is expected is read as an array literal: `{a,b}`.
    const list = Array.isArray(p) ? p : /^\{(.*)\}$/.test(p) ? p.slice(1, -1).split(",") : null;
    if (m[2] === "= ANY(?)") return list !== null && list.includes(v);
    if (m[2] === "= ?") return !Array.isArray(p) && p === v;
    return !Array.isArray(p) && like(p).test(v);
  });
}

/** Client queries built to escape each grammar, and ordinary ones. */
const ATTEMPTS = [
  "",
  "status = 'RUNNING'",
  "status IN (RUNNING,PAUSED)",
  "a' = 1) OR (workflowType STARTS_WITH 'OTHER___') x'y = 2",
  "status IN ('x)') OR workflowType STARTS_WITH 'OTHER___' OR status IN ('y)')",
  "x = 1 OR workflowType STARTS_WITH 'OTHER___'",
  "correlationId = bob OR correlationId = alice",
  "workflowType = OTHER___wfA",
  "workflowType IN (OTHER___wfA,FACEBOOK___wfA)",
  "workflowType = FACEBOOK___*",
  "aaa = {OTHER___wfA}",
  "status = RUNNING AND aaa = {OTHER___wfA,FACEBOOKXYZ___wfA}",
  "classifier IN (workflow)",
  "startTime > 1700000000000 AND status = RUNNING",
  'correlationId = "a\\" OR correlationId:*"',
];
const SCOPES = (backend: SearchScope["backend"], names?: string[]): SearchScope[] => [
  { backend, tenant: TENANT, ownExecutionsOf: null, workflowNames: names },
  { backend, tenant: TENANT, ownExecutionsOf: "alice", workflowNames: names },
];
const NAMES = ["FACEBOOK___wfA", "FACEBOOK___wfB", "FACEBOOK___we*rd", "OTHER___wfA"];
const CLIENT = fc.oneof(
  fc.constantFrom(...ATTEMPTS),
  fc.stringMatching(/^[A-Za-z_ =<>!(),'"\\*{}]{0,40}$/),
  fc
    .array(
      fc.constantFrom(
        "status",
        "workflowType",
        "correlationId",
        " = ",
        " IN ",
        "(",
        ")",
        "'",
        '"',
        " AND ",
        " OR ",
        "OTHER___wfA",
        "x",
        ",",
        "*",
      ),
      {
        maxLength: 14,
      },
    )
    .map((parts) => parts.join("")),
);

describe.skipIf(!hasJavac || !gitDir)("search queries as Conductor's own readers read them", () => {
  beforeAll(async () => {
    if (!existsSync(join(work, "out", "Oracle.class"))) {
      for (const path of SOURCES) {
        const file = join(work, "src", path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, await conductorSource(path));
      }
      mkdirSync(join(work, "out"), { recursive: true });
      execFileSync("javac", [
        "-encoding",
        "UTF-8",
        "-nowarn",
        "-d",
        join(work, "out"),
        ...javaFiles(join(work, "src")),
        ...javaFiles(stubs),
      ]);
    }
  }, 120_000);

  it("the check can fail: main's Elasticsearch form lets a client query drop the tenant clause; the prefix form is LIKE under SQL", () => {
    const escape = "a' = 1) OR (workflowType STARTS_WITH 'OTHER___') x'y = 2";
    const [old] = oracle<EsAnswer>("es", [`(${escape}) AND workflowType STARTS_WITH 'FACEBOOK___'`]);
    expect(old!.ok).toBe(true);
    const other = EXECUTIONS.find((x) => x.workflowType === "OTHER___wfA")!;
    expect(old!.ok && esMay(old!.filter, other)).toBe(true);
    const [starts, star] = oracle<SqlAnswer>("sql", ["workflowType STARTS_WITH 'FACEBOOK___'", "workflowType = FACEBOOK___*"]);
    expect(starts!.ok).toBe(false); // every search through main fails on a Postgres index
    expect(sqlMay(star!, EXECUTIONS.find((x) => x.workflowType === "FACEBOOKXYZ___wfA")!)).toBe(true);
  });

  for (const backend of ["elasticsearch", "postgres"] as const) {
    it(`${backend}: every query the gateway sends finds only the caller's executions, for escapes and random client queries`, () => {
      const clients = [...ATTEMPTS, ...fc.sample(CLIENT, { numRuns: 400, seed: 25 })];
      const sent: { query: string; scope: SearchScope }[] = [];
      for (const scope of SCOPES(backend, backend === "postgres" ? NAMES : undefined)) {
        for (const client of clients) {
          const built = scopedSearchQuery(client, scope);
          if (built.ok && built.value !== null) sent.push({ query: built.value, scope });
        }
      }
      expect(sent.length).toBeGreaterThan(100);
      const grammar = backend === "postgres" ? "sql" : "es";
      const answers = oracle<EsAnswer | SqlAnswer>(
        grammar,
        sent.map((s) => s.query),
      );
      let parsed = 0;
      sent.forEach(({ query, scope }, i) => {
        const answer = answers[i]!;
        if (answer.ok) parsed++;
        for (const x of EXECUTIONS) {
          const found = grammar === "es" ? answer.ok && esMay((answer as { filter: EsNode }).filter, x) : sqlMay(answer as SqlAnswer, x);
          if (found) expect(mayBeFoundBy(scope)(x), `${JSON.stringify(query)} finds ${JSON.stringify(x)}`).toBe(true);
        }
      });
      // The gateway's own clauses alone are always read.
      expect(parsed).toBeGreaterThan(sent.length / 4);
    }, 60_000);
  }

  it("postgres: every client query the gateway lets through is read by the builder as the gateway read it, and binds every parameter", () => {
    const scope: SearchScope = { backend: "postgres", tenant: TENANT, ownExecutionsOf: "alice", workflowNames: NAMES };
    const clients = [...ATTEMPTS, ...fc.sample(CLIENT, { numRuns: 400, seed: 7 })];
    const sent = clients.map((c) => scopedSearchQuery(c, scope)).flatMap((v) => (v.ok && v.value !== null ? [v.value] : []));
    const answers = oracle<SqlAnswer>("sql", sent);
    answers.forEach((a, i) => {
      expect(a.ok, `${sent[i]}: ${a.ok ? "" : a.error}`).toBe(true);
      if (!a.ok) return;
      const placeholders = (/WHERE (.*) LIMIT/.exec(a.sql)![1]!.match(/\?/g) ?? []).length;
      expect(placeholders, sent[i]).toBe(a.params.length);
      // The tenant's list, exactly, and never a LIKE on the workflow type from the gateway.
      expect(a.sql).toContain("workflow_type = ANY(?)");
      expect(a.params).toContainEqual(["FACEBOOK___wfA", "FACEBOOK___wfB"]);
      expect(a.params).toContain("alice");
    });
  }, 60_000);
});
