/**
 * Findings of the attacker's pass over the restructuring (routes by area, the services step, the router), each
 * held here through the real Worker so it stays closed.
 *
 * The Conductor UI server (CONDUCTOR_UI_URL): the official image's nginx (conductor-oss docker/ui) serves the UI's
 * files and proxies `/api` and `/actuator` to the Conductor server, matching its locations on the decoded path.
 * The gateway hands the UI server page loads and static files under `/conductor/`, minus `/conductor/api/*`; so
 * `/conductor/%61pi/workflow/search` (`%61` is `a`, which the path guard lets through) or
 * `/conductor/actuator/env` reached the Conductor server through the UI server, with no tenant, no scope and no
 * identity: every tenant's executions to anyone with any credential (or none, without browser sign-in).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "../engines/conductor/harness";
import { createTestKey, stubUrl } from "../helpers";

let stack: ConductorStack;
let ui: ConductorStack; // stands in for the UI server: records what the gateway sends it
let stranger: string; // another tenant's key, without scope conductor

const navigation = { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document", accept: "text/html" };

beforeAll(async () => {
  ui = await conductorStack("ui-server");
  stack = await conductorStack("ui-proxy", { CONDUCTOR_UI_URL: stubUrl(`/conductor/${ui.tag}`) });
  await seedTwoTenants(stack);
  stranger = (await createTestKey({ tenant: "OTHER", subject: "mallory", scopes: ["query/*"] }, stack.env)).key;
});

describe("the Conductor UI server is never a way to the Conductor server's API", () => {
  it.each([
    ["/conductor/%61pi/workflow/search", navigation],
    ["/conductor/%61pi/metadata/workflow", navigation],
    ["/conductor/%61pi/metadata/taskdefs.json", {}],
    // Conductor endpoints the gateway has no route for: the decoded path matches none of its, so the UI route took it.
    ["/conductor/%61pi/workflow/OTHER___wf/correlated/alice", navigation],
    ["/conductor/%61pi/admin/config", navigation],
    ["/conductor/%61pi/tasks/in_progress/OTHER___t", navigation],
    ["/conductor/%41pi/workflow/search", navigation],
    ["/conductor/a%70i/tasks/queue/all", navigation],
    ["/conductor/actuator/env", navigation],
    ["/conductor/%61ctuator/env", navigation],
    ["/conductor/swagger-ui/index.html", navigation],
    ["/conductor/api-docs", navigation],
  ])("GET %s: refused, nothing sent to the UI server nor to Conductor", async (path, headers) => {
    const [toUi, toConductor] = [(await ui.records()).length, (await stack.records()).length];
    const res = await stack.as(stranger, path, { headers });
    expect([403, 404]).toContain(res.status);
    expect((await ui.records()).slice(toUi).map((r) => r.path)).toEqual([]);
    expect((await stack.records()).slice(toConductor).map((r) => r.path)).toEqual([]);
  });

  it.each([
    ["/conductor/", navigation],
    ["/conductor/workflowDefs", navigation],
    ["/conductor/execution/fb-1", navigation],
    ["/conductor/static/js/main.3f2a.js", {}],
    ["/conductor/favicon.ico", {}],
  ])("GET %s still reaches the UI server", async (path, headers) => {
    const before = (await ui.records()).length;
    await stack.as(stranger, path, { headers });
    expect((await ui.records()).slice(before).length).toBe(1);
  });
});

// The same rule for every UI the gateway serves (src/proxy/ui.ts): a UI server reads the path it is given after
// decoding it, so only plain names ever reach one. The Prefect UI shows it without Conductor's own route check.
describe("every UI server gets plain paths only", () => {
  let prefectUi: ConductorStack;
  beforeAll(async () => {
    prefectUi = await conductorStack("prefect-ui-proxy", { PREFECT_UI_URL: stubUrl(`/conductor/${ui.tag}`) });
  });

  it.each(["/prefect/%61pi/graphql", "/prefect/%7e/x", "/prefect/a%20b"])("GET %s: nothing sent to the UI server", async (path) => {
    const before = (await ui.records()).length;
    const res = await prefectUi.as(stranger, path, { headers: navigation });
    expect([400, 404]).toContain(res.status);
    expect((await ui.records()).slice(before).map((r) => r.path)).toEqual([]);
  });

  it.each(["/prefect/", "/prefect/flow-run/7d1c", "/prefect/js/app.1a2b.js"])("GET %s still reaches the UI server", async (path) => {
    const before = (await ui.records()).length;
    await prefectUi.as(stranger, path, { headers: navigation });
    expect((await ui.records()).slice(before).length).toBe(1);
  });
});
