/**
 * Bodies an engine could read another way than the gateway, made from a route's own JSON sample, and an
 * independent check of what an upstream received: the route-table suite (test/routes/routes.test.ts) sends each
 * variant on every route that reads a JSON body and holds the answer to "refused, or forwarded as the gateway's
 * own serialization".
 *
 * The oracle here does not share code with src/: it scans the received bytes with its own tokenizer.
 */

/** A variant of a JSON body as text, and what it tries. */
export interface BodyVariant {
  name: string;
  text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The first object in a JSON value, depth first (a list of definitions carries its objects inside). */
function firstObject(v: unknown): Record<string, unknown> | null {
  if (isObject(v)) return v;
  if (Array.isArray(v)) for (const item of v) if (isObject(item)) return item;
  return null;
}

/** `text` with `extra` (raw members, comma-ended) inserted as the first members of the first object in it. */
function prependMembers(text: string, extra: string): string {
  const at = text.indexOf("{");
  return `${text.slice(0, at + 1)}${extra}${text.slice(at + 1)}`;
}

const swapFirstCase = (k: string) => {
  const c = k[0]!;
  const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return swapped + k.slice(1);
};

/**
 * Variants of `body` (already a request the route accepts): each is either read the same by every JSON reader but
 * written differently (escapes, white space), or readable two ways (a repeated key, keys differing in case).
 */
export function bodyVariants(body: unknown): BodyVariant[] {
  const compact = JSON.stringify(body);
  const variants: BodyVariant[] = [{ name: "pretty-printed", text: JSON.stringify(body, null, 2) }];
  const first = firstObject(body);
  if (!first) return variants;
  const [key, value] = Object.entries(first)[0] ?? [];
  if (key === undefined) return variants;
  const member = (k: string, v: unknown) => `${JSON.stringify(k)}:${JSON.stringify(v)},`;
  variants.push({ name: `"${key}" repeated`, text: prependMembers(compact, member(key, value)) });
  variants.push({ name: `"${key}" repeated with another value`, text: prependMembers(compact, member(key, "other")) });
  if (/^[A-Za-z]/.test(key))
    variants.push({ name: `"${swapFirstCase(key)}" beside "${key}"`, text: prependMembers(compact, member(swapFirstCase(key), value)) });
  // The same key for every reader, spelled with an escape: forwarded as sent, the bytes would be the client's.
  const escaped = `\\u${key.charCodeAt(0).toString(16).padStart(4, "0")}${JSON.stringify(key).slice(2, -1)}`;
  variants.push({ name: `"${key}" spelled with an escape`, text: compact.replace(JSON.stringify(key), `"${escaped}"`) });
  return variants;
}

/** Every object's member names in a JSON text, in order, by an independent tokenizer (escapes decoded). */
export function objectKeyLists(text: string): string[][] {
  const lists: string[][] = [];
  const stack: { keys: string[] | null }[] = [];
  let i = 0;
  const readString = (): string => {
    i++; // opening quote
    let out = "";
    while (text[i] !== '"') {
      if (text[i] === "\\") {
        const e = text[i + 1]!;
        if (e === "u") {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          out += ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" } as Record<string, string>)[e] ?? e;
          i += 2;
        }
      } else out += text[i++];
    }
    i++;
    return out;
  };
  let expectKey = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "{") {
      const keys: string[] = [];
      lists.push(keys);
      stack.push({ keys });
      expectKey = true;
      i++;
    } else if (ch === "[") {
      stack.push({ keys: null });
      expectKey = false;
      i++;
    } else if (ch === "}" || ch === "]") {
      stack.pop();
      i++;
    } else if (ch === ",") {
      expectKey = stack.at(-1)?.keys != null;
      i++;
    } else if (ch === '"') {
      const s = readString();
      if (expectKey) stack.at(-1)!.keys!.push(s);
      expectKey = false;
    } else i++;
  }
  return lists;
}

/**
 * Go's encoding/json matches a member to a field case-insensitively under Unicode simple folding; the two
 * non-ASCII letters that fold into ASCII are the long s (U+017F, to "s") and the Kelvin sign (U+212A, to "k").
 */
export const goFold = (k: string) => k.replaceAll("\u017f", "s").replaceAll("\u212a", "k").toLowerCase();

/** What is wrong with a body an upstream received, or null: not the gateway's own serialization, or ambiguous. */
export function unlikeOwnSerialization(received: string, options: { foldKeys: boolean }): string | null {
  if (received === "") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(received);
  } catch {
    return "not JSON";
  }
  for (const keys of objectKeyLists(received)) {
    const seen = new Set<string>();
    for (const k of keys) {
      const folded = options.foldKeys ? goFold(k) : k;
      if (seen.has(folded)) return `two members read as "${k}"`;
      seen.add(folded);
    }
  }
  if (JSON.stringify(parsed) !== received) return "bytes other than JSON.stringify of what they say";
  return null;
}
