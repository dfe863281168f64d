/**
 * The gateway's router: Hono's RegExpRouter, taught the one shape of path it refuses.
 *
 * Hono's SmartRouter uses RegExpRouter (every route in one regular expression) unless some route has a shape it
 * cannot hold, and then the whole app falls back to TrieRouter: 1-4 µs a match instead of 0.02-0.4, measured on the
 * gateway's own routes (Hono 4.13). That shape is a fixed word beside a parameter at the same place of two paths of
 * one method (the parameters' names do not matter), and Conductor's API is full of it: `/api/workflow/search`
 * beside `/api/workflow/{workflowId}`, `/api/tasks/queue/all` beside `/api/tasks/{taskId}/log`. So before the routes
 * reach RegExpRouter each such word becomes a parameter, and a match keeps a route only when the request has its
 * words there: the same routes, in the same order, as matching the words themselves. Routes keep their paths as
 * written everywhere else (`app.routes`, `c.req.routePath`). A route RegExpRouter still refuses makes SmartRouter
 * fall back to TrieRouter, with the routes as written, as before.
 */
import { UnsupportedPathError, type ParamIndexMap, type ParamStash, type Result, type Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** The router `buildApp` gives Hono: this one, and TrieRouter should it refuse a route. */
export const gatewayRouter = <T>(): Router<T> => new SmartRouter<T>({ routers: [new WordsAsParametersRouter<T>(), new TrieRouter<T>()] });

/** A route as added, with the words (parameter name, word) a request must have for it to match. */
interface Checked<T> {
  target: T;
  words: readonly (readonly [string, string])[];
}

interface Added<T> {
  method: string;
  path: string;
  target: T;
}

export class WordsAsParametersRouter<T> implements Router<T> {
  name = "RegExpRouter (words beside parameters checked)";
  private added: Added<T>[] = [];
  private inner: RegExpRouter<Checked<T>> | null = null;
  /** Match results without words to check, unwrapped once (RegExpRouter hands out the same arrays each time). */
  private readonly unwrapped = new WeakMap<object, [T, ParamIndexMap][]>();

  add(method: string, path: string, target: T): void {
    if (this.inner) throw new Error("Can not add a route since the matcher is already built.");
    this.added.push({ method, path, target });
  }

  match(method: string, path: string): Result<T> {
    this.inner ??= this.build();
    const [entries, stash] = this.inner.match(method, path) as [[Checked<T>, ParamIndexMap][], ParamStash];
    let plain = this.unwrapped.get(entries);
    if (plain) return [plain, stash];
    if (entries.every(([c]) => c.words.length === 0)) {
      plain = entries.map(([c, params]) => [c.target, params]);
      this.unwrapped.set(entries, plain);
      return [plain, stash];
    }
    const kept: [T, ParamIndexMap][] = [];
    for (const [c, params] of entries) if (c.words.every(([name, word]) => stash[params[name]!] === word)) kept.push([c.target, params]);
    return [kept, stash];
  }

  private build(): RegExpRouter<Checked<T>> {
    // A wildcard before the path's end matches differently in RegExpRouter than in TrieRouter (`/:name/*/*` takes
    // `/zz/a` in one, not the other; `/a/:name/*/b` the other way round with `/a/s//b`). The gateway has none; one
    // added later is refused here, so the app keeps TrieRouter's matches rather than quietly changing them.
    for (const { path } of this.added) if (path.slice(0, -1).includes("*")) throw new UnsupportedPathError(path);
    const inner = new RegExpRouter<Checked<T>>();
    const shapes = this.added.map((r) => segmentsOf(r.path));
    const words = wordsBesideParameters(this.added, shapes);
    const names = parameterNames(this.added, shapes, words);
    this.added.forEach((route, i) => {
      const segments = shapes[i];
      const mine = words[i]!;
      if (!segments || mine.size === 0) return inner.add(route.method, route.path, { target: route.target, words: [] });
      const name = (k: number) => names.get(`${shapeOf(route.method, segments, mine)}#${k}`) ?? `word${k}`;
      const path = `/${segments.map((s, k) => (mine.has(k) ? `:${name(k)}` : s)).join("/")}`;
      // A name taken from the shape can be one this route already gives another place (`/a/running/:name` beside
      // `/a/:name/log`: both would be `/a/:name/:name`). RegExpRouter then keeps one index per name, so the word
      // would be checked against, and the handler read, another place's value. No naming of the shape can hold
      // both: refused, so SmartRouter falls back to TrieRouter with the routes as written.
      const placed = segments.flatMap((s, k) => (mine.has(k) ? [name(k)] : isParameter(s) ? [s.slice(1)] : []));
      if (new Set(placed).size !== placed.length) throw new UnsupportedPathError(path);
      inner.add(route.method, path, { target: route.target, words: [...mine].map((k) => [name(k), segments[k]!] as const) });
    });
    this.added = [];
    return inner;
  }
}

/** A path's segments, or null for a path this router leaves as it is (wildcards, patterns, optional parameters). */
function segmentsOf(path: string): string[] | null {
  if (!path.startsWith("/") || /[{}?]/.test(path)) return null;
  return path.split("/").slice(1);
}

const isParameter = (segment: string) => segment.startsWith(":");
const isWord = (segment: string) => !isParameter(segment) && !segment.includes("*");

/** A route as RegExpRouter sees it: its method and segments, every parameter (written or made of a word) as `:`. */
function shapeOf(method: string, segments: readonly string[], words: ReadonlySet<number>, upTo = segments.length): string {
  return `${method} /${segments
    .slice(0, upTo)
    .map((s, k) => (isParameter(s) || words.has(k) ? ":" : s))
    .join("/")}`;
}

/**
 * For each route, the places of its words to register as parameters: a word where another route of the same method
 * with the same segments before it has a parameter. A word made a parameter joins the parameters' branch, which can
 * put a deeper word beside a parameter in turn, so this runs until nothing changes. Routes of every method (`ALL`)
 * and paths left as they are take no part: anything they conflict with, RegExpRouter refuses as before.
 */
function wordsBesideParameters<T>(routes: readonly Added<T>[], shapes: readonly (string[] | null)[]): Set<number>[] {
  const words = routes.map(() => new Set<number>());
  const takesPart = (i: number) => routes[i]!.method !== "ALL" && shapes[i] !== null;
  for (let changed = true; changed; ) {
    changed = false;
    const parameters = new Set<string>();
    shapes.forEach((segments, i) => {
      if (!takesPart(i)) return;
      segments!.forEach((s, k) => {
        if (isParameter(s) || words[i]!.has(k)) parameters.add(shapeOf(routes[i]!.method, segments!, words[i]!, k));
      });
    });
    shapes.forEach((segments, i) => {
      if (!takesPart(i)) return;
      segments!.forEach((s, k) => {
        if (!isWord(s) || words[i]!.has(k) || !parameters.has(shapeOf(routes[i]!.method, segments!, words[i]!, k))) return;
        words[i]!.add(k);
        changed = true;
      });
    });
  }
  return words;
}

/**
 * The parameter names of each shape, by place (`<shape>#<k>`): RegExpRouter takes two routes of one shape only when
 * their paths are the same string, so a word made a parameter takes the name that routes of its shape give that
 * place. (Two routes of one shape naming a place differently are refused by RegExpRouter, as they would be anyway.)
 */
function parameterNames<T>(
  routes: readonly Added<T>[],
  shapes: readonly (string[] | null)[],
  words: readonly Set<number>[],
): Map<string, string> {
  const names = new Map<string, string>();
  shapes.forEach((segments, i) => {
    if (!segments) return;
    const shape = shapeOf(routes[i]!.method, segments, words[i]!);
    segments.forEach((s, k) => isParameter(s) && !names.has(`${shape}#${k}`) && names.set(`${shape}#${k}`, s.slice(1)));
  });
  return names;
}
