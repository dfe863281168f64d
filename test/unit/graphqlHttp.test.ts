import { v5 as uuidV5 } from "uuid";
import { describe, expect, it } from "vitest";
import { PREFECT_TENANT_NAMESPACE } from "../../src/constants";
import { namesAnotherTenant, prefectTenantIdOf, prefectTenantOf, tenantSlug } from "../../src/engines/prefect/tenant";
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
  // The ids were given to Prefect clients (`prefect auth login` keeps them): they must never change. The expected
  // values come from Python's uuid.uuid5, not from this code.
  it("are RFC 9562 name-based (v5) UUIDs of the tenant's name, as Python's uuid.uuid5 makes them", () => {
    // RFC 9562 appendix A.4 (uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")) and Python's documentation's example,
    // through the same library the gateway derives its ids with.
    expect(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
    expect(uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
    // uuid.uuid5(uuid.UUID(PREFECT_TENANT_NAMESPACE), name): "" is callers without a tenant; a name of 64 characters
    // (the longest) takes the hash over two blocks; a non-ASCII name is hashed as its UTF-8 bytes.
    const python: [string, string][] = [
      ["acme", "137fe27e-578f-5a00-aa0f-04b8eeec7f83"],
      ["globex", "0e50fbc7-22c7-572d-aaef-5edaea5a0b5f"],
      ["Acme--Ops", "238c8201-e9e3-531a-b875-1f5741f02245"],
      ["", "1ca0b074-82ec-5f54-adc2-2b6a2a7255bf"],
      ["x".repeat(64), "842cab21-1d69-5916-a6f6-bf9ed9de2537"],
      ["Ünïcødé テナント", "86d97762-8fe9-5a41-8f87-ffff81e17cb3"],
    ];
    for (const [name, id] of python) {
      expect(prefectTenantIdOf(name), JSON.stringify(name)).toBe(id);
      expect(prefectTenantIdOf(name), `${JSON.stringify(name)}, remembered`).toBe(id);
    }
    expect(PREFECT_TENANT_NAMESPACE).toBe("a805008c-5ac9-4a2c-833b-280f1c2532ae");
  });

  it("come from the caller's tenant unless TENANT_* say otherwise", () => {
    const caller = { kind: "api_key" as const, subject: "s", tenant: "Acme--Ops", roles: [], groups: [], scopes: [] };
    expect(prefectTenantOf(caller, {})).toEqual({
      id: "238c8201-e9e3-531a-b875-1f5741f02245",
      name: "Acme--Ops",
      slug: "acme-ops",
    });
    expect(prefectTenantOf(caller, { id: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12", name: "Acme Org" })).toEqual({
      id: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
      name: "Acme Org",
      slug: "acme-ops",
    });
    const tenantless = prefectTenantOf({ ...caller, tenant: undefined }, {});
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
