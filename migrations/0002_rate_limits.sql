CREATE TABLE "rate_limits" (
	"id" text PRIMARY KEY NOT NULL,
	"target_kind" text NOT NULL,
	"target" text NOT NULL,
	"route_group" text DEFAULT '*' NOT NULL,
	"rate_limit" integer NOT NULL,
	"rate_window_s" integer NOT NULL,
	"quota_limit" bigint,
	"quota_period" text,
	"mode" text DEFAULT 'enforce' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"description" text,
	"refused_count" bigint DEFAULT 0 NOT NULL,
	"shadow_refused_count" bigint DEFAULT 0 NOT NULL,
	"last_fired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_counters" (
	"resolution" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"tenant" text DEFAULT '' NOT NULL,
	"subject" text NOT NULL,
	"key_id" text DEFAULT '' NOT NULL,
	"route_group" text NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"cost" bigint DEFAULT 0 NOT NULL,
	"refused" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_counters_pk" PRIMARY KEY("resolution","bucket_start","tenant","subject","key_id","route_group")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "rate_limits_target_idx" ON "rate_limits" USING btree ("target_kind","target","route_group");--> statement-breakpoint
CREATE INDEX "usage_counters_bucket_idx" ON "usage_counters" USING btree ("resolution","bucket_start");