/** The columns of a customer export, in order: what the command line and the page write. */
export const EXPORT_COLUMNS = [
  "id",
  "name",
  "reference_number",
  "description",
  "service_instance_count",
  "create_time",
  "update_time",
] as const;
