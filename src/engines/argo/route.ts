/**
 * `/argo/*` -> ARGO_URL: the Argo Server API (and its UI, with ARGO_BASE_HREF=/argo), decided by workspaces.
 *
 * A caller (JWT roles claim, or a key's roles; the UI's token also comes in an `authorization` cookie) may touch a
 * namespace only when it is a workspace they may enter (src/engines/argo/workspaces.ts). The namespace is read
 * from the path, the query and the body (src/engines/argo/paths.ts); listings across namespaces are filtered to
 * the caller's workspaces, watches across namespaces refused. Streams (logs, server-sent events) pass through
 * unbuffered. Argo Server itself runs with `--auth-mode=server` behind the gateway: it never sees a credential.
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "../../context";
import { GatewayError, badRequest, forbidden, notFound, unauthenticated } from "../../errors";
import { isBrowserNavigation } from "../../identity/browser";
import { isAdminPrincipal, type Principal } from "../../identity/principal";
import { every } from "hono/combine";
import { authenticated, requirePrincipal, signInConfigured } from "../../pipeline";
import { rateLimited } from "../../ratelimit/enforce";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { requireAnswerDepth, requireJsonDepth } from "../../proxy/json";
import { buildServices, requestServices, type Services } from "../../services";
import { isObj } from "../../jsonValue";
import { orThrow } from "../../verdict";
import { decideBody } from "./body";
import { readAsGo } from "./goJson";
import { NAMESPACE, argoTarget, namespaceOf, segmentsIn } from "./paths";
import { decideQuery } from "./query";
import { checkArgoBody } from "./specPolicy";
import { workspaceList } from "./workspaceCache";
import { mayEnter, workspaceListing } from "./workspaces";

const ROUTE = "/argo";
/**
 * The UI's own files, the only paths under /argo served without a credential (they carry no workspace data).
 * Argo's UI build (ui/dist/app, embedded by server/static) holds index.html, the webpack bundles at the top level
 * (`main.<hash>.js`, their `.css` and `.map`), `favicon.ico`, and `assets/` (argo-ui's images and favicons, the
 * icon fonts). Anything else, even with a static file's extension, needs a credential like the API does.
 */
const UI_ROOT_FILE = /^\/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|map|ico)$/;
const UI_ASSET = /^\/assets(\/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)+\.(js|css|map|png|svg|ico|jpg|gif|woff2?|ttf|eot|json|webmanifest)$/;
export const isArgoUiPath = (path: string): boolean =>
  path === "/" || path === "/index.html" || UI_ROOT_FILE.test(path) || UI_ASSET.test(path);

/** The path below `/argo`, split into decoded segments (a malformed escape is a 400). */
function segmentsOf(c: AppContext, prefix: string): string[] {
  const path = new URL(c.req.url).pathname.slice(prefix.length);
  return path.split("/").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw badRequest("malformed path");
    }
  });
}

const encodePath = (segments: readonly string[]) => segments.map(encodeURIComponent).join("/");

/**
 * The request as the gateway decided it: `path` rebuilt from the checked segments and the decided query, and the
 * body, when there is one, the gateway's own JSON (`application/json` whatever the client said, so grpc-gateway
 * never reads it as a form). The client's body is never streamed through.
 */
function send(c: AppContext, path: string, body?: string): Promise<Response> {
  const headers = new Headers(c.req.raw.headers);
  if (body === undefined) headers.delete("content-type");
  else headers.set("content-type", "application/json");
  return c.get("services").upstream("argo").send({ path, method: c.req.method, headers, body });
}

async function enterable(services: Services, p: Principal): Promise<Set<string>> {
  return new Set((await services.cached(workspaceList)).filter((w) => mayEnter(p, w)).map((w) => w.name));
}

function requireWorkspace(allowed: Set<string>, namespace: string): void {
  if (!allowed.has(namespace)) throw forbidden(`not allowed in workspace ${namespace}`);
}

/**
 * The body of a request, read as Argo reads it and decided (src/engines/argo/body.ts): acting in `namespace`, every
 * namespace it names must be that one; null for the cluster-scoped routes. Any request with a body (POST, PUT,
 * PATCH, a DELETE with options) goes through here; none has a way around it. Returns what Argo receives: the
 * re-encoding of the checked value; nothing for a GET or HEAD or an empty body.
 */
async function bodyIn(c: AppContext, segments: readonly string[], namespace: string | null): Promise<string | undefined> {
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.raw.body === null) return undefined;
  const text = utf8(await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes));
  if (text.trim() === "") return undefined;
  requireJsonDepth(text);
  if (namespace === null) return JSON.stringify(orThrow(readAsGo(text, [])));
  const decided = orThrow(decideBody(text, namespace));
  // What the body asks of the cluster, against the workspace's grants (./specPolicy.ts), on the value Argo will read.
  const workspace = (await c.get("services").cached(workspaceList)).find((w) => w.name === namespace);
  if (!workspace) throw forbidden(`not allowed in workspace ${namespace}`);
  orThrow(checkArgoBody(c.req.method, segments, decided.value, { ...workspace, namespace }));
  return decided.text;
}

/** Reads a JSON answer (a 502 when it is not JSON). */
async function jsonAnswer(res: Response): Promise<unknown> {
  const text = await res.text();
  requireAnswerDepth(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("BAD_GATEWAY", "the upstream answered with something that is not JSON");
  }
}

/**
 * An archived workflow, when the caller may enter its namespace; null when it does not exist or is not theirs
 * (the same answer, so a uid reveals nothing). Asked of the archive before anything is done to it.
 */
async function archivedWorkflow(services: Services, p: Principal, uid: string): Promise<object | null> {
  const lookup = await services.upstream("argo").send({
    path: `/api/v1/archived-workflows/${encodeURIComponent(uid)}`,
    method: "GET",
    headers: new Headers({ accept: "application/json" }),
  });
  if (lookup.status === 404) return null;
  if (lookup.status !== 200) throw new GatewayError("BAD_GATEWAY", `upstream error (${lookup.status})`);
  const archived = await jsonAnswer(lookup);
  const ns = namespaceOf(archived);
  return ns !== null && (await enterable(services, p)).has(ns) ? (archived as object) : null;
}

export function argoRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  const auth = every(authenticated({ cookieName: "authorization" }), rateLimited("argo"), requestServices);

  // flowgate's own: the workspaces the caller may see, with access and admin flags.
  r.get("/api/v1/workspaces", auth, async (c) => {
    const p = requirePrincipal(c);
    return c.json({ items: workspaceListing(p, await c.get("services").cached(workspaceList)) });
  });

  r.all("/api/v1/*", auth, async (c) => {
    const p = requirePrincipal(c);
    const method = c.req.method;
    const segments = segmentsOf(c, `${ROUTE}/api/v1/`);
    // grpc-gateway reads a `:` in the last segment as a custom verb (runtime/mux.go); no Argo name holds one.
    if (segments.some((s) => s.includes(":"))) throw badRequest("an Argo path segment may not hold ':'");
    const query = orThrow(decideQuery(method, segments, new URL(c.req.url).searchParams));
    const target = orThrow(argoTarget(method, segments, query));
    const pathOf = (segs: readonly string[]) => `/api/v1/${encodePath(segs)}${query.size > 0 ? `?${query.toString()}` : ""}`;
    const path = pathOf(segments);
    switch (target.kind) {
      case "unknown":
        throw notFound("no such Argo route on this gateway");
      case "open":
        return send(c, path, await bodyIn(c, segments, null));
      case "cluster-admin":
        if (!isAdminPrincipal(p)) throw forbidden("cluster-wide changes, and reads spanning every workspace, are for flowgate admins");
        return send(c, path, await bodyIn(c, segments, null));
      case "namespaced": {
        requireWorkspace(await enterable(c.get("services"), p), target.namespace);
        const res = await send(c, pathOf(segmentsIn(segments, target.namespace)), await bodyIn(c, segments, target.namespace));
        // A read of one object (`<resource>/<namespace>/<name>`) is answered only with an object of that
        // namespace: GetWorkflow given a `uid` falls back to Argo's archive, which looks the uid up alone
        // (persist/sqldb/workflow_archive.go), whatever namespace the path names.
        if (method !== "GET" || target.stream || segments.length !== 3 || res.status !== 200) return res;
        const answer = await jsonAnswer(res);
        // An answer that does not say its namespace (`fields` can leave it out) is not passed on either.
        if (namespaceOf(answer) !== target.namespace)
          throw notFound("no such object in this workspace (an answer must carry metadata.namespace: keep it in `fields`)");
        return c.json(answer, 200);
      }
      case "cluster-list": {
        let allowed = await enterable(c.get("services"), p);
        if (target.within !== undefined) {
          requireWorkspace(allowed, target.within);
          allowed = new Set([target.within]);
        }
        const res = await send(c, path);
        if (res.status >= 300) return res; // an error answer carries no items
        // A listing is `{items: [...]}` (Argo writes `items: null` when empty); any other shape could carry
        // another workspace's objects where this filter does not look, so it is refused.
        const answer = await jsonAnswer(res);
        if (!isObj(answer)) throw new GatewayError("BAD_GATEWAY", "the upstream answered with something that is not a listing");
        if (Array.isArray(answer.items)) {
          answer.items = answer.items.filter((item) => {
            const ns = namespaceOf(item);
            return ns !== null && allowed.has(ns);
          });
        } else if (answer.items !== null && answer.items !== undefined) {
          throw new GatewayError("BAD_GATEWAY", "the upstream answered with something that is not a listing");
        }
        return c.json(answer, res.status as 200);
      }
      case "archived": {
        const archived = await archivedWorkflow(c.get("services"), p, target.uid);
        if (!archived) throw notFound("no such archived workflow");
        // The UI names the namespace beside the uid; Argo then looks the uid up in it, which must be the archive's.
        const named = query.get("namespace");
        if (named !== null && named !== "" && named !== namespaceOf(archived)) throw notFound("no such archived workflow");
        if (method === "GET" && segments.length === 2) return c.json(archived);
        // Resubmitting names a namespace in the body: it must be the archived workflow's own.
        return send(c, path, await bodyIn(c, segments, namespaceOf(archived)!));
      }
    }
  });

  // Artifacts: `/argo/artifacts/<namespace>/...` (and artifact-files, input-artifacts); by uid through the archive.
  for (const kind of ["artifacts", "artifact-files", "input-artifacts"]) {
    r.get(`/${kind}/*`, auth, async (c) => {
      const p = requirePrincipal(c);
      const segments = segmentsOf(c, `${ROUTE}/${kind}/`);
      const ns = segments[0] ?? "";
      if (!NAMESPACE.test(ns) || segments.length < 2) throw badRequest("artifact paths start with a namespace");
      requireWorkspace(await enterable(c.get("services"), p), ns);
      return send(c, `/${kind}/${encodePath(segments)}`);
    });
  }
  for (const kind of ["artifacts-by-uid", "input-artifacts-by-uid"]) {
    r.get(`/${kind}/*`, auth, async (c) => {
      const p = requirePrincipal(c);
      const segments = segmentsOf(c, `${ROUTE}/${kind}/`);
      const uid = segments[0] ?? "";
      if (!/^[A-Za-z0-9-]{1,64}$/.test(uid)) throw badRequest("not a workflow uid");
      if (!(await archivedWorkflow(c.get("services"), p, uid))) throw notFound("no such artifact");
      return send(c, `/${kind}/${encodePath(segments)}`);
    });
  }

  // The UI's page and static files: no credential, nothing of any workspace; sent as the very path checked. With
  // browser sign-in configured, a page load needs the session (and is sent to sign in without one), so the UI's
  // first load runs on the cookie alone; a page load of one of the UI's own routes (`/argo/workflows/...`) then
  // gets the UI's page, as Argo Server answers it.
  r.get("*", async (c, next) => {
    const path = new URL(c.req.url).pathname.slice(ROUTE.length) || "/";
    const navigation = isBrowserNavigation(c.req.method, c.req.raw.headers);
    const signIn = signInConfigured(c.get("config"));
    const uiRoute =
      signIn && navigation && !path.startsWith("/api/") && /^(\/[A-Za-z0-9_.~-]+)*\/?$/.test(path) && !path.split("/").includes("..");
    if (!isArgoUiPath(path) && !uiRoute) return next();
    if (signIn && navigation && !UI_ROOT_FILE.test(path) && !UI_ASSET.test(path)) {
      await auth(c, async () => {});
      if (!c.get("principal")) throw unauthenticated("sign in to use the Argo UI");
    }
    // The UI's files belong to no one: sent without the principal's headers. Built here, not by `auth`, which
    // this route runs for page loads only.
    const ui = buildServices(c).upstream("argo", { anonymous: true });
    return ui.send({ path: isArgoUiPath(path) ? path : "/", method: "GET", headers: c.req.raw.headers });
  });
  // Everything else under /argo is answered only to a caller with a credential (and then as no such route).
  r.all("*", auth, (c) => {
    requirePrincipal(c);
    throw notFound("no such Argo route on this gateway");
  });
  return r;
}
