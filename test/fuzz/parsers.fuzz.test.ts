/**
 * Property tests of the small parsers every request goes through (seeded, reproducible: FC_SEED overrides).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { parseApiKey } from "../../src/formats/apiKey";
import { extractCredential } from "../../src/identity/credentials";
import { parseScopePattern, scopeMatches } from "../../src/formats/scopes";
import { prefixTenant, stripTenant, stripTenantDeep } from "../../src/engines/conductor/tenantNames";
import { scopedSearchQuery as scopedSearchQueryVerdict, searchQueryProblem } from "../../src/engines/conductor/search";
import { seen } from "../engines/conductor/seen";

// The policies answer in `Verdict`s; `seen` reads them in the shapes the expectations below were written in.
const scopedSearchQuery = (...a: Parameters<typeof scopedSearchQueryVerdict>) => seen(scopedSearchQueryVerdict(...a));

const SEED = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FC_SEED ?? 20261122);
const opts = { seed: SEED, numRuns: 1000 };

describe("parsers never throw", () => {
  it("API keys and scope patterns", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 40 }), (a, b) => {
        parseApiKey(a);
        parseScopePattern(a);
        expect(typeof scopeMatches(a, b)).toBe("boolean");
      }),
      opts,
    );
  });

  it("credentials: a credential, null, or a 401 — nothing else", () => {
    const headerValue = fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, ""));
    fc.assert(
      fc.property(fc.option(headerValue), fc.option(headerValue), (auth, apiKey) => {
        const h = new Headers();
        try {
          if (auth !== null) h.set("authorization", auth);
          if (apiKey !== null) h.set("x-api-key", apiKey);
        } catch {
          return; // not a header value the runtime accepts at all
        }
        try {
          extractCredential(h);
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
          expect((err as GatewayError).status).toBe(401);
        }
      }),
      opts,
    );
  });
});

describe("Conductor names and search queries", () => {
  const tenant = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
  it("stripping inverts prefixing, and never leaves the tenant's prefix", () => {
    fc.assert(
      fc.property(
        tenant,
        fc.string({ maxLength: 30 }).filter((s) => !s.includes("___")),
        (t, name) => {
          expect(stripTenant(t, prefixTenant(t, name))).toBe(name);
          const deep = stripTenantDeep({ a: prefixTenant(t, name), b: [prefixTenant(t, prefixTenant(t, name))] }, t);
          expect(JSON.stringify(deep)).not.toContain(`"${t}___`);
        },
      ),
      opts,
    );
  });

  it("a scoped query either is refused or starts with the tenant's clause, the client's text in balanced parentheses", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), tenant, fc.option(fc.string({ maxLength: 20 })), (q, t, subject) => {
        const out = scopedSearchQuery(q, { backend: "elasticsearch", tenant: t, ownExecutionsOf: subject });
        if (typeof out !== "string") return;
        expect(searchQueryProblem(q.trim())).toBeNull();
        expect(out.startsWith(`workflowType STARTS_WITH '${t}___'`)).toBe(true);
      }),
      opts,
    );
  });
});
