import type { ComponentChildren } from "preact";
import { formatCount } from "./format.js";

/** Previous / Next through pages that page tokens chain; `children` go first (a size picker). */
export function Pager(props: {
  label: string;
  /** 1-based index of the first item shown. */
  first: number;
  shown: number;
  total: number;
  page: number;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  children?: ComponentChildren;
}) {
  return (
    <nav class="pager" aria-label={props.label}>
      {props.children}
      <span class="range">
        {props.shown > 0
          ? `${formatCount(props.first)}–${formatCount(props.first + props.shown - 1)} of ${formatCount(props.total)}`
          : ""}
      </span>
      <button type="button" disabled={props.page === 1} onClick={props.onPrevious}>
        Previous
      </button>
      <span>Page {props.page}</span>
      <button type="button" disabled={!props.hasNext} onClick={props.onNext}>
        Next
      </button>
    </nav>
  );
}
