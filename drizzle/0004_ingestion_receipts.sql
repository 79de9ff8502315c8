CREATE TABLE "ingestion_chunks" (
	"ingestion_id" text NOT NULL,
	"chunk" integer NOT NULL,
	"total" integer NOT NULL,
	"items" integer NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"project_ids" jsonb NOT NULL,
	"written_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ingestion_chunks_ingestion_id_chunk_pk" PRIMARY KEY("ingestion_id","chunk")
);
--> statement-breakpoint
CREATE INDEX "ingestion_chunks_written" ON "ingestion_chunks" USING btree ("written_at");