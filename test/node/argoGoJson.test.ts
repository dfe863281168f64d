/**
 * The gateway's reading of an Argo body, held to Go's own: test/go/argojson decodes bodies with Go's encoding/json
 * into structs shaped like Argo's request types. For every crafted body (keys in other cases, `ſ` and the Kelvin
 * sign, JSON escapes, repeated keys, at every depth, numbers past 2^53) the gateway either refuses it, or Go reads
 * the bytes the gateway forwards as naming only the namespace the gateway decided, and reads them as it reads the
 * client's own bytes. Needs Go: without it the file is skipped, unless REQUIRE_GO=1 (CI, `.ci/run`), where a
 * missing Go fails it.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideBody } from "../../src/engines/argo/body";
import { goFoldCodePoint } from "../../src/engines/argo/goJson";

const run = promisify(execFile);

function haveGo(): boolean {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const goPresent = haveGo();
if (!goPresent && process.env.REQUIRE_GO === "1") throw new Error("REQUIRE_GO=1 but `go` is not installed (apt-get install golang-go)");
if (!goPresent) console.warn("test/node/argoGoJson.test.ts skipped: `go` is not installed (CI sets REQUIRE_GO=1 and installs it)");

interface GoRead {
  error?: string;
  namespaces: string[];
  value?: unknown;
}

let dir = "";
let bin = "";
const goRead = async (bodies: string[]): Promise<GoRead[]> => {
  const child = run(bin, ["bodies"], { maxBuffer: 64 << 20 });
  child.child.stdin!.end(JSON.stringify(bodies));
  return JSON.parse((await child).stdout) as GoRead[];
};

/** Spellings of a key that Go's encoding/json matches to it, beside the key itself. */
function variants(key: string): string[] {
  const out = new Set([key, key[0]!.toUpperCase() + key.slice(1), key.toUpperCase(), key.slice(0, -1) + key.at(-1)!.toUpperCase()]);
  out.add(key.replaceAll("s", "\u017f")); // ſ folds to s
  out.add(key.replaceAll("k", "\u212a")); // the Kelvin sign folds to k
  return [...out];
}

/** A JSON text with the members as given (so repeated keys stay repeated). */
const obj = (members: [string, string][]) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
const str = (s: string) => JSON.stringify(s);

function corpus(): string[] {
  const out: string[] = [];
  const meta = (nsKey: string, ns: string, metaKey = "metadata") => obj([[metaKey, obj([[nsKey, str(ns)]])]]);
  for (const ns of variants("namespace")) {
    out.push(obj([[ns, str("secret")]]));
    out.push(
      obj([
        ["namespace", str("alpha")],
        [ns, str("secret")],
      ]),
    );
    out.push(
      obj([
        [ns, str("secret")],
        ["namespace", str("alpha")],
      ]),
    );
    for (const holder of ["workflow", "template", "cronWorkflow", "sensor", "eventSource"]) {
      out.push(
        obj([
          ["namespace", str("alpha")],
          [holder, meta(ns, "secret")],
        ]),
      );
      out.push(
        obj([
          ["namespace", str("alpha")],
          [
            holder,
            obj([
              [
                "metadata",
                obj([
                  ["namespace", str("alpha")],
                  [ns, str("secret")],
                ]),
              ],
            ]),
          ],
        ]),
      );
      for (const h of variants(holder))
        out.push(
          obj([
            ["namespace", str("alpha")],
            [h, meta("namespace", "secret")],
          ]),
        );
      for (const m of variants("metadata")) {
        out.push(
          obj([
            ["namespace", str("alpha")],
            [holder, meta(ns, "secret", m)],
          ]),
        );
        out.push(
          obj([
            ["namespace", str("alpha")],
            [
              holder,
              obj([
                ["metadata", obj([["namespace", str("alpha")]])],
                [m, obj([["namespace", str("secret")]])],
              ]),
            ],
          ]),
        );
      }
    }
    out.push(obj([["metadata", obj([[ns, str("secret")]])]]));
    // Resubmit and submit bodies, as the issue's report sent them.
    out.push(
      obj([
        ["namespace", str("alpha")],
        [ns, str("secret")],
        ["memoized", "false"],
      ]),
    );
    out.push(
      obj([
        ["resourceKind", str("WorkflowTemplate")],
        ["resourceName", str("t")],
        ["namespace", str("alpha")],
        [ns, str("secret")],
      ]),
    );
  }
  // Repeated keys, at the top and deeper, either order.
  for (const [a, b] of [
    ["alpha", "secret"],
    ["secret", "alpha"],
  ]) {
    out.push(
      obj([
        ["namespace", str(a!)],
        ["namespace", str(b!)],
      ]),
    );
    out.push(
      obj([
        [
          "workflow",
          obj([
            [
              "metadata",
              obj([
                ["namespace", str(a!)],
                ["namespace", str(b!)],
              ]),
            ],
          ]),
        ],
      ]),
    );
    out.push(
      obj([
        ["workflow", meta("namespace", a!)],
        ["workflow", meta("namespace", b!)],
      ]),
    );
  }
  // Keys spelled with JSON escapes, and keys that are not valid Unicode.
  out.push('{"namespace":"alpha","\\u004eamespace":"secret"}');
  out.push('{"namespace":"alpha","name\\u017fpace":"secret"}');
  out.push('{"\\u006eamespace":"alpha"}');
  out.push('{"namespace":"alpha","\\ud800":"x","\\udc00":"y"}');
  // Namespaces that are not strings.
  out.push('{"namespace":["alpha"]}');
  out.push('{"namespace":{"namespace":"alpha"}}');
  // Numbers: within 2^53 they arrive as sent; beyond, Go reads exactly what JavaScript cannot carry.
  for (const n of ["9007199254740991", "9007199254740993", "-9007199254740993", "1e2", "1.5", "12345678901234567890", "1e400", "0.1"]) {
    out.push(
      obj([
        [
          "workflow",
          obj([
            ["metadata", obj([["namespace", str("alpha")]])],
            ["spec", obj([["activeDeadlineSeconds", n]])],
          ]),
        ],
      ]),
    );
    out.push(
      obj([
        [
          "workflow",
          obj([
            ["metadata", obj([["namespace", str("alpha")]])],
            ["spec", obj([["ratio", n]])],
          ]),
        ],
      ]),
    );
  }
  // Legitimate bodies, which must pass and mean the same to Go after re-encoding.
  out.push(
    obj([
      ["namespace", str("alpha")],
      [
        "workflow",
        obj([
          [
            "metadata",
            obj([
              ["generateName", str("x-")],
              ["namespace", str("alpha")],
            ]),
          ],
        ]),
      ],
    ]),
  );
  out.push(
    obj([
      ["namespace", str("alpha")],
      ["memoized", "true"],
      ["parameters", '["a=1","b=2"]'],
    ]),
  );
  out.push(
    obj([
      ["namespace", str("alpha")],
      ["resourceKind", str("WorkflowTemplate")],
      ["resourceName", str("t")],
      ["submitOptions", '{"generateName":"t-","parameters":["x=1"]}'],
    ]),
  );
  out.push('{ "workflow" : { "metadata" : { "namespace" : "alpha", "labels" : { "team" : "a\\u00e9" } } } }');
  return out;
}

describe.skipIf(!goPresent)("Argo bodies: the gateway's reading against Go's encoding/json", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "argojson-"));
    bin = join(dir, "argojson");
    await run("go", ["build", "-o", bin, "."], {
      cwd: join(import.meta.dirname, "../go/argojson"),
      env: { ...process.env, GOFLAGS: "-mod=mod" },
    });
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("every body is refused, or Go reads the forwarded bytes as naming only the decided namespace, as it read the client's", async () => {
    const bodies = corpus();
    const decided = bodies.map((b) => decideBody(b, "alpha"));
    const original = await goRead(bodies);
    const forwarded = await goRead(decided.map((d) => (d.ok ? d.value.text : "{}")));
    let refused = 0;
    let crossing = 0;
    for (const [i, body] of bodies.entries()) {
      const d = decided[i]!;
      if (original[i]!.namespaces.some((ns) => ns !== "alpha")) crossing++;
      if (!d.ok) {
        refused++;
        continue;
      }
      // Go refuses our bytes only where it refuses the client's (a fraction for an integer field).
      if (forwarded[i]!.error !== undefined) expect(original[i]!.error, body).toBeDefined();
      expect(
        forwarded[i]!.namespaces.filter((ns) => ns !== "alpha"),
        body,
      ).toEqual([]);
      // Where Go reads the client's bytes at all, it reads ours the same way (1e2 and 1.0 for an integer are
      // errors to Go and arrive as 100 and 1: the gateway forwards the value it decided on).
      if (original[i]!.error === undefined) expect(forwarded[i]!.value, body).toEqual(original[i]!.value);
    }
    // The corpus does what it says: many bodies Go reads in another workspace, and every one of them refused.
    expect(crossing).toBeGreaterThan(50);
    expect(refused).toBeGreaterThanOrEqual(crossing);
    for (const legit of bodies.slice(-4)) expect(decideBody(legit, "alpha").ok, legit).toBe(true);
  });

  it("every code point Go matches to an ASCII letter, the gateway folds to that letter", async () => {
    const { stdout } = await run(bin, ["fold"], { maxBuffer: 16 << 20 });
    const pairs = stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]);
    expect(pairs.length).toBeGreaterThanOrEqual(2); // ſ and the Kelvin sign at least
    expect(pairs).toContainEqual(["383", "s"]);
    expect(pairs).toContainEqual(["8490", "k"]);
    for (const [cp, letter] of pairs)
      expect(goFoldCodePoint(Number(cp)), `U+${Number(cp).toString(16)}`).toBe(letter.toUpperCase().charCodeAt(0));
  }, 60_000);
});
