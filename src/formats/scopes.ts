/**
 * Scope patterns: `type/name` with `*` wildcards inside either part (`query/*`, `mutation/create_*`), or a bare
 * word (`admin`, `conductor`, `worker`). One matcher for every route.
 *
 * `*` never crosses the `/`, and a bare word matches only itself: `*` alone is not a pattern, so no key can be
 * made that holds every scope by accident.
 */
export type ScopePattern = string & { readonly __scopePattern: unique symbol };

const PART = /^[A-Za-z0-9_.:*-]{1,128}$/;
const WORD = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Returns the pattern if it is well formed, else null. */
export function parseScopePattern(raw: string): ScopePattern | null {
  const s = raw.trim();
  const slash = s.indexOf("/");
  if (slash === -1) return WORD.test(s) ? (s as ScopePattern) : null;
  const type = s.slice(0, slash);
  const name = s.slice(slash + 1);
  if (!PART.test(type) || !PART.test(name)) return null;
  return s as ScopePattern;
}

const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 2_000;

function patternRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const source = pattern
      .split("*")
      .map((lit) => lit.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]*");
    re = new RegExp(`^${source}$`);
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether `pattern` grants the concrete scope `required` (e.g. `mutation/create_flow_run`, `admin`). */
export function scopeMatches(pattern: string, required: string): boolean {
  const patternIsWord = !pattern.includes("/");
  const requiredIsWord = !required.includes("/");
  if (patternIsWord || requiredIsWord) return patternIsWord && requiredIsWord && pattern === required;
  if (!pattern.includes("*")) return pattern === required;
  return patternRegExp(pattern).test(required);
}

/** Whether any of `held` grants `required`. */
export function hasScope(held: readonly string[], required: string): boolean {
  for (const p of held) if (scopeMatches(p, required)) return true;
  return false;
}
