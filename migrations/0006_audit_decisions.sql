-- Issue 27 (one audit of decisions): every refusal is recorded with its own time, engine and route; repeated
-- identical refusals within a window are one row with a count (dedupe_key unique: later events of the window are
-- added to it by INSERT ... ON CONFLICT). Rows written before stand for one event each, at their own time.
ALTER TABLE "audit_events" ADD COLUMN "last_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "engine" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
CREATE INDEX "audit_events_engine_idx" ON "audit_events" USING btree ("engine","at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_dedupe_key_idx" ON "audit_events" USING btree ("dedupe_key");--> statement-breakpoint
-- Times to the millisecond, as the gateway writes them (the export pages by time and id).
UPDATE "audit_events" SET "at" = date_trunc('milliseconds', "at"), "last_at" = date_trunc('milliseconds', "at");