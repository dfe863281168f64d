/**
 * The gateway's router (src/router.ts): Hono's RegExpRouter for every route of the app, and the same matches as
 * TrieRouter gives for the routes as written.
 */
import { TrieRouter } from "hono/router/trie-router";
import type { ParamIndexMap } from "hono/router";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { WordsAsParametersRouter } from "../../src/router";

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
});
