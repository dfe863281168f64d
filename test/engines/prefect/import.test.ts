import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../src/config";
import { parseConfig } from "../../../src/readConfig";
import { withDatabase } from "../../../src/db/client";
import { checkLegacyRow, importLegacyPrefectKeys } from "../../../src/store/prefectImport";
import { call, envWith, recorded, stubUrl, uniqueTag } from "../../helpers";

const config = (() => {
  const r = parseConfig(env as unknown as Env);
  if (!r.ok) throw r.error;
  return r.config;
})();

describe("import from the replaced Prefect proxy", () => {
  it("imports keys so the value each client holds keeps working, idempotently", async () => {
    const legacyKey = `TestKey-${uniqueTag("")}`;
    const readOnly = `RO-${uniqueTag("")}`;
    const rows = [
      {
        user_id: "USERID",
        scopes: "mutation/*, query/*",
        api_key: legacyKey,
        key_issu_dt: "2021-12-27 00:00:00",
        key_expr_dt: "2099-12-31 00:00:00",
      },
      {
        user_id: "LEGACY-READER",
        scopes: "query/*",
        api_key: readOnly,
        key_issu_dt: new Date("2021-01-01"),
        key_expr_dt: new Date("2099-01-01"),
      },
      { user_id: "EXPIRED", scopes: "query/*", api_key: `old-${uniqueTag("")}`, key_issu_dt: "2021-12-27", key_expr_dt: "2022-12-31" },
      { user_id: "BAD", scopes: "query/*, *", api_key: `bad-${uniqueTag("")}`, key_issu_dt: null, key_expr_dt: null },
      { user_id: "SHORT", scopes: "query/*", api_key: "abc", key_issu_dt: null, key_expr_dt: null },
    ];
    const first = await withDatabase(config, (db) => importLegacyPrefectKeys(db, rows, "legacy", "test"));
    expect(first.created.map((c) => c.subject)).toEqual(["USERID", "LEGACY-READER", "EXPIRED"]);
    expect(first.refused.map((r) => r.subject)).toEqual(["BAD", "SHORT"]);
    const again = await withDatabase(config, (db) => importLegacyPrefectKeys(db, rows, "legacy", "test"));
    expect(again.created).toEqual([]);
    expect(again.skipped.map((s) => s.subject)).toEqual(["USERID", "LEGACY-READER", "EXPIRED"]);

    const tag = uniqueTag("legacy");
    // Single-tenant Prefect: this is about the imported keys' scopes; a recording stub cannot answer the
    // multi-tenant mode's pre-read of delete_flow's id (./tenants.test.ts proves that mode).
    const e = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12" });
    const ask = (key: string, query: string) =>
      call("/prefect/graphql", {
        method: "POST",
        env: e,
        headers: { "x-prefect-user-id": key, accept: "application/graphql-response+json" },
        json: { query },
      });
    expect((await ask(legacyKey, `mutation { delete_flow(input:{flow_id:"x"}) { success } }`)).status).toBe(200);
    expect((await ask(readOnly, "{ flow { id } }")).status).toBe(200);
    expect((await ask(readOnly, `mutation { delete_flow(input:{flow_id:"x"}) { success } }`)).status).toBe(403);
    expect((await ask(rows[2]!.api_key, "{ flow { id } }")).status).toBe(401);
    expect((await ask("never-imported-key", "{ flow { id } }")).status).toBe(401);
    expect(await recorded(tag)).toHaveLength(2);
  });

  it("checks rows without I/O", () => {
    expect(checkLegacyRow({ user_id: "", scopes: "query/*", api_key: "abcdefghij", key_issu_dt: null, key_expr_dt: null })).toMatchObject({
      reason: "no user_id",
    });
    expect(checkLegacyRow({ user_id: "u", scopes: "", api_key: "abcdefghij", key_issu_dt: null, key_expr_dt: null })).toMatchObject({
      reason: "no scopes",
    });
    expect(
      checkLegacyRow({ user_id: "u", scopes: "query/*", api_key: "fgk_lookslikeours", key_issu_dt: null, key_expr_dt: null }),
    ).toHaveProperty("reason");
    expect(
      checkLegacyRow({ user_id: "u", scopes: "query/*", api_key: "abcdefghij", key_issu_dt: null, key_expr_dt: "not a date" }),
    ).toHaveProperty("reason");
  });
});
