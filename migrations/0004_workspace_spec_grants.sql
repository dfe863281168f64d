ALTER TABLE "workspaces" ADD COLUMN "pod_security" text DEFAULT 'baseline' NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "service_accounts" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "cluster_templates" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "priority_classes" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "capabilities" text[] DEFAULT '{}'::text[] NOT NULL;