/**
 * FlowAPI through the real Worker to a recording FlowAPI stub: FlowAuth tokens verified at the edge (key,
 * audience, expiry), permissions from one role (nested query kinds, aggregation units), Location rewriting, and
 * revocation by jti and by subject.
 */
import { SignJWT, exportSPKI, generateKeyPair, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, envWith, errorOf, stubUrl, uniqueTag } from "../../helpers";
import type { Env } from "../../../src/config";

const tag = uniqueTag("flowapi");
let env: Env;
let flowauth: CryptoKey;
let other: CryptoKey;
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; headers: Record<string, string> }[];

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  flowauth = pair.privateKey;
  other = (await generateKeyPair("RS256")).privateKey;
  const pem = await exportSPKI(pair.publicKey);
  // FlowKit accepts the key base64-encoded, as FLOWAPI_PUBLIC_KEY often is.
  env = envWith({ FLOWAPI_URL: stubUrl(`/flowapi/${tag}`), FLOWAPI_IDENTIFIER: "flowapi-test", FLOWAPI_PUBLIC_KEY: btoa(pem) });
});

const token = (userClaims: Record<string, string[]>, claims: JWTPayload = {}, key = flowauth) =>
  new SignJWT({
    aud: "flowapi-test",
    sub: "analyst",
    jti: crypto.randomUUID(),
    user_claims: userClaims,
    iat: Math.floor(Date.now() / 1000),
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256" })
    .setNotBefore("0s")
    .setExpirationTime((claims.exp as number | undefined) ?? "10m")
    .sign(key);

// As FlowKit reads it: a spatial aggregate's unit is its locations' (the reference location carries it).
const nested = {
  query_kind: "spatial_aggregate",
  locations: {
    query_kind: "daily_location",
    date: "2016-01-01",
    method: "last",
    aggregation_unit: "admin3",
    sampling: { query_kind: "random_sample", size: 10 },
  },
};
const needed = [
  "admin3:spatial_aggregate:spatial_aggregate",
  "admin3:spatial_aggregate:daily_location",
  "admin3:spatial_aggregate:random_sample",
];

const run = (t: string, body: unknown = nested) =>
  call("/flowapi/api/0/run", { env, method: "POST", json: body, headers: { authorization: `Bearer ${t}` } });

describe("FlowAuth tokens at the edge", () => {
  it.each([
    ["signed by another key", () => token({ r: ["run", ...needed] }, {}, other)],
    ["for another FlowAPI", () => token({ r: ["run", ...needed] }, { aud: "another-server" })],
    ["expired", () => token({ r: ["run", ...needed] }, { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ["without user_claims", () => token(undefined as never)],
  ])("a token %s is refused (401) and never reaches FlowAPI", async (_n, make) => {
    const before = (await records()).length;
    const res = await run(await make());
    expect(res.status).toBe(401);
    expect((await records()).length).toBe(before);
  });

  it("API keys and missing tokens are refused too", async () => {
    expect((await call("/flowapi/api/0/run", { env, method: "POST", json: nested })).status).toBe(401);
    const key = (await (await asAdmin("/admin/keys", { method: "POST", env, json: { tenant: "acme", subject: "k" } })).json()) as {
      key: string;
    };
    expect((await run(key.key)).status).toBe(401);
  });
});

describe("permissions", () => {
  it("run needs the action and every nested query kind's scope in ONE role", async () => {
    const ok = await run(await token({ analyst: ["run", "get_result", ...needed] }));
    expect(ok.status).toBe(202);
    expect(ok.headers.get("location")).toBe("/flowapi/api/0/poll/0123456789abcdef0123456789abcdef");
    const rec = (await records()).at(-1)!;
    expect(rec.path).toBe("/api/0/run");
    expect(rec.headers.authorization).toMatch(/^Bearer /); // FlowAPI checks the token again

    const split = await run(await token({ runner: ["run"], reader: needed }));
    expect(split.status).toBe(403);
    const missingNested = await run(await token({ r: ["run", needed[0]!, needed[1]!] }));
    expect(missingNested.status).toBe(403);
    expect((await errorOf(missingNested)).message).toContain("random_sample");
    const otherUnit = await run(await token({ r: ["run", ...needed.map((s) => s.replace("admin3", "admin2"))] }));
    expect(otherUnit.status).toBe(403);
  });

  it("a query without an aggregation unit needs nonspatial scopes", async () => {
    const q = { query_kind: "total_network_objects", total_by: "day" };
    expect((await run(await token({ r: ["run", "nonspatial:total_network_objects:total_network_objects"] }), q)).status).toBe(202);
    expect((await run(await token({ r: ["run", "admin3:total_network_objects:total_network_objects"] }), q)).status).toBe(403);
    expect((await run(await token({ r: ["run"] }), { aggregation_unit: "admin3" })).status).toBe(400);
  });

  it("the unit is derived as FlowMachine does: from the sub-query an aggregate is built on", async () => {
    // The unit sits in locations: nonspatial scopes are not enough, the unit's are.
    const nonspatial = needed.map((s) => s.replace("admin3", "nonspatial"));
    expect((await run(await token({ r: ["run", ...nonspatial] }))).status).toBe(403);
    expect((await run(await token({ r: ["run", ...needed] }))).status).toBe(202);
    // Through a modal location (its unit is its first daily location's) and a flow (its from_location's).
    const modal = {
      query_kind: "spatial_aggregate",
      locations: { query_kind: "modal_location", locations: [nested.locations, { ...nested.locations, date: "2016-01-02" }] },
    };
    const modalNeeds = ["spatial_aggregate", "modal_location", "daily_location", "random_sample"].map(
      (q) => `admin3:spatial_aggregate:${q}`,
    );
    expect((await run(await token({ r: ["run", ...modalNeeds] }), modal)).status).toBe(202);
    expect((await run(await token({ r: ["run", ...modalNeeds.map((s) => s.replace("admin3", "nonspatial"))] }), modal)).status).toBe(403);
    const flows = {
      query_kind: "flows",
      join_type: "inner",
      from_location: { ...nested.locations, aggregation_unit: "admin2" },
      to_location: nested.locations,
    };
    expect(
      (await run(await token({ r: ["run", "admin2:flows:flows", "admin2:flows:daily_location", "admin2:flows:random_sample"] }), flows))
        .status,
    ).toBe(202);
    // A histogram of displacements has no unit, whatever its reference locations carry.
    const histogram = {
      query_kind: "histogram_aggregate",
      bins: { n_bins: 10 },
      metric: {
        query_kind: "displacement",
        start_date: "2016-01-01",
        end_date: "2016-01-02",
        statistic: "avg",
        reference_location: { query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: "lon-lat" },
      },
    };
    const histNeeds = ["histogram_aggregate", "displacement", "daily_location"].map((q) => `nonspatial:histogram_aggregate:${q}`);
    expect((await run(await token({ r: ["run", ...histNeeds] }), histogram)).status).toBe(202);
    // FlowMachine refuses a unit beside a query that takes it from its sub-query, and one with none below.
    expect((await run(await token({ r: ["run", ...needed] }), { ...nested, aggregation_unit: "admin3" })).status).toBe(400);
    const bare = { query_kind: "spatial_aggregate", locations: { query_kind: "daily_location", date: "2016-01-01", method: "last" } };
    expect(
      (
        await run(
          await token({ r: ["run", "nonspatial:spatial_aggregate:spatial_aggregate", "nonspatial:spatial_aggregate:daily_location"] }),
          bare,
        )
      ).status,
    ).toBe(400);
  });

  it("poll needs run, get needs get_result, each with the query's scopes; Location stays under /flowapi", async () => {
    const t = await token({ analyst: ["run", "get_result", ...needed] });
    const auth = { authorization: `Bearer ${t}` };
    const started = await run(t);
    const poll = await call(started.headers.get("location")!, { env, headers: auth });
    expect(poll.status).toBe(303);
    expect(poll.headers.get("location")).toBe("/flowapi/api/0/get/0123456789abcdef0123456789abcdef");
    const result = await call(poll.headers.get("location")!, { env, headers: auth });
    expect(result.status).toBe(200);
    expect(((await result.json()) as { query_id: string }).query_id).toBe("0123456789abcdef0123456789abcdef");

    const runOnly = { authorization: `Bearer ${await token({ r: ["run", ...needed] })}` };
    expect((await call("/flowapi/api/0/poll/0123456789abcdef0123456789abcdef", { env, headers: runOnly })).status).toBe(303);
    expect((await call("/flowapi/api/0/get/0123456789abcdef0123456789abcdef", { env, headers: runOnly })).status).toBe(403);
    const noScopes = { authorization: `Bearer ${await token({ r: ["run", "get_result"] })}` };
    expect((await call("/flowapi/api/0/get/0123456789abcdef0123456789abcdef", { env, headers: noScopes })).status).toBe(403);
  });

  it("geography and available dates", async () => {
    const t = {
      authorization: `Bearer ${await token({ r: ["get_result", "admin3:geography:geography", "nonspatial:available_dates:available_dates"] })}`,
    };
    expect((await call("/flowapi/api/0/geography/admin3", { env, headers: t })).status).toBe(200);
    expect((await call("/flowapi/api/0/geography/admin2", { env, headers: t })).status).toBe(403);
    expect((await call("/flowapi/api/0/available_dates", { env, headers: t })).status).toBe(200);
    const none = { authorization: `Bearer ${await token({ r: ["get_result"] })}` };
    expect((await call("/flowapi/api/0/available_dates", { env, headers: none })).status).toBe(403);
    expect((await call("/flowapi/api/0/anything-else", { env, headers: t })).status).toBe(404);
  });
});

describe("revocation (beyond FlowKit)", () => {
  it("a revoked jti fails at once here, until its expiry; other tokens keep working", async () => {
    const jti = crypto.randomUUID();
    const t = await token({ r: ["run", ...needed] }, { jti });
    expect((await run(t)).status).toBe(202);
    const rev = await asAdmin("/admin/tokens/revoke", { method: "POST", env, json: { jti } });
    expect(rev.status).toBe(200);
    const res = await run(t);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("token revoked");
    expect((await run(await token({ r: ["run", ...needed] }))).status).toBe(202);
  });

  it("revoking a subject stops every token it held, and not the ones issued afterwards", async () => {
    const subject = uniqueTag("who");
    const old = await token({ r: ["run", ...needed] }, { sub: subject, iat: Math.floor(Date.now() / 1000) - 5 });
    expect((await asAdmin("/admin/tokens/revoke", { method: "POST", env, json: { subject } })).status).toBe(200);
    expect((await run(old)).status).toBe(401);
    // Issued (by its iat) after the revocation; a token of the revocation's own second stays refused.
    const fresh = await token({ r: ["run", ...needed] }, { sub: subject, iat: Math.floor(Date.now() / 1000) + 2 });
    expect((await run(fresh)).status).toBe(202);
  });

  it("refuses malformed revocations", async () => {
    for (const body of [
      {},
      { jti: "a", subject: "b" },
      { jti: "" },
      { jti: "a", expiresAt: "2000-01-01T00:00:00Z" },
      { jti: "a", other: 1 },
    ]) {
      expect((await asAdmin("/admin/tokens/revoke", { method: "POST", env, json: body })).status, JSON.stringify(body)).toBe(400);
    }
  });
});

/**
 * Issue 25, class 1, FlowAPI: what FlowAPI receives is the gateway's own serialization of what it decided. FlowAPI
 * reads a run with Quart's `request.json` (Python's json: a repeated key keeps its last value, integers exact, the
 * body decoded by the Content-Type's charset); the gateway re-encodes the value it checked, sends it as UTF-8
 * application/json, and refuses what a reader could take two ways. No FlowAPI endpoint reads a query string: none
 * is forwarded.
 */
describe("FlowAPI reads what the gateway decided", () => {
  const allowed = () => token({ analyst: ["run", "get_result", ...needed] });
  const raw = async (body: string, contentType = "application/json") =>
    call("/flowapi/api/0/run", {
      env,
      method: "POST",
      body,
      headers: { authorization: `Bearer ${await allowed()}`, "content-type": contentType },
    });
  const bodies = async () => (await records()) as unknown as { path: string; body: string; headers: Record<string, string> }[];

  it("sends its own encoding of the checked query, as application/json, never the client's bytes", async () => {
    const text = `\ufeff{ "query_kind" : "spatial_aggregate",\n\t"locations": {"query_kind": "daily_\\u006cocation", "date": "2016-01-01", "method": "last", "aggregation_unit": "admin3", "sampling": {"query_kind": "random_sample", "size": 10.0}}}  `;
    const before = (await bodies()).length;
    const res = await raw(text, "application/json; charset=UTF-8");
    expect(res.status, await res.clone().text()).toBe(202);
    const sent = (await bodies()).slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toBe(JSON.stringify(nested));
    expect(sent[0]!.headers["content-type"]).toBe("application/json");
  });

  it("refuses a key given twice in one object, in any escaping, before FlowAPI sees it", async () => {
    const inner = JSON.stringify(nested.locations);
    const admin2 = JSON.stringify({ ...nested.locations, aggregation_unit: "admin2" });
    for (const text of [
      `{"query_kind":"spatial_aggregate","locations":${admin2},"locations":${inner}}`,
      `{"query_kind":"spatial_aggregate","locations":${inner},"locations":${admin2}}`,
      `{"query_kind":"spatial_aggregate","query\\u005fkind":"spatial_aggregate","locations":${inner}}`,
      `{"query_kind":"spatial_aggregate","locations":{"query_kind":"daily_location","aggregation_unit":"admin2","aggregation_unit":"admin3","date":"2016-01-01","method":"last"}}`,
    ]) {
      const before = (await bodies()).length;
      const res = await raw(text);
      expect(res.status, text).toBe(400);
      expect((await errorOf(res)).message).toMatch(/is given twice in one object/);
      expect((await bodies()).length).toBe(before);
    }
    // The same key in two different objects is fine.
    expect((await raw(JSON.stringify(nested))).status).toBe(202);
  });

  it("refuses a number re-encoding would change, and a body declared in another charset or type", async () => {
    const cases: [string, string, number][] = [
      [JSON.stringify(nested).replace('"size":10', '"size":9007199254740993'), "application/json", 400],
      [JSON.stringify(nested).replace('"size":10', '"size":1e400'), "application/json", 400],
      [JSON.stringify(nested), "application/json; charset=utf-16", 415],
      [JSON.stringify(nested), "text/plain", 415],
      [JSON.stringify(nested), "application/x-www-form-urlencoded", 415],
    ];
    for (const [text, type, status] of cases) {
      const before = (await bodies()).length;
      const res = await raw(text, type);
      expect(res.status, `${type} ${text.slice(-60)}`).toBe(status);
      expect((await bodies()).length).toBe(before);
    }
  });

  it("forwards no query string on any route", async () => {
    const t = { authorization: `Bearer ${await token({ analyst: ["run", "get_result", ...needed, "admin3:geography:geography"] })}` };
    const before = (await bodies()).length;
    await call("/flowapi/api/0/run?query_kind=x&aggregation_unit=admin2", { env, method: "POST", json: nested, headers: t });
    await call("/flowapi/api/0/poll/0123456789abcdef0123456789abcdef?filetype=csv", { env, headers: t });
    await call("/flowapi/api/0/geography/admin3?aggregation_unit=admin2", { env, headers: t });
    const paths = (await bodies()).slice(before).map((r) => r.path);
    expect(paths).toEqual(["/api/0/run", "/api/0/poll/0123456789abcdef0123456789abcdef", "/api/0/geography/admin3"]);
  });
});
