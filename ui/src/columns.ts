// The table's columns and the layout an operator gives them (order, widths, hidden ones),
// remembered in this browser.

export interface Column {
  key: string;
  label: string;
  /** The order_by field a click on the header sorts by. */
  sortField?: string;
  width: number;
}

export const columns: Column[] = [
  { key: "name", label: "Name", sortField: "name", width: 190 },
  { key: "id", label: "Customer ID", width: 215 },
  {
    key: "instances",
    label: "Service Instances",
    sortField: "service_instance_count",
    width: 165,
  },
  { key: "reference", label: "Reference Number", sortField: "reference_number", width: 155 },
  { key: "description", label: "Description", width: 190 },
  { key: "created", label: "Created", sortField: "create_time", width: 135 },
];

export interface Layout {
  order: string[];
  hidden: string[];
  widths: Record<string, number>;
}

const STORAGE_KEY = "customer-inventory.columns.v1";
export const MIN_WIDTH = 80;

export const defaultLayout = (): Layout => ({
  order: columns.map((c) => c.key),
  hidden: [],
  widths: Object.fromEntries(columns.map((c) => [c.key, c.width])),
});

/** The saved layout, repaired against the current columns (added, removed or renamed). */
export function loadLayout(storage: { getItem(key: string): string | null }): Layout {
  const fallback = defaultLayout();
  try {
    const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null") as Partial<Layout> | null;
    if (!saved) return fallback;
    const known = new Set(fallback.order);
    const order = (saved.order ?? []).filter((k) => known.has(k));
    for (const key of fallback.order) if (!order.includes(key)) order.push(key);
    const widths = { ...fallback.widths };
    for (const [key, width] of Object.entries(saved.widths ?? {})) {
      if (known.has(key) && Number.isFinite(width)) widths[key] = Math.max(MIN_WIDTH, width);
    }
    const hidden = (saved.hidden ?? []).filter((k) => known.has(k));
    return { order, hidden, widths };
  } catch {
    return fallback;
  }
}

export function saveLayout(storage: { setItem(key: string, value: string): void }, layout: Layout) {
  storage.setItem(STORAGE_KEY, JSON.stringify(layout));
}

/** `order` with `key` moved to where `target` is. */
export function moveColumn(order: string[], key: string, target: string): string[] {
  const from = order.indexOf(key);
  const to = order.indexOf(target);
  if (from < 0 || to < 0 || from === to) return order;
  const next = order.filter((k) => k !== key);
  next.splice(to, 0, key);
  return next;
}
