/**
 * Who may sign in with the identity provider (docs/browser-sign-in.md, "Who may sign in"), decided at the callback
 * before any session exists. Pure: the ID token's claims and the principal they map to in, a verdict out.
 *
 * Modelled on oauth2-proxy's `--allowed-group` and `--email-domain` and on Cloudflare Access policies: each rule
 * that is configured must hold (a list within a rule is "any one of"):
 * - OIDC_ALLOWED_GROUPS: the account is in one of these groups (its groups as JWT_CLAIM_GROUPS maps them; exact);
 * - OIDC_ALLOWED_EMAIL_DOMAINS: its email (JWT_CLAIM_EMAIL) is at one of these domains, and the provider says it
 *   verified that address (`email_verified` is `true`): an unverified address proves nothing about its domain;
 * - OIDC_ALLOWED_CLAIMS: one of these `claim=value` pairs holds (a dotted path, as JWT_CLAIM_*; the claim equals
 *   the value, or is a list holding it).
 * And always, configured or not: the account maps to something here (a tenant, a role, a group or a scope). An
 * account that maps to nothing could do nothing but look at the UIs' pages, so it is refused at the door rather
 * than given a session whose every call is refused.
 */
import type { OidcConfig } from "../config";
import { allow, refuse, type Verdict } from "../verdict";
import { readClaim } from "./jwt";
import type { Principal } from "./principal";

export type AdmissionRules = OidcConfig["allowed"];

const refused = (reason: string): Verdict => refuse(reason, "FORBIDDEN");

/** Whether a claim value holds `expected`: equal to it, or a list of which one item is. */
function holds(value: unknown, expected: string): boolean {
  if (Array.isArray(value)) return value.some((v) => holds(v, expected));
  return (typeof value === "string" || typeof value === "number" || typeof value === "boolean") && String(value) === expected;
}

/** Whether the account whose ID token carried `claims` (mapped to `p`) may sign in. Reasons name no rule's values. */
export function admit(claims: Record<string, unknown>, p: Principal, rules: AdmissionRules): Verdict {
  if (p.tenant === undefined && p.roles.length === 0 && p.groups.length === 0 && p.scopes.length === 0)
    return refused("this account has no access here (no tenant, role, group or scope); ask an administrator to grant it some");
  if (rules.groups.length > 0 && !p.groups.some((g) => rules.groups.includes(g)))
    return refused("this account is in none of the groups allowed to sign in here");
  if (rules.emailDomains.length > 0) {
    if (claims.email_verified !== true) return refused("the identity provider has not verified this account's email address");
    // One `@` exactly: an address whose domain would depend on how a parser reads a quoted local part is not taken.
    const parts = p.email?.split("@") ?? [];
    if (parts.length !== 2 || parts[0] === "" || !rules.emailDomains.includes(parts[1]!.toLowerCase()))
      return refused("this account's email address is not at a domain allowed to sign in here");
  }
  if (rules.claims.length > 0 && !rules.claims.some((r) => holds(readClaim(claims, r.claim), r.value)))
    return refused("this account does not hold a claim allowed to sign in here");
  return allow();
}
