/**
 * Property tests of the Conductor transforms (seeded, reproducible: FC_SEED overrides the seed).
 * - Workflow definitions: stripping inverts prefixing, and every stored name is the tenant's (or shared).
 * - Executions and search results mixing tenants: after filtering, nothing of another tenant remains, and what
 *   remains is exactly the viewer's items, stripped.
 * - Names, search queries, start/rerun/schedule/event/bulk bodies: no input throws; a built query always keeps
 *   the gateway's conditions outside the client's parentheses.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefixEventHandler } from "../../src/engines/conductor/events";
import { filterSearchResult, parseBulkIds, sanitizeRerun, stripExecution } from "../../src/engines/conductor/executions";
import { prefixSchedule, stripSchedule } from "../../src/engines/conductor/schedules";
import { quoteLiteral, scopedSearchQuery as scopedSearchQueryVerdict, searchQueryProblem } from "../../src/engines/conductor/search";
import { admitStartRequest } from "../../src/engines/conductor/startWorkflow";
import { nameProblem, prefixTenant, stripTenant } from "../../src/engines/conductor/tenantNames";
import { prefixWorkflowDef as prefixWorkflowDefVerdict, stripWorkflowDef } from "../../src/engines/conductor/workflowDefs";
import { seen } from "../engines/conductor/seen";

// The policies answer in `Verdict`s; `seen` reads them in the shapes the expectations below were written in.
const scopedSearchQuery = (...a: Parameters<typeof scopedSearchQueryVerdict>) => seen(scopedSearchQueryVerdict(...a));
const prefixWorkflowDef = (...a: Parameters<typeof prefixWorkflowDefVerdict>) => seen(prefixWorkflowDefVerdict(...a), (def) => ({ def }));

const SEED = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FC_SEED ?? 20261122);
const run = <Ts extends [unknown, ...unknown[]]>(prop: fc.IProperty<Ts>, numRuns = 300) => fc.assert(prop, { seed: SEED, numRuns });

const TENANTS = ["FACEBOOK", "OTHER", "acme-1", "B"];
const tenantArb = fc.constantFrom(...TENANTS);
const nameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,20}$/).filter((n) => nameProblem(n) === null);
const ALLOWED = [
  "SIMPLE",
  "SUB_WORKFLOW",
  "DECISION",
  "SWITCH",
  "DO_WHILE",
  "FORK_JOIN",
  "JOIN",
  "TERMINATE",
  "FORK_JOIN_DYNAMIC",
  "DYNAMIC",
];

type Task = Record<string, unknown>;
const taskArb: fc.Arbitrary<Task> = fc.letrec<{ task: Task; list: Task[] }>((tie) => ({
  task: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ name: nameArb, taskReferenceName: nameArb, type: fc.constant("SIMPLE") }),
    fc.record({ name: nameArb.map((n) => `GLOBAL___${n}`), taskReferenceName: nameArb, type: fc.constant("SIMPLE") }),
    fc.record({
      name: nameArb,
      taskReferenceName: nameArb,
      type: fc.constant("SUB_WORKFLOW"),
      subWorkflowParam: fc.record({ name: nameArb, version: fc.nat(5) }),
    }),
    fc.record({
      name: nameArb,
      taskReferenceName: nameArb,
      type: fc.constant("DECISION"),
      decisionCases: fc.dictionary(nameArb, tie("list"), { maxKeys: 2 }),
      defaultCase: tie("list"),
    }),
    fc.record({
      name: nameArb,
      taskReferenceName: nameArb,
      type: fc.constant("FORK_JOIN"),
      forkTasks: fc.array(tie("list"), { maxLength: 2 }),
    }),
    fc.record({ name: nameArb, taskReferenceName: nameArb, type: fc.constant("DO_WHILE"), loopOver: tie("list") }),
    fc.record({
      name: nameArb,
      taskReferenceName: nameArb,
      type: fc.constant("FORK_JOIN_DYNAMIC"),
      dynamicForkTasksParam: fc.constant("dynamicTasks"),
      inputParameters: fc.record({ expectedName: nameArb, dynamicTasks: fc.constant("${dyn_src.output.dynamic_tasks}") }),
    }),
    fc.record({
      name: nameArb,
      taskReferenceName: nameArb,
      type: fc.constant("DYNAMIC"),
      dynamicTaskNameParam: fc.constant("taskToRun"),
      inputParameters: fc.record({ taskToRun: fc.oneof(nameArb, fc.constant("${workflow.input.t}")) }),
    }),
  ),
  list: fc.array(tie("task"), { maxLength: 3 }),
})).task;

/** Every definition starts with the worker task its dynamic forks take their task lists from. */
const DYN_SOURCE: Task = { name: "inventory", taskReferenceName: "dyn_src", type: "SIMPLE" };
const defArb = fc.record({
  name: nameArb,
  version: fc.nat(9),
  description: fc.string(),
  tasks: fc.array(taskArb, { maxLength: 4 }).map((ts) => [DYN_SOURCE, ...ts]),
});

/** Every task name in a (prefixed) definition, at any depth. */
function names(tasks: unknown[], out: string[] = []): string[] {
  for (const t of tasks as Task[]) {
    out.push(String(t.name));
    const sub = t.subWorkflowParam as Task | undefined;
    if (sub) out.push(String(sub.name));
    const input = t.inputParameters as Task | undefined;
    if (input?.expectedName) out.push(String(input.expectedName));
    if (t.type === "DYNAMIC" && input) out.push(String(input[t.dynamicTaskNameParam as string]));
    for (const list of [
      ...Object.values((t.decisionCases as Record<string, unknown[]>) ?? {}),
      t.defaultCase,
      t.loopOver,
      ...((t.forkTasks as unknown[][]) ?? []),
    ]) {
      if (Array.isArray(list)) names(list, out);
    }
  }
  return out;
}

describe("workflow definitions (generated)", () => {
  it("stripping inverts prefixing, and every stored name is the tenant's or shared", () =>
    run(
      fc.property(defArb, tenantArb, (def, tenant) => {
        const out = prefixWorkflowDef(def, { tenant, ownerEmail: "o@x", allowedTaskTypes: ALLOWED });
        if (!("def" in out)) throw new Error(`refused a valid definition: ${out.refused}`);
        expect(out.def.name).toBe(`${tenant}___${def.name}`);
        for (const n of names(out.def.tasks as unknown[])) expect(n.startsWith(`${tenant}___`) || n.startsWith("GLOBAL___")).toBe(true);
        expect(stripWorkflowDef(out.def, tenant)).toEqual(def);
        for (const other of TENANTS.filter((t) => t !== tenant)) expect(stripWorkflowDef(out.def, other)).toBeNull();
      }),
    ));

  it("never throws on any JSON, and refuses everything that is not a definition", () =>
    run(
      fc.property(fc.jsonValue(), tenantArb, (input, tenant) => {
        const out = prefixWorkflowDef(input, { tenant, ownerEmail: null, allowedTaskTypes: ALLOWED });
        expect("def" in out || "refused" in out).toBe(true);
        stripWorkflowDef(input, tenant);
      }),
    ));
});

const execArb = fc.record({
  tenant: tenantArb,
  name: nameArb,
  id: fc.uuid(),
  correlationId: fc.constantFrom("alice", "bob", "o'brien"),
  input: fc.dictionary(nameArb, fc.oneof(nameArb, fc.nat())),
  taskNames: fc.array(nameArb, { maxLength: 3 }),
});

interface GeneratedExec {
  tenant: string;
  name: string;
  id: string;
  correlationId: string;
  input: Record<string, unknown>;
  taskNames: string[];
}

const stored = (e: GeneratedExec) => ({
  workflowId: e.id,
  workflowType: prefixTenant(e.tenant, e.name),
  workflowName: prefixTenant(e.tenant, e.name),
  correlationId: e.correlationId,
  input: e.input,
  tasks: e.taskNames.map((n) => ({
    taskDefName: prefixTenant(e.tenant, n),
    taskType: prefixTenant(e.tenant, n),
    workflowType: prefixTenant(e.tenant, e.name),
  })),
});

describe("executions and search results (generated, tenants mixed)", () => {
  it("keep exactly the viewer's items, stripped, with nothing of another tenant", () =>
    run(
      fc.property(
        fc.array(execArb, { maxLength: 12 }),
        tenantArb,
        fc.boolean(),
        fc.constantFrom("alice", "bob"),
        (execs, tenant, admin, subject) => {
          const viewer = { tenant, subject, admin };
          const answer = { totalHits: execs.length, results: execs.map(stored) };
          const filtered = filterSearchResult(answer, viewer)!;
          const expected = execs.filter((e) => e.tenant === tenant && (admin || e.correlationId === subject));
          expect(filtered.results.map((r) => r.workflowId)).toEqual(expected.map((e) => e.id));
          const text = JSON.stringify(filtered);
          for (const other of TENANTS.filter((t) => t !== tenant)) expect(text).not.toContain(`${other}___`);
          expect(text).not.toContain(`${tenant}___`);
          // stripping inverts prefixing
          for (const e of expected) {
            const mine = stripExecution(stored(e), viewer)!;
            expect(mine.workflowType).toBe(e.name);
            expect((mine.tasks as Task[]).map((t) => t.taskDefName)).toEqual(e.taskNames);
          }
        },
      ),
    ));
});

describe("no input throws, and no query escapes", () => {
  it("tenant names: strip inverts prefix; another tenant's prefix is never taken for one's own", () =>
    run(
      fc.property(fc.string(), tenantArb, tenantArb, (name, a, b) => {
        if (nameProblem(name) === null) {
          expect(stripTenant(a, prefixTenant(a, name))).toBe(name);
          if (a !== b) expect(stripTenant(b, prefixTenant(a, name))).toBeNull();
        }
      }),
    ));

  it("a built search query (Elasticsearch grammar) starts with the gateway's conditions, then the client's text in one group", () =>
    run(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[()'"\\a-z =]{0,30}$/)),
        tenantArb,
        fc.option(fc.string()),
        (query, tenant, subject) => {
          const built = scopedSearchQuery(query, { backend: "elasticsearch", tenant, ownExecutionsOf: subject });
          if (typeof built !== "string") return;
          // The first expression of Conductor's right-recursive grammar is the root's first `must`: the tenant.
          const conditions = `workflowType STARTS_WITH ${quoteLiteral(`${tenant}___`)}${subject === null ? "" : ` AND correlationId IN (${subject})`}`;
          if (query.trim() === "") return void expect(built).toBe(conditions);
          expect(built).toBe(`${conditions} AND (${query.trim()})`);
          expect(searchQueryProblem(query.trim())).toBeNull();
          if (subject !== null) expect(subject).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
        },
      ),
      1_000,
    ));

  it("start, rerun, schedule, event and bulk bodies: any JSON gives a body or a refusal, never an exception", () =>
    run(
      fc.property(fc.jsonValue(), tenantArb, (input, tenant) => {
        const caller = { tenant, subject: "s", idempotencyScope: "0123456789abcdef0123456789abcdef" };
        for (const out of [
          admitStartRequest(input, caller),
          sanitizeRerun(input, "wf-1"),
          prefixSchedule(input, caller),
          prefixEventHandler(input, caller),
          parseBulkIds(input, 1000),
        ]) {
          expect(typeof out).toBe("object");
        }
        stripSchedule(input, tenant);
        stripExecution(input, { tenant, subject: "s", admin: true });
      }),
    ));
});
