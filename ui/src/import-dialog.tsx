import { useState } from "preact/hooks";
import { describeProblem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";
import { formatCount } from "./format.js";
import { type FileRow, type ImportReport, importRows, parseCsv } from "./transfer.js";

type Step =
  | { kind: "choose"; error?: string }
  | { kind: "checking"; rows: FileRow[]; done: number }
  | { kind: "preview"; rows: FileRow[]; report: ImportReport }
  | { kind: "importing"; rows: FileRow[]; done: number }
  | { kind: "done"; report: ImportReport };

const counts = (r: ImportReport, verb: "would be" | "were") =>
  `${formatCount(r.created)} ${verb} created, ${formatCount(r.updated)} updated, ${formatCount(r.unchanged)} unchanged`;

/** Import a CSV file: a dry run first (every bad row with its line), then the import itself. */
export function ImportDialog(props: { onClose: () => void; onImported: () => void }) {
  const [step, setStep] = useState<Step>({ kind: "choose" });
  const [upsert, setUpsert] = useState(false);

  async function choose(file: File | undefined) {
    if (!file) return;
    let rows: FileRow[];
    try {
      rows = parseCsv(await file.text());
    } catch (err) {
      setStep({ kind: "choose", error: (err as Error).message });
      return;
    }
    setStep({ kind: "checking", rows, done: 0 });
    try {
      const report = await importRows(rows, { upsert, validateOnly: true }, (done) =>
        setStep({ kind: "checking", rows, done }),
      );
      setStep({ kind: "preview", rows, report });
    } catch (err) {
      setStep({ kind: "choose", error: describeProblem(problemOf(err)) });
    }
  }

  async function run(rows: FileRow[]) {
    setStep({ kind: "importing", rows, done: 0 });
    try {
      const report = await importRows(rows, { upsert, validateOnly: false }, (done) =>
        setStep({ kind: "importing", rows, done }),
      );
      setStep({ kind: "done", report });
      props.onImported();
    } catch (err) {
      setStep({ kind: "choose", error: describeProblem(problemOf(err)) });
    }
  }

  return (
    <Dialog title="Import customers" onClose={props.onClose} wide>
      {step.kind === "choose" && (
        <div class="import-choose">
          <p>
            A CSV file with a header row: <code>name</code>, and optionally{" "}
            <code>reference_number</code> and <code>description</code>, in any order.
          </p>
          <label>
            <input
              type="checkbox"
              checked={upsert}
              onChange={(e) => setUpsert(e.currentTarget.checked)}
            />{" "}
            Update customers with the same reference number (upsert)
          </label>
          <p>
            <label>
              File{" "}
              <input
                id="import-file"
                type="file"
                accept=".csv,text/csv"
                onChange={(e) => void choose(e.currentTarget.files?.[0])}
              />
            </label>
          </p>
          {step.error && (
            <p class="error" role="alert">
              {step.error}
            </p>
          )}
        </div>
      )}
      {(step.kind === "checking" || step.kind === "importing") && (
        <div>
          <p>
            {step.kind === "checking" ? "Checking" : "Importing"} {formatCount(step.rows.length)}{" "}
            rows…
          </p>
          <progress id="import-progress" max={step.rows.length} value={step.done} />
        </div>
      )}
      {step.kind === "preview" && (
        <div id="import-preview">
          <p id="import-summary">
            {formatCount(step.report.rows)} rows: {counts(step.report, "would be")}
            {step.report.rejected.length > 0 &&
              `; ${formatCount(step.report.rejected.length)} problems`}
            .
          </p>
          {step.report.rejected.length > 0 && (
            <>
              <p>Nothing can be imported until these rows are fixed:</p>
              <ul id="import-problems" class="import-problems">
                {step.report.rejected.map((r) => (
                  <li key={`${r.line} ${r.message}`}>
                    Line {r.line}: {r.message}
                  </li>
                ))}
              </ul>
            </>
          )}
          <div class="actions">
            <button type="button" onClick={() => setStep({ kind: "choose" })}>
              Choose another file
            </button>
            <button
              type="button"
              class="primary"
              disabled={step.report.rejected.length > 0}
              onClick={() => void run(step.rows)}
            >
              Import {formatCount(step.report.rows)} rows
            </button>
          </div>
        </div>
      )}
      {step.kind === "done" && (
        <div>
          <p id="import-done" role="status">
            Imported: {counts(step.report, "were")}
            {step.report.rejected.length > 0 &&
              `; stopped at ${formatCount(step.report.rejected.length)} problems`}
            .
          </p>
          <div class="actions">
            <button type="button" class="primary" onClick={props.onClose}>
              Close
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
