import { useEffect, useRef, useState } from "preact/hooks";
import {
  type Criterion,
  composeFilter,
  type FieldKind,
  filterFields,
  kindOf,
  operators,
} from "./filter-builder.js";

const valueInput = (kind: FieldKind) =>
  kind === "number"
    ? ({ type: "number", min: 0 } as const)
    : kind === "time"
      ? ({ type: "datetime-local" } as const)
      : ({ type: "text" } as const);

/**
 * Advanced filters: criteria rows composed into the filter text, which power users can also
 * edit directly (editing the text replaces the criteria). `error` is the API's complaint
 * about the applied filter, shown at the position it names.
 */
export function FilterPanel(props: {
  applied: string;
  error?: { description: string; position?: number };
  onApply: (filter: string) => void;
}) {
  const [criteria, setCriteria] = useState<Criterion[]>([]);
  const [text, setText] = useState(props.applied);
  const textRef = useRef<HTMLTextAreaElement>(null);

  // A filter applied from elsewhere (a saved filter) replaces what is being edited.
  useEffect(() => {
    if (props.applied === text) return;
    setText(props.applied);
    setCriteria([]);
  }, [props.applied]);

  useEffect(() => {
    const position = props.error?.position;
    const area = textRef.current;
    if (position === undefined || !area) return;
    area.focus();
    area.setSelectionRange(position - 1, Math.min(position, area.value.length));
  }, [props.error]);

  const update = (next: Criterion[]) => {
    setCriteria(next);
    setText(composeFilter(next));
  };
  const change = (i: number, patch: Partial<Criterion>) =>
    update(criteria.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  return (
    <section class="filters" aria-label="Advanced filters">
      {criteria.map((c, i) => {
        const kind = kindOf(c.field);
        const spec = operators[kind].find((o) => o.op === c.op);
        return (
          <div class="criterion" key={i}>
            <select
              aria-label={`Criterion ${i + 1} field`}
              value={c.field}
              onChange={(e) => {
                const field = e.currentTarget.value;
                const op = operators[kindOf(field)][0]?.op ?? "";
                change(i, { field, op, value: kindOf(field) === kind ? c.value : "" });
              }}
            >
              {filterFields.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.label}
                </option>
              ))}
            </select>
            <select
              aria-label={`Criterion ${i + 1} operator`}
              value={c.op}
              onChange={(e) => change(i, { op: e.currentTarget.value })}
            >
              {operators[kind].map((o) => (
                <option key={o.op} value={o.op}>
                  {o.label}
                </option>
              ))}
            </select>
            {spec?.needsValue !== false && (
              <input
                {...valueInput(kind)}
                aria-label={`Criterion ${i + 1} value`}
                value={c.value}
                onInput={(e) => change(i, { value: e.currentTarget.value })}
              />
            )}
            <button
              type="button"
              class="icon"
              aria-label={`Remove criterion ${i + 1}`}
              onClick={() => update(criteria.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </div>
        );
      })}
      <div class="row">
        <button
          type="button"
          onClick={() => update([...criteria, { field: "name", op: "contains", value: "" }])}
        >
          + Add criterion
        </button>
      </div>
      <label for="filter-text">Filter text</label>
      <textarea
        id="filter-text"
        ref={textRef}
        rows={2}
        spellcheck={false}
        value={text}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? "filter-error" : "filter-help"}
        placeholder='e.g. name = "acme*" AND service_instance_count > 0'
        onInput={(e) => {
          setText(e.currentTarget.value);
          setCriteria([]);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) props.onApply(text.trim());
        }}
      />
      {props.error ? (
        <div class="field-error" id="filter-error" role="alert">
          {props.error.position !== undefined && (
            <pre class="filter-marker" aria-hidden="true">
              {props.applied}
              {"\n"}
              {`${" ".repeat(props.error.position - 1)}^`}
            </pre>
          )}
          <p>Filter error: {props.error.description}</p>
        </div>
      ) : (
        <p class="help" id="filter-help">
          Criteria are combined with AND. Ctrl+Enter applies the text.
        </p>
      )}
      <div class="actions">
        <button type="button" class="primary" onClick={() => props.onApply(text.trim())}>
          Apply filter
        </button>
        <button
          type="button"
          onClick={() => {
            setCriteria([]);
            setText("");
            props.onApply("");
          }}
        >
          Clear
        </button>
      </div>
    </section>
  );
}
