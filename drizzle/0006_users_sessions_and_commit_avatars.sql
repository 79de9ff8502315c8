CREATE TABLE "sessions" (
	"digest" text PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"user_agent" text,
	"gitlab_tokens" text,
	"grants" jsonb,
	"grants_fetched_at" timestamp with time zone,
	"grants_refresh_after" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sign_in_failures" (
	"subject" text PRIMARY KEY NOT NULL,
	"failures" integer NOT NULL,
	"last_failure_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_name" text NOT NULL,
	"full_name" text DEFAULT '' NOT NULL,
	"email" text,
	"password_hash" text,
	"gitlab_id" integer,
	"avatar_url" text,
	"scopes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"project_prefix" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ci_commits" ADD COLUMN "committer_avatar_url" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sessions_user" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_gitlab_id" ON "users" USING btree ("gitlab_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_local_user_name" ON "users" USING btree (lower("user_name")) WHERE "users"."gitlab_id" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "users_local_email" ON "users" USING btree (lower("email")) WHERE "users"."gitlab_id" IS NULL;