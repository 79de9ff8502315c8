CREATE TABLE "batch_metric_aggregates" (
	"batch_id" integer NOT NULL,
	"metric" text NOT NULL,
	"outputs_fingerprint" text NOT NULL,
	"median" double precision,
	"average" double precision,
	CONSTRAINT "batch_metric_aggregates_batch_id_metric_pk" PRIMARY KEY("batch_id","metric")
);
--> statement-breakpoint
ALTER TABLE "outputs" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "batch_metric_aggregates" ADD CONSTRAINT "batch_metric_aggregates_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE cascade ON UPDATE no action;