/**
 * Identities unique under folding (src/formats/identityFold.ts): tenant names, workspace names and key subjects.
 * Every writer of one goes through here; each check reads what the database holds after its own write, so two
 * writers racing with two spellings cannot both win (the unique indexes and the `subjects` primary key decide).
 */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys, subjects, tenants, workspaces } from "../db/schema";
import { GatewayError } from "../errors";
import { type FoldCollision, collidingPairs, collisionMessage, foldAsciiName, foldSubject } from "../formats/identityFold";

export const collisionError = (c: FoldCollision) => new GatewayError("CONFLICT", collisionMessage(c), { existing: c.existing });

/** The stored tenant whose name folds like `name` (itself, another spelling, or null when none). */
export async function tenantUnderFold(db: Database, name: string): Promise<string | null> {
  const [row] = await db
    .select({ name: tenants.name })
    .from(tenants)
    .where(sql`lower(${tenants.name}) = ${foldAsciiName(name)}`)
    .limit(1);
  return row?.name ?? null;
}

/**
 * Creates tenant `name` when no tenant folds like it; a tenant spelled otherwise (`acme` for `ACME`) is a 409
 * naming both: a request never lands in another spelling's tenant, nor creates a second one.
 */
export async function claimTenant(db: Database, name: string): Promise<{ created: boolean }> {
  const inserted = await db.insert(tenants).values({ name }).onConflictDoNothing().returning({ name: tenants.name });
  if (inserted.length > 0) return { created: true };
  const existing = await tenantUnderFold(db, name);
  if (existing !== null && existing !== name) throw collisionError({ kind: "tenant", existing, requested: name });
  return { created: false };
}

/** Refuses a workspace name that another stored workspace's folds like (the same name is an update). */
export async function checkWorkspaceName(db: Database, name: string): Promise<void> {
  const [row] = await db
    .select({ name: workspaces.name })
    .from(workspaces)
    .where(sql`lower(${workspaces.name}) = ${foldAsciiName(name)} and ${workspaces.name} <> ${name}`)
    .limit(1);
  if (row) throw collisionError({ kind: "workspace", existing: row.name, requested: name });
}

/**
 * Claims `subject`'s fold for it, or refuses (409) when another spelling holds the fold. Subjects of keys stored
 * before the `subjects` table are claimed first, so a new `Alice` meets an old `alice`.
 */
export async function claimSubject(db: Database, subject: string): Promise<void> {
  await claimStoredSubjects(db);
  const folded = foldSubject(subject);
  await db.insert(subjects).values({ folded, subject }).onConflictDoNothing();
  const [row] = await db.select({ subject: subjects.subject }).from(subjects).where(eq(subjects.folded, folded)).limit(1);
  if (row && row.subject !== subject) throw collisionError({ kind: "subject", existing: row.subject, requested: subject });
}

/**
 * Claims the fold of every stored key's subject that holds none yet, in the order the keys were created (the
 * oldest spelling keeps the fold). Returns the pairs it could not claim: two spellings of one subject among the
 * stored keys. Nothing is changed for them (their keys work as before); a new key for the later spelling is refused.
 */
export async function claimStoredSubjects(db: Database): Promise<[string, string][]> {
  const unclaimed = await db
    .selectDistinctOn([apiKeys.subject], { subject: apiKeys.subject, createdAt: apiKeys.createdAt })
    .from(apiKeys)
    .where(sql`not exists (select 1 from ${subjects} where ${subjects.subject} = ${apiKeys.subject})`)
    .orderBy(apiKeys.subject, apiKeys.createdAt);
  if (unclaimed.length === 0) return [];
  unclaimed.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const collisions: [string, string][] = [];
  for (const { subject } of unclaimed) {
    const folded = foldSubject(subject);
    await db.insert(subjects).values({ folded, subject }).onConflictDoNothing();
    const [row] = await db.select({ subject: subjects.subject }).from(subjects).where(eq(subjects.folded, folded)).limit(1);
    if (row && row.subject !== subject) collisions.push([row.subject, subject]);
  }
  return collisions;
}

/**
 * Every pair of stored identities one fold merges: tenants and workspaces by their names (the unique indexes of
 * migration 0003 hold them, so these are rows written around it), subjects by the `subjects` table and the keys'
 * subjects. What `npm start` and the CLI check after migrating, and refuse to go on with, naming each pair.
 */
export async function storedIdentityCollisions(db: Database): Promise<FoldCollision[]> {
  const out: FoldCollision[] = [];
  const tenantNames = (await db.select({ name: tenants.name }).from(tenants).orderBy(tenants.createdAt, tenants.name)).map((r) => r.name);
  for (const [existing, requested] of collidingPairs(tenantNames, foldAsciiName)) out.push({ kind: "tenant", existing, requested });
  const workspaceNames = (await db.select({ name: workspaces.name }).from(workspaces).orderBy(workspaces.name)).map((r) => r.name);
  for (const [existing, requested] of collidingPairs(workspaceNames, foldAsciiName)) out.push({ kind: "workspace", existing, requested });
  for (const [existing, requested] of await claimStoredSubjects(db)) out.push({ kind: "subject", existing, requested });
  // Keys claimed earlier may still hold a second spelling that was stored around the table (by hand).
  const keySubjects = (await db.selectDistinct({ subject: apiKeys.subject }).from(apiKeys).orderBy(apiKeys.subject)).map((r) => r.subject);
  const claimed = (await db.select({ subject: subjects.subject }).from(subjects).orderBy(subjects.createdAt)).map((r) => r.subject);
  const known = new Set(out.filter((c) => c.kind === "subject").map((c) => c.requested));
  for (const [existing, requested] of collidingPairs([...claimed, ...keySubjects], foldSubject))
    if (!known.has(requested)) {
      known.add(requested);
      out.push({ kind: "subject", existing, requested });
    }
  return out;
}

/** The one-line-per-pair report of `storedIdentityCollisions`, for a refusal at start. */
export const describeCollisions = (cs: readonly FoldCollision[]): string =>
  cs.map((c) => `${c.kind} names ${JSON.stringify(c.existing)} and ${JSON.stringify(c.requested)} are one name under folding`).join("\n");
