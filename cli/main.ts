#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { exportCustomers } from "./export.js";
import { importCustomers } from "./import.js";

/** Exit codes: 0 done, 1 rows rejected, 2 usage or connection. */
export const EXIT = { ok: 0, rejected: 1, usage: 2 } as const;

const program = new Command()
  .name("customer-inventory")
  .description("Import customers into the Customer Inventory service, and export them.")
  .option(
    "--url <url>",
    "the service (env CUSTOMER_INVENTORY_URL)",
    process.env.CUSTOMER_INVENTORY_URL ?? "http://127.0.0.1:8080",
  )
  .option(
    "--token <jwt>",
    "a bearer token (env CUSTOMER_INVENTORY_TOKEN)",
    process.env.CUSTOMER_INVENTORY_TOKEN,
  )
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

const url = (value: string) => {
  if (!/^https?:\/\/[^/\s]+\/?$/.test(value)) {
    throw new InvalidArgumentError("must be http(s)://host[:port]");
  }
  return value.replace(/\/$/, "");
};

program
  .command("import")
  .description(
    "Import a CSV (header name, reference_number, description, any order; UTF-8, BOM or not) or JSON Lines file, 1000 rows a call.",
  )
  .argument("<file>", "the file (.jsonl or .ndjson: JSON Lines; anything else: CSV)")
  .option("--upsert", "match rows to customers by reference_number: update them, create the rest")
  .option("--dry-run", "check every row of the file and write nothing")
  .option("--format <format>", "csv or jsonl (default: by the file's extension)")
  .action(
    async (file: string, options: { upsert?: boolean; dryRun?: boolean; format?: string }) => {
      const globals = program.opts<{ url: string; token?: string }>();
      process.exitCode = await importCustomers({
        file,
        url: url(globals.url),
        token: globals.token,
        upsert: options.upsert ?? false,
        dryRun: options.dryRun ?? false,
        format: options.format,
      });
    },
  );

program
  .command("export")
  .description(
    "Export customers as CSV (id, name, reference_number, description, service_instance_count, create_time, update_time) or JSON Lines.",
  )
  .option("--filter <filter>", "as ListCustomers' filter")
  .option("--search <terms>", "as ListCustomers' search")
  .option("--order-by <order>", "as ListCustomers' order_by")
  .option("--format <format>", "csv or jsonl", "csv")
  .option("--output <file>", "write here instead of standard output")
  .action(
    async (options: {
      filter?: string;
      search?: string;
      orderBy?: string;
      format: string;
      output?: string;
    }) => {
      const globals = program.opts<{ url: string; token?: string }>();
      process.exitCode = await exportCustomers({
        url: url(globals.url),
        token: globals.token,
        ...options,
      });
    },
  );

await program.parseAsync();
