/**
 * The operator console in a real browser: the deployable Worker with its static assets on workerd (as `npm start`
 * runs it), a real PostgreSQL, the stand-in engines, and Debian's Chromium driven by playwright-core
 * (test/setup/consoleWorld.ts). Sign in with an admin key, create a key and use it through the gateway, explain a
 * refused mutation, revoke the key and see it refused, filter the audit trail; a wrong key is refused. The charts
 * are read against rows seeded with known counts (their axes, labels, legend and empty state); a key's page shows
 * its last use; explain is asked with its form and answers in words; a field's problem is shown beside it.
 * Screenshots for docs/console.md: scripts/console-screenshots.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { startConsoleWorld, type ConsoleWorld } from "../setup/consoleWorld.ts";
import { insertAuditEvents } from "../../src/store/audit.ts";
import { addUsage } from "../../src/store/rateLimits.ts";

const GATEWAY_PORT = 9261;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let world: ConsoleWorld;
let browser: Browser;
let GATEWAY: string;
let adminKey: string;

beforeAll(async () => {
  world = await startConsoleWorld({ port: GATEWAY_PORT, label: "console" });
  GATEWAY = world.gateway;
  adminKey = world.adminKey;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

const graphql = (key: string, query: string) =>
  fetch(`${GATEWAY}/prefect/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query }),
  });

const createKeyByApi = async (body: Record<string, unknown>) => {
  const res = await fetch(`${GATEWAY}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`key creation: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string };
};

/** A page in Chromium signed in with `key`, its times shown in UTC (so the test reads the labels it expects). */
async function signIn(key: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(`${GATEWAY}/console/`);
  await page.fill('form[name="signin"] input[name="key"]', key);
  await page.click('form[name="signin"] button[type="submit"]');
  return page;
}

async function signedIn(): Promise<Page> {
  const page = await signIn(adminKey);
  await page.waitForSelector('nav a[data-page="keys"]');
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
    await expect.poll(() => page.locator("p.error").getAttribute("data-error-code")).toBe("UNAUTHENTICATED");
    expect(await page.locator('form[name="signin"]').count()).toBe(1);
    const { key: plain } = await createKeyByApi({ tenant: "acme", subject: "not-an-admin", scopes: ["query/*"] });
    const refused = await signIn(plain);
    await expect.poll(() => refused.locator("p.error").getAttribute("data-error-code")).toBe("FORBIDDEN");
    await page.context().close();
    await refused.context().close();
  });

  it("signs in, creates a key, explains a refused mutation, revokes the key and finds it all in the audit trail", async () => {
    const page = await signedIn();
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

    // The key works through the gateway.
    const allowed = await graphql(plaintext, "{ flow { id } }");
    expect(allowed.status).toBe(200);

    // What it can do, in words, and its use a moment ago, from the list.
    const row = page.locator("tr[data-key-id]", { hasText: "ci-bot" });
    await row.first().click();
    await expect.poll(() => page.locator("ul.can-do").textContent()).toContain("run any Prefect query");
    await expect.poll(() => page.locator("[data-last-used]").textContent()).toMatch(/^Last used on .* at \d\d:\d\d \(to the minute\)\.$/);
    const keyId = (await row.first().getAttribute("data-key-id"))!;

    // Explain a refused mutation for that key: the form's first example is one.
    await page.click('nav a[data-page="explain"]');
    await page.fill('form[name="explain"] input[name="credential"]', `fgk_${keyId}`);
    await page.click('form[name="explain"] button[type="submit"]');
    await page.waitForSelector(".answer");
    expect(await page.locator(".answer").getAttribute("data-decision")).toBe("refused");
    expect(await page.locator("[data-verdict]").textContent()).toBe("Refused with 403 because not allowed: mutation/delete_flow.");
    expect(await page.locator("code.refused-field").textContent()).toBe("mutation/delete_flow");

    // Revoke it in the console; the gateway refuses it at once (this isolate).
    await page.click('nav a[data-page="keys"]');
    await page.locator("tr[data-key-id]", { hasText: "ci-bot" }).first().click();
    page.once("dialog", (d) => void d.accept());
    await page.click("div.actions button.danger");
    await expect.poll(async () => (await graphql(plaintext, "{ flow { id } }")).status, { timeout: 10_000 }).toBe(401);

    // The audit trail, filtered to revocations.
    await page.click('nav a[data-page="audit"]');
    await page.fill('form[name="audit-filters"] input[name="action"]', "key.revoke");
    await page.click('form[name="audit-filters"] button[type="submit"]');
    await expect.poll(() => page.locator("table.audit tbody tr").count()).toBe(1);
    expect(await page.locator("table.audit tbody tr").first().textContent()).toContain(keyId);
    await page.fill('form[name="audit-filters"] input[name="action"]', "");
    await page.click('form[name="audit-filters"] button[type="submit"]');
    await expect.poll(() => page.locator("table.audit tbody tr").count()).toBeGreaterThan(2);

    // A rate limit set in shadow mode, then enforced.
    await page.click('nav a[data-page="limits"]');
    await page.fill('form[name="limit"] input[name="target"]', "acme");
    await page.selectOption('form[name="limit"] select[name="kind"]', "tenant");
    await page.click('form[name="limit"] button[type="submit"]');
    await expect.poll(() => page.locator("tr[data-limit] [data-mode]").first().textContent()).toBe("shadow");
    await page.click("tr[data-limit] button >> text=Enforce");
    await expect.poll(() => page.locator("tr[data-limit] [data-mode]").first().textContent()).toBe("enforce");

    // The other pages render from the admin API.
    await page.click('nav a[data-page="operations"]');
    await expect.poll(() => page.locator("[data-epoch]").count()).toBe(1);
    await page.click('form.inline button[type="submit"] >> nth=1');
    await expect.poll(() => page.locator("[data-log-level]").textContent()).toMatch(/error until|warn until|debug until/);
    await page.click('nav a[data-page="api"]');
    await expect.poll(() => page.locator("[data-operation]").count()).toBeGreaterThan(15);
    await page.click('nav a[data-page="tenants"]');
    await expect.poll(() => page.locator("table tbody tr", { hasText: "acme" }).count()).toBe(1);
    await page.click('nav a[data-page="workspaces"]');
    await page.waitForSelector("h2:has-text('Argo workspaces')");

    // Sign out: the admin API no longer takes the browser.
    await page.click("span.who button");
    await page.waitForSelector('form[name="signin"]');
    expect(await page.evaluate(async () => (await fetch("/admin/keys")).status)).toBe(401);
    await page.context().close();
  });

  it("refuses a change carried by the session without the CSRF token", async () => {
    const page = await signedIn();
    const status = await page.evaluate(async () => (await fetch("/admin/cache/purge", { method: "POST" })).status);
    expect(status).toBe(403);
    await page.context().close();
  });
});

describe("the console's charts, read against seeded counts", () => {
  it("the audit charts: a time axis with labels, a count axis up to the largest bar, a legend with each engine's total, and words when empty", async () => {
    const subject = `chart-${Date.now().toString(36)}`;
    const hour = 3_600_000;
    const base = Date.now() - (Date.now() % hour) - 5 * hour; // five whole hours ago
    const at = (ms: number) => new Date(ms).toISOString();
    const refusal = (engine: string, t: number, count: number, key: string) => ({
      action: "request.refused",
      decision: "refused" as const,
      actorSubject: subject,
      engine,
      at: at(t),
      lastAt: at(t + 10_000),
      count,
      dedupeKey: `${subject}:${key}`,
      details: { code: "FORBIDDEN", message: "not allowed" },
    });
    await world.withNodeDb((d) =>
      insertAuditEvents(d, [
        refusal("conductor", base + 60_000, 7, "a"),
        refusal("conductor", base + 2 * hour + 60_000, 2, "b"),
        refusal("argo", base + 2 * hour + 120_000, 4, "c"),
      ]),
    );
    const page = await signedIn();
    await page.click('nav a[data-page="audit"]');
    await page.fill('form[name="audit-filters"] input[name="subject"]', subject);
    await page.click('form[name="audit-filters"] button[type="submit"]');
    const chart = page.locator('[data-chart="audit-refused"]');
    await expect.poll(() => chart.locator("ul.legend li").count()).toBe(2);
    // The legend: each engine with its total, largest first.
    expect(await chart.locator('ul.legend li[data-series="conductor"]').textContent()).toBe("conductor 9");
    expect(await chart.locator('ul.legend li[data-series="argo"]').textContent()).toBe("argo 4");
    // The count axis: from 0 to the first tick at or above the largest bar (7 here: a step of 2, up to 8).
    const yTicks = await chart.locator("text.y-tick").allTextContents();
    expect(yTicks).toEqual(["0", "2", "4", "6", "8"]);
    // Bars hold the seeded counts, in their buckets (30 minutes each over the last 24 hours).
    const counts = (await chart.locator("g[data-count]").evaluateAll((gs) => gs.map((g) => Number(g.getAttribute("data-count"))))).filter(
      (n) => n > 0,
    );
    expect(counts).toEqual([7, 6]);
    // The time axis: labelled buckets in hours and minutes, a date under the first, the zone stated.
    const xTicks = await chart.locator("text.x-tick").allTextContents();
    expect(xTicks.length).toBeGreaterThanOrEqual(6);
    for (const t of xTicks) expect(t).toMatch(/^\d\d:\d\d$/);
    expect(await chart.locator("text.x-date").count()).toBeGreaterThanOrEqual(1);
    expect(await chart.locator(".chart-note").textContent()).toMatch(/^13 in all; each bar is 30 minutes, from .* to .*; times in UTC\.$/);
    // Nothing allowed for this principal: the allowed chart says so in words.
    expect(await page.locator('[data-chart="audit-allowed"] [data-empty]').textContent()).toMatch(
      /^No allowed request recorded from .* to .*/,
    );
    await page.context().close();
  });

  it("usage per tenant and per key over time, and a key's page with its last use and usage", async () => {
    const tenant = `charts${Date.now().toString(36)}`;
    const { id } = await createKeyByApi({ tenant, subject: "chart-bot", scopes: ["query/*"] });
    const { id: other } = await createKeyByApi({ tenant, subject: "chart-cron", scopes: ["query/*"] });
    const hour = 3_600_000;
    const thisHour = Date.now() - (Date.now() % hour);
    const cell = (keyId: string, subject: string, resolution: "hour" | "minute", bucketStart: number, requests: number) => ({
      resolution,
      bucketStart: new Date(bucketStart),
      tenant,
      subject,
      keyId,
      routeGroup: "prefect",
      requests,
      cost: requests,
      refused: 0,
    });
    const lastMinute = Date.now() - (Date.now() % 60_000) - 3 * 60_000;
    await world.withNodeDb((d) =>
      addUsage(d, [
        cell(id, "chart-bot", "hour", thisHour - 3 * hour, 30),
        cell(id, "chart-bot", "hour", thisHour - hour, 12),
        cell(other, "chart-cron", "hour", thisHour - 3 * hour, 5),
        cell(id, "chart-bot", "minute", lastMinute, 12),
      ]),
    );
    const page = await signedIn();
    await page.click('nav a[data-page="usage"]');
    await page.fill('form[name="usage"] input[name="usage-tenant"]', tenant);
    await page.press('form[name="usage"] input[name="usage-tenant"]', "Enter");
    const byTenant = page.locator('[data-chart="usage-tenant"]');
    await expect.poll(() => byTenant.locator(`ul.legend li[data-series="${tenant}"]`).textContent()).toBe(`${tenant} 47`);
    expect(await byTenant.locator("text.y-tick").allTextContents()).toEqual(["0", "10", "20", "30", "40"]);
    const byKey = page.locator('[data-chart="usage-key"]');
    expect(await byKey.locator(`ul.legend li[data-series="${id}"]`).textContent()).toBe(`fgk_${id} (chart-bot, ${tenant}) 42`);
    expect(await byKey.locator(`ul.legend li[data-series="${other}"]`).textContent()).toBe(`fgk_${other} (chart-cron, ${tenant}) 5`);
    expect(await page.locator(`tr[data-usage-key="${id}"]`).textContent()).toBe(`fgk_${id}chart-bot${tenant}42420`);

    await page.click('nav a[data-page="keys"]');
    await page.fill('form.filters input[name="tenant"]', tenant);
    await page.press('form.filters input[name="tenant"]', "Enter");
    await page.locator(`tr[data-key-id="${id}"]`).click();
    const hhmm = new Date(lastMinute).toISOString().slice(11, 16);
    await expect
      .poll(() => page.locator("[data-last-used]").textContent())
      .toMatch(new RegExp(`^Last used on .* at ${hhmm} \\(to the minute\\)\\.$`));
    expect(await page.locator("[data-usage-total]").textContent()).toBe("In the last 2 days: 42 requests, cost 42.");
    expect(await page.locator('[data-chart="key-usage"] ul.legend li').allTextContents()).toEqual(["prefect 42"]);
    await page.context().close();
  });
});

describe("forms that answer in words", () => {
  it("explain, asked with its form: a GraphQL query with variables and a header row, answered in words; the raw answer behind a toggle", async () => {
    const { id } = await createKeyByApi({ tenant: "acme", subject: "explain-bot", scopes: ["query/*"] });
    const page = await signedIn();
    await page.click('nav a[data-page="explain"]');
    await page.selectOption('form[name="explain"] select[name="example"]', "prefectQuery");
    await page.fill('form[name="explain"] input[name="credential"]', `fgk_${id}`);
    await page.click('form[name="explain"] button[name="add-header"]');
    await page.fill('form[name="explain"] input[name="header-name-1"]', "x-request-id");
    await page.fill('form[name="explain"] input[name="header-value-1"]', "explain-form-0001");
    await page.click('form[name="explain"] button[type="submit"]');
    await page.waitForSelector('.answer[data-decision="allowed"]');
    expect(await page.locator("[data-verdict]").textContent()).toMatch(
      /^Allowed: every check the gateway makes passed; it would send POST http:\/\/127\.0\.0\.1:\d+\/prefect\/console\/graphql\.$/,
    );
    expect(await page.locator("ul.why li").first().textContent()).toBe(
      `Asked as explain-bot (key fgk_${id}, tenant acme), holding the scopes query/*.`,
    );
    // What was asked, as sent: the GraphQL query and its variables made into a JSON body, the header row.
    expect(await page.locator("[data-raw-question]").isVisible()).toBe(false);
    await page.click("details.raw summary");
    const question = JSON.parse((await page.locator("[data-raw-question]").textContent())!) as {
      keyId: string;
      request: { method: string; path: string; headers: Record<string, string>; body: string };
    };
    expect(question.request.headers).toEqual({ "content-type": "application/json", "x-request-id": "explain-form-0001" });
    expect(JSON.parse(question.request.body)).toEqual({ query: expect.stringContaining("flow(limit: $limit)"), variables: { limit: 10 } });
    expect(JSON.parse((await page.locator("[data-raw-answer]").textContent())!)).toMatchObject({ decision: "allowed", status: null });

    // A body that is not JSON is named beside the field, with where, and is not sent.
    await page.selectOption('form[name="explain"] select[name="example"]', "conductorStart");
    await page.fill('form[name="explain"] textarea[name="body"]', '{\n  "who": "world",\n}');
    const bodyField = page.locator("label.field", { has: page.locator('textarea[name="body"]') });
    await expect.poll(() => bodyField.locator("[data-field-error]").textContent()).toMatch(/^Body is not JSON: .* at line 3, column 1$/);
    expect(await page.locator('form[name="explain"] button[type="submit"]').isDisabled()).toBe(true);

    // A problem the gateway finds with a header is shown beside the headers.
    await page.fill('form[name="explain"] textarea[name="body"]', '{"who": "world"}');
    await page.click('form[name="explain"] button[name="add-header"]');
    await page.fill('form[name="explain"] input[name="header-name-1"]', "Authorization");
    await page.fill('form[name="explain"] input[name="header-value-1"]', "Bearer x");
    await page.click('form[name="explain"] button[type="submit"]');
    await expect
      .poll(() => page.locator("fieldset[data-headers] [data-field-error]").textContent())
      .toBe("Headers: Authorization must not carry a credential: give it as keyId or token");
    expect(await page.locator("p.error").textContent()).toMatch(
      /^Not accepted: one field needs a change \(said beside it\)\. \(400 BAD_REQUEST/,
    );
    await page.context().close();
  });

  it("a bad number in the limits form is named beside its field, in words", async () => {
    const page = await signedIn();
    await page.click('nav a[data-page="limits"]');
    await page.selectOption('form[name="limit"] select[name="kind"]', "tenant");
    await page.fill('form[name="limit"] input[name="target"]', "acme");
    await page.fill('form[name="limit"] input[name="limit"]', "ten");
    await page.fill('form[name="limit"] input[name="windowS"]', "1.5");
    await page.click('form[name="limit"] button[type="submit"]');
    const beside = (name: string) => page.locator('form[name="limit"] label.field', { has: page.locator(`input[name="${name}"]`) });
    await expect.poll(() => beside("limit").locator("[data-field-error]").textContent()).toBe("Cost per window must be a number, not text");
    expect(await beside("windowS").locator("[data-field-error]").textContent()).toBe("Window must be a whole number");
    expect(await beside("target").locator("[data-field-error]").count()).toBe(0);
    expect(await page.locator("p.error").textContent()).toMatch(/^Not accepted: 2 fields need a change \(each said beside it\)\./);
    await page.context().close();
  });
});
