/**
 * When two names are one identity: the fold under which tenant names, workspace names and subjects must be unique.
 * Pure.
 *
 * Why: the gateway compares names exactly, but what stands behind it may not. Conductor on MySQL stores names in
 * MySQL's default collation (`utf8mb4_0900_ai_ci`, or `utf8mb4_general_ci` on older servers): case- and
 * accent-insensitive, so `acme___orders` and `ACME___orders` are one row there, and `correlationId = 'alice'`
 * also finds `Alice`'s executions. Two identities that such a store merges must never both exist.
 */

/** Default-ignorable code points (zero-width joiners, variation selectors, soft hyphens...): collations skip them. */
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
/** Control characters (C0 and C1): completely ignorable in DUCET, the Unicode collation under utf8mb4_0900_ai_ci. */
const CONTROLS = /\p{Cc}/gu;
/** Combining marks, left by canonical decomposition: accent-insensitive collations skip them. */
const MARKS = /\p{M}/gu;

/**
 * A subject's identity under folding: compatibility decomposition (NFKD: `ﬁ` is `fi`, fullwidth `Ａ` is `A`, the
 * Kelvin sign is `K`), accents dropped (`é` is `e`), default-ignorable and control characters dropped, full case folding
 * (upper then lower: `ß` is `ss`, `ſ` is `s`, dotless `ı` is `i`), white space trimmed and runs of it made one
 * space (MySQL's PAD SPACE collations ignore trailing spaces), then NFKC. Everything MySQL's `_ai_ci` collations
 * merge by case, accent, width or compatibility form is merged here; the fold merges more rather than less,
 * because a refused name is only an inconvenience while a merged identity is a crossed one.
 */
export function foldSubject(s: string): string {
  return s
    .normalize("NFKD")
    .replace(MARKS, "")
    .replace(IGNORABLE, "")
    .replace(CONTROLS, "")
    .toUpperCase()
    .toLowerCase()
    .normalize("NFKD")
    .replace(MARKS, "")
    .replace(/\s+/gu, " ")
    .trim()
    .normalize("NFKC");
}

/**
 * A tenant's or workspace's name under folding. Both are ASCII by their own rules (src/formats/tenantName.ts,
 * a workspace is a DNS label), so folding is ASCII lower case: the same as SQL `lower(name)` under every
 * PostgreSQL locale, which is what the unique indexes of migrations/0003 hold.
 */
export const foldAsciiName = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Two spellings of one identity under a fold, as an error message names them. */
export interface FoldCollision {
  kind: "tenant" | "workspace" | "subject";
  existing: string;
  requested: string;
}

/** The message for a collision: names both spellings (names are not secrets) and what to use instead. */
export function collisionMessage(c: FoldCollision): string {
  return `${c.kind} ${JSON.stringify(c.requested)} is ${c.kind} ${JSON.stringify(c.existing)} under case folding (${c.kind} names are unique without regard to case, accents or width); use ${JSON.stringify(c.existing)}`;
}

/**
 * Every pair of distinct names in `names` that one fold merges (each later name paired with the first of its
 * fold), in input order.
 */
export function collidingPairs(names: Iterable<string>, fold: (s: string) => string): [string, string][] {
  const first = new Map<string, string>();
  const pairs: [string, string][] = [];
  for (const n of names) {
    const f = fold(n);
    const seen = first.get(f);
    if (seen === undefined) first.set(f, n);
    else if (seen !== n) pairs.push([seen, n]);
  }
  return pairs;
}
