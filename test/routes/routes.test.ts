/**
 * The proof of issue 17: one route table (test/routes/table.ts), every check, every route, through the real Worker
 * to recording stand-ins of every engine.
 *   - the table is exactly the routes Hono registered (a new route without an entry fails here)
 *   - no credential: 401 (the Argo UI's own files: 200)
 *   - malformed, expired and revoked credentials: 401
 *   - a valid credential without the route's grant: 403 (404 where the route must not reveal that an object exists)
 *   - another tenant's object: the table's answer, with nothing of it in the body and nothing done to it
 *   - encoded and dotted variants of the path: 400 before routing, and no upstream receives anything
 *   - a JSON body nested deeper than MAX_JSON_DEPTH: 400
 *   - identity headers a client sends never reach an upstream
 *   - a body the engine could read another way (a repeated key, keys differing in case, escapes, white space) is
 *     refused, or what the engine receives is the gateway's own serialization of what it decided (issue 25)
 *   - no answer is a 5xx other than 502/503/504
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { MAX_JSON_DEPTH } from "../../src/constants";
import { DEEP, ROUTES, routeKey, type RouteEntry, type SampleRequest } from "./table";
import { FORGED_IDENTITY, deepJson, pathVariants } from "./attacks";
import { bodyVariants, unlikeOwnSerialization } from "./reading";
import { ALLOWED_5XX, buildWorld, type World } from "./world";

let world: World;
beforeAll(async () => {
  world = await buildWorld();
}, 60_000);

const label = (r: RouteEntry) => routeKey(r.method, r.pattern);
const cases = ROUTES.map((r) => [label(r), r] as const);
const protectedCases = cases.filter(([, r]) => r.credential !== "public");

/** Sends a request and checks the one invariant every answer keeps: no 5xx but the specified ones. */
async function send(req: SampleRequest, headers: Record<string, string> = {}): Promise<Response> {
  const res = await world.send(req, headers);
  if (res.status >= 500)
    expect(ALLOWED_5XX, `${req.method} ${req.path} answered ${res.status}: ${await res.clone().text()}`).toContain(res.status);
  return res;
}
const auth = (value: string): Record<string, string> => (value === "" ? {} : { authorization: value });

describe("the route table", () => {
  it("is exactly the routes the app registers", () => {
    // A route's own handler takes the context alone; middleware (auth, CORS, the path guard) also takes `next`.
    // `use` registers middleware as ALL with a handler taking `next`; every other registration belongs to a route
    // (a route's own middleware shares its method and path, so it adds no key of its own).
    const registered = new Set(
      buildApp()
        .routes.filter((r) => !(r.method === "ALL" && r.handler.length >= 2))
        .map((r) => routeKey(r.method, r.path)),
    );
    const table = new Set(ROUTES.map(label));
    expect(
      [...registered].filter((k) => !table.has(k)),
      "registered routes without a table entry",
    ).toEqual([]);
    expect(
      [...table].filter((k) => !registered.has(k)),
      "table entries the app does not register",
    ).toEqual([]);
    expect(table.size, "one entry per route").toBe(ROUTES.length);
  });
});

describe("credentials", () => {
  it.each(cases)("%s: no credential is a 401 (the UI's own files need none)", async (_l, r) => {
    const res = await send(world.fill(r.sample));
    expect(res.status).toBe(r.credential === "public" ? (r.publicStatus ?? 200) : 401);
    for (const path of r.publicSamples ?? []) expect((await send({ method: "GET", path })).status, path).toBe(200);
  });

  it.each(protectedCases)("%s: malformed, expired and revoked credentials are a 401", async (_l, r) => {
    for (const [what, value] of Object.entries(world.refused(r.credential))) {
      const res = await send(world.fill(r.sample), auth(value));
      expect(res.status, what).toBe(401);
    }
  });

  it.each(protectedCases.filter(([, r]) => r.lacking !== null))("%s: a valid credential without the grant is refused", async (_l, r) => {
    const res = await send(world.fill(r.sample), auth(world.credential(r.credential, "plain")));
    expect(res.status).toBe(r.lacking!.status);
  });
});

describe("another tenant's objects", () => {
  it.each(cases.filter(([, r]) => r.foreign))(
    "%s: answers as the table says, with nothing of it, and nothing is done to it",
    async (_l, r) => {
      const request = world.fill(r.foreign!.request);
      const since = await world.mark();
      const res = await send(request, auth(world.credential(r.credential, r.grant)));
      const text = await res.text();
      expect(res.status, text).toBe(r.foreign!.status);
      expect(text).not.toContain(r.foreign!.marker);
      const changes = (await since()).filter((rec) => rec.method !== "GET");
      expect(changes, "the upstream was asked to change something").toEqual([]);
    },
  );
});

describe("paths", () => {
  it.each(cases)("%s: encoded and dotted variants are a 400 before routing, and reach no upstream", async (_l, r) => {
    const since = await world.mark();
    const samples = [world.fill(r.sample), ...(r.publicSamples ?? []).map((path) => ({ method: "GET", path }))];
    for (const sample of samples) {
      for (const path of pathVariants(sample.path)) {
        const res = await send({ ...sample, path }, auth(world.credential(r.credential, r.grant)));
        expect(res.status, `${sample.method} ${path}`).toBe(400);
      }
    }
    expect(await since()).toEqual([]);
  });
});

/** The message of an error answer, in the envelope or in GraphQL's shape (a batch's first). */
function errorMessage(body: unknown): string {
  // The envelope, GraphQL's errors, or Conductor's own shape (a top-level message) on Conductor routes.
  const b = (Array.isArray(body) ? body[0] : body) as
    | { error?: { message?: string }; errors?: { message?: string }[]; message?: string }
    | undefined;
  return b?.error?.message ?? b?.errors?.[0]?.message ?? b?.message ?? "";
}

describe("request bodies", () => {
  it.each(cases.filter(([, r]) => r.json))(
    `%s: JSON nested deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) is a 400 for its depth`,
    async (_l, r) => {
      const req = world.fill(r.json!);
      const text = JSON.stringify(req.body).replace(`"${DEEP}"`, deepJson(MAX_JSON_DEPTH + 8));
      const since = await world.mark();
      const res = await send(
        { method: req.method, path: req.path, text, headers: req.headers },
        { ...auth(world.credential(r.credential, r.grant)), "content-type": "application/json" },
      );
      const body = await res.json();
      expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(400);
      expect(errorMessage(body)).toMatch(/nest|deep/i);
      expect((await since()).filter((rec) => rec.method !== "GET")).toEqual([]);
    },
  );
});

describe("one reading of a body", () => {
  /** The routes whose variants reached an upstream, so the check is seen to mean something. */
  const forwardedOn = new Set<string>();
  it.each(cases.filter(([, r]) => r.json && r.engine !== "admin"))(
    "%s: a body readable two ways is refused, or the engine receives the gateway's own serialization",
    async (_l, r) => {
      const req = world.fill(r.json!);
      // The sample with a plain value where the depth test nests one.
      const body = JSON.parse(JSON.stringify(req.body).replace(`"${DEEP}"`, '"x"'));
      for (const variant of bodyVariants(body)) {
        const since = await world.mark();
        const res = await send(
          { method: req.method, path: req.path, text: variant.text, headers: req.headers },
          { ...auth(world.credential(r.credential, r.grant)), "content-type": "application/json" },
        );
        await res.arrayBuffer();
        for (const rec of await since()) {
          if (rec.body !== "") forwardedOn.add(`${rec.source} ${r.pattern}`);
          // Go's encoding/json (Argo Server) matches members case-insensitively; the others match them exactly.
          const wrong = unlikeOwnSerialization(rec.body, { foldKeys: rec.source === "argo/flowapi" && rec.path.startsWith("/api/v1/") });
          expect(wrong, `${variant.name}: ${rec.source} ${rec.method} ${rec.path} received ${rec.body.slice(0, 200)}`).toBeNull();
        }
      }
    },
  );

  it("the variants reach every engine on most routes, so the check above means something", () => {
    const sources = new Set([...forwardedOn].map((k) => k.split(" ")[0]));
    expect([...sources].sort()).toEqual(["argo/flowapi", "conductor", "prefect"]);
    expect(forwardedOn.size).toBeGreaterThanOrEqual(15);
  });
});

describe("identity headers", () => {
  it.each(cases)("%s: never forwarded as the client sent them", async (_l, r) => {
    const since = await world.mark();
    const samples = [world.fill(r.sample), ...(r.publicSamples ?? []).map((path) => ({ method: "GET", path }))];
    for (const sample of samples) await send(sample, { ...auth(world.credential(r.credential, r.grant)), ...FORGED_IDENTITY });
    for (const rec of await since()) {
      for (const [name, value] of Object.entries(FORGED_IDENTITY)) {
        expect(rec.headers[name], `${rec.source} ${rec.method} ${rec.path} received ${name}`).not.toBe(value);
      }
    }
  });

  it("the sample reaches an upstream on enough routes for the check above to mean something", async () => {
    const since = await world.mark();
    for (const [, r] of cases) await send(world.fill(r.sample), auth(world.credential(r.credential, r.grant)));
    const seen = await since();
    const sources = new Set(seen.map((rec) => rec.source));
    expect([...sources].sort()).toEqual(["argo/flowapi", "conductor", "prefect"]);
  });
});
