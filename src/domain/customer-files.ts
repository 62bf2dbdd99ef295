/**
 * What customer files hold, for the command line and the page alike: the columns an export
 * writes, the ones an import reads, and how an import's errors name its rows.
 */

/** The columns of a customer export, in order. */
export const EXPORT_COLUMNS = [
  "id",
  "name",
  "reference_number",
  "description",
  "service_instance_count",
  "create_time",
  "update_time",
] as const;

/** The columns an import reads; the export's others are accepted and ignored. */
export const IMPORT_COLUMNS: readonly string[] = ["name", "reference_number", "description"];
const IGNORED: readonly string[] = EXPORT_COLUMNS.filter((c) => !IMPORT_COLUMNS.includes(c));

/** What is wrong with an import file's header, if anything. */
export function columnProblem(columns: readonly string[]): string | undefined {
  const unknown = columns.filter((c) => !IMPORT_COLUMNS.includes(c) && !IGNORED.includes(c));
  if (unknown.length > 0) {
    return `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.map((c) => `"${c}"`).join(", ")}: the columns are ${IMPORT_COLUMNS.join(", ")} (and, as an export writes them, ${IGNORED.join(", ")})`;
  }
  if (!columns.includes("name")) return 'the header has no "name" column';
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  return twice ? `column "${twice}" appears twice in the header` : undefined;
}

/** The row and field an ImportCustomers violation names (`customers[3].name`). */
export function importRowOf(path: string): { row: number; field: string } | undefined {
  const m = /^customers\[(\d+)\]\.(\w+)$/.exec(path);
  return m ? { row: Number(m[1]), field: m[2] as string } : undefined;
}
