/**
 * Argo workspaces (Kubernetes namespaces with a role policy) in PostgreSQL.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { workspaces } from "../db/schema";
import { checkWorkspaceName } from "./identities";

/** What a workspace's workflows may ask of the cluster (src/engines/argo/specPolicy.ts decides with it). */
export interface WorkspaceGrantsRecord {
  podSecurity: string;
  serviceAccounts: string[];
  clusterTemplates: string[];
  priorityClasses: string[];
  capabilities: string[];
}

export interface WorkspaceRecord extends WorkspaceGrantsRecord {
  name: string;
  /** The caller needs every role of at least one group. */
  roleGroups: string[][];
  hideForUnauthorized: boolean;
  description: string | null;
  updatedAt: string;
  updatedBy: string;
}

const toRecord = (r: typeof workspaces.$inferSelect): WorkspaceRecord => ({
  name: r.name,
  roleGroups: r.roleGroups,
  hideForUnauthorized: r.hideForUnauthorized,
  description: r.description,
  podSecurity: r.podSecurity,
  serviceAccounts: r.serviceAccounts,
  clusterTemplates: r.clusterTemplates,
  priorityClasses: r.priorityClasses,
  capabilities: r.capabilities,
  updatedAt: r.updatedAt.toISOString(),
  updatedBy: r.updatedBy,
});

export async function listWorkspaces(db: Database): Promise<WorkspaceRecord[]> {
  return (await db.select().from(workspaces).orderBy(workspaces.name)).map(toRecord);
}

export async function getWorkspace(db: Database, name: string): Promise<WorkspaceRecord | null> {
  const [r] = await db.select().from(workspaces).where(eq(workspaces.name, name));
  return r ? toRecord(r) : null;
}

/**
 * Creates or replaces a workspace's policy. A grant left undefined keeps its stored value (the column's default
 * for a new workspace), so a client that does not know the grants cannot drop them.
 */
export async function putWorkspace(
  db: Database,
  w: {
    name: string;
    roleGroups: string[][];
    hideForUnauthorized: boolean;
    description: string | null;
    updatedBy: string;
    grants?: Partial<WorkspaceGrantsRecord>;
  },
): Promise<{ workspace: WorkspaceRecord; created: boolean }> {
  // Another spelling of a stored workspace is a 409 naming both (the unique index on lower(name) holds it too).
  await checkWorkspaceName(db, w.name);
  const existed = (await getWorkspace(db, w.name)) !== null;
  const grants = Object.fromEntries(Object.entries(w.grants ?? {}).filter(([, v]) => v !== undefined)) as Partial<WorkspaceGrantsRecord>;
  const policy = { roleGroups: w.roleGroups, hideForUnauthorized: w.hideForUnauthorized, description: w.description };
  const [r] = await db
    .insert(workspaces)
    .values({ name: w.name, ...policy, ...grants, updatedBy: w.updatedBy, updatedAt: new Date() })
    .onConflictDoUpdate({
      target: workspaces.name,
      set: { ...policy, ...grants, updatedBy: w.updatedBy, updatedAt: new Date() },
    })
    .returning();
  return { workspace: toRecord(r!), created: !existed };
}

/** Deletes the workspace's policy (never a namespace: flowgate cannot touch Kubernetes). */
export async function deleteWorkspace(db: Database, name: string): Promise<boolean> {
  const rows = await db.delete(workspaces).where(eq(workspaces.name, name)).returning({ name: workspaces.name });
  return rows.length > 0;
}
