DROP INDEX "test_inputs_database_path";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "lease_expires_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "test_inputs" ADD COLUMN "project_id" text;--> statement-breakpoint
ALTER TABLE "test_inputs" ADD CONSTRAINT "test_inputs_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Hand-written: inputs become per-project. Each input goes to the (first) project whose outputs use it;
-- every other project using it gets its own copy (same database, path, metadata) and its outputs move to the copy.
-- Inputs no output uses keep a NULL project. Nothing is deleted.
WITH usage AS (
  SELECT DISTINCT o.test_input_id, c.project_id
  FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id
)
UPDATE test_inputs t SET project_id = owner.project_id
FROM (SELECT test_input_id, min(project_id) AS project_id FROM usage GROUP BY test_input_id) owner
WHERE t.id = owner.test_input_id;--> statement-breakpoint
INSERT INTO test_inputs (project_id, database, path, data)
SELECT DISTINCT c.project_id, t.database, t.path, t.data
FROM outputs o JOIN batches b ON b.id = o.batch_id JOIN ci_commits c ON c.id = b.ci_commit_id JOIN test_inputs t ON t.id = o.test_input_id
WHERE t.project_id <> c.project_id;--> statement-breakpoint
UPDATE outputs o SET test_input_id = copy.id
FROM batches b, ci_commits c, test_inputs original, test_inputs copy
WHERE b.id = o.batch_id AND c.id = b.ci_commit_id AND original.id = o.test_input_id AND original.project_id <> c.project_id
  AND copy.project_id = c.project_id AND copy.database = original.database AND copy.path = original.path;--> statement-breakpoint
CREATE UNIQUE INDEX "test_inputs_project_database_path" ON "test_inputs" USING btree ("project_id","database","path");