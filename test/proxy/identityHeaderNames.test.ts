/**
 * Role and group names as an engine reads them from the identity headers: `x-flowgate-roles` and
 * `x-flowgate-groups` are comma-joined lists (src/proxy/headers.ts), and the example verifier compares them to the
 * assertion's `roles`/`groups` joined the same way (examples/assertion-verifier/verifier.mjs). A name holding a
 * comma (an IdP group, a key's group) would reach the engine as two names, neither of which the gateway granted;
 * a list cut at the header's 4,096 characters would end in a shortened name (`...,admin` from `administrators`).
 * Oracle: the header split on commas, as an engine splits it, holds only names the principal has, and the signed
 * assertion says exactly what the header says.
 */
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { ASSERTION_TYPE, assertionClaims } from "../../src/proxy/assertion";
import { principalHeaders } from "../../src/proxy/headers";
import { call, createTestKey, envWith, recorded, stubUrl, uniqueTag } from "../helpers";

const signing = {
  ...((await crypto.subtle.exportKey(
    "jwk",
    ((await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair).privateKey,
  )) as JsonWebKey),
  kid: "gw-1",
};
const tag = uniqueTag("names");
const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), UPSTREAM_ASSERTION_KEYS: JSON.stringify([signing]) });

async function seen(groups: string[], roles: string[] = []) {
  const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), groups, roles, scopes: ["query/*"] }, env);
  const res = await call("/prefect/graphql", {
    env,
    method: "POST",
    json: { query: "{ flow { id } }" },
    headers: { authorization: `Bearer ${key}` },
  });
  expect(res.status).toBe(200);
  const got = (await recorded(tag)).at(-1)!;
  const jwks = (await (await call("/.well-known/jwks.json", { env })).json()) as { keys: Record<string, string>[] };
  const { payload } = await jwtVerify(got.headers["x-flowgate-assertion"]!, createLocalJWKSet(jwks), {
    issuer: "flowgate",
    audience: "prefect",
    typ: ASSERTION_TYPE,
  });
  return { headers: got.headers, claims: payload as { groups: string[]; roles: string[] } };
}

const split = (header: string | undefined) => (header === undefined ? [] : header.split(","));

describe("a role or group name reaches the engine as the one name the gateway decided on, or not at all", () => {
  it("a name holding a comma is not read by the engine as two names", async () => {
    const groups = ["viewers,conductor-admins", "plain"];
    const roles = ["reader,OWNER"];
    const { headers, claims } = await seen(groups, roles);
    for (const g of split(headers["x-flowgate-groups"])) expect(groups).toContain(g);
    for (const r of split(headers["x-flowgate-roles"])) expect(roles).toContain(r);
    expect(claims.groups.join(",")).toBe(headers["x-flowgate-groups"] ?? "");
    expect(claims.roles.join(",")).toBe(headers["x-flowgate-roles"] ?? "");
  });

  it("a list longer than the header's cut ends at a whole name, and the assertion says the same list", async () => {
    const groups = Array.from({ length: 100 }, (_, i) => `g${String(i).padStart(3, "0")}-${"x".repeat(40)}-administrators`);
    const { headers, claims } = await seen(groups);
    const carried = split(headers["x-flowgate-groups"]);
    expect(carried.length).toBeGreaterThan(0);
    for (const g of carried) expect(groups).toContain(g);
    expect(claims.groups.join(",")).toBe(headers["x-flowgate-groups"]);
  });

  it("a name with a space at either end is not read as the trimmed name (HTTP drops a value's outer spaces, engines trim split names)", () => {
    const roles = [" admin", "OWNER ", "ops"];
    const groups = ["\u00a0conductor-admins", "plain"];
    const principal = { kind: "api_key" as const, subject: "svc", tenant: "acme", roles, groups, scopes: [] };
    const headers = principalHeaders(principal, "req-12345678");
    // An engine reads each name of the list trimmed, as the HTTP field value already is at its ends.
    const read = (header: string | undefined) => split(header).map((n) => n.trim());
    for (const r of read(headers["x-flowgate-roles"])) expect(roles).toContain(r);
    for (const g of read(headers["x-flowgate-groups"])) expect(groups).toContain(g);
    expect(assertionClaims(principal)).toMatchObject({ roles: ["ops"], groups: ["plain"] });
  });
});

describe("the subject reaches the engine as the gateway decided it, or no call is made", () => {
  const as = (subject: string, email?: string) => ({
    kind: "jwt" as const,
    subject,
    email,
    tenant: "acme",
    roles: [],
    groups: [],
    scopes: [],
  });
  // The engine's view: the record as `fetch` sends it (a value's outer spaces dropped).
  const engineReads = (subject: string, email?: string) => new Headers(principalHeaders(as(subject, email), "req-12345678"));

  it.each(["admin\n", "admin ", " admin", "admin\u0000", "\tadmin", `${"a".repeat(4_096)}-second`])(
    "subject #%# (a control character, an outer space, past the header's length) is refused, never sent as another",
    (subject) => {
      let read: string | null = null;
      try {
        read = engineReads(subject).get("x-flowgate-subject");
      } catch (e) {
        expect((e as { code?: string }).code).toBe("FORBIDDEN");
        return;
      }
      expect(read).toBe(subject);
    },
  );

  it("an email that would arrive changed is left out; a plain one is sent as it is", () => {
    expect(engineReads("alice", " boss@example.org").get("x-flowgate-email")).toBeNull();
    // The assertion states what the headers say.
    expect(assertionClaims(as("alice", " boss@example.org")).email).toBeUndefined();
    expect(engineReads("alice", "alice@example.org").get("x-flowgate-email")).toBe("alice@example.org");
    expect(engineReads("alice").get("x-flowgate-subject")).toBe("alice");
  });
});
