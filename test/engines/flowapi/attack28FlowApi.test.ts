/**
 * A seventh attacker's pass over issue 25 (attack28), FlowAPI: can a token for one aggregation unit or query kind
 * run another through the gateway? Through the Worker to the recording FlowAPI stub. Each held.
 * - Paths with encoded bytes (`%2F`, `%00`, `%2e%2e`, a percent-encoded letter), other cases and trailing slashes:
 *   Hono decodes a parameter once before the gateway checks it (`admin3%2F..%2Fadmin2` is not a unit, `%61dmin2`
 *   is `admin2` and needs admin2's scope), paths match case-sensitively, and the path sent is rebuilt from the
 *   checked value.
 * - Keys case-folded (`Query_kind`, `Locations`, `Aggregation_unit`) beside the real ones: FlowAPI's `json.loads`
 *   and marshmallow match keys exactly, as the gateway does, so the unit decided is the unit FlowAPI derives.
 * - A query string, repeated or not, is never forwarded (no FlowAPI endpoint reads one).
 */
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { call, envWith, stubUrl, uniqueTag } from "../../helpers";
import type { Env } from "../../../src/config";

const tag = uniqueTag("flowapi28");
let env: Env;
let flowauth: CryptoKey;
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  flowauth = pair.privateKey;
  env = envWith({
    FLOWAPI_URL: stubUrl(`/flowapi/${tag}`),
    FLOWAPI_IDENTIFIER: "flowapi-test",
    FLOWAPI_PUBLIC_KEY: btoa(await exportSPKI(pair.publicKey)),
  });
});

const token = (userClaims: Record<string, string[]>) =>
  new SignJWT({ aud: "flowapi-test", sub: "analyst", jti: crypto.randomUUID(), user_claims: userClaims })
    .setProtectedHeader({ alg: "RS256" })
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime("10m")
    .sign(flowauth);

const ADMIN3 = ["admin3:spatial_aggregate:spatial_aggregate", "admin3:spatial_aggregate:daily_location", "admin3:geography:geography"];
const daily = (unit: string) => ({ query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: unit });

describe("encoded paths (attack28: held)", () => {
  it.each([
    ["/flowapi/api/0/geography/admin3%2F..%2Fadmin2", 400],
    ["/flowapi/api/0/geography/admin3%00", 400],
    ["/flowapi/api/0/geography/%61dmin2", 403],
    ["/flowapi/api/0/Geography/admin2", 404],
    ["/flowapi/api/0/geography/admin2/", 404],
    ["/flowapi/api/0/poll/..%2Frun", 400],
    ["/flowapi/api/0/spec/..%2F..%2Fgeography%2Fadmin2", 400],
    ["/flowapi/api/0/geography/admin3%2e%2e", 400],
  ])("%s answers %i and sends nothing", async (path, status) => {
    const before = (await records()).length;
    const res = await call(path, { env, headers: { authorization: `Bearer ${await token({ r: ["run", "get_result", ...ADMIN3] })}` } });
    expect(res.status).toBe(status);
    expect((await records()).length).toBe(before);
  });

  it("the path sent is the checked unit, with no query string however often a parameter is repeated", async () => {
    const res = await call("/flowapi/api/0/geography/admin3?aggregation_unit=admin2&aggregation_unit=admin1", {
      env,
      headers: { authorization: `Bearer ${await token({ r: ["get_result", ...ADMIN3] })}` },
    });
    expect(res.status).toBe(200);
    expect((await records()).at(-1)!.path).toBe("/api/0/geography/admin3");
  });
});

describe("case-folded keys beside the real ones (attack28: held)", () => {
  const run = async (body: unknown, scopes: string[]) =>
    call("/flowapi/api/0/run", {
      env,
      method: "POST",
      json: body,
      headers: { authorization: `Bearer ${await token({ r: ["run", ...scopes] })}` },
    });

  it("a folded Locations, Aggregation_unit or Query_kind is not the field FlowAPI reads, here as there", async () => {
    const body = {
      query_kind: "spatial_aggregate",
      locations: { ...daily("admin3"), Aggregation_unit: "admin1" },
      Locations: daily("admin1"),
    };
    // Decided on `locations` (admin3), as FlowMachine derives it; the folded keys are another field to FlowAPI.
    expect((await run(body, ADMIN3)).status).toBe(202);
    // A token for admin1 only cannot run it by pointing at the folded copies.
    expect(
      (
        await run(
          body,
          ADMIN3.map((s) => s.replace("admin3", "admin1")),
        )
      ).status,
    ).toBe(403);
    // A top-level Query_kind is no query kind at all.
    expect((await run({ Query_kind: "spatial_aggregate", query_kind: undefined, locations: daily("admin3") }, ADMIN3)).status).toBe(400);
  });

  it("a nested query kind anywhere in the body needs its scope, under any field", async () => {
    const body = { query_kind: "spatial_aggregate", locations: { ...daily("admin3"), extra: { query_kind: "event_count" } } };
    expect((await run(body, ADMIN3)).status).toBe(403);
  });
});
