import { buildApp } from "../src/app.ts";
import { generateApiKey, hashApiKey } from "../src/identity/apiKeyFormat.ts";
const app = buildApp();
const k = generateApiKey();
const hash = await hashApiKey(k.key);
const rec = { id: k.id, secretHash: hash, tenant: "t", subject: "s", email: null, roles: [], groups: [], scopes: ["query/*"], servesTenants: null, notBefore: null, expiresAt: null, revokedAt: null };
const kv = { get: async (name: string, type?: string) => name.startsWith("apikey:") ? (type === "json" ? rec : JSON.stringify(rec)) : null, put: async () => {} };
const env = { KEY_CACHE: kv, DATABASE_URL: "postgres://x@y/z", LOG_LEVEL: "error", PREFECT_GRAPHQL_URL: "http://up/graphql" } as any;
const ctx = { waitUntil: () => {}, passThroughOnException: () => {} } as any;
globalThis.fetch = async () => new Response('{"data":{}}', { headers: { "content-type": "application/json" } });
const field = (i: number) => `  r${i}: flow_run(where: {name: {_ilike: "%run-${i}%"}, state: {_in: ["Running", "Pending"]}}, limit: 10, order_by: {scheduled_start_time: desc}) {\n    id name state state_message scheduled_start_time start_time end_time created updated version labels parameters\n    flow { id name version core_version archived flow_group_id project { id name description } }\n    states(order_by: {timestamp: desc}, limit: 5) { id state message timestamp start_time }\n  }\n`;
const body = (n: number) => { let q = "query Dashboard {\n"; for (let i = 0; q.length < n - 40; i++) q += field(i); return JSON.stringify({ operationName: "Dashboard", query: q + "}\n", variables: {} }); };
async function run(label: string, f: () => Promise<Response>, n = 5000) {
  for (let i = 0; i < 500; i++) await (await f()).text();
  const t = performance.now();
  for (let i = 0; i < n; i++) { const r = await f(); await r.text(); if (r.status !== 200) throw new Error(String(r.status)); }
  console.log(label, ((performance.now() - t) * 1000 / n).toFixed(1), "µs/req");
}
const b1 = body(1000), b20 = body(20000);
const mk = (b: string) => () => app.fetch(new Request("http://x/prefect/graphql", { method: "POST", body: b, headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" } }), env, ctx);
await run("whoami", () => app.fetch(new Request("http://x/whoami", { headers: { authorization: `Bearer ${k.key}` } }), env, ctx));
await run("gql 1k", mk(b1));
await run("gql 20k", mk(b20), 2000);
