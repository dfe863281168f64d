/**
 * `/admin/limits` as an operator uses it (issue 27): a limit on a target that does not exist is refused, naming it;
 * one name for the target's kind in requests and answers; a change that changes nothing changes nothing; a key id
 * is accepted in the form the console and listings show it.
 */
import { describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, errorOf, uniqueTag } from "../helpers";

interface LimitView {
  id: string;
  kind: string;
  target: string;
  version: number;
  updatedAt: string;
  mode: string;
  description: string | null;
}

const post = (json: Record<string, unknown>) => asAdmin("/admin/limits", { method: "POST", json });
const patch = (id: string, json: Record<string, unknown>) => asAdmin(`/admin/limits/${id}`, { method: "PATCH", json });
const get = async (id: string) => (await (await asAdmin(`/admin/limits/${id}`)).json()) as LimitView;
const RATE = { limit: 10, windowS: 60 };

describe("limits on targets that exist", () => {
  it("refuses a limit on an unknown key id, tenant or subject with a 400 naming it, and stores nothing", async () => {
    const cases: [string, string, string][] = [
      ["key", "zzzzzzzzzzzz", "no key has id zzzzzzzzzzzz"],
      ["tenant", uniqueTag("nobody").slice(0, 20), "no tenant is named"],
      ["subject", uniqueTag("ghost"), "no key has subject"],
    ];
    for (const [kind, target, problem] of cases) {
      const res = await post({ kind, target, rate: RATE });
      expect(res.status, kind).toBe(400);
      const error = (await errorOf(res)) as { code: string; message: string; fields?: { field: string; problem: string }[] };
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.message).toContain(problem);
      expect(error.message).toContain(target);
      expect(error.fields?.[0]?.field).toBe("target");
    }
    const all = ((await (await asAdmin("/admin/limits")).json()) as { limits: LimitView[] }).limits;
    expect(all.filter((l) => cases.some(([, t]) => l.target === t))).toEqual([]);
  });

  it("accepts existing targets: a key id as shown (fgk_<id>, stored as the id), and a tenant, a subject known from a key", async () => {
    const subject = uniqueTag("known");
    const { id } = await createTestKey({ subject, scopes: ["query/*"] });
    const shown = await post({ kind: "key", target: `fgk_${id}`, routeGroup: "prefect", rate: RATE });
    expect(shown.status, await shown.clone().text()).toBe(201);
    expect(await shown.json()).toMatchObject({ kind: "key", target: id });
    expect((await post({ kind: "subject", target: subject, routeGroup: "prefect", rate: RATE })).status).toBe(201);
    const tenant = uniqueTag("T").slice(0, 20);
    expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: tenant } })).status).toBeLessThan(300);
    expect((await post({ kind: "tenant", target: tenant, routeGroup: "flowapi", rate: RATE })).status).toBe(201);
    // Usage filters take the shown form too.
    expect((await asAdmin(`/admin/usage?keyId=fgk_${id}`)).status).toBe(200);
  });
});

describe("one name for the target's kind", () => {
  it("requests and answers both say `kind`; `targetKind` is not a field of either", async () => {
    const { id } = await createTestKey({ subject: uniqueTag("kind"), scopes: ["query/*"] });
    const res = await post({ kind: "key", target: id, routeGroup: "argo", rate: RATE });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created.kind).toBe("key");
    expect(created).not.toHaveProperty("targetKind");
    const listed = ((await (await asAdmin("/admin/limits")).json()) as { limits: Record<string, unknown>[] }).limits.find(
      (l) => l.id === created.id,
    )!;
    expect(listed.kind).toBe("key");
    expect(listed).not.toHaveProperty("targetKind");
    expect((await get(created.id as string)).kind).toBe("key");
    const old = await post({ targetKind: "key", target: id, routeGroup: "argo", rate: RATE });
    expect(old.status).toBe(400);
    expect((await errorOf(old)).message).toContain("targetKind");
  });
});

describe("a change that changes nothing", () => {
  it("PATCH {} and a PATCH of the values as they are keep the version and the time; a real change bumps the version once", async () => {
    const { id: keyId } = await createTestKey({ subject: uniqueTag("noop"), scopes: ["query/*"] });
    const created = (await (await post({ kind: "key", target: keyId, routeGroup: "conductor", rate: RATE })).json()) as LimitView;
    for (const body of [{}, { mode: "enforce" }, { rate: RATE }, { quota: null }]) {
      const res = await patch(created.id, body);
      expect(res.status).toBe(200);
      expect(await res.json(), JSON.stringify(body)).toMatchObject({ version: created.version, updatedAt: created.updatedAt });
    }
    expect(await get(created.id)).toMatchObject({ version: created.version, updatedAt: created.updatedAt });
    // Setting the same limit again through POST changes nothing either.
    const again = await post({ kind: "key", target: keyId, routeGroup: "conductor", rate: RATE });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: created.id, version: created.version, updatedAt: created.updatedAt });

    const shadow = (await (await patch(created.id, { mode: "shadow" })).json()) as LimitView;
    expect(shadow).toMatchObject({ mode: "shadow", version: created.version + 1 });
    // A description is not a setting the counters count by: kept, no new version.
    const described = (await (await patch(created.id, { description: "ci bot" })).json()) as LimitView;
    expect(described).toMatchObject({ description: "ci bot", version: created.version + 1 });
  });
});

describe("the key id as shown", () => {
  it("is accepted by the key routes, the cache purge, explain and the Conductor SDK login, like the bare id", async () => {
    const { id, key } = await createTestKey({ subject: uniqueTag("shown"), scopes: ["query/*", "conductor"] });
    const login = await call("/conductor/api/token", { method: "POST", json: { keyId: `fgk_${id}`, keySecret: key } });
    expect(login.status, await login.clone().text()).toBe(200);
    const shown = await asAdmin(`/admin/keys/fgk_${id}`);
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ id, prefix: `fgk_${id}` });
    expect((await asAdmin(`/admin/cache/keys/fgk_${id}`, { method: "DELETE" })).status).toBe(200);
    const explained = await asAdmin("/admin/explain", {
      method: "POST",
      json: { keyId: `fgk_${id}`, request: { method: "GET", path: "/whoami" } },
    });
    expect(explained.status, await explained.clone().text()).toBe(200);
    expect(((await explained.json()) as { principal: { keyId: string } }).principal.keyId).toBe(id);
    // Anything else is still no key.
    expect((await asAdmin(`/admin/keys/fgk_${id}x`)).status).toBe(404);
    expect((await asAdmin(`/admin/keys/FGK_${id}`)).status).toBe(404);
    const revoked = await asAdmin(`/admin/keys/fgk_${id}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect((await call("/whoami", { headers: { "x-api-key": "fgk_x" } })).status).toBe(401);
  });
});
