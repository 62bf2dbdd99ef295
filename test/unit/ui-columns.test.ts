import { describe, expect, it } from "vitest";
import { defaultLayout, loadLayout, MIN_WIDTH, moveColumn } from "../../ui/src/columns.js";

const storageWith = (value: string | null) => ({ getItem: () => value });

describe("the page's column layout", () => {
  it("moves a column to where another is", () => {
    expect(moveColumn(["a", "b", "c", "d"], "d", "a")).toEqual(["d", "a", "b", "c"]);
    expect(moveColumn(["a", "b", "c", "d"], "a", "c")).toEqual(["b", "c", "a", "d"]);
    expect(moveColumn(["a", "b"], "a", "x")).toEqual(["a", "b"]);
  });

  it("repairs a saved layout against today's columns", () => {
    const saved = JSON.stringify({
      order: ["created", "gone", "name"],
      hidden: ["gone", "description"],
      widths: { name: 10, id: 300, gone: 50 },
    });
    const layout = loadLayout(storageWith(saved));
    expect(layout.order.slice(0, 2)).toEqual(["created", "name"]);
    expect([...layout.order].sort()).toEqual([...defaultLayout().order].sort());
    expect(layout.hidden).toEqual(["description"]);
    expect(layout.widths.name).toBe(MIN_WIDTH);
    expect(layout.widths.id).toBe(300);
    expect(layout.widths).not.toHaveProperty("gone");
  });

  it("falls back to the default layout on nothing or garbage", () => {
    expect(loadLayout(storageWith(null))).toEqual(defaultLayout());
    expect(loadLayout(storageWith("{not json"))).toEqual(defaultLayout());
  });
});
