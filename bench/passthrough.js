// Baseline Workers for the benchmark (never deployed): the least a Worker in front of an engine can do.
// `/echo` answers a small JSON itself; every other path is passed to UPSTREAM_URL as is.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/echo") return Response.json({ kind: "baseline", subject: "none" });
    const res = await fetch(env.UPSTREAM_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
    });
    return new Response(res.body, res);
  },
};
