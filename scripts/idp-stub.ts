/**
 * `npm run idp-stub`: a real OpenID provider (node-oidc-provider, a certified implementation) on 127.0.0.1, with a
 * few test users and groups, for trying browser sign-in against `npm start` and for the browser tests. Not a
 * production provider: users live in this file, keys and sessions in memory.
 *
 *   PORT=9000 GATEWAY=http://127.0.0.1:8787 npm run idp-stub
 *   OIDC_ISSUER=http://127.0.0.1:9000 OIDC_CLIENT_ID=flowgate OIDC_CLIENT_SECRET=flowgate-local-secret \
 *   OIDC_REDIRECT_URI=http://127.0.0.1:8787/auth/callback OIDC_SCOPES="openid email profile groups" \
 *   JWT_CLAIM_SCOPES=flowgate_scopes SESSION_SECRETS=<32+ characters> npm start
 *
 * Users (password = `password-<name>`): alice (group `analysts`: GraphQL queries, Conductor as a plain user),
 * bob (group `NETWORK-ADMIN`: GraphQL queries and mutations, Conductor admin, flowgate admin), carol (no grants:
 * refused at sign-in), dave (group `contractors`, GraphQL queries: refused where OIDC_ALLOWED_GROUPS leaves it out).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { type Adapter, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from "oidc-provider";

export interface TestUser {
  password: string;
  email: string;
  groups: string[];
  roles: string[];
  tenant?: string;
  /** Lands in the `flowgate_scopes` claim (JWT_CLAIM_SCOPES=flowgate_scopes). */
  scopes: string;
}

export const TEST_USERS: Record<string, TestUser> = {
  alice: {
    password: "password-alice",
    email: "alice@example.test",
    groups: ["analysts"],
    roles: ["reader"],
    tenant: "acme",
    scopes: "query/* conductor",
  },
  bob: {
    password: "password-bob",
    email: "bob@example.test",
    groups: ["NETWORK-ADMIN"],
    roles: ["OWNER"],
    tenant: "acme",
    scopes: "query/* mutation/* conductor admin",
  },
  carol: { password: "password-carol", email: "carol@example.test", groups: [], roles: [], scopes: "" },
  dave: { password: "password-dave", email: "dave@example.test", groups: ["contractors"], roles: [], tenant: "acme", scopes: "query/*" },
};

export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface Idp {
  issuer: string;
  port: number;
  close(): Promise<void>;
}

const CLAIMS = ["groups", "roles", "tenant", "flowgate_scopes"];

/**
 * Storage of one provider instance. oidc-provider's built-in development adapter is one store for the whole
 * process, so two providers started by one test would redeem each other's codes; each gets its own here.
 */
function memoryAdapter(): new (name: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  const grants = new Map<string, string[]>();
  const uids = new Map<string, string>();
  return class implements Adapter {
    constructor(private readonly name: string) {}
    private key = (id: string) => `${this.name}:${id}`;
    async upsert(id: string, payload: AdapterPayload): Promise<void> {
      store.set(this.key(id), payload);
      if (payload.grantId) grants.set(payload.grantId, [...(grants.get(payload.grantId) ?? []), this.key(id)]);
      if (payload.uid) uids.set(payload.uid, id);
    }
    async find(id: string) {
      return store.get(this.key(id));
    }
    async findByUid(uid: string) {
      const id = uids.get(uid);
      return id ? store.get(this.key(id)) : undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const v = store.get(this.key(id));
      if (v) v.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const k of grants.get(grantId) ?? []) store.delete(k);
      grants.delete(grantId);
    }
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, error = ""): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test provider sign-in</title></head><body>
<h1>Test provider</h1>${error ? `<p id="error">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="sign-in" type="submit">Sign in</button></form></body></html>`;
}

const readForm = (req: IncomingMessage) =>
  new Promise<URLSearchParams>((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
  });

/** Starts a provider on 127.0.0.1:`port` (0: any free port) that knows `clients`. */
export async function startIdp(options: { port?: number; clients: IdpClient[]; users?: Record<string, TestUser> }): Promise<Idp> {
  const users = options.users ?? TEST_USERS;
  let server: Server | null = null;
  // The issuer names the port, so the port is taken first.
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(options.port ?? 0, "127.0.0.1", () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  const issuer = `http://127.0.0.1:${port}`;
  // Signing keys of this instance only (the library's development keys are the same for every instance).
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const configuration: Configuration = {
    adapter: memoryAdapter(),
    jwks: {
      keys: [{ ...(await exportJWK(privateKey)), kid: `idp-${port}`, alg: "RS256", use: "sig" }] as NonNullable<
        Configuration["jwks"]
      >["keys"],
    },
    clients: options.clients.map((c) => ({
      ...c,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    pkce: { required: () => true, methods: ["S256"] },
    scopes: ["openid", "email", "profile", "groups"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: CLAIMS },
    // The gateway reads identity from the ID token itself, as it does from a bearer JWT.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ["flowgate-idp-stub-cookie-key-not-a-secret"] },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const u = users[id];
      if (!u) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: id,
            email: u.email,
            email_verified: true,
            groups: u.groups,
            roles: u.roles,
            tenant: u.tenant,
            flowgate_scopes: u.scopes,
          };
        },
      };
    },
    // Consent is pre-agreed for the test clients: the grant covers every scope and claim they ask for.
    async loadExistingGrant(ctx) {
      const oidc = ctx.oidc;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(oidc.client!.clientId);
      if (grantId) {
        const found = await oidc.provider.Grant.find(grantId);
        if (found) return found;
      }
      const grant = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId! });
      grant.addOIDCScope("openid email profile groups");
      grant.addOIDCClaims(["email", "email_verified", "name", ...CLAIMS]);
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const oidcCallback = provider.callback();

  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
    if (!m) return void oidcCallback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) return void res.writeHead(400).end("interaction mismatch");
      if (!m[2]) return void res.writeHead(200, { "content-type": "text/html" }).end(loginPage(details.uid));
      const form = await readForm(req);
      const name = form.get("username") ?? "";
      const user = users[name];
      if (!user || user.password !== form.get("password")) {
        return void res.writeHead(200, { "content-type": "text/html" }).end(loginPage(details.uid, "Unknown user or wrong password"));
      }
      await provider.interactionFinished(req, res, { login: { accountId: name } }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`interaction failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server!.closeAllConnections();
        server!.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const gateway = (process.env.GATEWAY ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const idp = await startIdp({
    port: Number(process.env.PORT ?? 9000),
    clients: [{ client_id: "flowgate", client_secret: "flowgate-local-secret", redirect_uris: [`${gateway}/auth/callback`] }],
  });
  console.log(`[idp-stub] OpenID provider on ${idp.issuer} (client flowgate / flowgate-local-secret, redirect ${gateway}/auth/callback)`);
  console.log(
    `[idp-stub] users: ${Object.keys(TEST_USERS)
      .map((u) => `${u} / password-${u}`)
      .join(", ")}`,
  );
}
