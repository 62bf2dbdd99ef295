import { useEffect, useState } from "preact/hooks";

/** One page of a list as the API answers it. */
export interface ListPage<T> {
  items: T[];
  /** The next_page_token; empty on the last page. */
  next: string;
  /** How many there are on all pages, when the list says. */
  total?: number;
}

export interface PagedList<T> {
  /** The page shown; the previous one stays while the next loads. */
  page: ListPage<T> | undefined;
  loading: boolean;
  /** Why the last load failed; undefined after a success. */
  error: unknown;
  /** 1-based number of the page shown. */
  pageNumber: number;
  /** 1-based position of the page's first row in the whole list. */
  first: number;
  next(): void;
  previous(): void;
}

/**
 * A list read a page at a time through page tokens. The tokens walked so far belong to one
 * `query`: a new query starts again at page 1. A page found empty that is not the first (its
 * last rows were deleted meanwhile) gives way to the page before.
 */
export function usePagedList<T>(options: {
  /** Reads the page at `pageToken` ("" for the first). */
  fetch: (pageToken: string) => Promise<ListPage<T>>;
  /** What the list shows (filters, order, page size...): the tokens are bound to it. */
  query: string;
  pageSize: number;
  /** Anything else that should read the page again when it changes (a reload counter...). */
  reload?: unknown;
}): PagedList<T> {
  const { query, pageSize } = options;
  const [paging, setPaging] = useState({ query, tokens: [""] });
  const tokens = paging.query === query ? paging.tokens : [""];
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [page, setPage] = useState<ListPage<T>>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();

  // `fetch` is a new closure on every render: `query` and `reload` say when it reads
  // something else.
  useEffect(() => {
    let current = true;
    setLoading(true);
    options
      .fetch(pageToken)
      .then(
        (result) => {
          if (!current) return;
          if (result.items.length === 0 && pageToken !== "") {
            setPaging((p) => ({ ...p, tokens: p.tokens.slice(0, -1) }));
            return;
          }
          setPage(result);
          setError(undefined);
        },
        (err: unknown) => current && setError(err),
      )
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [query, pageToken, options.reload]);

  return {
    page,
    loading,
    error,
    pageNumber: tokens.length,
    first: (tokens.length - 1) * pageSize + 1,
    next: () => page?.next && setPaging({ query, tokens: [...tokens, page.next] }),
    previous: () => setPaging({ query, tokens: tokens.slice(0, -1) }),
  };
}
