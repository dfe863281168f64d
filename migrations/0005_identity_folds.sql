-- Tenant and workspace names become unique without regard to case (docs/storage.md, "Names under folding").
-- Two stored names that fold together stop the migration here, naming them, before anything is changed: the
-- migration runs in one transaction, so the database is left as it was. Nothing is renamed or deleted for you.
DO $$
DECLARE
	pair record;
BEGIN
	FOR pair IN
		SELECT 'tenant' AS kind, a.name AS first, b.name AS second FROM "tenants" a JOIN "tenants" b ON lower(a.name) = lower(b.name) AND a.name < b.name
		UNION ALL
		SELECT 'workspace', a.name, b.name FROM "workspaces" a JOIN "workspaces" b ON lower(a.name) = lower(b.name) AND a.name < b.name
		ORDER BY 1, 2, 3
		LIMIT 1
	LOOP
		RAISE EXCEPTION 'flowgate migration 0005_identity_folds: % names "%" and "%" are one name under case folding (a case-insensitive store behind Conductor merges them); nothing was changed. Move everything of one onto the other and delete it (docs/storage.md, "Names under folding"), then migrate again', pair.kind, pair.first, pair.second
			USING ERRCODE = 'unique_violation';
	END LOOP;
END
$$;
--> statement-breakpoint
CREATE TABLE "subjects" (
	"folded" text PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_name_folded_idx" ON "tenants" USING btree (lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "workspaces_name_folded_idx" ON "workspaces" USING btree (lower("name"));