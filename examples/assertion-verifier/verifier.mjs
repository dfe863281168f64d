#!/usr/bin/env node
/**
 * flowgate assertion verifier: the engine side of "Engines trust only the gateway" (docs/security.md).
 *
 * A small HTTP service for nginx's `auth_request` (nginx.conf beside this file): nginx asks it about every request
 * before passing it to the engine, with the original headers, and passes the request on only when it answers 200.
 * It answers 200 when the request carries a valid `X-Flowgate-Assertion`, 401 otherwise:
 * - signed by a key of the gateway's JWKS (FLOWGATE_JWKS_URL, refetched when stale or on an unknown `kid`), with
 *   an allowed algorithm (EdDSA, RS256) and the assertion's own `typ`;
 * - issued by FLOWGATE_ISSUER, for FLOWGATE_AUDIENCE (this engine's upstream name: prefect, conductor, schellar,
 *   argo or flowapi), within its lifetime (FLOWGATE_CLOCK_TOLERANCE_S of leeway, no older than MAX_AGE_S);
 * - every `X-Flowgate-*` identity header the request carries says what the assertion says (a replayed assertion
 *   cannot lend its validity to another identity); the 200 carries the verified values, which nginx sets on the
 *   request in place of the client's (`auth_request_set`);
 * - when the assertion names the request it was signed for (`htm`, `htu`: the gateway's per-request mode), the
 *   original method and URI (X-Original-Method, X-Original-URI, set by nginx) are those;
 * - with FLOWGATE_ASSERTION_MODE=per-request, each `jti` is accepted once: kept in memory until its expiry, at most
 *   FLOWGATE_MAX_REMEMBERED of them (when full of unexpired ones it refuses, 503, rather than forget one).
 *
 * Usage: FLOWGATE_JWKS_URL=https://gateway.example/.well-known/jwks.json FLOWGATE_AUDIENCE=conductor \
 *        node verifier.mjs        (PORT, default 9180; HOST, default 127.0.0.1: only nginx should reach it)
 * Requires Node 20 or later and `jose` (npm install in this folder).
 */
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";

/** The assertion's `typ` (flowgate's src/proxy/assertion.ts ASSERTION_TYPE). */
export const ASSERTION_TYPE = "flowgate-assertion+jwt";
/** Algorithms the gateway signs with; anything else (`none`, HS256 with the public key as secret...) is refused. */
const ALGORITHMS = ["EdDSA", "RS256"];
/** No assertion older than this is accepted, whatever its `exp` says: the gateway's lifetime is 120 s. */
const MAX_AGE_S = 300;

/** The identity headers the gateway sets, with how each is read from the assertion's claims. */
const IDENTITY = {
  "x-flowgate-subject": (c) => c.sub,
  "x-flowgate-tenant": (c) => c.tenant,
  "x-flowgate-email": (c) => c.email,
  "x-flowgate-roles": (c) => (Array.isArray(c.roles) && c.roles.length ? c.roles.join(",") : undefined),
  "x-flowgate-groups": (c) => (Array.isArray(c.groups) && c.groups.length ? c.groups.join(",") : undefined),
  "x-flowgate-key-id": (c) => c.key_id,
};

class Refusal extends Error {
  constructor(reason, status = 401) {
    super(reason);
    this.status = status;
  }
}

/**
 * The check, without the server: `verify(headers, method, uri)` with Node's `headersDistinct` (name -> values)
 * answers `{ identity }` (the verified headers) or throws a Refusal.
 */
export function createVerifier({ jwksUrl, audience, issuer = "flowgate", mode = "reuse", clockToleranceS = 10, maxRemembered = 100_000 }) {
  if (!jwksUrl || !audience) throw new Error("FLOWGATE_JWKS_URL and FLOWGATE_AUDIENCE are required");
  if (mode !== "reuse" && mode !== "per-request") throw new Error("FLOWGATE_ASSERTION_MODE must be reuse or per-request");
  const keys = createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
  /** jti -> expiry (s), per-request mode only. */
  const seen = new Map();

  function remember(jti, exp) {
    const now = Date.now() / 1000;
    if (seen.size >= maxRemembered) {
      for (const [id, until] of seen) if (until + clockToleranceS < now) seen.delete(id);
      if (seen.size >= maxRemembered) throw new Refusal("too many assertions remembered", 503);
    }
    seen.set(jti, exp);
  }

  return async function verify(headers, method, uri) {
    const one = (name) => {
      const values = headers[name];
      if (values && values.length > 1) throw new Refusal(`${name} is repeated`);
      return values?.[0];
    };
    const token = one("x-flowgate-assertion");
    if (!token) throw new Refusal("no assertion");
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: ALGORITHMS,
        typ: ASSERTION_TYPE,
        clockTolerance: clockToleranceS,
        maxTokenAge: MAX_AGE_S,
        requiredClaims: ["sub", "iat", "nbf", "exp", "jti"],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new Refusal("assertion expired");
      if (e instanceof errors.JWTClaimValidationFailed) throw new Refusal(`assertion claim ${e.claim} refused`);
      if (e instanceof errors.JWSSignatureVerificationFailed) throw new Refusal("assertion signature invalid");
      if (e instanceof errors.JWKSNoMatchingKey) throw new Refusal("assertion signed by an unknown key");
      if (e instanceof errors.JOSEAlgNotAllowed) throw new Refusal("assertion algorithm not allowed");
      if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) throw new Refusal("gateway keys unavailable", 503);
      if (e instanceof errors.JOSEError) throw new Refusal("assertion invalid");
      throw new Refusal("gateway keys unavailable", 503);
    }
    const identity = {};
    for (const [name, read] of Object.entries(IDENTITY)) {
      const claimed = read(claims);
      const sent = one(name);
      if (sent !== undefined && sent !== claimed) throw new Refusal(`${name} disagrees with the assertion`);
      if (typeof claimed === "string") identity[name] = claimed;
    }
    if (claims.htm !== undefined || claims.htu !== undefined) {
      if (claims.htm !== method || claims.htu !== uri) throw new Refusal("assertion was signed for another request");
    } else if (mode === "per-request") {
      throw new Refusal("assertion is not bound to a request");
    }
    if (mode === "per-request") {
      if (seen.has(claims.jti)) throw new Refusal("assertion replayed");
      remember(claims.jti, claims.exp);
    }
    return { identity };
  };
}

/** The HTTP service: every request is a question about the request in its headers. */
export function serve(verify, { log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  return createServer(async (req, res) => {
    req.resume();
    // nginx sends the original method and URI in these (nginx.conf); a request made straight to the verifier is
    // checked as itself.
    const method = req.headersDistinct["x-original-method"]?.[0] ?? req.method;
    const uri = req.headersDistinct["x-original-uri"]?.[0] ?? req.url;
    try {
      const { identity } = await verify(req.headersDistinct, method, uri);
      res.writeHead(200, { ...identity, "cache-control": "no-store" }).end();
    } catch (e) {
      const refusal = e instanceof Refusal ? e : new Refusal("verifier error", 503);
      // The reason, never the assertion (a bearer credential while it lives).
      log(JSON.stringify({ event: "refused", status: refusal.status, reason: refusal.message, method, uri: String(uri).slice(0, 200) }));
      res.writeHead(refusal.status, { "content-type": "text/plain", "cache-control": "no-store" }).end(`${refusal.message}\n`);
    }
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const verify = createVerifier({
    jwksUrl: env.FLOWGATE_JWKS_URL,
    audience: env.FLOWGATE_AUDIENCE,
    issuer: env.FLOWGATE_ISSUER || "flowgate",
    mode: env.FLOWGATE_ASSERTION_MODE || "reuse",
    clockToleranceS: Number(env.FLOWGATE_CLOCK_TOLERANCE_S ?? 10),
    maxRemembered: Number(env.FLOWGATE_MAX_REMEMBERED ?? 100_000),
  });
  const server = serve(verify);
  server.listen(Number(env.PORT ?? 9180), env.HOST || "127.0.0.1", () => {
    process.stdout.write(`flowgate assertion verifier listening on port ${server.address().port}\n`);
  });
}
