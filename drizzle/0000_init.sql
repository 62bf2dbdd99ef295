CREATE TABLE "customers" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"name_key" text COLLATE "C" NOT NULL,
	"reference_number" text,
	"reference_key" text COLLATE "C",
	"description" text DEFAULT '' NOT NULL,
	"search_text" text NOT NULL,
	"service_instance_count" integer DEFAULT 0 NOT NULL,
	"create_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"etag" text NOT NULL,
	CONSTRAINT "customers_service_instance_count_check" CHECK ("customers"."service_instance_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "idempotency_records" (
	"method" text NOT NULL,
	"request_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"response" jsonb NOT NULL,
	"create_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_records_method_request_id_pk" PRIMARY KEY("method","request_id")
);
--> statement-breakpoint
CREATE TABLE "saved_filters" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"owner" text DEFAULT '' NOT NULL,
	"display_name" text NOT NULL,
	"display_name_key" text COLLATE "C" NOT NULL,
	"filter" text DEFAULT '' NOT NULL,
	"search" text DEFAULT '' NOT NULL,
	"order_by" text DEFAULT '' NOT NULL,
	"shared" boolean DEFAULT false NOT NULL,
	"create_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"etag" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "server_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_instances" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"customer_id" text COLLATE "C" NOT NULL,
	"name" text NOT NULL,
	"name_key" text COLLATE "C" NOT NULL,
	"service_type" text NOT NULL,
	"create_time" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service_instances" ADD CONSTRAINT "service_instances_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE restrict ON UPDATE restrict;--> statement-breakpoint
CREATE UNIQUE INDEX "customers_name_key_unique" ON "customers" USING btree ("name_key");--> statement-breakpoint
CREATE UNIQUE INDEX "customers_reference_key_unique" ON "customers" USING btree ("reference_key");--> statement-breakpoint
CREATE INDEX "idempotency_records_create_time_idx" ON "idempotency_records" USING btree ("create_time");--> statement-breakpoint
CREATE UNIQUE INDEX "saved_filters_owner_display_name_key_unique" ON "saved_filters" USING btree ("owner","display_name_key");--> statement-breakpoint
CREATE INDEX "saved_filters_display_name_key_idx" ON "saved_filters" USING btree ("display_name_key","id");--> statement-breakpoint
CREATE UNIQUE INDEX "service_instances_customer_name_key_unique" ON "service_instances" USING btree ("customer_id","name_key");--> statement-breakpoint
CREATE INDEX "service_instances_customer_create_time_idx" ON "service_instances" USING btree ("customer_id","create_time","id");