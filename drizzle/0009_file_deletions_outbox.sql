CREATE TABLE "file_deletions" (
	"id" serial PRIMARY KEY NOT NULL,
	"prefix" text NOT NULL,
	"pattern" text,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "file_deletions_requested" ON "file_deletions" USING btree ("requested_at");