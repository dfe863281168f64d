DROP INDEX "api_keys_tenant_idx";--> statement-breakpoint
CREATE INDEX "api_keys_tenant_created_idx" ON "api_keys" USING btree ("tenant","created_at" DESC NULLS FIRST,"id");--> statement-breakpoint
CREATE INDEX "api_keys_created_idx" ON "api_keys" USING btree ("created_at" DESC NULLS FIRST,"id");--> statement-breakpoint
CREATE INDEX "audit_events_last_at_idx" ON "audit_events" USING btree ("last_at");