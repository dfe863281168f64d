import { describe, expect, it } from "vitest";
import { asAdmin, call } from "./helpers";

describe("smoke", () => {
  it("answers /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
  it("lists tenants as admin", async () => {
    const res = await asAdmin("/admin/tenants");
    expect(res.status).toBe(200);
    const { tenants } = (await res.json()) as { tenants: { name: string }[] };
    expect(tenants.map((t) => t.name)).toContain("ops");
  });
});
