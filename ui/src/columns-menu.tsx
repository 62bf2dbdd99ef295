import { columns, defaultLayout, type Layout } from "./columns.js";

/** Shows or hides columns, and resets the layout. */
export function ColumnsMenu(props: { layout: Layout; onChange: (layout: Layout) => void }) {
  const { layout } = props;
  return (
    <details class="menu">
      <summary>Columns</summary>
      <fieldset>
        <legend class="visually-hidden">Shown columns</legend>
        {layout.order.map((key) => {
          const col = columns.find((c) => c.key === key);
          if (!col) return null;
          const shown = !layout.hidden.includes(key);
          const lastShown = shown && layout.hidden.length === columns.length - 1;
          return (
            <label key={key}>
              <input
                type="checkbox"
                checked={shown}
                disabled={lastShown}
                onChange={() =>
                  props.onChange({
                    ...layout,
                    hidden: shown
                      ? [...layout.hidden, key]
                      : layout.hidden.filter((k) => k !== key),
                  })
                }
              />{" "}
              {col.label}
            </label>
          );
        })}
        <button type="button" onClick={() => props.onChange(defaultLayout())}>
          Reset layout
        </button>
      </fieldset>
    </details>
  );
}
