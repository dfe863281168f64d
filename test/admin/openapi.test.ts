import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { adminApis, adminRoutes } from "../../src/admin/routes";
import { engines } from "../../src/engines";
import { openApiPath } from "../../src/admin/openapi";
import { asAdmin, call, createTestKey } from "../helpers";

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> } }>>;
}

const servedAdminRoutes = () =>
  buildApp()
    .routes.filter((r) => r.path.startsWith("/admin/") && r.method !== "ALL")
    .map((r) => `${r.method} ${openApiPath(r.path)}`);

describe("GET /admin/openapi.json", () => {
  it("is an OpenAPI 3.1 document for admins only", async () => {
    expect((await call("/admin/openapi.json")).status).toBe(401);
    const { key } = await createTestKey({ subject: "reader", scopes: ["query/*"] });
    expect((await call("/admin/openapi.json", { headers: { "x-api-key": key } })).status).toBe(403);
    const res = await asAdmin("/admin/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Document & { servers: { url: string }[] };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers[0]!.url).toBe("http://gateway.test");
  });

  it("documents every admin route served, and serves every route it documents", async () => {
    const doc = (await (await asAdmin("/admin/openapi.json")).json()) as Document;
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const served = servedAdminRoutes();
    expect(served.length).toBeGreaterThanOrEqual(18);
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
  });

  it("has examples that validate against the schemas that validate the requests", async () => {
    const api = adminApis.get(adminRoutes(() => new Response(null), engines))!;
    const withExamples = api.operations.filter((op) => op.examples);
    expect(withExamples.length).toBeGreaterThanOrEqual(6);
    for (const op of withExamples) {
      for (const [name, example] of Object.entries(op.examples!)) {
        const parsed = op.body!.safeParse(example);
        expect(parsed.success, `${op.method} ${op.path} example ${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      }
    }
    // and the document carries them
    const doc = (await (await asAdmin("/admin/openapi.json")).json()) as Document;
    const keyExamples = doc.paths["/admin/keys"]!.post!.requestBody!.content["application/json"]!.examples!;
    expect(Object.keys(keyExamples)).toEqual(["ciJob", "worker", "admin"]);
  });

  it("catches a route registered outside the document", () => {
    const admin = adminRoutes(() => new Response(null), engines);
    admin.get("/undocumented", (c) => c.text("x"));
    const api = adminApis.get(admin)!;
    const documented = new Set(api.operations.map((op) => `${op.method.toUpperCase()} ${op.path}`));
    const unlisted = admin.routes.filter((r) => r.method !== "ALL" && !documented.has(`${r.method} ${r.path}`)).map((r) => r.path);
    expect(unlisted).toEqual(["/undocumented"]);
  });
});
