/**
 * The Worker of bench/router.ts: Hono's routers holding the gateway's route table (the ROUTES binding, as
 * `buildApp().routes` lists it), matched in a loop inside one request, so the process's CPU over the request is
 * the matches' and nothing else of any consequence. Never deployed.
 *
 * `?router=<name>&set=<all|whoami|graphql>&n=<loops>`: n loops over the set (`all`: one request per route, every
 * parameter a value and a tail wildcard one more segment, ALL as GET), on a router built once per isolate.
 * `?router=<name>&fresh=1`: a router built and matched once, as on an isolate's first request; `?fresh=0`: the
 * route table read and nothing more (what the first request costs without a router).
 */
import type { Router } from "hono/router";
import { PatternRouter } from "hono/router/pattern-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

interface Route {
  method: string;
  path: string;
}

export const ROUTERS: Record<string, () => Router<number>> = {
  TrieRouter: () => new TrieRouter<number>(),
  "SmartRouter (Hono's default)": () => new SmartRouter<number>({ routers: [new RegExpRouter(), new TrieRouter()] }),
  PatternRouter: () => new PatternRouter<number>(),
  RegExpRouter: () => new RegExpRouter<number>(),
};

const built = new Map<string, Router<number>>();

function routerOf(name: string, routes: Route[]): Router<number> {
  const router = ROUTERS[name]!();
  routes.forEach((r, i) => router.add(r.method, r.path, i));
  return router;
}

export default {
  fetch(request: Request, env: { ROUTES: string }): Response {
    const url = new URL(request.url);
    const routes = JSON.parse(env.ROUTES) as Route[];
    const name = url.searchParams.get("router") ?? "";
    const fresh = url.searchParams.get("fresh");
    if (fresh === "0") return new Response("nothing");
    try {
      if (fresh === "1") return new Response(String(routerOf(name, routes).match("GET", "/whoami")[0].length));
      let router = built.get(name);
      if (!router) {
        router = routerOf(name, routes);
        router.match("GET", "/whoami");
        built.set(name, router);
      }
      const sets: Record<string, [string, string][]> = {
        all: routes.map((r) => [r.method === "ALL" ? "GET" : r.method, r.path.replace(/:[^/]+/g, "abc-123").replace(/\*/g, "x")]),
        whoami: [["GET", "/whoami"]],
        graphql: [["POST", "/prefect/graphql"]],
      };
      const set = sets[url.searchParams.get("set") ?? "all"]!;
      const n = Number(url.searchParams.get("n"));
      let matched = 0;
      for (let i = 0; i < n; i++) for (const [method, path] of set) matched += router.match(method, path)[0].length;
      return new Response(String(matched));
    } catch (e) {
      return new Response(`refused: ${e instanceof Error ? e.message : String(e)}`, { status: 422 });
    }
  },
};
