/**
 * How Conductor reads a JSON body, and the one thing about it `JSON.parse` cannot see. Pure.
 *
 * Conductor's server binds bodies with Spring's Jackson ObjectMapper (common/config/ObjectMapperBuilderConfiguration.java):
 * keys are matched case-sensitively to the model's properties (`type` and `Type` are different keys; MapperFeature
 * ACCEPT_CASE_INSENSITIVE_PROPERTIES is off), unknown properties are ignored (FAIL_ON_UNKNOWN_PROPERTIES disabled),
 * escapes in keys are decoded (`"typ\u0065"` is `type`, as for `JSON.parse`), and a repeated key is not an error
 * (JsonParser.Feature.STRICT_DUPLICATE_DETECTION is off): a bean property is set once per occurrence, the last one
 * winning, but a collection property without a setter is filled through its getter and would keep both. The gateway
 * refuses repeated keys at any depth rather than depend on which reading applies, then forwards only its own
 * serialization of what it checked.
 */

/**
 * The first key repeated within one object of `text` (decoded, at any depth), or null. `text` must already be
 * valid JSON (parse it first); linear in its length, no recursion.
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
