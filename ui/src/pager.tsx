import type { ComponentChildren } from "preact";
import { formatCount } from "./format.js";
import type { ListPage, PagedList } from "./use-paged-list.js";

/** Previous / Next through a paged list; `children` go first (a size picker). */
export function Pager<T>(props: {
  label: string;
  list: PagedList<T>;
  /** The page shown (the list's, unless the caller shows another). */
  page: ListPage<T>;
  children?: ComponentChildren;
}) {
  const { list, page } = props;
  const shown = page.items.length;
  return (
    <nav class="pager" aria-label={props.label}>
      {props.children}
      <span class="range">
        {shown > 0
          ? `${formatCount(list.first)}–${formatCount(list.first + shown - 1)}${
              page.total === undefined ? "" : ` of ${formatCount(page.total)}`
            }`
          : ""}
      </span>
      <button type="button" disabled={list.pageNumber === 1} onClick={list.previous}>
        Previous
      </button>
      <span>Page {list.pageNumber}</span>
      <button type="button" disabled={!page.next} onClick={list.next}>
        Next
      </button>
    </nav>
  );
}
