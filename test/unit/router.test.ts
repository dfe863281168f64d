/**
 * The gateway's router (src/router.ts): Hono's RegExpRouter for every route of the app, and the same matches as
 * TrieRouter gives for the routes as written.
 */
import fc from "fast-check";
import { TrieRouter } from "hono/router/trie-router";
import type { ParamIndexMap } from "hono/router";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { WordsAsParametersRouter, gatewayRouter } from "../../src/router";

/** Both routers' answers as [route index, parameters by name], the parameters the route names only. */
function matches(routes: { method: string; path: string }[]) {
  const trie = new TrieRouter<number>();
  const mine = new WordsAsParametersRouter<number>();
  routes.forEach((r, i) => {
    trie.add(r.method, r.path, i);
    mine.add(r.method, r.path, i);
  });
  return (m: string, p: string) => {
    const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort());
    const [expected] = trie.match(m, p) as [[number, Record<string, string>][]];
    const [entries, stash] = mine.match(m, p) as [[number, ParamIndexMap][], string[]];
    const named = (i: number, params: ParamIndexMap) =>
      sorted(
        Object.fromEntries(
          Object.entries(params)
            .filter(([k]) => routes[i]!.path.includes(`:${k}`))
            .map(([k, v]) => [k, stash[v]!]),
        ),
      );
    return { trie: expected.map(([i, params]) => [i, sorted(params)]), mine: entries.map(([i, params]) => [i, named(i, params)]) };
  };
}

/**
 * The app's router (`gatewayRouter`, SmartRouter over this router then TrieRouter) against TrieRouter alone, as
 * [route index, parameters by name] with only the parameters the route names (RegExpRouter answers indexes into a
 * stash, TrieRouter the values).
 */
function againstTrie(routes: { method: string; path: string }[]) {
  const trie = new TrieRouter<number>();
  const gateway = gatewayRouter<number>();
  routes.forEach((r, i) => {
    trie.add(r.method, r.path, i);
    gateway.add(r.method, r.path, i);
  });
  const own = (i: number, name: string) => routes[i]!.path.split("/").includes(`:${name}`);
  const view = ([entries, stash]: [[number, Record<string, string | number>][], string[]?]) =>
    entries.map(([i, params]) => [
      i,
      Object.fromEntries(
        Object.entries(params)
          .filter(([k]) => own(i, k))
          .map(([k, v]) => [k, stash ? stash[v as number] : v])
          .sort(),
      ),
    ]);
  return (m: string, p: string) => ({
    trie: view(trie.match(m, p) as never),
    gateway: view(gateway.match(m, p) as never),
    router: gateway.name,
  });
}

describe("the gateway's router", () => {
  it("is RegExpRouter for the whole app: no route makes it fall back to TrieRouter", () => {
    const app = buildApp();
    app.router.match("GET", "/healthz");
    expect(app.router.name).toBe("SmartRouter + RegExpRouter (words beside parameters checked)");
  });

  it("keeps a route whose fixed word sits beside a parameter only for that word, in declaration order", () => {
    const routes = [
      { method: "GET", path: "/a/search" },
      { method: "GET", path: "/a/run/:name" },
      { method: "GET", path: "/a/:id/history" },
      { method: "GET", path: "/a/:id" },
      { method: "POST", path: "/a/search" },
      { method: "ALL", path: "/a/*" },
    ];
    const both = matches(routes);
    const requests = [
      ["GET", "/a/search"],
      ["GET", "/a/x1"],
      ["GET", "/a/run/r1"],
      ["GET", "/a/run/history"],
      ["GET", "/a/search/history"],
      ["POST", "/a/search"],
      ["POST", "/a/x1"],
      ["GET", "/b"],
    ];
    for (const [m, p] of requests) {
      const { trie, mine } = both(m!, p!);
      expect(mine, `${m} ${p}`).toEqual(trie);
    }
    expect(both("GET", "/a/search").mine.map(([i]) => i)).toEqual([0, 3, 5]);
  });

  it("matches every route of the app as TrieRouter does, with words at every parameter's place", () => {
    const routes = buildApp().routes.map(({ method, path }) => ({ method, path }));
    const words = new Set<string>(["abc-123"]);
    for (const r of routes) for (const s of r.path.split("/")) if (s && !s.startsWith(":") && !s.includes("*")) words.add(s);
    const both = matches(routes);
    let checked = 0;
    for (const r of routes) {
      // Each parameter in turn takes every word of the app (the others a plain value); a tail wildcard takes one more segment.
      const segments = r.path
        .split("/")
        .slice(1)
        .map((s) => (s === "*" ? "x" : s));
      const params = segments.flatMap((s, k) => (s.startsWith(":") ? [k] : []));
      for (const k of params.length > 0 ? params : [-1]) {
        for (const word of k === -1 ? [""] : words) {
          const path = `/${segments.map((s, j) => (j === k ? word : s.startsWith(":") ? "abc-123" : s)).join("/")}`;
          for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
            const { trie, mine } = both(method, path);
            expect(mine, `${method} ${path}`).toEqual(trie);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1_000);
  });

  // A word made a parameter takes the name routes of its shape give that place; when the route already uses that
  // name at another place, the path it registered named two places alike, and the word was checked against the
  // other place's value: `/a/log/x` ran the `:name/log` route (name "log"), `/a/x/log` ran nothing.
  it("never names two places of one path alike: such a table falls back to TrieRouter", () => {
    const both = againstTrie([
      { method: "GET", path: "/a/running/:name" },
      { method: "GET", path: "/a/:name/log" },
    ]);
    for (const p of ["/a/x/log", "/a/log/x", "/a/running/x", "/a/running/log", "/a/x/y"]) {
      const { trie, gateway } = both("GET", p);
      expect(gateway, `GET ${p}`).toEqual(trie);
    }
  });

  it("matches as TrieRouter does on random route tables (words, parameters, wildcards, ALL, empty segments)", () => {
    const segment = fc.constantFrom("a", "b", "search", ":id", ":name", ":p", "*");
    const route = fc.record({
      method: fc.constantFrom("GET", "POST", "ALL"),
      segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
      wildcard: fc.boolean(),
    });
    // A request is one route's path with its parameters (and one more place, maybe a fixed word) given words.
    const request = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT"),
      of: fc.nat(),
      words: fc.array(fc.constantFrom("a", "b", "search", "zz", ""), { minLength: 6, maxLength: 6 }),
      swap: fc.nat(6),
      slash: fc.boolean(),
    });
    const tables = fc.array(route, { minLength: 2, maxLength: 8 });
    fc.assert(
      fc.property(tables, fc.array(request, { minLength: 1, maxLength: 30 }), (drawn, requests) => {
        // One parameter name once per path (Hono's rule); wildcards anywhere (inside a path, TrieRouter's rules).
        const routes = drawn.map(({ method, segments, wildcard }) => {
          const seen = new Set<string>();
          const named = segments.map((s, k) => (s.startsWith(":") && seen.has(s) ? `${s}${k}` : (seen.add(s), s)));
          return { method, path: `/${named.join("/")}${wildcard ? "/*" : ""}` };
        });
        const both = againstTrie(routes);
        for (const r of requests) {
          const written = routes[r.of % routes.length]!.path.split("/").slice(1);
          const segments = written.map((s, k) => (s.startsWith(":") || s === "*" || k === r.swap ? r.words[k]! : s));
          const path = `/${segments.join("/")}${r.slash ? "/" : ""}`;
          const { trie, gateway, router } = both(r.method, path);
          expect(gateway, `${r.method} ${path} on ${JSON.stringify(routes)} (${router})`).toEqual(trie);
        }
      }),
      { seed: 20261127, numRuns: 3_000 },
    );
  });
});
