/**
 * JSON nesting, measured on the raw text before anything parses or walks it. Pure.
 *
 * `JSON.parse` itself does not recurse, but everything after it does (the policy walks, `structuredClone`,
 * `JSON.stringify` of the answer), so a deep document must be refused before it is parsed: one pass over the
 * characters, counting `[`/`{` against `]`/`}` outside strings (a `\` inside a string escapes the next character,
 * so `"\"["` and `"\\"` are read correctly). Linear in the text, constant memory, no recursion.
 */
import { MAX_JSON_DEPTH } from "../constants";
import { GatewayError } from "../errors";
import { readBodyLimited, utf8 } from "./body";

/** Whether `text` opens more than `max` arrays/objects inside one another (anywhere, outside strings). */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) depth--;
  }
  return false;
}

/** Throws 400 when a client's JSON text nests deeper than MAX_JSON_DEPTH. Call before `JSON.parse`. */
export function requireJsonDepth(text: string, what = "body"): void {
  if (jsonNestingExceeds(text, MAX_JSON_DEPTH)) {
    throw new GatewayError("BAD_REQUEST", `${what}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/** Nesting an upstream's answer may have: far beyond any engine object, far below the stack's limit. */
export const MAX_ANSWER_DEPTH = 1_000;

/** Throws 502 when an upstream's JSON answer nests deeper than MAX_ANSWER_DEPTH. Call before parsing it. */
export function requireAnswerDepth(text: string): void {
  if (jsonNestingExceeds(text, MAX_ANSWER_DEPTH)) throw new GatewayError("BAD_GATEWAY", "upstream answer nested too deeply");
}

/** A client's JSON text parsed, after the depth check: 400 when too deep or not JSON. */
export function parseClientJson(text: string, what = "body"): unknown {
  requireJsonDepth(text, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("BAD_REQUEST", `${what} is not valid JSON`);
  }
}

/**
 * The one reader of a client's JSON body: read no further than `maxBytes` (413), UTF-8 (400), depth checked and
 * parsed (400). An empty body is `undefined` (JSON itself never parses to it): the admin API reads it as `{}`,
 * Conductor as "no body".
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const text = utf8(await readBodyLimited(req, maxBytes));
  if (text.trim() === "") return undefined;
  return parseClientJson(text);
}

/**
 * The first key repeated within one object of `text` (decoded, at any depth), or null. `text` must already be
 * valid JSON (parse it first); linear in its length, no recursion. `JSON.parse` keeps the last of a repeated key
 * without a word, and each engine has its own rule for one (Jackson, Python's `json`, Go's `encoding/json`:
 * docs/security.md, "How each engine reads a request"), so the engines that read JSON refuse repeated keys with it.
 */
export function repeatedKey(text: string): string | null {
  // One frame per open object (its keys so far) or array (null); `expectKey` is true right after `{` or a `,` in an object.
  const frames: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) break;
      }
      const keys = frames.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (ch === 0x7b /* { */) {
      frames.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      frames.push(null);
      expectKey = false;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      frames.pop();
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      expectKey = frames.at(-1) instanceof Set;
    }
  }
  return null;
}
