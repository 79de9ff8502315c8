CREATE TABLE "batches" (
	"id" serial PRIMARY KEY NOT NULL,
	"ci_commit_id" integer NOT NULL,
	"label" text DEFAULT 'default' NOT NULL,
	"created_date" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"batch_dir_override" text
);
--> statement-breakpoint
CREATE TABLE "ci_commits" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"hexsha" text NOT NULL,
	"authored_datetime" timestamp with time zone NOT NULL,
	"committer_name" text,
	"message" text,
	"branch" text,
	"parents" jsonb,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"commit_dir_override" text,
	"commit_type" text DEFAULT 'git' NOT NULL,
	"latest_output_datetime" timestamp with time zone,
	"deleted" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outputs" (
	"id" serial PRIMARY KEY NOT NULL,
	"batch_id" integer NOT NULL,
	"test_input_id" integer NOT NULL,
	"created_date" timestamp with time zone DEFAULT now() NOT NULL,
	"output_type" text DEFAULT '' NOT NULL,
	"platform" text NOT NULL,
	"configurations" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"extra_parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"is_pending" boolean DEFAULT false NOT NULL,
	"is_running" boolean DEFAULT false NOT NULL,
	"is_failed" boolean DEFAULT false NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"output_dir_override" text,
	"deleted" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" text PRIMARY KEY NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"latest_output_datetime" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "test_inputs" (
	"id" serial PRIMARY KEY NOT NULL,
	"database" text NOT NULL,
	"path" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "batches" ADD CONSTRAINT "batches_ci_commit_id_ci_commits_id_fk" FOREIGN KEY ("ci_commit_id") REFERENCES "public"."ci_commits"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ci_commits" ADD CONSTRAINT "ci_commits_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outputs" ADD CONSTRAINT "outputs_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outputs" ADD CONSTRAINT "outputs_test_input_id_test_inputs_id_fk" FOREIGN KEY ("test_input_id") REFERENCES "public"."test_inputs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "batches_commit_label" ON "batches" USING btree ("ci_commit_id","label");--> statement-breakpoint
CREATE UNIQUE INDEX "ci_commits_project_hexsha" ON "ci_commits" USING btree ("project_id","hexsha");--> statement-breakpoint
CREATE INDEX "ci_commits_project_authored" ON "ci_commits" USING btree ("project_id","authored_datetime" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ci_commits_project_branch" ON "ci_commits" USING btree ("project_id","branch","authored_datetime" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "outputs_identity" ON "outputs" USING btree ("batch_id","test_input_id","platform",md5("configurations"::text),md5("extra_parameters"::text));--> statement-breakpoint
CREATE INDEX "outputs_test_input" ON "outputs" USING btree ("test_input_id");--> statement-breakpoint
CREATE UNIQUE INDEX "test_inputs_database_path" ON "test_inputs" USING btree ("database","path");