/**
 * Workflow search under each index backend Conductor ships (issue 25, class 8), through the Worker and the
 * stand-in: the query Conductor receives is in the configured backend's grammar, with a tenant clause exact in it.
 * The grammars themselves are checked against Conductor's own classes in test/node/conductorSearch.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/readConfig";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

const sentQuery = async (s: ConductorStack) => {
  const last = (await s.records()).filter((r) => r.path.startsWith("/api/workflow/search")).at(-1);
  return last ? new URL(`http://x${last.path}`).searchParams.get("query") : undefined;
};
const search = (s: ConductorStack, key: string, query: string) =>
  s.as(key, `/conductor/api/workflow/search?query=${encodeURIComponent(query)}`);

describe("CONDUCTOR_INDEX_BACKEND", () => {
  it("is one of the backends Conductor ships, elasticsearch when unset; anything else is a configuration error", () => {
    const base = { DATABASE_URL: "postgres://x", KEY_CACHE: { get() {} } };
    const read = (v?: string) => {
      const r = parseConfig(v === undefined ? base : { ...base, CONDUCTOR_INDEX_BACKEND: v });
      return r.ok ? r.config.conductorIndexBackend : "invalid";
    };
    expect(read()).toBe("elasticsearch");
    expect(read("Postgres")).toBe("postgres");
    for (const v of ["elasticsearch", "opensearch", "sqlite", "none"]) expect(read(v)).toBe(v);
    expect(read("mysql")).toBe("invalid");
    expect(read("postgres;x")).toBe("invalid");
  });
});

describe("postgres (and sqlite): an exact list of the tenant's workflow names, the client's conditions as the builder reads them", () => {
  let s: ConductorStack;
  let admin: string;
  let alice: string;
  beforeAll(async () => {
    s = await conductorStack("search-pg", { CONDUCTOR_INDEX_BACKEND: "postgres" });
    await seedTwoTenants(s);
    // A name the builder cannot carry exactly (`*` becomes LIKE): left out of the list, so never widened.
    await s.seed({
      workflowDefs: [
        { name: "FACEBOOK___we*rd", version: 1, tasks: [] },
        { name: "FACEBOOKX___wf", version: 1, tasks: [] },
      ],
    });
    admin = await s.key({ subject: "fb-admin", groups: ["network-admin"] });
    alice = await s.key({ subject: "alice", groups: ["test"] });
  });

  it("an admin's search names the tenant's workflows in IN, and no prefix form", async () => {
    const res = await search(s, admin, "status IN (RUNNING, PAUSED) AND startTime > 1700000000000");
    expect(res.status).toBe(200);
    expect(await sentQuery(s)).toBe(
      "workflowType IN (FACEBOOK___wfA,FACEBOOK___wfB) AND status IN (RUNNING, PAUSED) AND startTime > 1700000000000",
    );
    const body = (await res.json()) as { results: { workflowId: string }[] };
    expect(body.results.map((r) => r.workflowId).sort()).toEqual(["fb-1", "fb-2"]);
  });

  it("a non-admin's adds their subject, exactly", async () => {
    expect((await search(s, alice, "")).status).toBe(200);
    expect(await sentQuery(s)).toBe("workflowType IN (FACEBOOK___wfA,FACEBOOK___wfB) AND correlationId = alice");
  });

  it.each([
    ["workflowType STARTS_WITH 'OTHER___'"], // the Elasticsearch form: Conductor's builder throws on it
    ["anything OR whatever"],
    ["jsonData = 1"], // not a column the builder compares with text
    ["nosuch = 1"], // dropped from the SQL but not from its parameters: they would bind to the tenant's placeholder
    ["status = a,b"],
    ["startTime > yesterday"],
    ["status = ''"],
    ["workflowType = caf\u00e9"],
  ])("refuses %j before Conductor is asked", async (query) => {
    const before = (await s.records()).length;
    const res = await search(s, admin, query);
    expect(res.status).toBe(400);
    expect((await s.records()).length).toBe(before + 1); // the definition listing only
  });

  it("a subject the builder cannot carry exactly is refused, naming the rule", async () => {
    const obrien = await s.key({ subject: "o'brien", groups: ["test"] });
    const res = await search(s, obrien, "");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("cannot be written exactly");
  });

  it("a tenant without a definition the list can name is answered empty, without a search", async () => {
    const lonely = await conductorStack("search-pg-empty", { CONDUCTOR_INDEX_BACKEND: "sqlite" });
    await seedTwoTenants(lonely);
    const key = await lonely.key({ subject: "z", tenant: "NODEFS", groups: ["network-admin"] });
    const res = await search(lonely, key, "status = RUNNING");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ totalHits: 0, results: [] });
    expect(await sentQuery(lonely)).toBeUndefined();
  });
});

describe("elasticsearch / opensearch: the gateway's conditions first", () => {
  it("an escape that Conductor's parser reads past the client's group no longer reaches the root", async () => {
    const s = await conductorStack("search-es", { CONDUCTOR_INDEX_BACKEND: "opensearch" });
    await seedTwoTenants(s);
    const admin = await s.key({ subject: "fb-admin", groups: ["network-admin"] });
    // Balanced for a reader that honours quotes; Conductor's Name token reads `a'` and stops its expression after
    // the second group, ignoring the rest (test/node/conductorSearch.test.ts runs it through Conductor's parser).
    const escape = "a' = 1) OR (workflowType STARTS_WITH 'OTHER___') x'y = 2";
    expect((await search(s, admin, escape)).status).toBe(200);
    expect(await sentQuery(s)).toBe(`workflowType STARTS_WITH 'FACEBOOK___' AND (${escape})`);
  });
});

describe("none: Conductor keeps no index", () => {
  it("answers an empty result without asking", async () => {
    const s = await conductorStack("search-none", { CONDUCTOR_INDEX_BACKEND: "none" });
    await seedTwoTenants(s);
    const admin = await s.key({ subject: "fb-admin", groups: ["network-admin"] });
    const res = await s.as(admin, "/conductor/api/workflow/search-v2?query=status%20%3D%20RUNNING");
    expect(await res.json()).toEqual({ totalHits: 0, results: [] });
    expect(await s.records()).toEqual([]);
  });
});
