import { describe, expect, it } from "vitest";
import { PREFECT_TENANT_NAMESPACE } from "../../src/constants";
import { namesAnotherTenant, prefectTenantOf, tenantSlug, uuidV5 } from "../../src/engines/prefect/tenant";
import { graphqlStatus, negotiateGraphQLMedia } from "../../src/graphqlHttp";

const MODERN = "application/graphql-response+json";
const LEGACY = "application/json";

describe("GraphQL-over-HTTP media negotiation", () => {
  it("picks application/graphql-response+json only when the client names it and prefers it at least as much", () => {
    const cases: [string | null | undefined, string][] = [
      [undefined, LEGACY],
      [null, LEGACY],
      ["", LEGACY],
      ["*/*", LEGACY], // the Prefect 1.x client (python-requests)
      ["application/*", LEGACY],
      ["application/json", LEGACY],
      ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", LEGACY],
      ["text/plain", LEGACY], // neither acceptable: Accept disregarded, JSON
      [MODERN, MODERN],
      [`${MODERN}, application/json;q=0.9`, MODERN], // what the specification tells clients to send
      [`application/json, ${MODERN}`, MODERN],
      [`${MODERN}; charset=utf-8`, MODERN],
      [` ${MODERN.toUpperCase()} ;Q=1.000`, MODERN],
      [`${MODERN}, */*`, MODERN],
      [`${MODERN};q=0.8, application/*;q=0.5`, MODERN],
      [`${MODERN};q=0.5, application/json`, LEGACY],
      [`${MODERN};q=0.5, */*`, LEGACY],
      [`${MODERN};q=0`, LEGACY],
      [`${MODERN};q=0, */*`, LEGACY],
      [`${MODERN};q=1.5`, LEGACY], // not a qvalue: the entry is ignored
      [`${MODERN};q=abc`, LEGACY],
      [`${MODERN};q=0.0001`, LEGACY],
      ["application/json;q=0, */*", MODERN], // JSON refused, the other acceptable through the wildcard
      [",,;;,", LEGACY],
    ];
    for (const [accept, media] of cases) expect(negotiateGraphQLMedia(accept), String(accept)).toBe(media);
  });

  it("stays linear on a huge Accept", () => {
    const accept = `${"x/y;a=b, ".repeat(20_000)}${MODERN}`;
    const started = Date.now();
    expect(negotiateGraphQLMedia(accept)).toBe(MODERN);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("turns only 401 and 403 into 200 for application/json clients", () => {
    for (const s of [400, 401, 403, 404, 405, 413, 415, 429, 500, 502, 503, 504]) {
      expect(graphqlStatus(s, MODERN)).toBe(s);
      expect(graphqlStatus(s, LEGACY)).toBe(s === 401 || s === 403 ? 200 : s);
    }
  });
});

describe("Prefect tenant ids", () => {
  it("are RFC 9562 name-based (v5) UUIDs", async () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
    expect(await uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
    // Python: uuid.uuid5(uuid.UUID(PREFECT_TENANT_NAMESPACE), "acme") and of "" (callers without a tenant)
    expect(await uuidV5(PREFECT_TENANT_NAMESPACE, "acme")).toBe("137fe27e-578f-5a00-aa0f-04b8eeec7f83");
    expect(await uuidV5(PREFECT_TENANT_NAMESPACE, "")).toBe("1ca0b074-82ec-5f54-adc2-2b6a2a7255bf");
  });

  it("come from the caller's tenant unless TENANT_* say otherwise", async () => {
    const caller = { kind: "api_key" as const, subject: "s", tenant: "Acme--Ops", roles: [], groups: [], scopes: [] };
    expect(await prefectTenantOf(caller, {})).toEqual({
      id: await uuidV5(PREFECT_TENANT_NAMESPACE, "Acme--Ops"),
      name: "Acme--Ops",
      slug: "acme-ops",
    });
    expect(await prefectTenantOf(caller, { id: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12", name: "Acme Org" })).toEqual({
      id: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
      name: "Acme Org",
      slug: "acme-ops",
    });
    const tenantless = await prefectTenantOf({ ...caller, tenant: undefined }, {});
    expect(tenantless).toEqual({ id: "1ca0b074-82ec-5f54-adc2-2b6a2a7255bf", name: "Default", slug: "default" });
    expect(tenantSlug("-A-b-")).toBe("a-b");
  });

  it("a tenant header names another tenant only when it is a UUID other than the caller's", () => {
    const own = "137fe27e-578f-5a00-aa0f-04b8eeec7f83";
    expect(namesAnotherTenant(undefined, own)).toBe(false);
    expect(namesAnotherTenant("", own)).toBe(false);
    expect(namesAnotherTenant("null", own)).toBe(false);
    expect(namesAnotherTenant(own.toUpperCase(), own)).toBe(false);
    expect(namesAnotherTenant(` ${own} `, own)).toBe(false);
    expect(namesAnotherTenant("1ca0b074-82ec-5f54-adc2-2b6a2a7255bf", own)).toBe(true);
  });
});
