import { useRef, useState } from "preact/hooks";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { type Column, columns, type Layout, MIN_WIDTH, moveColumn } from "./columns.js";
import { formatCount, formatTime } from "./format.js";

export interface Sort {
  field: string;
  desc: boolean;
}

/**
 * The customers grid. Headers sort on click; a column is resized by dragging its right
 * edge (or with the arrow keys on it) and moved by dragging its grip (or with the arrow keys
 * on the grip).
 */
export function CustomerTable(props: {
  customers: Customer[];
  layout: Layout;
  sort: Sort;
  busy: boolean;
  canEdit: boolean;
  onSort: (sort: Sort) => void;
  onLayout: (layout: Layout, persist: boolean) => void;
  onEdit: (c: Customer) => void;
  onDelete: (c: Customer) => void;
  onInstances: (c: Customer) => void;
  onHistory: (c: Customer) => void;
}) {
  const { layout } = props;
  const visible = layout.order
    .map((key) => columns.find((c) => c.key === key))
    .filter((c): c is Column => c !== undefined && !layout.hidden.includes(c.key));
  const [dropTarget, setDropTarget] = useState<string>();
  const dragging = useRef<string | undefined>(undefined);

  const setWidth = (key: string, width: number, persist: boolean) =>
    props.onLayout(
      { ...layout, widths: { ...layout.widths, [key]: Math.max(MIN_WIDTH, Math.round(width)) } },
      persist,
    );
  const move = (key: string, target: string) =>
    props.onLayout({ ...layout, order: moveColumn(layout.order, key, target) }, true);

  function startResize(e: PointerEvent, key: string) {
    e.preventDefault();
    const handle = e.currentTarget as HTMLElement;
    handle.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startWidth = layout.widths[key] ?? MIN_WIDTH;
    let width = startWidth;
    const onMove = (m: PointerEvent) => {
      width = startWidth + m.clientX - startX;
      setWidth(key, width, false);
    };
    const onUp = () => {
      handle.removeEventListener("pointermove", onMove);
      setWidth(key, width, true);
    };
    handle.addEventListener("pointermove", onMove);
    handle.addEventListener("pointerup", onUp, { once: true });
  }

  function startMove(e: PointerEvent, key: string) {
    e.preventDefault();
    const grip = e.currentTarget as HTMLElement;
    grip.setPointerCapture(e.pointerId);
    dragging.current = key;
    const targetAt = (x: number, y: number) =>
      (document.elementFromPoint(x, y)?.closest("th[data-key]") as HTMLElement | null)?.dataset.key;
    const onMove = (m: PointerEvent) => setDropTarget(targetAt(m.clientX, m.clientY));
    const onUp = (u: PointerEvent) => {
      grip.removeEventListener("pointermove", onMove);
      const target = targetAt(u.clientX, u.clientY);
      dragging.current = undefined;
      setDropTarget(undefined);
      if (target && target !== key) move(key, target);
    };
    grip.addEventListener("pointermove", onMove);
    grip.addEventListener("pointerup", onUp, { once: true });
  }

  const neighbour = (key: string, step: number) => {
    const i = visible.findIndex((c) => c.key === key);
    return visible[i + step]?.key;
  };

  const cell = (c: Customer, key: string) => {
    switch (key) {
      case "name":
        return <span class="name">{c.name}</span>;
      case "id":
        return <span class="mono">{c.id}</span>;
      case "instances":
        return (
          <a
            href={`#instances/${c.id}`}
            onClick={(e) => {
              e.preventDefault();
              props.onInstances(c);
            }}
          >
            View Instances ({formatCount(c.serviceInstanceCount)})
          </a>
        );
      case "reference":
        return c.referenceNumber;
      case "description":
        return <span title={c.description}>{c.description}</span>;
      default:
        return formatTime(c.createTime);
    }
  };

  return (
    <div class="table-scroll">
      <table class="grid" aria-busy={props.busy} aria-label="Customers">
        <colgroup>
          {visible.map((col) => (
            <col key={col.key} style={{ width: `${layout.widths[col.key]}px` }} />
          ))}
          <col style={{ width: props.canEdit ? "220px" : "90px" }} />
        </colgroup>
        <thead>
          <tr>
            {visible.map((col) => {
              const sorted = col.sortField === props.sort.field;
              return (
                <th
                  key={col.key}
                  scope="col"
                  data-key={col.key}
                  class={
                    dropTarget === col.key && dragging.current !== col.key ? "drop" : undefined
                  }
                  aria-sort={sorted ? (props.sort.desc ? "descending" : "ascending") : undefined}
                >
                  <button
                    type="button"
                    class="grip"
                    aria-label={`Move column ${col.label} (arrow keys)`}
                    title="Drag to move the column"
                    onPointerDown={(e) => startMove(e, col.key)}
                    onKeyDown={(e) => {
                      const step = e.key === "ArrowLeft" ? -1 : e.key === "ArrowRight" ? 1 : 0;
                      const target = step && neighbour(col.key, step);
                      if (!target) return;
                      e.preventDefault();
                      move(col.key, target);
                      requestAnimationFrame(() =>
                        (
                          document.querySelector(`th[data-key="${col.key}"] .grip`) as HTMLElement
                        )?.focus(),
                      );
                    }}
                  >
                    ⠿
                  </button>
                  {col.sortField ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() =>
                        props.onSort({
                          field: col.sortField as string,
                          desc: sorted ? !props.sort.desc : col.key === "created",
                        })
                      }
                    >
                      {col.label}
                      <span class="arrow" aria-hidden="true">
                        {sorted ? (props.sort.desc ? " ▼" : " ▲") : ""}
                      </span>
                    </button>
                  ) : (
                    <span class="label">{col.label}</span>
                  )}
                  {/* biome-ignore lint/a11y/useSemanticElements: a focusable splitter; <hr> cannot take focus or keys */}
                  <span
                    class="resizer"
                    role="separator"
                    aria-orientation="vertical"
                    aria-label={`Resize column ${col.label}`}
                    aria-valuenow={layout.widths[col.key]}
                    aria-valuemin={MIN_WIDTH}
                    tabIndex={0}
                    onPointerDown={(e) => startResize(e, col.key)}
                    onKeyDown={(e) => {
                      const step = e.key === "ArrowLeft" ? -20 : e.key === "ArrowRight" ? 20 : 0;
                      if (!step) return;
                      e.preventDefault();
                      setWidth(col.key, (layout.widths[col.key] ?? MIN_WIDTH) + step, true);
                    }}
                  />
                </th>
              );
            })}
            <th scope="col" class="pinned">
              <span class="label">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.customers.map((c) => (
            <tr key={c.id} data-id={c.id}>
              {visible.map((col) => (
                <td key={col.key} data-col={col.key}>
                  {cell(c, col.key)}
                </td>
              ))}
              <td class="pinned">
                <div class="row-actions">
                  <button
                    type="button"
                    onClick={() => props.onHistory(c)}
                    aria-label={`History of ${c.name}`}
                  >
                    History
                  </button>
                  {props.canEdit && (
                    <>
                      <button
                        type="button"
                        onClick={() => props.onEdit(c)}
                        aria-label={`Edit ${c.name}`}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => props.onDelete(c)}
                        aria-label={`Delete ${c.name}`}
                      >
                        Delete
                      </button>
                    </>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
