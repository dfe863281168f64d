/**
 * JSON as Argo Server reads it: Go's `encoding/json`, through grpc-gateway v1 with Argo's own marshaler
 * (argo-workflows util/json/json.go: `json.NewDecoder`, no option set). Pure.
 *
 * How Go reads an object's keys (src/encoding/json/decode.go `object`, fold.go `foldName`, Go 1.21 and later; Go
 * 1.19's `bytes.EqualFold` matches the same pairs): a key selects the struct field of exactly that JSON name, else
 * the field whose name is equal under Unicode simple case folding (ASCII letters case-insensitively, `ſ` U+017F
 * as `s`, the Kelvin sign U+212A as `k`, ...). A key given twice, or two keys that fold alike, set the same field,
 * the last one winning. Lone surrogates in a string become U+FFFD. Numbers go to int64 and float64 fields as the
 * literal says, exactly.
 *
 * JavaScript's `JSON.parse` matches keys exactly and rounds every number to a double, so a body is refused
 * whenever the two readings can differ: a key repeated or folding like another in the same object, a key spelled
 * other than a field the gateway decides on but folding to it, a key holding a non-ASCII letter that folds to
 * ASCII (it can only be aimed at an ASCII field name), a key that is not valid Unicode, and a number beyond 2^53.
 * What is forwarded is then the gateway's own serialization of the value it checked (src/engines/argo/body.ts).
 */
import { allow, refuse, type Verdict } from "../../verdict";

/**
 * The fold of one code point, as Go's `foldRune` computes it (the smallest rune of its simple-fold orbit; ASCII
 * letters upper-cased). JavaScript has no simple folding; the smallest single-code-point result of its upper- and
 * lower-casing covers every orbit Go folds into ASCII (test/node/argoGoJson.test.ts checks each code point against
 * Go itself) and may fold a few more pairs than Go does, which only refuses more.
 */
export function goFoldCodePoint(cp: number): number {
  if (cp < 0x80) return cp >= 0x61 && cp <= 0x7a ? cp - 0x20 : cp;
  const s = String.fromCodePoint(cp);
  let min = cp;
  for (const t of [s.toLowerCase(), s.toUpperCase(), s.toLowerCase().toUpperCase(), s.toUpperCase().toLowerCase()]) {
    const c = t.codePointAt(0)!;
    if (t.length === (c > 0xffff ? 2 : 1) && c < min) min = c;
  }
  return min >= 0x61 && min <= 0x7a ? min - 0x20 : min;
}

/** A key as Go's field lookup compares it. */
export function goFold(key: string): string {
  let out = "";
  for (const ch of key) out += String.fromCodePoint(goFoldCodePoint(ch.codePointAt(0)!));
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The end (exclusive) of the JSON string literal starting at `i` (a `"`). The text is valid JSON. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const ch = text.charCodeAt(j);
    if (ch === 0x5c) j += 2;
    else if (ch === 0x22) return j + 1;
    else j++;
  }
}

/** Whether the next non-blank character from `i` is a `:` (the string before it was an object key). */
function isKey(text: string, i: number): boolean {
  let j = i;
  while (j < text.length && /\s/.test(text[j]!)) j++;
  return text[j] === ":";
}

/** Why Go could read `key` differently from the gateway, beside the keys already seen in its object. */
function keyProblem(key: string, seen: Map<string, string>, decided: ReadonlyMap<string, string>): string | null {
  if (LONE_SURROGATE.test(key)) return `the key ${JSON.stringify(key)} is not valid Unicode`;
  const fold = goFold(key);
  const before = seen.get(fold);
  if (before === key) return `the key "${key}" is given twice`;
  if (before !== undefined) return `the keys "${before}" and "${key}" are one field to Argo (Go matches keys ignoring case)`;
  seen.set(fold, key);
  const canonical = decided.get(fold);
  if (canonical !== undefined && canonical !== key) return `the key "${key}" is read by Argo as "${canonical}": spell it "${canonical}"`;
  if (NON_ASCII.test(key) && ASCII_ONLY.test(fold))
    return `the key ${JSON.stringify(key)} is read by Argo as "${fold.toLowerCase()}" (Go folds its non-ASCII letters to ASCII)`;
  return null;
}

/**
 * The value of a JSON text as Argo reads it, or why Argo could read it otherwise (400). `decidedKeys`: the exact
 * names of every key a gateway policy reads in the body; a key folding to one of them must be spelled so.
 */
export function readAsGo(text: string, decidedKeys: readonly string[]): Verdict<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse("body is not valid JSON", "BAD_REQUEST");
  }
  const decided = new Map(decidedKeys.map((k) => [goFold(k), k]));
  // One pass over the (valid) text: a stack of the keys seen per open object (null for an array).
  const open: (Map<string, string> | null)[] = [];
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = stringEnd(text, i);
      const top = open.at(-1);
      if (top && isKey(text, end)) {
        const problem = keyProblem(JSON.parse(text.slice(i, end)) as string, top, decided);
        if (problem) return refuse(`body: ${problem}`, "BAD_REQUEST");
      }
      i = end;
    } else if (ch === "{" || ch === "[") {
      open.push(ch === "{" ? new Map() : null);
      i++;
    } else if (ch === "}" || ch === "]") {
      open.pop();
      i++;
    } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
      NUMBER.lastIndex = i;
      const literal = NUMBER.exec(text)![0];
      if (!(Math.abs(Number(literal)) <= Number.MAX_SAFE_INTEGER))
        return refuse(`body: the number ${literal.slice(0, 40)} is beyond 2^53 and cannot be carried exactly`, "BAD_REQUEST");
      i += literal.length;
    } else i++;
  }
  return allow(value);
}
