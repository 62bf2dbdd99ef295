import { useEffect, useState } from "preact/hooks";
import type { SavedFilter } from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, problemOf } from "./api.js";

/** Saved filters: choose one, save the current search, filter and sort, delete one. */
export function SavedFilters(props: {
  canEdit: boolean;
  current: { filter: string; search: string; orderBy: string };
  onChoose: (filter: SavedFilter) => void;
}) {
  const [filters, setFilters] = useState<SavedFilter[]>([]);
  const [chosen, setChosen] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [version, setVersion] = useState(0);

  useEffect(() => {
    api.listSavedFilters({ pageSize: 100 }).then(
      (r) => setFilters(r.savedFilters),
      () => setFilters([]),
    );
  }, [version]);

  async function save(e: Event) {
    e.preventDefault();
    setError("");
    try {
      const { savedFilter } = await api.createSavedFilter({
        savedFilter: { displayName: name.trim(), ...props.current },
      });
      setName("");
      setChosen(savedFilter?.id ?? "");
      setVersion((v) => v + 1);
    } catch (err) {
      const p = problemOf(err);
      setError(Object.values(p.fields)[0] ?? describeProblem(p));
    }
  }

  async function remove() {
    const sf = filters.find((f) => f.id === chosen);
    if (!sf || !confirm(`Delete the saved filter “${sf.displayName}”?`)) return;
    try {
      await api.deleteSavedFilter({ id: sf.id, etag: sf.etag });
      setChosen("");
      setVersion((v) => v + 1);
    } catch (err) {
      setError(describeProblem(problemOf(err)));
    }
  }

  return (
    <details class="menu saved">
      <summary>Saved filters</summary>
      <div class="saved-body">
        <label for="saved-filter">Saved filter</label>
        <div class="row">
          <select
            id="saved-filter"
            value={chosen}
            onChange={(e) => {
              const id = e.currentTarget.value;
              setChosen(id);
              const sf = filters.find((f) => f.id === id);
              if (sf) props.onChoose(sf);
            }}
          >
            <option value="">{filters.length ? "Choose…" : "None saved yet"}</option>
            {filters.map((f) => (
              <option key={f.id} value={f.id}>
                {f.displayName}
                {f.shared ? " (shared)" : ""}
              </option>
            ))}
          </select>
          {props.canEdit && chosen && (
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
          )}
        </div>
        {props.canEdit && (
          <form onSubmit={save}>
            <label for="saved-filter-name">Save the current search, filter and sort as</label>
            <div class="row">
              <input
                id="saved-filter-name"
                type="text"
                maxLength={100}
                value={name}
                aria-invalid={error ? true : undefined}
                onInput={(e) => setName(e.currentTarget.value)}
              />
              <button type="submit">Save</button>
            </div>
          </form>
        )}
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
    </details>
  );
}
