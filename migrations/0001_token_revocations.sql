CREATE TABLE "token_revocations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"revoked_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_by" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "token_revocations_kind_value_idx" ON "token_revocations" USING btree ("kind","value");--> statement-breakpoint
CREATE INDEX "token_revocations_expires_idx" ON "token_revocations" USING btree ("expires_at");