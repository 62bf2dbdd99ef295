CREATE TABLE "change_feed_state" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"purged_through" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customer_changes" (
	"sequence" bigint PRIMARY KEY NOT NULL,
	"change_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"kind" text COLLATE "C" NOT NULL,
	"customer_id" text COLLATE "C" NOT NULL,
	"actor" text DEFAULT '' NOT NULL,
	"actor_key" text COLLATE "C" DEFAULT '' NOT NULL,
	"request_id" text COLLATE "C" DEFAULT '' NOT NULL,
	"customer" jsonb,
	"previous_customer" jsonb,
	"changed_fields" jsonb,
	"service_instance" jsonb
);
--> statement-breakpoint
CREATE INDEX "customer_changes_customer_sequence_idx" ON "customer_changes" USING btree ("customer_id","sequence");--> statement-breakpoint
CREATE INDEX "customer_changes_change_time_idx" ON "customer_changes" USING btree ("change_time");--> statement-breakpoint
ALTER TABLE "change_feed_state" ADD CONSTRAINT "change_feed_state_one_row" CHECK ("id" = 1);
--> statement-breakpoint
INSERT INTO "change_feed_state" ("id", "purged_through") VALUES (1, 0);
