/**
 * A Conductor policy's answer (a `Verdict`, src/verdict.ts) in the shape these tests were written against: the
 * value, wrapped as the policy once answered it (`{def}`, `{handler}`), or `{refused: <reason>}`. The expectations
 * stay as they were.
 */
import type { Verdict } from "../../../src/verdict";

export function seen<T>(v: Verdict<T>): T | { refused: string };
export function seen<T, W>(v: Verdict<T>, wrap: (value: T) => W): W | { refused: string };
export function seen<T, W>(v: Verdict<T>, wrap?: (value: T) => W): T | W | { refused: string } {
  if (!v.ok) return { refused: v.reason };
  return wrap ? wrap(v.value) : v.value;
}
