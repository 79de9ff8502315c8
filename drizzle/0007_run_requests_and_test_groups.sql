CREATE TABLE "run_requests" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"project_id" text NOT NULL,
	"ci_commit_id" integer NOT NULL,
	"batch_id" integer,
	"batch_label" text,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"requested_by" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"command_id" text NOT NULL,
	"pipeline_id" bigint,
	"pipeline_url" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "run_requests_kind" CHECK ("run_requests"."kind" IN ('tuning', 'redo-batch', 'redo-output', 'save-artifacts')),
	CONSTRAINT "run_requests_status" CHECK ("run_requests"."status" IN ('queued', 'dispatched', 'running', 'done', 'failed', 'cancelled'))
);
--> statement-breakpoint
CREATE TABLE "test_groups" (
	"project_id" text NOT NULL,
	"name" text NOT NULL,
	"yaml" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "test_groups_project_id_name_pk" PRIMARY KEY("project_id","name")
);
--> statement-breakpoint
ALTER TABLE "run_requests" ADD CONSTRAINT "run_requests_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_requests" ADD CONSTRAINT "run_requests_ci_commit_id_ci_commits_id_fk" FOREIGN KEY ("ci_commit_id") REFERENCES "public"."ci_commits"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_requests" ADD CONSTRAINT "run_requests_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "test_groups" ADD CONSTRAINT "test_groups_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "run_requests_command_id" ON "run_requests" USING btree ("command_id");--> statement-breakpoint
CREATE INDEX "run_requests_project_created" ON "run_requests" USING btree ("project_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "run_requests_batch" ON "run_requests" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "outputs_pending" ON "outputs" USING btree ("batch_id") WHERE "outputs"."is_pending";