/**
 * Property tests over the route table (seeded, reproducible: FC_SEED overrides the seed), through the real Worker to
 * the recording stand-ins, with the route-table suite's invariants:
 * - paths: any mutation of a route's path is either refused (400) before routing with nothing sent upstream, or
 *   reaches an upstream on a canonical path (no empty, `.` or `..` segment, no encoded `/` `\` `.` `%`, no control);
 * - headers: a client header off the engine's allow-list never reaches it as sent;
 * - bodies: any JSON (or not-JSON) body is answered without a 5xx other than 502/503/504, and a body nested deeper
 *   than MAX_JSON_DEPTH is a 400.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/constants";
import { engines } from "../../src/engines";
import { upstreamTable, type UpstreamDeclaration, type UpstreamName } from "../../src/services";
import { deepJson } from "../routes/attacks";
import { ROUTES, type RouteEntry } from "../routes/table";
import { ALLOWED_5XX, buildWorld, type UpstreamRecord, type World } from "../routes/world";

const SEED = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FC_SEED ?? 20261127);
const opts = (numRuns: number) => ({ seed: SEED, numRuns });

let world: World;
beforeAll(async () => {
  world = await buildWorld();
}, 60_000);

const auth = (r: RouteEntry): Record<string, string> => {
  const v = world.credential(r.credential, r.grant);
  return v === "" ? {} : { authorization: v };
};
const routeArb = fc.constantFrom(...ROUTES);
const noStray5xx = (status: number, what: string) => {
  if (status >= 500) expect(ALLOWED_5XX, `${what} answered ${status}`).toContain(status);
};

type Engine = UpstreamName;
/** Each upstream's allow-list, as the registry's entries declare them (src/app.ts hands the same table to requests). */
const ALLOW_LISTS = upstreamTable(engines) as Record<UpstreamName, UpstreamDeclaration>;

/** The stand-in a record came from, as the engine whose allow-list applies. */
const engineOf = (rec: UpstreamRecord): Engine | null =>
  rec.source === "prefect" ? "prefect" : rec.source === "conductor" ? "conductor" : rec.path.startsWith("/api/0/") ? "flowapi" : "argo";

/** A path an upstream routes exactly as the gateway meant it. */
function canonical(path: string): boolean {
  const p = path.split("?")[0]!;
  const segments = p.split("/").slice(1);
  return segments.every(
    (s, i) => (s !== "" || i === segments.length - 1) && s !== "." && s !== ".." && !/%(2f|5c|2e|25|3b)|[\x00-\x1f\x7f\\;]/i.test(s),
  );
}

describe("paths", () => {
  // Pieces an attacker splices into a path: escapes of separators and dots, escapes of escapes, controls, overlong UTF-8.
  const piece = fc.constantFrom(
    "/",
    "//",
    ".",
    "..",
    "%2f",
    "%2F",
    "%5c",
    "%2e",
    "%2E%2e",
    "%25",
    "%252f",
    "%00",
    "%0d%0a",
    "%7f",
    ";",
    ";x=1",
    "\\",
    "%c0%af",
    "%e0%80%ae",
    "%",
    "%g1",
    "a",
    "-",
    "_",
    "~",
    "%41",
    "%20",
    "+",
  );

  it("every mutation is refused before routing, or reaches an upstream on a canonical path", async () => {
    await fc.assert(
      fc.asyncProperty(routeArb, fc.array(fc.tuple(fc.nat(), piece), { minLength: 1, maxLength: 4 }), async (r, splices) => {
        let path = world.fill(r.sample).path.split("?")[0]!;
        for (const [at, text] of splices) {
          const i = 1 + (at % path.length);
          path = path.slice(0, i) + text + path.slice(i);
        }
        let url: URL;
        try {
          url = new URL(`http://gateway.test${path}`);
        } catch {
          return; // not a URL a client can send
        }
        const since = await world.mark();
        const res = await world.send({ ...r.sample, ...world.fill(r.sample), path: url.pathname + url.search }, auth(r));
        noStray5xx(res.status, path);
        const received = await since();
        if (res.status === 400)
          expect(
            received.filter((rec) => rec.method !== "GET"),
            path,
          ).toEqual([]);
        for (const rec of received) expect(canonical(rec.path), `${path} reached ${rec.source} as ${rec.path}`).toBe(true);
      }),
      opts(300),
    );
  });
});

describe("headers", () => {
  const name = fc.oneof(
    fc.constantFrom(
      "remote-user",
      "x-remote-user",
      "impersonate-user",
      "impersonate-extra-scopes",
      "x-hasura-role",
      "x-hasura-user-id",
      "forwarded",
      "x-forwarded-for",
      "x-forwarded-proto",
      "x-original-url",
      "x-rewrite-url",
      "x-http-method-override",
      "x-tenant-id",
      "x-flowgate-subject",
      "grpc-metadata-authorization",
      "x-authorization",
      "x-auth-request-user",
      "cf-connecting-ip",
      "true-client-ip",
      "x-real-ip",
    ),
    fc.stringMatching(/^x-[a-z][a-z0-9-]{0,15}$/),
  );
  const value = fc.stringMatching(/^[A-Za-z0-9 ._:=-]{1,30}$/).map((v) => `forged-${v}`);

  it("a client header off the engine's allow-list never reaches it as sent", async () => {
    await fc.assert(
      fc.asyncProperty(routeArb, fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }), async (r, forged) => {
        const since = await world.mark();
        const res = await world.send(world.fill(r.sample), { ...forged, ...auth(r) });
        noStray5xx(res.status, `${r.method} ${r.pattern}`);
        for (const rec of await since()) {
          const engine = engineOf(rec);
          for (const [h, v] of Object.entries(forged)) {
            if (engine && ALLOW_LISTS[engine].forwardedHeaders.includes(h)) continue;
            expect(rec.headers[h], `${rec.source} received ${h}`).not.toBe(v);
          }
        }
      }),
      opts(200),
    );
  });
});

describe("bodies", () => {
  const jsonRoutes = ROUTES.filter((r) => r.json);
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
  );
  const tooDeep = fc.integer({ min: MAX_JSON_DEPTH + 1, max: 3_000 }).map((d) => `{"a":${deepJson(d)}}`);

  it("any body is answered without a 5xx other than 502/503/504", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...jsonRoutes), body, async (r, text) => {
        const req = world.fill(r.json!);
        const res = await world.send(
          { method: req.method, path: req.path, text, headers: req.headers },
          { ...auth(r), "content-type": "application/json" },
        );
        noStray5xx(res.status, `${r.method} ${r.pattern}`);
      }),
      opts(300),
    );
  });

  it("a body nested deeper than MAX_JSON_DEPTH is a 400", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...jsonRoutes), tooDeep, async (r, text) => {
        const req = world.fill(r.json!);
        const res = await world.send(
          { method: req.method, path: req.path, text, headers: req.headers },
          { ...auth(r), "content-type": "application/json" },
        );
        expect(res.status, `${r.method} ${r.pattern} with nesting ${text.length / 2}`).toBe(400);
      }),
      opts(100),
    );
  });
});
