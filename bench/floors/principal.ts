/**
 * The floors' caller: any Bearer key is taken as one principal (the floors measure work, not policy), found by the
 * key's hash (flowgate's own `hashApiKey`) in a Map, the first sight of a hash playing the database.
 */
import { hashApiKey } from "../../src/formats/apiKey";

export interface FloorPrincipal {
  kind: "api_key";
  subject: string;
  email: string | undefined;
  tenant: string;
  roles: string[];
  groups: string[];
  scopes: string[];
  keyId: string;
  tokenId: string | undefined;
  servesTenants: string[] | undefined;
}

const principalOf = (hash: string): FloorPrincipal => ({
  kind: "api_key",
  subject: "floor",
  email: undefined,
  tenant: "bench",
  roles: [],
  groups: [],
  scopes: ["prefect:query:*", "prefect:mutation:*"],
  keyId: `k_${hash.slice(0, 12)}`,
  tokenId: undefined,
  servesTenants: undefined,
});

const principals = new Map<string, FloorPrincipal>();

/** The caller of a request's Authorization header, or null when it carries no Bearer credential. */
export function callerOf(authorization: string | null | undefined): FloorPrincipal | null {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? "");
  if (!m) return null;
  const hash = hashApiKey(m[1]!);
  let p = principals.get(hash);
  if (!p) principals.set(hash, (p = principalOf(hash)));
  return p;
}

/** `/whoami`'s answer, built per request as flowgate's route builds it. */
export function whoamiBody(p: FloorPrincipal) {
  const { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants } = p;
  return { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants };
}
