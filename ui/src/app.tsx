import { Code } from "@connectrpc/connect";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import {
  api,
  describeProblem,
  type Problem,
  positionIn,
  problemOf,
  roleOf,
  token as storedToken,
} from "./api.js";
import { type Layout, loadLayout, saveLayout } from "./columns.js";
import { ColumnsMenu } from "./columns-menu.js";
import { CustomerForm } from "./customer-form.js";
import { CustomerTable, type Sort } from "./customer-table.js";
import { DeleteDialog } from "./delete-dialog.js";
import { FilterPanel } from "./filter-panel.js";
import { formatCount } from "./format.js";
import { HistoryDialog } from "./history-dialog.js";
import { ImportDialog } from "./import-dialog.js";
import { InstancesDialog } from "./instances-dialog.js";
import { Pager } from "./pager.js";
import { SavedFilters } from "./saved-filters.js";
import { TokenBox } from "./token-box.js";
import { exportCsv } from "./transfer.js";
import { useChangeFeed } from "./use-change-feed.js";
import { useDebounced } from "./use-debounced.js";
import { usePagedList } from "./use-paged-list.js";

const PAGE_SIZES = [10, 25, 50, 100];

const totalText = (n: number, matching: boolean) =>
  `${formatCount(n)} customer${n === 1 ? "" : "s"}${matching ? (n === 1 ? " matches" : " match") : ""}`;

const orderText = (s: Sort) => `${s.field}${s.desc ? " desc" : ""}`;
function parseSort(orderBy: string): Sort {
  const [field = "name", direction] = (orderBy.split(",")[0] ?? "").trim().split(/\s+/);
  return { field: field || "name", desc: direction === "desc" };
}

type Modal =
  | { kind: "form"; customer?: Customer }
  | { kind: "delete"; customer: Customer }
  | { kind: "instances"; customer: Customer; highlight?: string }
  | { kind: "history"; customer: Customer }
  | { kind: "import" };

/** Live changes re-read the page at most this often. */
const LIVE_REFRESH_MS = 250;

export function App() {
  const [jwt, setJwt] = useState(storedToken.get());
  const role = roleOf(jwt);
  const canEdit = role === undefined || role === "editor" || role === "admin";

  const [searchInput, setSearchInput] = useState("");
  const search = useDebounced(searchInput.trim(), 300);
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<Sort>({ field: "name", desc: false });
  const [pageSize, setPageSize] = useState(25);
  const [reload, setReload] = useState(0);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const [layout, setLayout] = useState<Layout>(() => loadLayout(localStorage));
  const [modal, setModal] = useState<Modal>();
  const [notice, setNotice] = useState("");
  // Changes made elsewhere re-read the page shown, keeping its place, order, filter and any
  // open dialog; a burst of them is one re-read.
  const [live, setLive] = useState(0);
  const pendingRefresh = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const liveRefresh = useCallback(() => {
    if (pendingRefresh.current) return;
    pendingRefresh.current = setTimeout(() => {
      pendingRefresh.current = undefined;
      setLive((n) => n + 1);
    }, LIVE_REFRESH_MS);
  }, []);
  const feed = useChangeFeed({ token: jwt, onChanges: liveRefresh, onGap: liveRefresh });

  const list = usePagedList<Customer>({
    fetch: (pageToken) =>
      api
        .listCustomers({ search, filter, orderBy: orderText(sort), pageSize, pageToken })
        .then((r) => ({ items: r.customers, next: r.nextPageToken, total: r.totalSize })),
    query: JSON.stringify([search, filter, orderText(sort), pageSize]),
    pageSize,
    reload: `${reload} ${jwt} ${live}`,
  });
  const { page, loading } = list;
  const problem: Problem | undefined = list.error === undefined ? undefined : problemOf(list.error);
  const filterProblem = problem?.fields.filter;
  useEffect(() => {
    if (filterProblem) setFiltersOpen(true);
  }, [filterProblem]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(""), 8_000);
    return () => clearTimeout(timer);
  }, [notice]);

  const refresh = useCallback(() => setReload((n) => n + 1), []);
  const [exporting, setExporting] = useState<string>();
  /** Downloads what the grid shows (search, filter, sort), every page of it, as CSV. */
  async function download() {
    setExporting("Exporting…");
    try {
      const blob = await exportCsv({ filter, search, orderBy: orderText(sort) }, (done, total) =>
        setExporting(`Exporting ${formatCount(done)} of ${formatCount(total)}…`),
      );
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `customers-${new Date().toISOString().slice(0, 10)}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      setNotice("Exported.");
    } catch (err) {
      setNotice(describeProblem(problemOf(err)));
    } finally {
      setExporting(undefined);
    }
  }
  const changeLayout = (next: Layout, persist: boolean) => {
    setLayout(next);
    if (persist) saveLayout(localStorage, next);
  };

  const filterError = problem?.fields.filter;
  const searchError = problem?.fields.search;
  const otherProblem = problem && !filterError && !searchError ? problem : undefined;

  return (
    <div class="page">
      <header class="top">
        <h1>Customer Inventory</h1>
        <TokenBox
          jwt={jwt}
          role={role}
          onChange={(value) => {
            storedToken.set(value);
            setJwt(value);
          }}
        />
      </header>
      <main>
        <div class="toolbar">
          <div class="search">
            <label for="search" class="visually-hidden">
              Search customers
            </label>
            <input
              id="search"
              type="search"
              placeholder="Search name, ID, reference number, description"
              value={searchInput}
              maxLength={200}
              aria-invalid={searchError ? true : undefined}
              aria-describedby={searchError ? "search-error" : undefined}
              onInput={(e) => setSearchInput(e.currentTarget.value)}
            />
            {searchError && (
              <p class="field-error" id="search-error">
                {searchError}
              </p>
            )}
          </div>
          <button
            type="button"
            aria-expanded={filtersOpen}
            aria-controls="filter-panel"
            onClick={() => setFiltersOpen(!filtersOpen)}
          >
            Filters{filter ? " (on)" : ""}
          </button>
          <SavedFilters
            canEdit={canEdit}
            current={{ filter, search, orderBy: orderText(sort) }}
            onChoose={(sf) => {
              setFilter(sf.filter);
              setSearchInput(sf.search);
              setSort(parseSort(sf.orderBy));
            }}
          />
          <ColumnsMenu layout={layout} onChange={(l) => changeLayout(l, true)} />
          {canEdit && (
            <button type="button" class="primary" onClick={() => setModal({ kind: "form" })}>
              Add customer
            </button>
          )}
          <button type="button" disabled={exporting !== undefined} onClick={() => void download()}>
            {exporting ?? "Export CSV"}
          </button>
          {canEdit && (
            <button type="button" onClick={() => setModal({ kind: "import" })}>
              Import CSV
            </button>
          )}
        </div>
        {filtersOpen && (
          <div id="filter-panel">
            <FilterPanel
              applied={filter}
              error={
                filterError
                  ? { description: filterError, position: positionIn(filterError) }
                  : undefined
              }
              onApply={(f) => {
                if (f === filter) refresh();
                setFilter(f);
              }}
            />
          </div>
        )}
        <div class="status-line" aria-live="polite">
          {page && !problem && (
            <span id="total">{totalText(page.total ?? 0, Boolean(search || filter))}</span>
          )}
          <span
            class={`feed feed-${feed}`}
            id="feed-state"
            title={
              feed === "live"
                ? "Changes made by others appear here as they happen"
                : feed === "off"
                  ? "Live updates need a valid access token"
                  : "Reconnecting to live updates…"
            }
          >
            {feed === "live" ? "Live" : feed === "off" ? "Not live" : "Reconnecting…"}
          </span>
          {loading && <span class="status"> Loading…</span>}
          {notice && <span class="notice"> {notice}</span>}
        </div>
        {otherProblem && (
          <div class="error" role="alert">
            <p>{describeProblem(otherProblem)}</p>
            {otherProblem.code !== Code.Unauthenticated && (
              <button type="button" onClick={refresh}>
                Try again
              </button>
            )}
          </div>
        )}
        {page && page.items.length === 0 && !problem && !loading && (
          <div class="empty">
            {search || filter ? (
              <p>No customer matches. Change the search or the filters.</p>
            ) : (
              <p>No customers yet.{canEdit ? " Add the first one." : ""}</p>
            )}
          </div>
        )}
        {page && page.items.length > 0 && (
          <CustomerTable
            customers={page.items}
            layout={layout}
            sort={sort}
            busy={loading}
            canEdit={canEdit}
            onSort={setSort}
            onLayout={changeLayout}
            onEdit={(customer) => setModal({ kind: "form", customer })}
            onDelete={(customer) => setModal({ kind: "delete", customer })}
            onInstances={(customer) => setModal({ kind: "instances", customer })}
            onHistory={(customer) => setModal({ kind: "history", customer })}
          />
        )}
        {page && (page.total ?? 0) > 0 && (
          <Pager label="Pages" list={list} page={page}>
            <label>
              Rows per page{" "}
              <select value={pageSize} onChange={(e) => setPageSize(Number(e.currentTarget.value))}>
                {PAGE_SIZES.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
          </Pager>
        )}
      </main>
      {modal?.kind === "form" && (
        <CustomerForm
          customer={modal.customer}
          onClose={() => setModal(undefined)}
          onSaved={(c) => {
            setModal(undefined);
            setNotice(modal.customer ? `Saved ${c.name}.` : `Added ${c.name}.`);
            refresh();
          }}
        />
      )}
      {modal?.kind === "delete" && (
        <DeleteDialog
          customer={modal.customer}
          onClose={() => setModal(undefined)}
          onDeleted={() => {
            setModal(undefined);
            setNotice(`Deleted ${modal.customer.name}.`);
            refresh();
          }}
          onShowInstances={(customer, highlight) =>
            setModal({ kind: "instances", customer, highlight })
          }
        />
      )}
      {modal?.kind === "import" && (
        <ImportDialog onClose={() => setModal(undefined)} onImported={refresh} />
      )}
      {modal?.kind === "history" && (
        <HistoryDialog
          customer={modal.customer}
          reload={live}
          onClose={() => setModal(undefined)}
        />
      )}
      {modal?.kind === "instances" && (
        <InstancesDialog
          customer={modal.customer}
          highlight={modal.highlight}
          onClose={() => setModal(undefined)}
        />
      )}
    </div>
  );
}
