/**
 * Issue 29, item 1: the example verifier (examples/assertion-verifier/verifier.mjs, run as its README says) in front
 * of the stand-in Conductor, behind the real gateway (the deployable bundle on workerd, with UPSTREAM_ASSERTION_KEYS)
 * and its published `/.well-known/jwks.json`. Between the gateway and Conductor sits a stand-in for nginx's
 * `auth_request` (nginx.conf beside the verifier): it asks the verifier about each request with the original headers,
 * method and URI, passes the request on only on a 200, with the identity headers the verifier read from the
 * assertion. Genuine traffic passes; a request that did not come through the gateway, or whose assertion is forged,
 * expired, for another engine, replayed (per-request mode) or beside another identity, is refused.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from "jose";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime";

const ROOT = new URL("../../", import.meta.url).pathname;
const tag = `verif${Date.now().toString(36)}`;
const stubPort = () => inject("stubPort");
const TYPE = "flowgate-assertion+jwt";

interface Front {
  url: string;
  /** What reached the front (nginx), with the verifier's answer, and whether Conductor received it. */
  seen: { method: string; uri: string; headers: IncomingHttpHeaders; verdict: number; passed: boolean }[];
  server: Server;
}

interface Verifier {
  url: string;
  child: ChildProcess;
}

/** The verifier as its README runs it: `node verifier.mjs` with its variables. */
async function startVerifier(env: Record<string, string>): Promise<Verifier> {
  const child = spawn(process.execPath, [`${ROOT}examples/assertion-verifier/verifier.mjs`], {
    env: { PATH: process.env.PATH, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr!.on("data", () => {}); // one line per refusal
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      const m = /listening on port (\d+)/.exec(String(c));
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`verifier exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** What nginx's auth_request sends the verifier about a request: its headers, method and URI. */
async function ask(verifier: string, headers: Record<string, string>, method: string, uri: string): Promise<Response> {
  return fetch(`${verifier}/_flowgate_verify`, { headers: { ...headers, "x-original-method": method, "x-original-uri": uri } });
}

const IDENTITY = [
  "x-flowgate-subject",
  "x-flowgate-tenant",
  "x-flowgate-email",
  "x-flowgate-roles",
  "x-flowgate-groups",
  "x-flowgate-key-id",
];
const HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

/**
 * The nginx stand-in (nginx.conf): auth_request to the verifier, then the request to the stand-in Conductor. The
 * verifier is named by a function: it reads the gateway's JWKS, and the gateway's upstream is this front.
 */
async function startFront(verifier: () => string): Promise<Front> {
  const seen: Front["seen"] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === "string") headers[k] = v;
    const method = req.method ?? "GET";
    const uri = req.url ?? "/";
    const verdict = await ask(verifier(), headers, method, uri);
    const record = { method, uri, headers: req.headers, verdict: verdict.status, passed: false };
    seen.push(record);
    if (verdict.status !== 200) {
      res.writeHead(verdict.status === 401 ? 401 : 500).end(await verdict.text());
      return;
    }
    // As nginx.conf: the identity headers are the verifier's, the assertion stays here.
    for (const name of IDENTITY) delete headers[name];
    delete headers["x-flowgate-assertion"];
    for (const name of IDENTITY) {
      const v = verdict.headers.get(name);
      if (v) headers[name] = v;
    }
    record.passed = true;
    const upstream = await fetch(`http://127.0.0.1:${stubPort()}${uri}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : Buffer.concat(chunks),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

let buildDir: string;
const runtimes: Miniflare[] = [];
const verifiers: Verifier[] = [];
const fronts: Front[] = [];
let signingJwk: JWK;
/** Gateway, verifier and front in each mode. */
const world: Record<"reuse" | "perRequest", { gateway: string; verifier: string; front: Front }> = {} as never;
let conductorKey: string;

async function startGateway(scriptPath: string, front: string, extra: Record<string, string>): Promise<string> {
  const { mf, url } = await startRuntime({
    scriptPath,
    port: 0,
    compatibilityDate: wranglerFacts().compatibilityDate,
    bindings: {
      DATABASE_URL: inject("databaseUrl"),
      DB_WS_PROXY: inject("wsProxy"),
      CONDUCTOR_URL: `${front}/conductor/${tag}`,
      UPSTREAM_ASSERTION_KEYS: JSON.stringify([signingJwk]),
      LOG_LEVEL: "error",
      ...extra,
    },
    onStdout: () => {},
  });
  runtimes.push(mf);
  return url;
}

beforeAll(async () => {
  buildDir = new URL(`../../.data/verifier-test-build-${process.pid}`, import.meta.url).pathname;
  mkdirSync(buildDir, { recursive: true });
  const scriptPath = buildWorker(buildDir);
  const pair = await generateKeyPair("EdDSA", { extractable: true });
  signingJwk = { ...(await exportJWK(pair.privateKey)), kid: "gw-2026-12" };
  for (const [mode, extra] of [
    ["reuse", {}],
    ["perRequest", { UPSTREAM_ASSERTION_MODE: "per-request" }],
  ] as const) {
    let verifierUrl = "";
    const front = await startFront(() => verifierUrl);
    fronts.push(front);
    const gateway = await startGateway(scriptPath, front.url, extra);
    const verifier = await startVerifier({
      FLOWGATE_JWKS_URL: `${gateway}/.well-known/jwks.json`,
      FLOWGATE_AUDIENCE: "conductor",
      FLOWGATE_ASSERTION_MODE: mode === "reuse" ? "reuse" : "per-request",
    });
    verifiers.push(verifier);
    verifierUrl = verifier.url;
    world[mode] = { gateway, verifier: verifier.url, front };
  }
  const res = await fetch(`${world.reuse.gateway}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${inject("adminKey")}`, "content-type": "application/json" },
    body: JSON.stringify({ tenant: "VERIFIER", subject: "ann", email: "ann@acme.example", roles: ["OWNER"], scopes: ["conductor"] }),
  });
  expect(res.status).toBe(201);
  conductorKey = ((await res.json()) as { key: string }).key;
}, 120_000);

afterAll(async () => {
  for (const v of verifiers) v.child.kill("SIGTERM");
  for (const f of fronts) f.server.close();
  for (const mf of runtimes) await mf.dispose();
  rmSync(buildDir, { recursive: true, force: true });
});

const listPath = `/conductor/${tag}/api/metadata/workflow`;

/** A Conductor read through the gateway; the last thing the front saw. */
async function throughGateway(mode: "reuse" | "perRequest") {
  const { gateway, front } = world[mode];
  const res = await fetch(`${gateway}/conductor/api/metadata/workflow`, { headers: { authorization: `Bearer ${conductorKey}` } });
  return { res, seen: front.seen.at(-1)! };
}

/** An assertion as the gateway makes one, signed with `key` (the gateway's unless said), with `claims` over it. */
async function mint(claims: JWTPayload = {}, key: JWK = signingJwk, header: Record<string, string> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: "ann",
    kind: "api_key",
    tenant: "acme",
    roles: ["OWNER"],
    groups: [],
    iss: "flowgate",
    aud: "conductor",
    iat: now,
    nbf: now,
    exp: now + 120,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: "EdDSA", kid: signingJwk.kid!, typ: TYPE, ...header })
    .sign(await importJWK(key, "EdDSA"));
}

describe("the example verifier against the gateway", () => {
  it("a genuine request passes, and Conductor receives the identity the verifier read from the assertion", async () => {
    const { res, seen } = await throughGateway("reuse");
    expect(res.status).toBe(200);
    expect(seen.verdict).toBe(200);
    expect(seen.passed).toBe(true);
    expect(seen.headers["x-flowgate-assertion"]).toMatch(/^ey/);
    const answer = await ask(
      world.reuse.verifier,
      { "x-flowgate-assertion": seen.headers["x-flowgate-assertion"] as string },
      "GET",
      listPath,
    );
    expect(answer.headers.get("x-flowgate-subject")).toBe("ann");
    expect(answer.headers.get("x-flowgate-tenant")).toBe(seen.headers["x-flowgate-tenant"]);
    expect(answer.headers.get("x-flowgate-roles")).toBe("OWNER");
  });

  it("a request that did not come through the gateway is refused, whatever identity it claims", async () => {
    const before = world.reuse.front.seen.filter((s) => s.passed).length;
    const res = await fetch(`${world.reuse.front.url}${listPath}`, {
      headers: { "x-flowgate-subject": "admin", "x-flowgate-tenant": "acme", "x-flowgate-roles": "OWNER" },
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("no assertion");
    expect(world.reuse.front.seen.filter((s) => s.passed).length).toBe(before);
  });

  it("the oracle: an assertion minted like the gateway's, with its key, passes; each single change below is refused", async () => {
    expect((await ask(world.reuse.verifier, { "x-flowgate-assertion": await mint() }, "GET", listPath)).status).toBe(200);
  });

  it("refuses a forged (other key), expired, other-audience, other-issuer, unsigned or untyped assertion", async () => {
    const other = { ...(await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).privateKey)), kid: signingJwk.kid };
    const now = Math.floor(Date.now() / 1000);
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: TYPE })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ sub: "admin", iss: "flowgate", aud: "conductor", iat: now, nbf: now, exp: now + 60, jti: "x" }),
    ).toString("base64url")}.`;
    const cases: [string, string, string][] = [
      ["forged with another key under the gateway's kid", await mint({}, other), "signature invalid"],
      ["forged under an unknown kid", await mint({}, other, { kid: "attacker" }), "unknown key"],
      ["expired", await mint({ iat: now - 400, nbf: now - 400, exp: now - 280 }), "expired"],
      ["for another engine", await mint({ aud: "schellar" }), "claim aud"],
      ["from another issuer", await mint({ iss: "someone-else" }), "claim iss"],
      ["not yet valid", await mint({ iat: now, nbf: now + 600, exp: now + 700 }), "claim nbf"],
      ["another JWT type", await mint({}, signingJwk, { typ: "JWT" }), "claim typ"],
      ["unsigned (alg none)", none, "algorithm not allowed"],
    ];
    for (const [what, token, reason] of cases) {
      const res = await ask(world.reuse.verifier, { "x-flowgate-assertion": token }, "GET", listPath);
      expect(res.status, what).toBe(401);
      expect(await res.text(), what).toContain(reason);
    }
  });

  it("a genuine assertion beside another identity, or repeated, is refused", async () => {
    const { seen } = await throughGateway("reuse");
    const assertion = seen.headers["x-flowgate-assertion"] as string;
    const tampered = await ask(world.reuse.verifier, { "x-flowgate-assertion": assertion, "x-flowgate-tenant": "victim" }, "GET", listPath);
    expect(tampered.status).toBe(401);
    expect(await tampered.text()).toContain("x-flowgate-tenant disagrees");
    const headers = new Headers();
    headers.append("x-flowgate-assertion", assertion);
    headers.append("x-flowgate-assertion", await mint({ sub: "admin" }));
    headers.set("x-original-method", "GET");
    headers.set("x-original-uri", listPath);
    expect((await fetch(`${world.reuse.verifier}/_flowgate_verify`, { headers })).status).toBe(401);
  });

  it("reuse mode, honestly: a captured assertion replays to the same engine as the same principal until it expires", async () => {
    const { seen } = await throughGateway("reuse");
    const assertion = seen.headers["x-flowgate-assertion"] as string;
    const replay = await fetch(`${world.reuse.front.url}/conductor/${tag}/api/metadata/taskdefs`, {
      headers: { "x-flowgate-assertion": assertion },
    });
    expect(replay.status).toBe(200);
  });

  it("per-request mode: a genuine request passes once; its assertion replayed, or for another request, is refused", async () => {
    const { res, seen } = await throughGateway("perRequest");
    expect(res.status).toBe(200);
    expect(seen.verdict).toBe(200);
    const assertion = seen.headers["x-flowgate-assertion"] as string;
    // Replayed exactly as the gateway sent it, straight to the engine's front.
    const replay = await fetch(`${world.perRequest.front.url}${seen.uri}`, {
      headers: { "x-flowgate-assertion": assertion, "x-flowgate-subject": "ann" },
    });
    expect(replay.status).toBe(401);
    expect((await ask(world.perRequest.verifier, { "x-flowgate-assertion": assertion }, "GET", seen.uri)).status).toBe(401);
    // Bound to its method and URI: one minted for a read does not open a delete.
    const bound = await mint({ htm: "GET", htu: listPath, rid: "r" });
    const elsewhere = await ask(
      world.perRequest.verifier,
      { "x-flowgate-assertion": bound },
      "DELETE",
      `/conductor/${tag}/api/metadata/workflow/x/1`,
    );
    expect(elsewhere.status).toBe(401);
    expect(await elsewhere.text()).toContain("another request");
    // And one the reuse mode makes (no binding) is not taken by a per-request verifier.
    const unbound = await ask(world.perRequest.verifier, { "x-flowgate-assertion": await mint() }, "GET", listPath);
    expect(await unbound.text()).toContain("not bound");
    // A second genuine request passes: each call has its own jti.
    expect((await throughGateway("perRequest")).seen.verdict).toBe(200);
  });
});
