/**
 * The world the route table runs in: one env with every engine pointing at its recording stand-in (one tag), the
 * two Conductor tenants of `seedTwoTenants`, two Argo workspaces (the grant enters `mine` only), a FlowAuth key
 * pair, and one credential per grant, plus the credentials that must never work (malformed, expired, revoked).
 */
import { SignJWT, exportSPKI, generateKeyPair, type JWTPayload } from "jose";
import type { Env } from "../../src/config";
import { adminKey, asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag } from "../helpers";
import { seedTwoTenants, type ConductorStack } from "../engines/conductor/harness";
import { FLOWAPI_SCOPES, type Grant, type RouteEntry, type SampleRequest } from "./table";

export interface UpstreamRecord {
  source: string;
  method: string;
  path: string;
  headers: Record<string, unknown>;
  /** The body exactly as the stand-in received it (empty when none). */
  body: string;
}

export interface World {
  env: Env;
  tag: string;
  /** The `authorization` value of a grant's credential; `plain` holds a tenant and nothing else. */
  credential(kind: RouteEntry["credential"], grant: Grant | "plain"): string;
  /** Credentials that must be refused (401) on every route taking this kind. */
  refused(kind: RouteEntry["credential"]): Record<string, string>;
  /** A table request with its placeholders filled in. */
  fill(req: SampleRequest): SampleRequest;
  send(req: SampleRequest, headers?: Record<string, string>): Promise<Response>;
  /** Marks now; the function returned gives what every stand-in has received since. */
  mark(): Promise<() => Promise<UpstreamRecord[]>>;
}

const FLOWAPI_AUDIENCE = "flowapi-route-table";

export async function buildWorld(): Promise<World> {
  const tag = uniqueTag("rt");
  const mine = `${tag}-mine`;
  const theirs = `${tag}-theirs`;
  const pair = await generateKeyPair("RS256", { extractable: true });
  const env = envWith({
    PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}`),
    CONDUCTOR_URL: stubUrl(`/conductor/${tag}`),
    SCHELLAR_URL: stubUrl(`/schellar/${tag}`),
    ARGO_URL: stubUrl(`/argo/${tag}`),
    FLOWAPI_URL: stubUrl(`/flowapi/${tag}`),
    FLOWAPI_IDENTIFIER: FLOWAPI_AUDIENCE,
    FLOWAPI_PUBLIC_KEY: await exportSPKI(pair.publicKey),
  });

  await seedTwoTenants({
    seed: async (data) => void (await fetch(stubUrl(`/conductor-admin/${tag}/seed`), { method: "POST", body: JSON.stringify(data) })),
  } as ConductorStack);
  for (const [name, role] of [
    [mine, `${tag}-a`],
    [theirs, `${tag}-b`],
  ] as const) {
    const res = await asAdmin(`/admin/workspaces/${name}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: true }, env });
    if (res.status !== 201 && res.status !== 200) throw new Error(`workspace ${name}: ${res.status} ${await res.text()}`);
  }

  const key = async (body: Record<string, unknown>) => `Bearer ${(await createTestKey({ subject: uniqueTag("rt"), ...body }, env)).key}`;
  const flowauth = async (claims: Record<string, string[]>, extra: JWTPayload = {}) =>
    `Bearer ${await new SignJWT({
      aud: FLOWAPI_AUDIENCE,
      sub: "route-table",
      jti: crypto.randomUUID(),
      user_claims: claims,
      iat: Math.floor(Date.now() / 1000),
      ...extra,
    })
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime((extra.exp as number | undefined) ?? "30m")
      .sign(pair.privateKey)}`;

  const keys: Record<Grant | "plain", string> = {
    any: "",
    plain: await key({ tenant: "acme" }),
    admin: `Bearer ${adminKey()}`,
    conductorAdmin: await key({ tenant: "FACEBOOK", scopes: ["conductor"], roles: ["OWNER"] }),
    worker: await key({ tenant: "FACEBOOK", scopes: ["worker"], servesTenants: ["FACEBOOK"] }),
    prefect: await key({ tenant: "acme", scopes: ["query/*"] }),
    argo: await key({ tenant: "acme", roles: [`${tag}-a`] }),
    flowauthRun: "",
    flowauthAll: "",
  };
  keys.any = keys.plain;
  const tokens: Record<Grant | "plain", string> = {
    ...keys,
    any: await flowauth({ r: [] }),
    plain: await flowauth({ r: [] }),
    flowauthRun: await flowauth({ r: ["run", ...FLOWAPI_SCOPES] }),
    flowauthAll: await flowauth({ r: ["run", "get_result", ...FLOWAPI_SCOPES] }),
  };

  const revokedKey = await createTestKey(
    { tenant: "FACEBOOK", subject: uniqueTag("rt"), scopes: ["conductor", "worker", "query/*", "admin"], roles: ["OWNER", `${tag}-a`] },
    env,
  );
  const del = await asAdmin(`/admin/keys/${revokedKey.id}`, { method: "DELETE", env });
  if (del.status !== 200) throw new Error(`revoking a key: ${del.status}`);
  const expiredKey = await key({
    tenant: "FACEBOOK",
    scopes: ["conductor", "worker", "query/*"],
    roles: ["OWNER", `${tag}-a`],
    expiresAt: new Date(Date.now() - 60_000).toISOString(),
  });
  const revokedJti = crypto.randomUUID();
  const revokedToken = await flowauth({ r: ["run", "get_result", ...FLOWAPI_SCOPES] }, { jti: revokedJti });
  const rev = await asAdmin("/admin/tokens/revoke", { method: "POST", json: { jti: revokedJti }, env });
  if (rev.status !== 200) throw new Error(`revoking a token: ${rev.status}`);

  const keyRefusals = {
    malformed: "Bearer fgk_not-a-key",
    "malformed checksum": "Bearer fgk_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345abcdef",
    "unsigned JWT": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsInNjb3BlIjoiYWRtaW4ifQ.",
    expired: expiredKey,
    revoked: `Bearer ${revokedKey.key}`,
  };
  const tokenRefusals = {
    malformed: "Bearer not.a.token",
    "a flowgate key": keys.plain,
    expired: await flowauth(
      { r: ["run", "get_result", ...FLOWAPI_SCOPES] },
      { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 },
    ),
    revoked: revokedToken,
  };

  const fillText = (s: string) => s.replaceAll("{mine}", mine).replaceAll("{theirs}", theirs).replaceAll("{tag}", tag);
  const fill = (req: SampleRequest): SampleRequest => ({
    ...req,
    path: fillText(req.path),
    body: req.body === undefined ? undefined : JSON.parse(fillText(JSON.stringify(req.body))),
  });

  const source = async (name: string, url: string) =>
    ((await (await fetch(url)).json()) as Omit<UpstreamRecord, "source">[]).map((r) => ({ ...r, source: name }));

  return {
    env,
    tag,
    credential: (kind, grant) => (kind === "flowauth" ? tokens[grant] : keys[grant]),
    refused: (kind) => (kind === "flowauth" ? tokenRefusals : keyRefusals),
    fill,
    send: (req, headers = {}) => {
      const init: RequestInit & { env: Env; json?: unknown } = { method: req.method, env, headers: { ...req.headers, ...headers } };
      if (req.text !== undefined) init.body = req.text;
      else if (req.body !== undefined) init.json = req.body;
      return call(req.path, init);
    },
    mark: async () => {
      const all = async () => [
        await source("prefect", stubUrl(`/records/${tag}`)),
        await source("argo/flowapi", stubUrl(`/engine-records/${tag}`)),
        await source("conductor", stubUrl(`/conductor-admin/${tag}/records`)),
      ];
      const counts = (await all()).map((list) => list.length);
      return async () => (await all()).flatMap((list, i) => list.slice(counts[i]));
    },
  };
}

/** The only 5xx answers the contract allows: upstream unreachable, auth backend down, upstream too slow. */
export const ALLOWED_5XX = [502, 503, 504];
