import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { CONFIG_VARIABLE_NAMES } from "../../src/readConfig";
import { variablesOf } from "../../src/configFields";
import { engines } from "../../src/engines";
import { ENGINE_CONFIGS } from "../../src/engines/configs";

describe("the engine registry", () => {
  it("lists each mount once, under a distinct name", () => {
    expect(new Set(engines.map((e) => e.mount)).size).toBe(engines.length);
    expect(new Set(engines.map((e) => e.name)).size).toBe(engines.length);
  });

  it("and the configuration's list of pieces hold the same engine pieces", () => {
    const registered = new Set(engines.flatMap((e) => (e.config ? [e.config] : [])));
    expect(new Set<unknown>(ENGINE_CONFIGS)).toEqual(registered);
  });

  it("gives every variable to one piece only", () => {
    expect(new Set(CONFIG_VARIABLE_NAMES).size).toBe(CONFIG_VARIABLE_NAMES.length);
    for (const piece of ENGINE_CONFIGS) for (const name of variablesOf(piece)) expect(CONFIG_VARIABLE_NAMES).toContain(name);
  });

  it("is what the app mounts", () => {
    const paths = new Set(buildApp().routes.map((r) => r.path));
    for (const e of engines) expect([...paths].some((p) => p.startsWith(`${e.mount}/`))).toBe(true);
  });
});
