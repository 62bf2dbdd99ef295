-- Written by hand: trigram matching for keyword search and substring filters.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE TABLE "customer_counts" (
	"shard" integer PRIMARY KEY NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "description_key" text COLLATE "C" DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "customers_search_text_trgm_idx" ON "customers" USING gin ("search_text" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "customers_reference_order_asc_idx" ON "customers" USING btree (("reference_key" is null),coalesce("reference_key", ''),"id");--> statement-breakpoint
CREATE INDEX "customers_reference_order_desc_idx" ON "customers" USING btree (("reference_key" is null) desc,coalesce("reference_key", '') desc,"id");--> statement-breakpoint
CREATE INDEX "customers_create_time_idx" ON "customers" USING btree ("create_time","id");--> statement-breakpoint
CREATE INDEX "customers_update_time_idx" ON "customers" USING btree ("update_time","id");--> statement-breakpoint
CREATE INDEX "customers_service_instance_count_asc_idx" ON "customers" USING btree ("service_instance_count","id");--> statement-breakpoint
CREATE INDEX "customers_service_instance_count_desc_idx" ON "customers" USING btree ("service_instance_count" DESC NULLS FIRST,"id");--> statement-breakpoint
-- Written by hand from here on. search_text holds name, id, reference and description keys,
-- one per line, the description last: its normalized form is what follows the third line.
UPDATE "customers" SET "description_key" = regexp_replace("search_text", '^([^\n]*\n){3}', '');
--> statement-breakpoint
-- The customer count (customer_counts): statement-level triggers add each statement's rows
-- to the shard of the backend that runs it, so that an unfiltered total_size is a sum of a
-- few rows instead of a scan of the table.
CREATE FUNCTION "customer_counts_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM customer_counts;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO customer_counts AS c (shard, n)
      SELECT pg_backend_pid() % 16, count(*) FROM added HAVING count(*) > 0
      ON CONFLICT (shard) DO UPDATE SET n = c.n + excluded.n;
  ELSE
    INSERT INTO customer_counts AS c (shard, n)
      SELECT pg_backend_pid() % 16, -count(*) FROM removed HAVING count(*) > 0
      ON CONFLICT (shard) DO UPDATE SET n = c.n + excluded.n;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "customers_count_insert" AFTER INSERT ON "customers"
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_add"();
--> statement-breakpoint
CREATE TRIGGER "customers_count_delete" AFTER DELETE ON "customers"
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_add"();
--> statement-breakpoint
CREATE TRIGGER "customers_count_truncate" AFTER TRUNCATE ON "customers"
  FOR EACH STATEMENT EXECUTE FUNCTION "customer_counts_add"();
--> statement-breakpoint
INSERT INTO "customer_counts" ("shard", "n") SELECT 0, count(*) FROM "customers";
