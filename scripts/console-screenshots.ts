/**
 * `npx tsx scripts/console-screenshots.ts`: the screenshots of docs/console.md (docs/images/console-*.png), taken
 * with playwright-core's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) against the console's test world
 * (test/setup/consoleWorld.ts: the deployable Worker on workerd, PGlite, the stand-in engines) seeded with a day of
 * audit events and two days of usage. Build the console first (`npm run build:console`). Times are shown as an
 * operator in Berlin sees them; each image is cut to at most SHOT_MAX_HEIGHT pixels so the files stay small.
 */
import { mkdirSync, statSync } from "node:fs";
import { chromium, type Page } from "playwright-core";
import { seedHistory, startConsoleWorld } from "../test/setup/consoleWorld.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = `${ROOT}docs/images`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PORT = Number(process.env.SHOTS_PORT ?? 9271);
const WIDTH = 1280;
const SHOT_MAX_HEIGHT = 1150;

const world = await startConsoleWorld({ port: PORT, label: "shots" });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const ids = await seedHistory(world);
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${world.gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${world.adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => {
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<Record<string, unknown>>;
    });
  await admin("POST", "/admin/limits", { kind: "tenant", target: "globex", routeGroup: "workers", rate: { limit: 300, windowS: 60 } });
  await admin("POST", "/admin/limits", {
    kind: "key",
    target: ids["ci-bot"],
    routeGroup: "prefect",
    rate: { limit: 100, windowS: 60 },
    quota: { limit: 50_000, period: "day" },
    mode: "shadow",
  });
  await admin("PUT", "/admin/workspaces/team-a", { roles: [["team-a"]], hideForUnauthorized: true, description: "ACME's data team" });
  await admin("PUT", "/admin/workspaces/team-b", { roles: [["team-b", "reviewer"], ["ops"]], hideForUnauthorized: false });
  // A little of now: a request through the gateway, so the key's last use is this minute.
  const { key } = (await admin("POST", "/admin/keys", { tenant: "acme", subject: "docs-demo", scopes: ["query/*"] })) as { key: string };
  await fetch(`${world.gateway}/prefect/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ query: "{ flow { id } }" }),
  });

  mkdirSync(OUT, { recursive: true });
  const context = await browser.newContext({ viewport: { width: WIDTH, height: 800 }, timezoneId: "Europe/Berlin", locale: "en-GB" });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const shot = async (name: string, maxHeight = SHOT_MAX_HEIGHT, p: Page = page) => {
    await p.waitForTimeout(300); // fonts and the last paint
    const height = Math.min(maxHeight, Number(await p.evaluate("document.documentElement.scrollHeight")));
    const path = `${OUT}/console-${name}.png`;
    await p.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: WIDTH, height } });
    console.log(`${path}: ${Math.round(statSync(path).size / 1024)} KB`);
  };
  const go = async (id: string) => {
    await page.click(`nav a[data-page="${id}"]`);
    await page.waitForLoadState("networkidle");
  };

  await page.goto(`${world.gateway}/console/`);
  await page.waitForSelector('form[name="signin"]');
  await shot("sign-in", 460);
  await page.fill('form[name="signin"] input[name="key"]', world.adminKey);
  await page.click('form[name="signin"] button[type="submit"]');
  await page.waitForSelector('nav a[data-page="keys"]');

  // Keys: the list, one key's page open (what it can do, last use, usage).
  await page.waitForSelector("tr[data-key-id]");
  await page.locator(`tr[data-key-id="${ids["etl-worker"]}"]`).click();
  await page.waitForSelector('[data-chart="key-usage"]');
  await page.waitForFunction('!document.querySelector("[data-last-used]")?.textContent?.startsWith("…")');
  await shot("keys");

  // Creating a key, with a field the gateway refused shown beside it.
  await page.locator(`tr[data-key-id="${ids["etl-worker"]}"]`).click();
  await page.click("details.create summary");
  await page.fill('form[name="create-key"] input[name="tenant"]', "Acme Corp");
  await page.fill('form[name="create-key"] input[name="subject"]', "deploy-bot");
  await page.check('input[name="scope:query/*"]');
  await page.fill('form[name="create-key"] input[name="custom"]', "mutation/create_flow_run, flows:write");
  await page.click('form[name="create-key"] button[type="submit"]');
  await page.waitForSelector('form[name="create-key"] [data-field-error]');
  await shot("keys-create", 640);
  await page.click("details.create summary");

  await go("audit");
  await page.waitForSelector('[data-chart="audit-refused"] svg');
  await shot("audit", 1000);

  await go("usage");
  await page.waitForSelector('[data-chart="usage-key"] svg');
  await shot("usage", 800);

  await go("limits");
  await page.waitForSelector("tr[data-limit]");
  await page.selectOption('form[name="limit"] select[name="kind"]', "key");
  await page.fill('form[name="limit"] input[name="target"]', `fgk_${ids["billing-svc"]}`);
  await page.fill('form[name="limit"] input[name="limit"]', "ten");
  await page.click('form[name="limit"] button[type="submit"]');
  await page.waitForSelector('form[name="limit"] [data-field-error]');
  await shot("limits", 560);

  await go("explain");
  await page.fill('form[name="explain"] input[name="credential"]', `fgk_${ids["ci-bot"]}`);
  await page.click('form[name="explain"] button[type="submit"]');
  await page.waitForSelector(".answer");
  await shot("explain", 1500);

  await go("operations");
  await page.waitForSelector("[data-epoch]");
  await shot("operations", 520);
  await go("tenants");
  await page.waitForSelector("table tbody tr");
  await shot("tenants", 420);
  await go("workspaces");
  await page.waitForSelector("tr[data-workspace]");
  await shot("workspaces", 320);
  await go("api");
  await page.waitForSelector("[data-operation]");
  await shot("api", 520);
} finally {
  await browser.close();
  await world.close();
}
