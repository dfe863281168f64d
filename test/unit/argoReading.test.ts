/**
 * The pure halves of reading an Argo request as Argo does (src/engines/argo/goJson.ts, query.ts, paths.ts): the
 * cases the route tests do not spell out one by one.
 */
import { describe, expect, it } from "vitest";
import { goFold, readAsGo } from "../../src/engines/argo/goJson";
import { selectorNamespaces } from "../../src/engines/argo/paths";
import { decideQuery } from "../../src/engines/argo/query";

describe("Go's key matching", () => {
  it("folds as Go does: ASCII case, ſ, the Kelvin sign", () => {
    expect(goFold("nameſpace")).toBe("NAMESPACE");
    expect(goFold("wor\u212aflow")).toBe("WORKFLOW");
    expect(goFold("podIP")).toBe(goFold("PodIp"));
  });

  it.each([
    ['{"a":{"b":1,"B":2}}', "one field"],
    ['[{"x":1},{"x":1,"x":2}]', "twice"],
    ['{"labels":{"Metadata":"x"}}', "read by Argo"],
    ['{"\\u017fpec":{}}', "non-ASCII"],
    ['{"a":1e400}', "2^53"],
    ['{"a":-12345678901234567890}', "2^53"],
    ['{"a":"\\ud800","b":1,"\\udfff":2}', "Unicode"],
  ])("refuses %s", (text, reason) => {
    const v = readAsGo(text, ["namespace", "metadata"]);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toContain(reason);
  });

  it("takes the same key in separate objects, strings that look like keys, and numbers within 2^53", () => {
    expect(readAsGo('[{"x":1},{"x":2}]', []).ok).toBe(true);
    expect(readAsGo('{"a":["Namespace","namespace"],"b":"x:"}', ["namespace"]).ok).toBe(true);
    expect(readAsGo('{"a":9007199254740991,"b":-1.5e-300}', []).ok).toBe(true);
  });
});

describe("the query", () => {
  const q = (s: string) => new URLSearchParams(s);
  it("rebuilds one spelling in the route's order; refuses two spellings, repeats and unknown names", () => {
    const v = decideQuery("GET", ["workflows", "alpha"], q("fields=x&list_options.field_selector=metadata.name%3Da&listOptions.watch=T"));
    expect(v.ok && v.value.toString()).toBe("listOptions.fieldSelector=metadata.name%3Da&listOptions.watch=true&fields=x");
    expect(decideQuery("GET", ["workflows", "alpha"], q("listOptions.limit=1&list_options.limit=2")).ok).toBe(false);
    expect(decideQuery("GET", ["workflows", "alpha"], q("fields=a&fields=b")).ok).toBe(false);
    expect(decideQuery("GET", ["workflows", "alpha"], q("listOptions.watch=yes")).ok).toBe(false);
    expect(decideQuery("POST", ["workflows", "alpha"], q("fields=a")).ok).toBe(false);
    expect(decideQuery("DELETE", ["workflows", "alpha", "wf"], q("deleteOptions.dryRun=All&deleteOptions.dryRun=All")).ok).toBe(true);
  });

  it("reads the field selector as Argo's BuildListOptions does", () => {
    expect(selectorNamespaces("metadata.namespace==a,metadata.name=my-namespace-wf")).toEqual({
      ok: true,
      value: { equal: ["a"], excludes: false },
    });
    expect(selectorNamespaces("metadata.namespace!=a")).toEqual({ ok: true, value: { equal: [], excludes: true } });
    for (const bad of ["Metadata.namespace=a", "metadata.namespace = a", "metadata.namespace=", "metadata.name=a\\,metadata.namespace=b"])
      expect(selectorNamespaces(bad).ok, bad).toBe(false);
  });
});
