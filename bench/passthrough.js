// Baseline Workers for the benchmark (never deployed): the least a Worker in front of an engine can do.
// - `/echo` answers a small JSON itself;
// - `/read/<path>` is the reading floor: the least a gateway that decides on the request's body can do. It reads the
//   whole body, decodes it as UTF-8 and parses it as JSON (as any body check must before the upstream sees a byte),
//   then sends the bytes it read to UPSTREAM_URL/<path> with one header of its own. No credential, no policy: what
//   it adds over the streaming pass-through is the cost of buffering the body, which no gateway that reads bodies
//   avoids (docs/benchmarks.md, fifth pass);
// - `/sign` is the signing floor: one bare Ed25519 signature of a 300-byte payload (about an upstream assertion's
//   size) with a key made on first use, then answers like `/echo`: what an assertion signed per request cannot go
//   below on this runtime (docs/benchmarks.md, "Upstream assertions");
// - every other path is passed to UPSTREAM_URL as is, bodies streamed both ways.
const utf8 = new TextDecoder("utf-8", { fatal: true });
const payload = new TextEncoder().encode("x".repeat(300));
let signingKey = null;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/echo") return Response.json({ kind: "baseline", subject: "none" });
    if (url.pathname === "/sign") {
      signingKey ??= (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])).privateKey;
      const signature = await crypto.subtle.sign("Ed25519", signingKey, payload);
      return Response.json({ kind: "baseline", subject: "none", signed: signature.byteLength });
    }
    if (url.pathname.startsWith("/read/")) {
      const bytes = await request.arrayBuffer();
      let parsed;
      try {
        parsed = JSON.parse(utf8.decode(bytes));
      } catch {
        return Response.json({ error: "not JSON" }, { status: 400 });
      }
      if (typeof parsed?.query !== "string") return Response.json({ error: "no query" }, { status: 400 });
      const res = await fetch(env.UPSTREAM_URL + url.pathname.slice("/read".length) + url.search, {
        method: "POST",
        headers: { "content-type": "application/json", "x-flowgate-subject": "reading-floor" },
        body: bytes,
      });
      return new Response(res.body, res);
    }
    const res = await fetch(env.UPSTREAM_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
    });
    return new Response(res.body, res);
  },
};
