import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SavedFilter } from "../../gen/customerinventory/v1/resources_pb.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("grpc-web");
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute("truncate saved_filters");
});

async function save(
  fields: Partial<Pick<SavedFilter, "displayName" | "filter" | "search" | "orderBy" | "shared">>,
) {
  const { savedFilter } = await api.inventory.createSavedFilter({
    savedFilter: { displayName: "Big customers", ...fields },
  });
  return savedFilter as SavedFilter;
}

describe("saved filters", () => {
  it("stores a filter with its owner (empty without authentication) and reads it back", async () => {
    const saved = await save({
      search: " acme ",
      orderBy: "service_instance_count desc",
      shared: true,
    });
    expect(saved).toMatchObject({
      displayName: "Big customers",
      search: "acme",
      orderBy: "service_instance_count desc",
      shared: true,
      owner: "",
    });
    expect(saved.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect((await api.inventory.getSavedFilter({ id: saved.id })).savedFilter).toEqual(saved);
  });

  it("keeps display names unique per owner, case-insensitively", async () => {
    await save({});
    const err = await callError(() => save({ displayName: "BIG CUSTOMERS" }));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.reason).toBe("SAVED_FILTER_NAME_TAKEN");
  });

  it("validates search and order_by as ListCustomers does, and the display name", async () => {
    const err = await callError(() =>
      api.inventory.createSavedFilter({
        savedFilter: { displayName: "", search: "x".repeat(201), orderBy: "colour" },
      }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual([
      "saved_filter.display_name",
      "saved_filter.search",
      "saved_filter.order_by",
    ]);
  });

  it("rejects a filter that does not parse when it is saved, and stores one that does", async () => {
    const err = await callError(() => save({ filter: 'name = "acme" AND (' }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations).toEqual([
      {
        field: "saved_filter.filter",
        description: "expected a comparison or a value, found the end of the filter at 20",
      },
    ]);
    const saved = await save({ filter: ' service_instance_count > 3 AND name = "acme*" ' });
    expect(saved.filter).toBe('service_instance_count > 3 AND name = "acme*"');
    const badUpdate = await callError(() =>
      api.inventory.updateSavedFilter({
        savedFilter: { id: saved.id, filter: "create_time : 1" },
        updateMask: create(FieldMaskSchema, { paths: ["filter"] }),
      }),
    );
    expect(badUpdate.fieldViolations.map((v) => v.field)).toEqual(["saved_filter.filter"]);
  });

  it("lists by display name, page by page", async () => {
    for (const name of ["charlie", "Alpha", "bravo"]) await save({ displayName: name });
    const first = await api.inventory.listSavedFilters({ pageSize: 2 });
    expect(first.savedFilters.map((f) => f.displayName)).toEqual(["Alpha", "bravo"]);
    const second = await api.inventory.listSavedFilters({
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.savedFilters.map((f) => f.displayName)).toEqual(["charlie"]);
    expect(second.nextPageToken).toBe("");
  });

  it("updates the fields in the mask, checks the etag, and deletes", async () => {
    const saved = await save({ search: "acme" });
    const { savedFilter: updated } = await api.inventory.updateSavedFilter({
      savedFilter: { id: saved.id, search: "", shared: true },
      updateMask: create(FieldMaskSchema, { paths: ["search", "shared"] }),
    });
    expect(updated).toMatchObject({ displayName: "Big customers", search: "", shared: true });
    expect(updated?.etag).not.toBe(saved.etag);
    const stale = await callError(() =>
      api.inventory.updateSavedFilter({
        savedFilter: { id: saved.id, displayName: "x", etag: saved.etag },
      }),
    );
    expect(stale.code).toBe(Code.Aborted);
    const staleDelete = await callError(() =>
      api.inventory.deleteSavedFilter({ id: saved.id, etag: saved.etag }),
    );
    expect(staleDelete.code).toBe(Code.Aborted);
    await api.inventory.deleteSavedFilter({ id: saved.id, etag: updated?.etag ?? "" });
    expect((await callError(() => api.inventory.getSavedFilter({ id: saved.id }))).reason).toBe(
      "SAVED_FILTER_NOT_FOUND",
    );
  });

  it("rejects unknown mask paths and an invalid order_by on update", async () => {
    const saved = await save({});
    const badPath = await callError(() =>
      api.inventory.updateSavedFilter({
        savedFilter: { id: saved.id },
        updateMask: create(FieldMaskSchema, { paths: ["owner_email"] }),
      }),
    );
    expect(badPath.fieldViolations.map((v) => v.field)).toEqual(["update_mask"]);
    const badOrder = await callError(() =>
      api.inventory.updateSavedFilter({ savedFilter: { id: saved.id, orderBy: "name up" } }),
    );
    expect(badOrder.fieldViolations.map((v) => v.field)).toEqual(["saved_filter.order_by"]);
  });
});
