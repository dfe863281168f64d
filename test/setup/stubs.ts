/**
 * Local HTTP servers the tests talk to through the Worker: a JWKS endpoint (an identity provider) and a recording
 * echo upstream. They run in Node (vitest's global setup), outside workerd, like the real services would.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import { handleConductor } from "./conductor.ts";
import { handleEngines } from "./engines.ts";

export interface Stubs {
  port: number;
  /** Private JWK (RS256, kid "idp-1") whose public half the JWKS endpoint serves. */
  idpPrivateJwk: Record<string, unknown>;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });

export async function startStubs(): Promise<Stubs> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "RS256", use: "sig" };
  const idpPrivateJwk = { ...(await exportJWK(privateKey)), kid: "idp-1", alg: "RS256" };
  const jwksFetches = new Map<string, number>();
  /** JWKS tags currently "down" (answering 503): POST /jwks-down/<tag>?down=1|0. */
  const jwksDown = new Set<string>();
  /** Requests received under /rec/<tag>/..., so a test can prove what an upstream saw (or that it saw nothing). */
  const recorded = new Map<string, { method: string; path: string; headers: Record<string, unknown>; body: string }[]>();

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    // JWKS: /jwks/<tag>.json counts fetches per tag, so a test can see the cooldown at work.
    const jwks = /^\/jwks\/([A-Za-z0-9_-]+)\.json$/.exec(url.pathname);
    const toggle = /^\/jwks-down\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (toggle) {
      if (url.searchParams.get("down") === "1") jwksDown.add(toggle[1]!);
      else jwksDown.delete(toggle[1]!);
      res.writeHead(204).end();
      return;
    }
    if (jwks && jwksDown.has(jwks[1]!)) {
      res.writeHead(503).end("down");
      return;
    }
    if (jwks) {
      jwksFetches.set(jwks[1]!, (jwksFetches.get(jwks[1]!) ?? 0) + 1);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    const fetches = /^\/jwks-fetches\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (fetches) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ fetches: jwksFetches.get(fetches[1]!) ?? 0 }));
      return;
    }
    if (/^\/(conductor|schellar|conductor-admin)\//.test(url.pathname)) {
      handleConductor(req, url, await readBody(req), res);
      return;
    }
    if (/^\/(argo|flowapi|prefect|engine-records)\//.test(url.pathname)) {
      handleEngines(req, url, await readBody(req), res);
      return;
    }
    const records = /^\/records\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (records) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(recorded.get(records[1]!) ?? []));
      return;
    }
    const rec = /^\/rec\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(url.pathname);
    if (rec) {
      const body = await readBody(req);
      const list = recorded.get(rec[1]!) ?? [];
      list.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      recorded.set(rec[1]!, list);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: { upstream: "prefect-stub", received: list.length } }));
      return;
    }
    if (url.pathname.startsWith("/upstream/redirect")) {
      res.writeHead(303, { location: `http://127.0.0.1:${port}/api/0/poll/7?x=1` }).end();
      return;
    }
    if (url.pathname.startsWith("/upstream/slow")) {
      setTimeout(() => res.writeHead(200).end("late"), 2_000);
      return;
    }
    // Echo: answers with exactly what it received, so a test sees the upstream's view of the request.
    const body = await readBody(req);
    res.writeHead(200, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }));
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  return {
    port,
    idpPrivateJwk,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
