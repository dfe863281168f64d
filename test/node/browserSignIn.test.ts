/**
 * Browser sign-in end to end: a real OpenID provider (node-oidc-provider, scripts/idp-stub.ts), the deployable
 * Worker on workerd through Miniflare (scripts/worker-runtime.ts, as `npm start` runs it), the stand-in engines
 * (test/setup/stubs.ts), a real PostgreSQL (PGlite) and Debian's Chromium driven by playwright-core. Then the
 * attacks, each refused.
 */
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db.ts";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime.ts";
import { TEST_USERS, startIdp, type Idp } from "../../scripts/idp-stub.ts";
import { startStubs, type Stubs } from "../setup/stubs.ts";
import { schema } from "../../src/db/schema.ts";
import { createKey } from "../../src/store/keys.ts";
import * as oauth from "oauth4webapi";
import { idTokenClaims, type Provider } from "../../src/identity/oidc.ts";
import { cookieNamesFor, newSession, openSession, sealSession } from "../../src/identity/session.ts";
import type { SessionConfig } from "../../src/config.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GATEWAY_PORT = 9241;
const ATTACKER_PORT = 9243;
const GATEWAY = `http://127.0.0.1:${GATEWAY_PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SECRET = "test-session-secret-0123456789abcdef";
const CLIENT = { client_id: "flowgate", client_secret: "flowgate-test-secret", redirect_uris: [`${GATEWAY}/auth/callback`] };
const OTHER_CLIENT = { client_id: "other-app", client_secret: "other-app-secret", redirect_uris: ["http://127.0.0.1:9/other/callback"] };
const COOKIE = "flowgate-session";
const SIGNIN_COOKIE = "flowgate-signin";
const PREFECT_TAG = "browser-prefect";
const CONDUCTOR_TAG = "browser";
const ALLOWED_GROUPS = "analysts,NETWORK-ADMIN";
/** MEMORY_CACHE_TTL_S of this stack: the documented bound on a revocation reaching every isolate (plus KV's). */
const MEMORY_TTL_S = 2;

let db: LocalDatabase;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
let stubs: Stubs;
let idp: Idp;
let evilIdp: Idp;
let stop: () => Promise<void>;
let browser: Browser;
let attacker: Server;
let adminKey: string;
let adminKeyId: string;
let plainKey: string;
let consoleKey: string;

const stubUrl = () => `http://127.0.0.1:${stubs.port}`;

beforeAll(async () => {
  // PGlite by default; with TEST_DATABASE_URL, a scratch database of this run's own on that server.
  const server = process.env.TEST_DATABASE_URL;
  scratch = server ? await createScratchDatabase(server, "browser") : null;
  db = await startLocalDatabase({ databaseUrl: scratch?.url });
  stubs = await startStubs();
  // "crowd" belongs to more groups than a cookie can carry (one of them allowed to sign in).
  const crowd = {
    password: "password-crowd",
    email: "crowd@example.test",
    groups: ["analysts", ...Array.from({ length: 300 }, (_, i) => `group-number-${i}`)],
    roles: [],
    scopes: "query/*",
  };
  idp = await startIdp({ clients: [CLIENT, OTHER_CLIENT], users: { ...TEST_USERS, crowd } });
  // Another provider that knows a client of the same name and redirect URI: its codes and tokens must not pass.
  evilIdp = await startIdp({ clients: [CLIENT, OTHER_CLIENT] });
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const admin = await createKey(drizzle(client, { schema }), {
    tenant: "ops",
    subject: "browser-admin",
    scopes: ["admin"],
    createdBy: "test",
  });
  adminKey = admin.key;
  const consoleAdmin = await createKey(drizzle(client, { schema }), {
    tenant: "ops",
    subject: "console-admin",
    scopes: ["admin"],
    createdBy: "test",
  });
  consoleKey = consoleAdmin.key;
  adminKeyId = consoleAdmin.row.id;
  plainKey = (await createKey(drizzle(client, { schema }), { tenant: "acme", subject: "svc", scopes: ["conductor"], createdBy: "test" }))
    .key;
  await client.end();
  await fetch(`${stubUrl()}/conductor-admin/${CONDUCTOR_TAG}/seed`, {
    method: "POST",
    body: JSON.stringify({
      workflowDefs: [
        {
          name: "acme___reports",
          version: 1,
          description: "Monthly reports - analysts",
          tasks: [{ name: "acme___report", taskReferenceName: "r", type: "SIMPLE" }],
        },
        {
          name: "acme___payroll",
          version: 1,
          description: "Payroll - finance",
          tasks: [{ name: "acme___pay", taskReferenceName: "p", type: "SIMPLE" }],
        },
      ],
    }),
  });
  const { mf } = await startRuntime({
    scriptPath: buildWorker(`${ROOT}.data/build-browser-test`),
    port: GATEWAY_PORT,
    compatibilityDate: wranglerFacts().compatibilityDate,
    bindings: {
      DATABASE_URL: db.workerDatabaseUrl,
      DB_WS_PROXY: db.wsProxy,
      LOG_LEVEL: "error",
      MEMORY_CACHE_TTL_S: String(MEMORY_TTL_S),
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: CLIENT.client_id,
      OIDC_CLIENT_SECRET: CLIENT.client_secret,
      OIDC_REDIRECT_URI: `${GATEWAY}/auth/callback`,
      OIDC_SCOPES: "openid email profile groups",
      JWT_CLAIM_SCOPES: "flowgate_scopes",
      // Who may sign in: alice's and bob's groups; dave (contractors) is refused at the callback, carol (no grants) too.
      OIDC_ALLOWED_GROUPS: ALLOWED_GROUPS,
      SESSION_SECRETS: SECRET,
      // Break-glass: the key exchange stays on beside the provider in this stack, so both are tested together.
      SESSION_KEY_EXCHANGE: "true",
      PREFECT_GRAPHQL_URL: `${stubUrl()}/rec/${PREFECT_TAG}`,
      // Single-tenant Prefect: this stack is about sessions and scopes, and its recording stub cannot answer the
      // multi-tenant mode's pre-read of a mutation's ids (test/engines/prefect/tenants.test.ts proves that mode).
      TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
      CONDUCTOR_URL: `${stubUrl()}/conductor/${CONDUCTOR_TAG}`,
      ARGO_URL: `${stubUrl()}/argo/browser`,
      PREFECT_UI_URL: `${stubUrl()}/rec/prefect-ui`,
      CONDUCTOR_UI_URL: `${stubUrl()}/rec/conductor-ui`,
    },
    onStdout: () => {},
    onStderr: () => {},
  });
  stop = () => mf.dispose();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  // A page on another origin of the same site (another port of 127.0.0.1), as a sibling subdomain would be.
  attacker = createServer((req, res) => {
    const target = new URL(req.url ?? "/", "http://x").searchParams.get("target") ?? "/prefect/graphql";
    res
      .writeHead(200, { "content-type": "text/html" })
      .end(
        `<!doctype html><form id="f" method="post" enctype="text/plain" action="${GATEWAY}${target}"><input name='{"query":"mutation { delete_flow(input: {flow_id: \\"x\\"}) { success } }","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`,
      );
  });
  await new Promise<void>((resolve) => attacker.listen(ATTACKER_PORT, "127.0.0.1", resolve));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stop?.();
  attacker?.closeAllConnections();
  attacker?.close();
  await idp?.close();
  await evilIdp?.close();
  await stubs?.close();
  await db?.close();
  await scratch?.drop();
});

const landed = (u: URL) => u.origin === GATEWAY && !u.pathname.startsWith("/auth/");

/**
 * Signs in through the real login form (or straight through, when the provider's own session still holds: single
 * sign-on); answers the page where the browser landed.
 */
async function signIn(context: BrowserContext, user: string, start = "/argo/"): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${GATEWAY}${start}`);
  await page.waitForURL((u) => u.pathname.startsWith("/interaction/") || landed(u));
  if (landed(new URL(page.url()))) return page;
  await page.fill("#username", user);
  await page.fill("#password", `password-${user}`);
  await Promise.all([page.waitForURL(landed), page.click("#sign-in")]);
  return page;
}

interface Navigation {
  status: number;
  location: string | undefined;
  type: string | undefined;
  csp: string | undefined;
  setCookie: string[];
  body: string;
}

/**
 * A page load with the headers a browser sends (Node's fetch would overwrite Sec-Fetch-Mode): a GET, or a form
 * posted from the gateway's own page.
 */
function navigate(url: string, options: { cookie?: string; form?: Record<string, string> } = {}): Promise<Navigation> {
  const headers: Record<string, string> = {
    accept: "text/html,application/xhtml+xml",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
    "sec-fetch-site": options.form ? "same-origin" : "none",
  };
  if (options.cookie) headers.cookie = options.cookie;
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  if (body !== undefined) Object.assign(headers, { origin: GATEWAY, "content-type": "application/x-www-form-urlencoded" });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? "GET" : "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          type: res.headers["content-type"],
          csp: String(res.headers["content-security-policy"] ?? ""),
          setCookie: res.headers["set-cookie"] ?? [],
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A Set-Cookie line's attributes (after the name=value), lowercased, in any order. */
const attributes = (line: string) =>
  line
    .split(";")
    .slice(1)
    .map((a) => a.trim().toLowerCase());

const sessionCookie = async (context: BrowserContext) => (await context.cookies(GATEWAY)).find((c) => c.name === COOKIE);

/** A same-origin call from the page, as a UI makes it (JSON body, the cookie sent by the browser). */
async function call(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, json, text };
    },
    { method, path, body },
  );
}

/** Minimal cookie jar for driving a sign-in without a browser (the attacks below need the raw URLs). */
class Jar {
  private cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/** Logs `user` in at the provider behind `authUrl` and answers the redirect back to the client (code and state). */
async function providerRedirect(authUrl: string, user: string): Promise<string> {
  const jar = new Jar();
  let url = authUrl;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header() } });
    jar.take(res);
    let location = res.headers.get("location");
    if (!location && new URL(url).pathname.startsWith("/interaction/")) {
      const login = await fetch(`${url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ username: user, password: `password-${user}` }).toString(),
      });
      jar.take(login);
      location = login.headers.get("location");
    }
    if (!location) throw new Error(`provider stopped at ${url} (${res.status})`);
    const next = new URL(location, url);
    if (next.origin !== new URL(authUrl).origin) return next.toString();
    url = next.toString();
  }
  throw new Error("too many redirects at the provider");
}

/** `/auth/login` without a browser: the sign-in cookie and the provider URL it sends to. */
async function startLogin(returnTo = "/"): Promise<{ signin: string; authUrl: string }> {
  const res = await fetch(`${GATEWAY}/auth/login?return_to=${encodeURIComponent(returnTo)}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  const jar = new Jar();
  jar.take(res);
  return { signin: jar.get(SIGNIN_COOKIE)!, authUrl: res.headers.get("location")! };
}

const callback = (url: string, signin: string) => fetch(url, { redirect: "manual", headers: { cookie: `${SIGNIN_COOKIE}=${signin}` } });

/** A provider's token endpoint's answer (with its ID token) for `client`, a relying party in the test itself. */
async function tokenAnswerFrom(provider: Idp, client: typeof CLIENT, user: string, nonce: string): Promise<Response> {
  const verifier = "v".repeat(64);
  const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
  const auth = new URL(`${provider.issuer}/auth`);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0]!,
    scope: "openid groups",
    state: "s",
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }))
    auth.searchParams.set(k, v);
  const back = new URL(await providerRedirect(auth.toString(), user));
  return fetch(`${provider.issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64")}`,
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      redirect_uri: client.redirect_uris[0]!,
      code_verifier: verifier,
    }).toString(),
  });
}

/**
 * The gateway's client of `provider` as src/identity/oidc.ts `discover` makes it (its discovery document, read here
 * by the library, since the gateway's reader runs on workerd), expecting `issuer` in its tokens.
 */
async function clientOf(provider: Idp, issuer = provider.issuer): Promise<Provider> {
  const url = new URL(provider.issuer);
  const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { [oauth.allowInsecureRequests]: true }));
  return {
    as: { ...as, issuer, id_token_signing_alg_values_supported: ["RS256"] },
    client: { client_id: CLIENT.client_id, [oauth.clockTolerance]: 5 },
    clientAuth: oauth.None(),
    http: { [oauth.allowInsecureRequests]: true },
  };
}

describe("browser sign-in (Chromium, real provider, real Worker)", () => {
  it("redirects a page load to the provider and back to where it was going; the cookie is HttpOnly and SameSite=Lax", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/argo/");
    expect(page.url()).toBe(`${GATEWAY}/argo/`);
    expect(await page.content()).toContain('<base href="/argo/">');
    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/", secure: false });
    expect(cookie!.domain).toBe("127.0.0.1");
    // The sign-in transaction cookie is gone once used.
    expect((await context.cookies(GATEWAY)).map((c) => c.name)).not.toContain(SIGNIN_COOKIE);
    const me = await call(page, "GET", "/auth/session");
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      subject: "alice",
      email: "alice@example.test",
      tenant: "acme",
      groups: ["analysts"],
      roles: ["reader"],
      source: "oidc",
    });
    // The same principal as a bearer JWT with these claims would give.
    expect((await call(page, "GET", "/whoami")).json).toMatchObject({
      kind: "session",
      subject: "alice",
      scopes: ["query/*", "conductor"],
    });
    await context.close();
  });

  it("makes GraphQL and Conductor calls allowed and refused by the user's groups", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/argo/");
    const query = await call(page, "POST", "/prefect/graphql", { query: "query { flow { id } }" });
    expect(query.status).toBe(200);
    expect(query.json).toMatchObject({ data: { upstream: "prefect-stub" } });
    const mutation = await call(page, "POST", "/prefect/graphql", { query: 'mutation { delete_flow(input: {flow_id: "x"}) { success } }' });
    expect((mutation.json as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("FORBIDDEN");
    const defs = await call(page, "GET", "/conductor/api/metadata/workflow");
    expect(defs.status).toBe(200);
    expect((defs.json as { name: string }[]).map((d) => d.name)).toEqual(["reports"]);
    expect((await call(page, "POST", "/conductor/api/workflow/payroll", {})).status).toBe(403);
    expect((await call(page, "POST", "/conductor/api/workflow/reports", {})).status).toBe(200);
    // bob, in NETWORK-ADMIN, is a Conductor admin and holds GraphQL mutations.
    const bobContext = await browser.newContext();
    const bob = await signIn(bobContext, "bob", "/argo/");
    expect(((await call(bob, "GET", "/conductor/api/metadata/workflow")).json as { name: string }[]).map((d) => d.name).sort()).toEqual([
      "payroll",
      "reports",
    ]);
    expect(
      (await call(bob, "POST", "/prefect/graphql", { query: 'mutation { delete_flow(input: {flow_id: "x"}) { success } }' })).json,
    ).toMatchObject({ data: { upstream: "prefect-stub" } });
    await context.close();
    await bobContext.close();
  });

  it("serves the Prefect UI on the gateway's origin: pages behind sign-in, static files public, the session never sent on", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/prefect/flows?project=x");
    expect(page.url()).toBe(`${GATEWAY}/prefect/flows?project=x`);
    expect(await page.content()).toContain("prefect-stub");
    // The UI's first load runs on the cookie alone: its GraphQL call from that page passes, with the headers the
    // UI's Apollo client adds to every call (its user and tenant ids, null against Prefect Server).
    expect((await call(page, "POST", "/prefect/graphql", { query: "query { flow { id } }" })).status).toBe(200);
    const asTheUi = await page.evaluate(async () => {
      const headers = { "content-type": "application/json", "X-Prefect-UI": "true", "X-Backend": "server" } as Record<string, string>;
      Object.assign(headers, { "X-Prefect-Tenant-ID": null, "X-Prefect-User-ID": null }); // as `store.getters['user/user'].id`
      const res = await fetch("/prefect/graphql", { method: "POST", headers, body: JSON.stringify({ query: "query { flow { id } }" }) });
      return { status: res.status, body: await res.text() };
    });
    expect(asTheUi.status, asTheUi.body).toBe(200);
    expect(asTheUi.body).toContain("prefect-stub");
    const asset = await fetch(`${GATEWAY}/prefect/js/app.1234.js`);
    expect(asset.status).toBe(200);
    // Without the cookie: a page load goes to sign in; a script's fetch of a page path is nothing here.
    expect((await navigate(`${GATEWAY}/prefect/flows`)).status).toBe(302);
    expect((await fetch(`${GATEWAY}/prefect/flows`)).status).toBe(404);
    const seen = (await (await fetch(`${stubUrl()}/records/prefect-ui`)).json()) as { path: string; headers: Record<string, string> }[];
    expect(seen.map((r) => r.path)).toEqual(["/rec/prefect-ui/flows?project=x", "/rec/prefect-ui/js/app.1234.js"]);
    for (const r of seen) {
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers["x-flowgate-subject"]).toBeUndefined();
    }
    // The Conductor UI likewise, beside its API: an API path is never a UI page.
    expect((await navigate(`${GATEWAY}/conductor/workflows`)).status).toBe(302);
    expect((await fetch(`${GATEWAY}/conductor/static/js/main.abc.js`)).status).toBe(200);
    const conductorPage = await context.newPage();
    await conductorPage.goto(`${GATEWAY}/conductor/workflows`);
    expect(conductorPage.url()).toBe(`${GATEWAY}/conductor/workflows`);
    expect(await conductorPage.content()).toContain("prefect-stub"); // the recording stand-in answers every path alike
    const apiPage = await conductorPage.goto(`${GATEWAY}/conductor/api/nothing-here`);
    expect(apiPage!.status()).toBe(404);
    const uiSeen = (await (await fetch(`${stubUrl()}/records/conductor-ui`)).json()) as { path: string }[];
    expect(uiSeen.map((r) => r.path)).toEqual(["/rec/conductor-ui/static/js/main.abc.js", "/rec/conductor-ui/workflows"]);
    await context.close();
  });

  it("answers an API call without credential 401, never a redirect; only a page load is redirected", async () => {
    const api = await fetch(`${GATEWAY}/conductor/api/metadata/workflow`, {
      redirect: "manual",
      headers: { accept: "application/json", "sec-fetch-mode": "cors" },
    });
    expect(api.status).toBe(401);
    const page = await navigate(`${GATEWAY}/conductor/api/metadata/workflow?x=1`);
    expect(page.status).toBe(302);
    expect(page.location).toBe(`/auth/login?return_to=${encodeURIComponent("/conductor/api/metadata/workflow?x=1")}`);
    // A script's fetch of a page (not a navigation) is an API call too.
    expect((await fetch(`${GATEWAY}/argo/`, { redirect: "manual", headers: { accept: "text/html" } })).status).toBe(200);
    expect((await navigate(`${GATEWAY}/argo/workflows/alpha`)).status).toBe(302);
    // A script's key beside no cookie is unaffected.
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { authorization: `Bearer ${adminKey}` } })).status).toBe(200);
  });

  it("refuses a cross-site form post, and one from another origin of the same site", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "bob", "/argo/");
    const before = ((await (await fetch(`${stubUrl()}/records/${PREFECT_TAG}`)).json()) as unknown[]).length;
    // Same site, other origin: the Lax cookie goes along, the Origin check refuses.
    const sibling = await context.newPage();
    await sibling.goto(`http://127.0.0.1:${ATTACKER_PORT}/`);
    await sibling.waitForURL(`${GATEWAY}/prefect/graphql`);
    expect(await sibling.content()).toContain("cross-");
    // Another site: the cookie does not even go along.
    const foreign = await context.newPage();
    await foreign.goto(`http://localhost:${ATTACKER_PORT}/?target=/conductor/api/workflow/reports`);
    await foreign.waitForURL(`${GATEWAY}/conductor/api/workflow/reports`);
    expect(await foreign.content()).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
    const after = ((await (await fetch(`${stubUrl()}/records/${PREFECT_TAG}`)).json()) as unknown[]).length;
    expect(after).toBe(before);
    // The same mutation from the gateway's own page goes through.
    expect(
      (await call(page, "POST", "/prefect/graphql", { query: 'mutation { delete_flow(input: {flow_id: "x"}) { success } }' })).status,
    ).toBe(200);
    await context.close();
  });

  it("signs out: the cookie is cleared and a copy of it stops working", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/argo/");
    const copied = (await sessionCookie(context))!.value;
    const out = await call(page, "POST", "/auth/logout", {});
    expect(out.json).toEqual({ signedOut: true });
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await call(page, "GET", "/auth/session")).status).toBe(401);
    const replay = await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${copied}` } });
    expect(replay.status).toBe(401);
    await context.close();
  });

  it("ends a revoked subject's sessions within MEMORY_CACHE_TTL_S (plus KV propagation in production); a later sign-in works", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/argo/");
    expect((await call(page, "GET", "/auth/session")).status).toBe(200);
    const revoked = await fetch(`${GATEWAY}/admin/tokens/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ subject: "alice" }),
    });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < (MEMORY_TTL_S + 3) * 1000) {
      status =
        (await call(page, "GET", "/prefect/graphql?query=%7Bflow%7Bid%7D%7D")).status === 200 &&
        (await call(page, "GET", "/auth/session")).status === 200
          ? 200
          : 401;
      if (status === 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan((MEMORY_TTL_S + 3) * 1000);
    // Signed in after the revocation: a new session, not covered by it.
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await signIn(context, "alice", "/argo/");
    expect((await call(again, "GET", "/auth/session")).status).toBe(200);
    await context.close();
  });
});

describe("sessions without a provider: a flowgate key exchanged for the same cookie", () => {
  it("opens a session for an admin's key, refuses a plain key and another origin, and ends when the key is revoked", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${GATEWAY}/healthz`); // any page of the gateway (the sign-in pages forbid scripts their fetch)
    const exchange = (key: string) => call(page, "POST", "/auth/key", { key });
    expect((await exchange(plainKey)).status).toBe(403);
    expect((await exchange("fgk_not-a-key")).status).toBe(401);
    const opened = await exchange(consoleKey);
    expect(opened.status).toBe(200);
    expect(opened.json).toMatchObject({ subject: "console-admin", source: "key" });
    expect(JSON.stringify(opened.json)).not.toContain(consoleKey);
    expect((await call(page, "GET", "/admin/keys?limit=1")).status).toBe(200);
    expect((await call(page, "GET", "/auth/session")).json).toMatchObject({ source: "key", keyId: adminKeyId });
    // A form from another origin cannot sign this browser in with a key of the attacker's choosing.
    const res = await fetch(`${GATEWAY}/auth/key`, {
      method: "POST",
      headers: { origin: `http://127.0.0.1:${ATTACKER_PORT}`, "content-type": "application/x-www-form-urlencoded" },
      body: `key=${consoleKey}`,
    });
    expect(res.status).toBe(403);
    // The plain form (what /auth/login shows without a provider), posted from the gateway's own page.
    const form = await fetch(`${GATEWAY}/auth/key`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: GATEWAY, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: consoleKey, return_to: "//evil.example/console" }).toString(),
    });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toBe("/");
    expect(form.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=[^;]+;`));
    expect(attributes(form.headers.get("set-cookie")!)).toEqual(expect.arrayContaining(["path=/", "httponly", "samesite=lax"]));
    // Revoking the key ends the session built on it.
    const revoke = await fetch(`${GATEWAY}/admin/keys/${adminKeyId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoke.status).toBe(200);
    expect((await call(page, "GET", "/admin/keys?limit=1")).status).toBe(401);
    await context.close();
  });

  it("renews a session in use past half its idle time, and refuses one idle or past its end", async () => {
    const config: SessionConfig = { secrets: [SECRET], idleTtlS: 900, maxTtlS: 28_800, keyExchange: true };
    const now = Date.now() / 1000;
    const s = newSession({ src: "oidc", sub: "dave", roles: [], groups: [], scopes: ["query/*"] }, config, now - 1_000);
    const nearIdle = await sealSession({ ...s, exp: Math.floor(now) + 30 }, config);
    const res = await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${nearIdle}` } });
    expect(res.status, await res.clone().text()).toBe(200);
    const renewed = (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))!;
    expect(attributes(renewed).sort()).toEqual(["httponly", "max-age=900", "path=/", "samesite=lax"]);
    const opened = await openSession(renewed.slice(COOKIE.length + 1).split(";")[0]!, config, now);
    expect(opened).toMatchObject({ sid: s.sid, auth: s.auth, max: s.max });
    expect(opened.exp).toBeGreaterThanOrEqual(Math.floor(now) + 899);
    const fresh = await fetch(`${GATEWAY}/whoami`, {
      headers: { cookie: `${COOKIE}=${await sealSession({ ...s, exp: Math.floor(now) + 800 }, config)}` },
    });
    expect(fresh.headers.get("set-cookie")).toBeNull();
    const idle = await sealSession({ ...s, exp: Math.floor(now) - 1 }, config);
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${idle}` } })).status).toBe(401);
    const ended = await sealSession({ ...s, exp: Math.floor(now) + 100, max: Math.floor(now) - 1 }, config);
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${ended}` } })).status).toBe(401);
  });
});

describe("routes that are not for browsers", () => {
  it("task-worker routes ignore the session cookie: a poll (a GET that dequeues work) needs a worker's own credential", async () => {
    const config: SessionConfig = { secrets: [SECRET], idleTtlS: 900, maxTtlS: 28_800, keyExchange: true };
    const s = newSession({ src: "oidc", sub: "eve", tenant: "acme", roles: [], groups: [], scopes: ["worker"] }, config, Date.now() / 1000);
    const cookie = `${COOKIE}=${await sealSession(s, config)}`;
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie } })).status).toBe(200);
    const poll = await fetch(`${GATEWAY}/workers/conductor/api/tasks/poll/report?workerid=w`, { headers: { cookie } });
    expect(poll.status).toBe(401);
  });
});

describe("who may sign in (OIDC_ALLOWED_GROUPS, and never an account that maps to nothing)", () => {
  it("refuses a user outside the allowed groups at the callback with a page in words, and sets no session", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const callbacks: number[] = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname === "/auth/callback") callbacks.push(r.status());
    });
    await page.goto(`${GATEWAY}/argo/`);
    await page.waitForURL((u) => u.pathname.startsWith("/interaction/"));
    await page.fill("#username", "dave");
    await page.fill("#password", "password-dave");
    await Promise.all([page.waitForURL((u) => u.origin === GATEWAY && u.pathname === "/auth/callback"), page.click("#sign-in")]);
    expect(callbacks).toEqual([403]);
    expect(await page.locator("h1").textContent()).toBe("You cannot sign in here");
    expect(await page.locator("body").textContent()).toMatch(/This account is in none of the groups allowed to sign in here/);
    expect(await page.locator("a", { hasText: "Try again" }).getAttribute("href")).toBe(
      `/auth/login?return_to=${encodeURIComponent("/argo/")}`,
    );
    // Nothing of the exchange, nor of the rule, on the page.
    const html = await page.content();
    const back = new URL(page.url());
    for (const secret of [back.searchParams.get("code")!, back.searchParams.get("state")!, ...ALLOWED_GROUPS.split(",")]) {
      expect(html).not.toContain(secret);
    }
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await context.request.get(`${GATEWAY}/auth/session`)).status()).toBe(401);
    // The refusal is in the audit trail, with who was refused.
    const audit = await fetch(`${GATEWAY}/admin/audit?action=session.refused&subject=dave`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const events = ((await audit.json()) as { events: { decision: string; details: { reason: string } }[] }).events;
    expect(events[0]).toMatchObject({ decision: "refused", details: { reason: expect.stringMatching(/none of the groups/) } });
    await context.close();
  });

  it("refuses an account that maps to no tenant, role, group or scope; an allowed user still gets in", async () => {
    const { signin, authUrl } = await startLogin("/argo/");
    const res = await callback(await providerRedirect(authUrl, "carol"), signin);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toMatchObject({ code: "FORBIDDEN", message: expect.stringMatching(/no access here/) });
    expect(res.headers.get("set-cookie") ?? "").not.toContain(`${COOKIE}=`);
    const context = await browser.newContext();
    const page = await signIn(context, "alice", "/argo/");
    expect(page.url()).toBe(`${GATEWAY}/argo/`);
    expect((await call(page, "GET", "/auth/session")).json).toMatchObject({ subject: "alice" });
    await context.close();
  });
});

describe("the operator console behind the provider's sign-in", () => {
  it("sends a page load of /console/ without a session to sign in, and back to the console", async () => {
    expect(await navigate(`${GATEWAY}/console/`)).toMatchObject({
      status: 302,
      location: `/auth/login?return_to=${encodeURIComponent("/console/")}`,
    });
    // A cookie that is no session is none.
    expect(await navigate(`${GATEWAY}/console/`, { cookie: `${COOKIE}=not-a-session` })).toMatchObject({ status: 302 });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${GATEWAY}/console/`);
    await page.waitForURL((u) => u.pathname.startsWith("/interaction/")); // the provider's sign-in, not a key form
    await page.fill("#username", "bob");
    await page.fill("#password", "password-bob");
    await Promise.all([page.waitForURL(landed), page.click("#sign-in")]);
    expect(page.url()).toBe(`${GATEWAY}/console/`);
    await page.waitForSelector('nav a[data-page="keys"]');
    expect(await page.locator("span.who").textContent()).toContain("bob (sign-in)");
    // Its files are public, as every UI's, and carry the console's own security headers.
    const script = await fetch(`${GATEWAY}/console/console.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect((await fetch(`${GATEWAY}/console/nothing.js`)).status).toBe(404);
    // What the console's sign-in offers here: the provider, and the key exchange kept on as a break-glass.
    expect(await (await fetch(`${GATEWAY}/auth/methods`)).json()).toEqual({ provider: true, keyExchange: true });
    // Signing out ends on the gateway's page, with the way back to the console.
    await page.click("span.who button");
    await page.waitForURL((u) => u.pathname === "/auth/signed-out");
    expect(await page.locator("a", { hasText: "Sign in again" }).getAttribute("href")).toBe(
      `/auth/login?return_to=${encodeURIComponent("/console/")}`,
    );
    await context.close();
  });
});

describe("every sign-in failure: a page in words and a way back for a person, the envelope for a script", () => {
  /** A failure page: its status, a title and the reason in words, a "Try again" to `returnTo`, nothing of `secrets`. */
  const expectPage = (r: Navigation, status: number, reason: RegExp, returnTo: string, secrets: string[] = []) => {
    expect(r.status, r.body).toBe(status);
    expect(r.type).toMatch(/^text\/html/);
    expect(r.csp).toContain("default-src 'none'");
    expect(r.body).toMatch(reason);
    expect(r.body).toContain(`<a href="/auth/login?return_to=${encodeURIComponent(returnTo)}">Try again</a>`);
    expect(r.setCookie.join("\n")).not.toContain(`${COOKIE}=`);
    for (const secret of secrets) expect(r.body).not.toContain(secret);
  };
  const expectEnvelope = async (res: Response, status: number, reason: RegExp) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.message).toMatch(reason);
    expect(body.error.requestId).toMatch(/.+/);
  };

  it("at the callback: no sign-in in progress, a state not this browser's, the provider's own error", async () => {
    const none = `${GATEWAY}/auth/callback?code=c0de&state=st4te&iss=${encodeURIComponent(idp.issuer)}`;
    expectPage(await navigate(none), 401, /No sign-in in progress in this browser/, "/", ["c0de", "st4te"]);
    await expectEnvelope(await fetch(none, { headers: { accept: "application/json" } }), 401, /no sign-in in progress/);
    const { signin } = await startLogin("/argo/workflows");
    const wrongState = `${GATEWAY}/auth/callback?code=c0de&state=not-the-state`;
    expectPage(await navigate(wrongState, { cookie: `${SIGNIN_COOKIE}=${signin}` }), 401, /State does not match/, "/argo/workflows", [
      signin,
    ]);
    await expectEnvelope(await callback(wrongState, signin), 401, /state does not match/);
    const denied = `${GATEWAY}/auth/callback?error=access_denied&error_description=secret-ish&state=x`;
    expectPage(await navigate(denied), 401, /did not sign you in \(access_denied\)/, "/", ["secret-ish"]);
    await expectEnvelope(await fetch(denied), 401, /access_denied/);
  });

  it("a failed token check, a refused account, and claims too large for a cookie", async () => {
    // An ID token minted for another nonce: the code comes back to this browser's own sign-in, the check fails.
    const nonce = await startLogin("/argo/");
    const other = new URL(nonce.authUrl);
    other.searchParams.set("nonce", "another-sign-in");
    const back = await providerRedirect(other.toString(), "alice");
    const code = new URL(back).searchParams.get("code")!;
    expectPage(
      await navigate(back, { cookie: `${SIGNIN_COOKIE}=${nonce.signin}` }),
      401,
      /ID token claim check failed \(nonce\)/,
      "/argo/",
      [code],
    );
    const refused = await startLogin("/prefect/");
    expectPage(
      await navigate(await providerRedirect(refused.authUrl, "dave"), { cookie: `${SIGNIN_COOKIE}=${refused.signin}` }),
      403,
      /You cannot sign in here/,
      "/prefect/",
    );
    const crowd = await startLogin("/argo/");
    expectPage(
      await navigate(await providerRedirect(crowd.authUrl, "crowd"), { cookie: `${SIGNIN_COOKIE}=${crowd.signin}` }),
      400,
      /more roles, groups or scopes than a browser cookie can hold/,
      "/argo/",
    );
  });

  it("at the key form: a wrong key posted from the gateway's page", async () => {
    const r = await navigate(`${GATEWAY}/auth/key`, { form: { key: "fgk_wrong-key-0123456789", return_to: "/console/" } });
    expectPage(r, 401, /Sign-in did not complete/, "/console/", ["fgk_wrong-key-0123456789"]);
  });
});

describe("attacks on browser sign-in, each refused", () => {
  it("session fixation: a cookie planted before sign-in is replaced, not promoted", async () => {
    const attackerContext = await browser.newContext();
    await signIn(attackerContext, "bob", "/argo/");
    const planted = (await sessionCookie(attackerContext))!.value;
    await attackerContext.close();
    // The victim signs in as alice in a browser holding the attacker's (bob's) cookie.
    const context = await browser.newContext();
    await context.addCookies([{ name: COOKIE, value: planted, url: GATEWAY, httpOnly: true, sameSite: "Lax" }]);
    const page = await signIn(context, "alice", `/auth/login?return_to=${encodeURIComponent("/argo/")}`);
    expect(page.url()).toBe(`${GATEWAY}/argo/`);
    const now = (await sessionCookie(context))!.value;
    expect(now).not.toBe(planted);
    expect((await call(page, "GET", "/auth/session")).json).toMatchObject({ subject: "alice" });
    const stillBob = await fetch(`${GATEWAY}/auth/session`, { headers: { cookie: `${COOKIE}=${planted}` } });
    expect(await stillBob.json()).toMatchObject({ subject: "bob" });
    // A made-up cookie value is simply not a session.
    expect((await fetch(`${GATEWAY}/auth/session`, { headers: { cookie: `${COOKIE}=attacker-chosen` } })).status).toBe(401);
    await context.close();
  });

  it("open redirect through the return URL: every foreign target lands on /", async () => {
    for (const target of [
      "//evil.example/x",
      "/\\evil.example",
      "%2F%2Fevil.example",
      "https://evil.example/",
      "javascript:alert(1)",
      "/%2F%2Fevil.example",
      "/\t/evil.example",
      "\\\\evil.example",
    ]) {
      const { signin, authUrl } = await startLogin(target);
      const res = await callback(await providerRedirect(authUrl, "alice"), signin);
      expect(res.status, target).toBe(303);
      const location = res.headers.get("location")!;
      expect(new URL(location, GATEWAY).origin, target).toBe(GATEWAY);
      expect(location.startsWith("/") && !location.startsWith("//") && !location.includes("\\"), `${target} -> ${location}`).toBe(true);
    }
    // And in the browser: the final page is the gateway's.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${GATEWAY}/auth/login?return_to=${encodeURIComponent("//evil.example/")}`);
    await page.fill("#username", "alice");
    await page.fill("#password", "password-alice");
    await Promise.all([page.waitForURL((u) => u.origin === GATEWAY && !u.pathname.startsWith("/auth/")), page.click("#sign-in")]);
    expect(new URL(page.url()).origin).toBe(GATEWAY);
    await context.close();
  });

  it("cookie from another path or subdomain: two session cookies are refused; over https only the __Host- name counts", async () => {
    const context = await browser.newContext();
    await signIn(context, "alice", "/argo/");
    const good = (await sessionCookie(context))!.value;
    await context.close();
    const twice = await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${good}; ${COOKIE}=${good}` } });
    expect(twice.status).toBe(401);
    // Over https the gateway reads `__Host-` names only, which a browser accepts only host-only, Path=/ and Secure.
    expect(cookieNamesFor(new URL("https://gw.example.com/x"))).toEqual({
      session: "__Host-flowgate-session",
      signin: "__Host-flowgate-signin",
      secure: true,
    });
    expect(cookieNamesFor(new URL("http://gw.example.com/x"))).toBeNull();
    // A cookie another origin of the same site sets for itself never reaches the gateway's origin: Chromium keeps
    // a cookie set by 127.0.0.1:9243 out of requests to the gateway only if host-scoped... cookies ignore ports,
    // which is why the gateway's own cookie is host-only and the CSRF proof checks the Origin, not the cookie.
  });

  it("refuses a sign-in whose claims would not fit in a cookie, instead of sending the browser round for ever", async () => {
    const { signin, authUrl } = await startLogin("/argo/");
    const res = await callback(await providerRedirect(authUrl, "crowd"), signin);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/cookie can hold/);
    expect(res.headers.get("set-cookie") ?? "").not.toContain(`${COOKIE}=`);
  });

  it("state replay: a callback is redeemed once", async () => {
    const { signin, authUrl } = await startLogin("/argo/");
    const back = await providerRedirect(authUrl, "alice");
    expect((await callback(back, signin)).status).toBe(303);
    const replay = await callback(back, signin);
    expect(replay.status).toBe(401);
    // A state that is not this browser's own sign-in is refused too.
    const other = await startLogin("/");
    expect((await callback(back, other.signin)).status).toBe(401);
  });

  it("PKCE: the request carries an S256 challenge; a stolen code redeemed in another sign-in (other verifier) is refused; the provider refuses a request without PKCE", async () => {
    const victim = await startLogin("/");
    const params = new URL(victim.authUrl).searchParams;
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stolen = new URL(await providerRedirect(victim.authUrl, "alice"));
    const attacker = await startLogin("/");
    const attackerState = new URL(attacker.authUrl).searchParams.get("state")!;
    const injected = new URL(`${GATEWAY}/auth/callback`);
    injected.searchParams.set("code", stolen.searchParams.get("code")!);
    injected.searchParams.set("state", attackerState);
    injected.searchParams.set("iss", idp.issuer); // as the provider's own redirect carries it (RFC 9207)
    expect((await callback(injected.toString(), attacker.signin)).status).toBe(401);
    const noPkce = new URL(victim.authUrl);
    noPkce.searchParams.delete("code_challenge");
    noPkce.searchParams.delete("code_challenge_method");
    const refused = new URL(await providerRedirect(noPkce.toString(), "alice").catch(() => `${GATEWAY}/auth/callback?error=refused`));
    expect(refused.searchParams.get("code")).toBeNull();
  });

  it("token substitution between providers: another provider's code, and ID tokens for another issuer or client, are refused", async () => {
    // A code from another provider injected into this browser's own sign-in (state and all).
    const { signin, authUrl } = await startLogin("/");
    const evilAuth = new URL(authUrl);
    const evilUrl = new URL(`${evilIdp.issuer}/auth${evilAuth.search}`);
    const evilBack = await providerRedirect(evilUrl.toString(), "alice");
    expect(new URL(evilBack).searchParams.get("code")).toBeTruthy();
    expect((await callback(evilBack, signin)).status).toBe(401);
    // ID tokens checked as the gateway checks them: real token answers from the providers.
    const gateway = await clientOf(idp);
    const refusal = async (answer: Response, nonce: string) => {
      const err = await idTokenClaims(gateway, answer, nonce).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      return (err as Error).message;
    };
    await expect(idTokenClaims(gateway, await tokenAnswerFrom(idp, CLIENT, "alice", "n-good"), "n-good")).resolves.toMatchObject({
      sub: "alice",
      groups: ["analysts"],
    });
    expect(await refusal(await tokenAnswerFrom(idp, OTHER_CLIENT, "alice", "n-good"), "n-good")).toMatch(/aud/);
    expect(await refusal(await tokenAnswerFrom(evilIdp, CLIENT, "alice", "n-good"), "n-good")).toMatch(/iss/);
    // The right issuer's name, another provider's keys.
    const impostor = await clientOf(idp, evilIdp.issuer);
    const err = await idTokenClaims(impostor, await tokenAnswerFrom(evilIdp, CLIENT, "alice", "n-good"), "n-good").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/could not be verified/);
  });

  it("nonce mismatch: an ID token minted for another sign-in is refused", async () => {
    const answer = await tokenAnswerFrom(idp, CLIENT, "alice", "nonce-of-another-sign-in");
    await expect(idTokenClaims(await clientOf(idp), answer, "this-sign-in")).rejects.toThrow(/nonce/);
  });

  it("a tampered cookie, one sealed with an unknown secret, or a sign-in cookie used as a session is refused; rotation keeps old cookies", async () => {
    const context = await browser.newContext();
    await signIn(context, "alice", "/argo/");
    const good = (await sessionCookie(context))!.value;
    await context.close();
    const parts = good.split(".");
    const flip = (s: string) => (s[5] === "A" ? `${s.slice(0, 5)}B${s.slice(6)}` : `${s.slice(0, 5)}A${s.slice(6)}`);
    for (const i of [0, 2, 3, 4]) {
      const tampered = parts.map((p, j) => (j === i ? flip(p) : p)).join(".");
      expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${tampered}` } })).status, `part ${i}`).toBe(401);
    }
    const config: SessionConfig = { secrets: ["another-secret-that-is-long-enough-000"], idleTtlS: 600, maxTtlS: 3600, keyExchange: false };
    const now = Date.now() / 1000;
    const forged = await sealSession(
      newSession({ src: "oidc", sub: "bob", roles: ["OWNER"], groups: ["NETWORK-ADMIN"], scopes: ["admin"] }, config, now),
      config,
    );
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${forged}` } })).status).toBe(401);
    const { signin } = await startLogin("/");
    expect((await fetch(`${GATEWAY}/whoami`, { headers: { cookie: `${COOKIE}=${signin}` } })).status).toBe(401);
    // Rotation: a cookie sealed with the old secret opens while the old secret is still listed second.
    const rotated: SessionConfig = { ...config, secrets: ["a-brand-new-secret-long-enough-1234567", config.secrets[0]!] };
    await expect(openSession(forged, rotated, now)).resolves.toMatchObject({ sub: "bob" });
    await expect(openSession(forged, { ...config, secrets: ["a-brand-new-secret-long-enough-1234567"] }, now)).rejects.toThrow(/not valid/);
  });
});
