import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { CONFIG_VARIABLE_NAMES } from "../../src/readConfig";
import { variablesOf } from "../../src/configFields";
import { engines } from "../../src/engines";
import { ADMIN_ROUTE_GROUP } from "../../src/formats/rateLimitRule";
import { upstreamTable } from "../../src/services";

describe("the engine registry", () => {
  it("lists each mount once, under a distinct name", () => {
    expect(new Set(engines.map((e) => e.mount)).size).toBe(engines.length);
    expect(new Set(engines.map((e) => e.name)).size).toBe(engines.length);
  });

  it("reads every registered engine's variables, each given by one piece only", () => {
    expect(new Set(CONFIG_VARIABLE_NAMES).size).toBe(CONFIG_VARIABLE_NAMES.length);
    for (const e of engines) for (const name of e.config ? variablesOf(e.config) : []) expect(CONFIG_VARIABLE_NAMES).toContain(name);
  });

  it("is what the app mounts", () => {
    const paths = new Set(buildApp().routes.map((r) => r.path));
    for (const e of engines) expect([...paths].some((p) => p.startsWith(`${e.mount}/`))).toBe(true);
  });

  it("declares each upstream a configuration piece gives once, naming a variable the gateway reads", () => {
    const declared = upstreamTable(engines); // throws on a name declared twice
    for (const e of engines) {
      const parsed = e.config?.safeParse({});
      const given =
        parsed?.success && typeof parsed.data === "object" && parsed.data && "upstreams" in parsed.data
          ? Object.keys(parsed.data.upstreams as object)
          : [];
      for (const name of given) expect(Object.keys(declared), `${e.name}: ${name}`).toContain(name);
    }
    for (const d of Object.values(declared)) expect(CONFIG_VARIABLE_NAMES).toContain(d.variable);
  });

  it("names no entry as a route group a limit already means otherwise", () => {
    for (const e of engines) expect(["*", ADMIN_ROUTE_GROUP]).not.toContain(e.name);
  });
});
