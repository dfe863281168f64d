/**
 * The SQL index backends' `Condition` pattern, read in one pass (src/engines/conductor/search.ts `readCondition`):
 * it finds what Java's `find` with CONDITION_REGEX finds (PostgresIndexQueryBuilder.java, the pattern below with
 * Java's `\s` spelled out), on hand-picked parts and on random ones over the characters that matter.
 */
import { describe, expect, it } from "vitest";
import { readCondition } from "../../src/engines/conductor/search";

const CONDITION_REGEX = /([a-zA-Z]+)[ \t\n\x0b\f\r]?(=|>|<|IN)[ \t\n\x0b\f\r]?(.*)/;
const byPattern = (part: string) => {
  const m = CONDITION_REGEX.exec(part);
  return m ? [m[1], m[2], m[3]] : null;
};

describe("readCondition", () => {
  it("finds what the pattern finds", () => {
    for (const part of [
      "status = RUNNING",
      "status=RUNNING",
      "workflowId IN (a,b)",
      "workflowIdIN(a)",
      "xIN",
      "INxIN = y",
      "  status  = x",
      "1 status = x",
      "status\n= x",
      "status =\nx\ny",
      "status",
      "",
      "= x",
      "a b",
      "startTime>5",
      "aIN IN b",
      "a INb",
    ]) {
      expect(readCondition(part), JSON.stringify(part)).toEqual(byPattern(part));
    }
  });

  it("finds what the pattern finds on random parts", () => {
    const alphabet = ["a", "b", "I", "N", " ", "=", "<", ">", "(", ",", "1", "\n", "\t"];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let n = 0; n < 5000; n++) {
      const part = Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join("");
      expect(readCondition(part), JSON.stringify(part)).toEqual(byPattern(part));
    }
  });

  it("reads a long run of letters with no operator in one pass", () => {
    expect(readCondition("a".repeat(4000))).toBeNull();
    expect(readCondition(`${"a".repeat(4000)} = x`)).toEqual(["a".repeat(4000), "=", "x"]);
  });
});
