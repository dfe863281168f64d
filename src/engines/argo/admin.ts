/**
 * `/admin/workspaces`: Argo workspace policies, registered into the admin API through the engine's admin-routes hook
 * (src/engines/argo/index.ts). Listing is for flowgate admins; one workspace may be read, changed or deleted by a
 * flowgate admin or by an admin of that workspace (./workspaces.ts); creating one is for flowgate admins. Deleting
 * a workspace deletes its policy only: flowgate never touches a namespace.
 */
import { z } from "zod";
import type { AdminApi } from "../../admin/openapi";
import { ErrorEnvelope } from "../../admin/openapi";
import { jsonBody, parseOr400 } from "../../admin/validation";
import { recordAudit } from "../../audit";
import type { AppContext } from "../../context";
import { withDatabase } from "../../db/client";
import { forbidden, notFound } from "../../errors";
import { isAdminPrincipal, type Principal } from "../../identity/principal";
import { authenticated, requirePrincipal } from "../../pipeline";
import { deleteWorkspace, getWorkspace, listWorkspaces, putWorkspace } from "../../store/workspaces";
import { allWorkspaces, forgetWorkspaces } from "./workspaceCache";
import { POD_SECURITY_LEVELS, SPEC_CAPABILITIES } from "./specPolicy";
import { DEFAULT_GRANTS, WORKSPACE_NAME, WorkspaceBody, administers, grantsOf, nextGrants, widenedGrant } from "./workspaces";

const Workspace = z
  .object({
    name: z.string(),
    roleGroups: z.array(z.array(z.string())),
    hideForUnauthorized: z.boolean(),
    description: z.string().nullable(),
    podSecurity: z.enum(POD_SECURITY_LEVELS),
    serviceAccounts: z.array(z.string()),
    clusterTemplates: z.array(z.string()),
    priorityClasses: z.array(z.string()),
    capabilities: z.array(z.enum(SPEC_CAPABILITIES)),
  })
  .catchall(z.unknown())
  .meta({ id: "Workspace" });
const WorkspaceList = z.object({ workspaces: z.array(Workspace) });

const WORKSPACE_ACCESS = "flowgate admins, and admins of this workspace (holding <role>-admin for every role of one of its groups)";

const MAX_BODY_BYTES = 65_536;

function nameParam(c: AppContext): string {
  const name = c.req.param("name") ?? "";
  if (!WORKSPACE_NAME.test(name)) throw notFound("no such workspace");
  return name;
}

function audit(c: AppContext, action: string, target: string, details?: Record<string, unknown>) {
  const p = requirePrincipal(c);
  recordAudit(
    c,
    { action, decision: "done", actorSubject: p.subject, actorKeyId: p.keyId ?? null, target, requestId: c.get("requestId"), details },
    "admin.action",
  );
}

/** Registers the per-workspace routes, which accept workspace admins too: call before the admin-only middleware. */
export function registerWorkspaceRoutes(api: AdminApi): void {
  const db = <T>(c: AppContext, work: Parameters<typeof withDatabase<T>>[1]) => withDatabase(c.get("config"), work);

  /** The workspace, if the caller is a flowgate admin or administers it; 403 otherwise (404 for admins when absent). */
  async function manageable(c: AppContext, name: string) {
    const p = requirePrincipal(c);
    const current = await db(c, (d) => getWorkspace(d, name));
    if (isAdminPrincipal(p)) return current;
    if (!current || !administers(p, current)) throw forbidden("only flowgate admins and this workspace's admins may manage it");
    return current;
  }

  api.route(
    {
      method: "get",
      path: "/workspaces/:name",
      tag: "workspaces",
      summary: "One Argo workspace's role policy",
      access: WORKSPACE_ACCESS,
      responses: {
        200: { description: "the workspace", schema: Workspace },
        404: { description: "no such workspace", schema: ErrorEnvelope },
      },
    },
    authenticated(),
    async (c) => {
      const w = await manageable(c, nameParam(c));
      if (!w) throw notFound("no such workspace");
      return c.json(w);
    },
  );

  api.route(
    {
      method: "put",
      path: "/workspaces/:name",
      tag: "workspaces",
      summary:
        "Create or replace an Argo workspace's role policy and grants (creating, and widening a grant, are for flowgate admins; a grant left out keeps its value)",
      access: WORKSPACE_ACCESS,
      body: WorkspaceBody,
      examples: {
        allOf: { roles: ["data-eng", "on-call"], hideForUnauthorized: false, description: "Data engineering" },
        anyGroup: { roles: [["finance"], ["auditor", "cfo"]], hideForUnauthorized: true },
        withGrants: {
          roles: ["ml"],
          hideForUnauthorized: false,
          podSecurity: "restricted",
          serviceAccounts: ["ml-runner"],
          clusterTemplates: ["shared-etl"],
          capabilities: ["resource-templates"],
        },
      },
      responses: { 200: { description: "replaced", schema: Workspace }, 201: { description: "created", schema: Workspace } },
    },
    authenticated(),
    async (c) => {
      const name = nameParam(c);
      const current = await manageable(c, name);
      const body = parseOr400(WorkspaceBody, await jsonBody(c.req.raw, MAX_BODY_BYTES));
      const held = current ? grantsOf(current) : DEFAULT_GRANTS;
      const widened = widenedGrant(held, nextGrants(held, body.grants));
      if (widened && !isAdminPrincipal(requirePrincipal(c)))
        throw forbidden(`only flowgate admins may widen a workspace's grants (${widened}); its admins may narrow them`);
      const { workspace, created } = await db(c, (d) => putWorkspace(d, { name, ...body, updatedBy: requirePrincipal(c).subject }));
      await forgetWorkspaces(c.env.KEY_CACHE);
      audit(c, created ? "workspace.create" : "workspace.update", name, {
        roleGroups: workspace.roleGroups,
        hideForUnauthorized: workspace.hideForUnauthorized,
        ...grantsOf(workspace),
      });
      return c.json(workspace, created ? 201 : 200);
    },
  );

  api.route(
    {
      method: "delete",
      path: "/workspaces/:name",
      tag: "workspaces",
      summary: "Delete a workspace's policy (never the namespace)",
      access: WORKSPACE_ACCESS,
      responses: { 200: { description: "deleted" }, 404: { description: "no such workspace", schema: ErrorEnvelope } },
    },
    authenticated(),
    async (c) => {
      const name = nameParam(c);
      await manageable(c, name);
      if (!(await db(c, (d) => deleteWorkspace(d, name)))) throw notFound("no such workspace");
      await forgetWorkspaces(c.env.KEY_CACHE);
      audit(c, "workspace.delete", name);
      return c.json({ deleted: name, namespace: "untouched" });
    },
  );
}

/** `GET /admin/workspaces`: flowgate admins only (registered after the admin-only middleware). */
export function registerWorkspaceListing(api: AdminApi): void {
  api.route(
    {
      method: "get",
      path: "/workspaces",
      tag: "workspaces",
      summary: "List Argo workspaces",
      responses: { 200: { description: "workspaces", schema: WorkspaceList } },
    },
    async (c) => c.json({ workspaces: await withDatabase(c.get("config"), listWorkspaces) }),
  );
}

/** Whether `p` administers any workspace: such a key may be exchanged for a browser session, to manage it there. */
export async function administersAnyWorkspace(c: AppContext, p: Principal): Promise<boolean> {
  if (p.roles.length === 0) return false;
  return (await allWorkspaces(c)).some((w) => administers(p, w));
}
