/**
 * Issue 17, class 6: a tenant named like a shared prefix (`GLOBAL`, in any case) would write and delete the shared
 * `GLOBAL___` Conductor definitions. One rule (tenantNameProblem) refuses it everywhere a tenant is named: the admin
 * API, the stores behind the CLI and the Prefect import, JWT claims (401), and keys stored before the rule (401 at
 * use, nothing sent upstream).
 */
import { env } from "cloudflare:workers";
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { parseConfig } from "../../src/readConfig";
import { apiKeys, tenants } from "../../src/db/schema";
import { withDatabase } from "../../src/db/client";
import { generateApiKey, hashApiKey } from "../../src/formats/apiKey";
import { tenantNameProblem } from "../../src/identity/principal";
import { createKey, ensureTenant } from "../../src/store/keys";
import { importLegacyPrefectKeys } from "../../src/store/prefectImport";
import { asAdmin, bearer, call, errorOf } from "../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "../engines/conductor/harness";

const config = (() => {
  const r = parseConfig(env as unknown as Env);
  if (!r.ok) throw r.error;
  return r.config;
})();

const RESERVED = ["GLOBAL", "global", "Global", "gLoBaL"];
const NOT_NAMES = [
  "GLOBAL\u200b",
  "\u200bGLOBAL",
  "GLOBA\u004c\u0307",
  "GLOBAL_",
  "_GLOBAL",
  "GLOBAL___x",
  "A___B",
  "",
  "x".repeat(65),
  "GLOB\u0130L",
  "ＧＬＯＢＡＬ",
  "GLOBAL\n",
];

describe("the rule", () => {
  it("reserves GLOBAL in any case and refuses every spelling that is not a plain name", () => {
    for (const n of RESERVED) expect(tenantNameProblem(n), n).toBe("reserved");
    for (const n of NOT_NAMES) expect(tenantNameProblem(n), JSON.stringify(n)).toBe("not_a_name");
    for (const n of ["acme", "GLOBALS", "GLOBAL-1", "my-GLOBAL", "x".repeat(64)]) expect(tenantNameProblem(n), n).toBeNull();
  });
});

describe("where a tenant is named", () => {
  it("the admin API refuses a reserved tenant for keys, served tenants and the tenants list", async () => {
    for (const tenant of [...RESERVED, ...NOT_NAMES.slice(0, 4)]) {
      const res = await asAdmin("/admin/keys", { method: "POST", json: { tenant, subject: "s", scopes: ["conductor"] } });
      expect(res.status, tenant).toBe(400);
      expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: tenant } })).status, tenant).toBe(400);
    }
    const worker = await asAdmin("/admin/keys", {
      method: "POST",
      json: { tenant: "ops", subject: "w", scopes: ["worker"], servesTenants: ["acme", "global"] },
    });
    expect(worker.status).toBe(400);
  });

  it("the stores behind the CLI and the Prefect import refuse it before writing anything", async () => {
    await withDatabase(config, async (db) => {
      await expect(ensureTenant(db, "GLOBAL")).rejects.toThrow(/tenant/);
      await expect(createKey(db, { tenant: "Global", subject: "s", createdBy: "test" })).rejects.toThrow(/tenant/);
      await expect(createKey(db, { tenant: "acme", subject: "s", servesTenants: ["GLOBAL"], createdBy: "test" })).rejects.toThrow(/tenant/);
      await expect(importLegacyPrefectKeys(db, [], "global", "test")).rejects.toThrow(/tenant/);
    });
  });
});

describe("credentials naming a reserved tenant", () => {
  let stack: ConductorStack;
  beforeAll(async () => {
    stack = await conductorStack("reserved");
    await seedTwoTenants(stack);
  });

  it("a key stored before the rule (written straight into the database) is refused at use: 401, nothing sent", async () => {
    const generated = generateApiKey();
    await withDatabase(config, async (db) => {
      await db.insert(tenants).values({ name: "GLOBAL" }).onConflictDoNothing();
      await db.insert(apiKeys).values({
        id: generated.id,
        prefix: generated.prefix,
        secretHash: await hashApiKey(generated.key),
        tenant: "GLOBAL",
        subject: "old-admin",
        roles: ["OWNER"],
        scopes: ["conductor"],
        createdBy: "before-the-fix",
      });
    });
    // Today's main deletes the shared GLOBAL___shared task definition with this key.
    const res = await stack.as(generated.key, "/conductor/api/metadata/taskdefs/shared", { method: "DELETE" });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("UNAUTHENTICATED");
    expect(await stack.records()).toHaveLength(0);
  });

  it("a JWT whose tenant claim is reserved, in any case, is a 401", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const jwtEnv = { ...stack.env, JWT_PUBLIC_KEYS: await exportSPKI(publicKey) } as Env;
    for (const tenant of RESERVED) {
      const token = await new SignJWT({ sub: "u", tenant, scope: "conductor", roles: ["OWNER"] })
        .setProtectedHeader({ alg: "RS256" })
        .setExpirationTime("5m")
        .sign(privateKey);
      const res = await call("/conductor/api/metadata/taskdefs/shared", { method: "DELETE", env: jwtEnv, headers: bearer(token) });
      expect(res.status, tenant).toBe(401);
    }
    const served = await new SignJWT({ sub: "w", scope: "worker", serves_tenants: ["global"] })
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime("5m")
      .sign(privateKey);
    expect((await call("/workers/conductor/api/tasks/poll/shared", { env: jwtEnv, headers: bearer(served) })).status).toBe(401);
    expect(await stack.records()).toHaveLength(0);
  });
});
