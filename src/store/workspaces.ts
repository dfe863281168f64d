/**
 * Argo workspaces (Kubernetes namespaces with a role policy) in PostgreSQL.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { workspaces } from "../db/schema";
import { checkWorkspaceName } from "./identities";

export interface WorkspaceRecord {
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

export async function putWorkspace(
  db: Database,
  w: { name: string; roleGroups: string[][]; hideForUnauthorized: boolean; description: string | null; updatedBy: string },
): Promise<{ workspace: WorkspaceRecord; created: boolean }> {
  // Another spelling of a stored workspace is a 409 naming both (the unique index on lower(name) holds it too).
  await checkWorkspaceName(db, w.name);
  const existed = (await getWorkspace(db, w.name)) !== null;
  const [r] = await db
    .insert(workspaces)
    .values({ ...w, updatedAt: new Date() })
    .onConflictDoUpdate({
      target: workspaces.name,
      set: {
        roleGroups: w.roleGroups,
        hideForUnauthorized: w.hideForUnauthorized,
        description: w.description,
        updatedBy: w.updatedBy,
        updatedAt: new Date(),
      },
    })
    .returning();
  return { workspace: toRecord(r!), created: !existed };
}

/** Deletes the workspace's policy (never a namespace: flowgate cannot touch Kubernetes). */
export async function deleteWorkspace(db: Database, name: string): Promise<boolean> {
  const rows = await db.delete(workspaces).where(eq(workspaces.name, name)).returning({ name: workspaces.name });
  return rows.length > 0;
}
