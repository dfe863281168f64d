/**
 * The operator console in a real browser: the deployable Worker with its static assets on workerd (as `npm start`
 * runs it), a real PostgreSQL (PGlite, or a scratch database on TEST_DATABASE_URL), the stand-in engines, and
 * Debian's Chromium driven by playwright-core. Sign in with an admin key, create a key and use it through the
 * gateway, explain a refused mutation, revoke the key and see it refused, filter the audit trail; a wrong key is
 * refused. `CONSOLE_SCREENSHOTS=1` also writes each page's screenshot to docs/console/.
 */
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { chromium, type Browser, type Page } from "playwright-core";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db.ts";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime.ts";
import { startStubs, type Stubs } from "../setup/stubs.ts";
import { schema } from "../../src/db/schema.ts";
import { createKey } from "../../src/store/keys.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GATEWAY_PORT = 9261;
const GATEWAY = `http://127.0.0.1:${GATEWAY_PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS === "1" ? `${ROOT}docs/console` : null;
const PREFECT_TAG = "console-prefect";

let db: LocalDatabase;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
let stubs: Stubs;
let stop: () => Promise<void>;
let browser: Browser;
let adminKey: string;

beforeAll(async () => {
  const server = process.env.TEST_DATABASE_URL;
  scratch = server ? await createScratchDatabase(server, "console") : null;
  db = await startLocalDatabase({ databaseUrl: scratch?.url });
  stubs = await startStubs();
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  adminKey = (
    await createKey(drizzle(client, { schema }), { tenant: "ops", subject: "console-operator", scopes: ["admin"], createdBy: "test" })
  ).key;
  await client.end();
  const { mf } = await startRuntime({
    scriptPath: buildWorker(`${ROOT}.data/build-console-test`),
    port: GATEWAY_PORT,
    compatibilityDate: wranglerFacts().compatibilityDate,
    bindings: {
      DATABASE_URL: db.workerDatabaseUrl,
      DB_WS_PROXY: db.wsProxy,
      LOG_LEVEL: "error",
      MEMORY_CACHE_TTL_S: "1",
      SESSION_SECRETS: "console-test-session-secret-0123456789",
      PREFECT_GRAPHQL_URL: `http://127.0.0.1:${stubs.port}/rec/${PREFECT_TAG}`,
    },
    onStdout: () => {},
    onStderr: () => {},
  });
  stop = () => mf.dispose();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stop?.();
  await stubs?.close();
  await db?.close();
  await scratch?.drop();
});

const shot = async (page: Page, name: string) => {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
};

const graphql = (key: string, query: string) =>
  fetch(`${GATEWAY}/prefect/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query }),
  });

async function signIn(key: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${GATEWAY}/console/`);
  await page.fill('form[name="signin"] input[name="key"]', key);
  await page.click('form[name="signin"] button[type="submit"]');
  return page;
}

describe("the operator console in Chromium", () => {
  it("without a provider, loads with its key form, its files carrying the console's security headers", async () => {
    const res = await fetch(`${GATEWAY}/console/`, {
      headers: { accept: "text/html", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await (await fetch(`${GATEWAY}/auth/methods`)).json()).toEqual({ provider: false, keyExchange: true });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${GATEWAY}/console/`);
    await page.waitForSelector('form[name="signin"] input[name="key"]');
    expect(await page.locator("[data-sign-in=provider]").count()).toBe(0);
    await page.context().close();
  });

  it("refuses a wrong admin key, and a key that is not an admin's, and stays on the sign-in form", async () => {
    const page = await signIn("fgk_notarealkey0_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    await expect.poll(() => page.locator("p.error").textContent()).toMatch(/UNAUTHENTICATED/);
    expect(await page.locator('form[name="signin"]').count()).toBe(1);
    await shot(page, "sign-in");
    const created = await fetch(`${GATEWAY}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ tenant: "acme", subject: "not-an-admin", scopes: ["query/*"] }),
    });
    const plain = ((await created.json()) as { key: string }).key;
    const refused = await signIn(plain);
    await expect.poll(() => refused.locator("p.error").textContent()).toMatch(/FORBIDDEN/);
    await page.context().close();
    await refused.context().close();
  });

  it("signs in, creates a key, explains a refused mutation, revokes the key and finds it all in the audit trail", async () => {
    const page = await signIn(adminKey);
    await page.waitForSelector('nav a[data-page="keys"]');
    // No key or secret is kept by the page: the session is an HttpOnly cookie.
    const cookies = await page.context().cookies(GATEWAY);
    expect(cookies.find((c) => c.name === "flowgate-session")?.httpOnly).toBe(true);
    expect(await page.evaluate("document.cookie")).toBe("");

    // Create a key with the scope picker; the plaintext is shown once.
    await page.click("details.create summary");
    await page.fill('form[name="create-key"] input[name="tenant"]', "acme");
    await page.fill('form[name="create-key"] input[name="subject"]', "ci-bot");
    await page.check('input[name="scope:query/*"]');
    await page.fill('form[name="create-key"] input[name="custom"]', "mutation/create_flow_run");
    await page.click('form[name="create-key"] button[type="submit"]');
    const plaintext = (await page.locator("[data-plaintext]").textContent({ timeout: 10_000 }))!;
    expect(plaintext).toMatch(/^fgk_/);
    await shot(page, "keys-created");

    // The key works through the gateway.
    const allowed = await graphql(plaintext, "{ flow { id } }");
    expect(allowed.status).toBe(200);

    // What it can do, in words, from the list.
    const row = page.locator("tr[data-key-id]", { hasText: "ci-bot" });
    await row.first().click();
    await expect.poll(() => page.locator("ul.can-do").textContent()).toContain("run any Prefect query");
    const keyId = (await row.first().getAttribute("data-key-id"))!;
    await shot(page, "keys");

    // Explain a refused mutation for that key.
    await page.click('nav a[data-page="explain"]');
    await page.fill('form[name="explain"] input[name="credential"]', keyId);
    await page.click('form[name="explain"] button[type="submit"]');
    await page.waitForSelector(".answer");
    expect(await page.locator(".answer").getAttribute("data-decision")).toBe("refused");
    expect(await page.locator("code.refused-field").textContent()).toBe("mutation/delete_flow");
    await shot(page, "explain");

    // Revoke it in the console; the gateway refuses it at once (this isolate) .
    await page.click('nav a[data-page="keys"]');
    await page.locator("tr[data-key-id]", { hasText: "ci-bot" }).first().click();
    page.once("dialog", (d) => void d.accept());
    await page.click("div.actions button.danger");
    await expect.poll(async () => (await graphql(plaintext, "{ flow { id } }")).status, { timeout: 10_000 }).toBe(401);

    // The audit trail, filtered to revocations, with its chart.
    await page.click('nav a[data-page="audit"]');
    await page.fill('form[name="audit-filters"] input[name="action"]', "key.revoke");
    await page.click('form[name="audit-filters"] button[type="submit"]');
    await expect.poll(() => page.locator("table.audit tbody tr").count()).toBe(1);
    expect(await page.locator("table.audit tbody tr").first().textContent()).toContain(keyId);
    expect(await page.locator("svg[data-chart]").count()).toBe(1);
    await page.fill('form[name="audit-filters"] input[name="action"]', "");
    await page.click('form[name="audit-filters"] button[type="submit"]');
    await expect.poll(() => page.locator("table.audit tbody tr").count()).toBeGreaterThan(2);
    await shot(page, "audit");

    // A rate limit set in shadow mode, then enforced.
    await page.click('nav a[data-page="limits"]');
    await page.fill('form[name="limit"] input[name="target"]', "acme");
    await page.selectOption('form[name="limit"] select[name="kind"]', "tenant");
    await page.click('form[name="limit"] button[type="submit"]');
    await expect.poll(() => page.locator("tr[data-limit] [data-mode]").first().textContent()).toBe("shadow");
    await page.click("tr[data-limit] button >> text=Enforce");
    await expect.poll(() => page.locator("tr[data-limit] [data-mode]").first().textContent()).toBe("enforce");
    await shot(page, "limits");

    // The other pages render from the admin API.
    await page.click('nav a[data-page="operations"]');
    await expect.poll(() => page.locator("[data-epoch]").count()).toBe(1);
    await page.click('form.inline button[type="submit"] >> nth=1');
    await expect.poll(() => page.locator("[data-log-level]").textContent()).toMatch(/error until|warn until|debug until/);
    await shot(page, "operations");
    await page.click('nav a[data-page="api"]');
    await expect.poll(() => page.locator("[data-operation]").count()).toBeGreaterThan(15);
    await shot(page, "api");
    await page.click('nav a[data-page="tenants"]');
    await expect.poll(() => page.locator("table tbody tr", { hasText: "acme" }).count()).toBe(1);
    await shot(page, "tenants");
    await page.click('nav a[data-page="workspaces"]');
    await page.waitForSelector("h2:has-text('Argo workspaces')");
    await shot(page, "workspaces");

    // Sign out: the admin API no longer takes the browser.
    await page.click("span.who button");
    await page.waitForSelector('form[name="signin"]');
    expect(await page.evaluate(async () => (await fetch("/admin/keys")).status)).toBe(401);
    await page.context().close();
  });

  it("refuses a change carried by the session without the CSRF token", async () => {
    const page = await signIn(adminKey);
    await page.waitForSelector('nav a[data-page="keys"]');
    const status = await page.evaluate(async () => (await fetch("/admin/cache/purge", { method: "POST" })).status);
    expect(status).toBe(403);
    await page.context().close();
  });
});
