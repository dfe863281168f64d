/**
 * `repeatedKey`: what `JSON.parse` cannot see of a body that Conductor (Jackson: a repeated key is no error, and
 * which value wins depends on the property) and FlowAPI (Python's `json`: the last wins) read their own way.
 * Expectations are written per case, and JSON that `JSON.stringify` produced (which never repeats a key) is the
 * property's oracle.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { repeatedKey } from "../../src/proxy/json";

describe("repeatedKey", () => {
  it.each([
    ['{"a":1,"a":2}', "a"],
    ['{"name":"wfA","tasks":[{"type":"SIMPLE","x":{"type":1},"type":"HTTP"}]}', "type"],
    ['{"\\u0061":1,"a":2}', "a"],
    ['{"a\\"":1,"a\\"":2}', 'a"'],
    ['{"a":"\\"a\\":1,","a":2}', "a"],
    ['[{"k":[{"k":1,"j":{"k":2}}],"k":3}]', "k"],
  ])("%s repeats %j", (text, key) => {
    JSON.parse(text); // valid JSON, as the function requires
    expect(repeatedKey(text)).toBe(key);
  });

  it.each(['{"a":"x","b":{"a":1}}', '[{"a":1},{"a":1}]', '{"a":["a","a"],"b":"a"}', '{"a\\\\":1,"a":2}', '"a"', "[]", '{"":1,"x":{"":2}}'])(
    "%s repeats nothing",
    (text) => {
      JSON.parse(text);
      expect(repeatedKey(text)).toBeNull();
    },
  );

  it("finds nothing in any JSON.stringify output, whitespace included", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => repeatedKey(JSON.stringify(v, null, pretty ? 2 : undefined)) === null),
      { numRuns: 300 },
    );
  });
});
