import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticSite, readSiteFiles } from "../../src/http/static-site.js";
import { createJwtAuthenticator } from "../../src/interceptors/auth.js";
import { createTestIssuer } from "../support/jwt.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { toolsPresent } from "../support/tools.js";

// The Customer Inventory page in headless Chromium (Debian's chromium package), against the
// real service and database: what an operator does, through the keyboard and the mouse.

function findChromium(): string | undefined {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const chromiumPath = findChromium();
toolsPresent("the browser tests", chromiumPath ? [] : ["chromium"], "apt-get install -y chromium");

const SHOTS = "test-results/e2e";
let browser: Browser;
let server: TestServer;
let busyId = "";

async function siteOrFail() {
  const files = await readSiteFiles("ui/dist");
  if (!files) throw new Error("ui/dist is missing: run npm run build:ui (npm test does)");
  return createStaticSite(files);
}

async function seed(target: TestServer) {
  const { inventory, instances } = target.clients();
  const { customer: acme } = await inventory.createCustomer({
    customer: { name: "Acme Networks", referenceNumber: "CRM-100", description: "national MPLS" },
  });
  for (let i = 1; i <= 12; i++) {
    await instances.createServiceInstance({
      serviceInstance: {
        customerId: acme?.id,
        name: `acme-vpn-${String(i).padStart(2, "0")}`,
        serviceType: "L3VPN",
      },
    });
  }
  const { customer: busy } = await inventory.createCustomer({
    customer: { name: "Busy Transit", referenceNumber: "CRM-101", description: "ELAN customer" },
  });
  busyId = busy?.id ?? "";
  for (const name of ["busy-elan-a", "busy-elan-b"]) {
    await instances.createServiceInstance({
      serviceInstance: { customerId: busyId, name, serviceType: "EVPN-ELAN" },
    });
  }
  for (let i = 1; i <= 30; i++) {
    const n = String(i).padStart(2, "0");
    await inventory.createCustomer({
      customer: {
        name: `Tenant ${n}`,
        referenceNumber: `CRM-2${n}`,
        description: `regional fibre tenant ${n}`,
      },
    });
  }
}

beforeAll(async () => {
  if (!chromiumPath) return;
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer({ staticSite: await siteOrFail() });
  await seed(server);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh browser profile (empty localStorage) on the page, with the table loaded. */
async function openPage(
  options: { width?: number; height?: number; url?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
  });
  // An action that cannot happen fails with what it waited for, instead of at the test's timeout.
  context.setDefaultTimeout(5_000);
  const page = await context.newPage();
  await page.goto(`${options.url ?? server.baseUrl}/`);
  return { context, page };
}

const names = (page: Page) =>
  page.locator('table.grid tbody td[data-col="name"]').allTextContents();
const headers = (page: Page) =>
  page
    .locator("table.grid thead th[data-key]")
    .evaluateAll((ths) => ths.map((th) => th.getAttribute("data-key")));
const focused = (page: Page, property: "id" | "textContent") =>
  page.evaluate(`document.activeElement?.${property}`);
const total = (page: Page) => page.locator("#total").textContent();
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 5_000 });

describe.skipIf(!chromiumPath)("the Customer Inventory page", () => {
  it("shows the customers with their counts, pages through them and shows the total", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      expect(await page.locator("main .range").textContent()).toBe("1–25 of 32");
      expect((await names(page))[0]).toBe("Acme Networks");
      const acme = page.locator("table.grid tbody tr").first();
      expect(await acme.locator('td[data-col="instances"]').textContent()).toBe(
        "View Instances (12)",
      );
      expect(await acme.locator('td[data-col="reference"]').textContent()).toBe("CRM-100");
      expect(await acme.locator('td[data-col="id"]').textContent()).toMatch(/^[0-9A-Z]{26}$/);
      await page.screenshot({ path: `${SHOTS}/customers.png` });

      await page.getByRole("button", { name: "Next" }).click();
      await poll(() => page.locator("main .range").textContent()).toBe("26–32 of 32");
      expect(await names(page)).toEqual([
        "Tenant 24",
        "Tenant 25",
        "Tenant 26",
        "Tenant 27",
        "Tenant 28",
        "Tenant 29",
        "Tenant 30",
      ]);
      expect(await page.getByRole("button", { name: "Next" }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Previous" }).click();
      await poll(() => page.locator("main .range").textContent()).toBe("1–25 of 32");
    } finally {
      await context.close();
    }
  });

  it("searches as one types", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      await page.locator("#search").pressSequentially("elan", { delay: 20 });
      await poll(() => names(page)).toEqual(["Busy Transit"]);
      expect(await total(page)).toBe("1 customer matches");
      await page.locator("#search").fill("national");
      await poll(() => names(page)).toEqual(["Acme Networks"]);
      await page.locator("#search").fill("regional fibre");
      await poll(() => total(page)).toBe("30 customers match");
      await page.locator("#search").fill("no such customer");
      await poll(() => page.locator(".empty").textContent()).toContain("No customer matches");
    } finally {
      await context.close();
    }
  });

  it("sorts by clicking column headers", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      await page.getByRole("button", { name: "Name", exact: true }).click();
      await poll(async () => (await names(page))[0]).toBe("Tenant 30");
      expect(await page.locator('th[data-key="name"]').getAttribute("aria-sort")).toBe(
        "descending",
      );
      await page.getByRole("button", { name: "Service Instances", exact: true }).click();
      await poll(() => page.locator('th[data-key="instances"]').getAttribute("aria-sort")).toBe(
        "ascending",
      );
      await poll(() => page.locator('td[data-col="instances"]').first().textContent()).toBe(
        "View Instances (0)",
      );
      await page.getByRole("button", { name: "Service Instances", exact: true }).click();
      await poll(async () => (await names(page)).slice(0, 2)).toEqual([
        "Acme Networks",
        "Busy Transit",
      ]);
      await page.getByRole("button", { name: "Reference Number", exact: true }).click();
      await poll(async () => (await names(page))[0]).toBe("Acme Networks");
    } finally {
      await context.close();
    }
  });

  it("filters with criteria, shows a filter error where it is, and saves, reuses and deletes a filter", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      await page.getByRole("button", { name: "Filters" }).click();
      await page.getByRole("button", { name: "+ Add criterion" }).click();
      await page.getByLabel("Criterion 1 field").selectOption("service_instance_count");
      await page.getByLabel("Criterion 1 operator").selectOption(">=");
      await page.getByLabel("Criterion 1 value").fill("1");
      expect(await page.locator("#filter-text").inputValue()).toBe("service_instance_count >= 1");
      await page.getByRole("button", { name: "Apply filter" }).click();
      await poll(() => names(page)).toEqual(["Acme Networks", "Busy Transit"]);

      await page.getByRole("button", { name: "+ Add criterion" }).click();
      await page.getByLabel("Criterion 2 field").selectOption("reference_number");
      await page.getByLabel("Criterion 2 operator").selectOption("ends_with");
      await page.getByLabel("Criterion 2 value").fill("101");
      expect(await page.locator("#filter-text").inputValue()).toBe(
        'service_instance_count >= 1 AND reference_number = "*101"',
      );
      await page.getByRole("button", { name: "Apply filter" }).click();
      await poll(() => names(page)).toEqual(["Busy Transit"]);

      // Saved: then cleared, then chosen again.
      await page.getByText("Saved filters").click();
      await page.locator("#saved-filter-name").fill("Busy ELANs");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await poll(() => page.locator("#saved-filter option").allTextContents()).toEqual([
        "Choose…",
        "Busy ELANs",
      ]);
      await page.getByRole("button", { name: "Clear" }).click();
      await poll(() => total(page)).toBe("32 customers");
      await page.locator("#saved-filter").selectOption({ label: "Busy ELANs" });
      await poll(() => names(page)).toEqual(["Busy Transit"]);
      expect(await page.locator("#filter-text").inputValue()).toBe(
        'service_instance_count >= 1 AND reference_number = "*101"',
      );
      await page.screenshot({ path: `${SHOTS}/filters.png` });

      // Power users edit the text; an error names its position.
      await page.locator("#filter-text").fill('nmae = "x"');
      await page.getByRole("button", { name: "Apply filter" }).click();
      await poll(() => page.locator("#filter-error").textContent()).toContain(
        'unknown field "nmae" at 1, did you mean "name"?',
      );
      expect(await page.locator(".filter-marker").textContent()).toBe('nmae = "x"\n^');
      await page.locator("#filter-text").fill('name = "Acme" extra)');
      await page.locator("#filter-text").press("Control+Enter");
      await poll(() => page.locator(".filter-marker").textContent()).toBe(
        `name = "Acme" extra)\n${" ".repeat(19)}^`,
      );
      await page.screenshot({ path: `${SHOTS}/filter-error.png` });

      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Delete", exact: true }).first().click();
      await poll(() => page.locator("#saved-filter option").allTextContents()).toEqual([
        "None saved yet",
      ]);
    } finally {
      await context.close();
    }
  });

  it("resizes, re-arranges and hides columns, and remembers the layout", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      const nameHeader = page.locator('th[data-key="name"]');
      const before = (await nameHeader.boundingBox())?.width ?? 0;
      const handle = await nameHeader.locator(".resizer").boundingBox();
      if (!handle) throw new Error("no resize handle");
      await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
      await page.mouse.down();
      await page.mouse.move(handle.x + 100, handle.y + handle.height / 2, { steps: 5 });
      await page.mouse.up();
      const after = (await nameHeader.boundingBox())?.width ?? 0;
      expect(after - before).toBeGreaterThan(90);
      expect(after - before).toBeLessThan(110);

      expect(await headers(page)).toEqual([
        "name",
        "id",
        "instances",
        "reference",
        "description",
        "created",
      ]);
      const grip = await page.locator('th[data-key="reference"] .grip').boundingBox();
      const target = await nameHeader.boundingBox();
      if (!grip || !target) throw new Error("no grip");
      await page.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
      await page.mouse.down();
      await page.mouse.move(target.x + 30, target.y + target.height / 2, { steps: 8 });
      await page.mouse.up();
      await poll(() => headers(page)).toEqual([
        "reference",
        "name",
        "id",
        "instances",
        "description",
        "created",
      ]);

      await page.getByText("Columns", { exact: true }).click();
      await page.getByRole("checkbox", { name: "Description" }).uncheck();
      await poll(() => headers(page)).toEqual(["reference", "name", "id", "instances", "created"]);
      await page.screenshot({ path: `${SHOTS}/columns.png` });

      expect(Math.abs(((await nameHeader.boundingBox())?.width ?? 0) - after)).toBeLessThan(2);
      await page.reload();
      await poll(() => headers(page)).toEqual(["reference", "name", "id", "instances", "created"]);
      const reloaded = (await page.locator('th[data-key="name"]').boundingBox())?.width ?? 0;
      expect(Math.abs(reloaded - after)).toBeLessThan(2);
    } finally {
      await context.close();
    }
  });

  it("adds a customer, showing the API's validation messages next to the fields", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      await page.getByRole("button", { name: "Add customer" }).click();
      // The form's own button, once its dialog is open: before showModal() the dialog's
      // content is not in the accessibility tree, and `.last()` of the page's "Add customer"
      // buttons was the toolbar's, behind the dialog (seen in CI: a 5 s click timeout).
      const submit = page.getByRole("dialog").getByRole("button", { name: "Add customer" });
      await submit.click();
      await poll(() => page.locator("#customer-name-error").textContent()).toBe("is required");
      await page.locator("#customer-name").fill("acme networks");
      await submit.click();
      await poll(() => page.locator("#customer-name-error").textContent()).toContain(
        "already exists",
      );
      await page.locator("#customer-name").fill("Zeta Mobile");
      await page.locator("#customer-referenceNumber").fill("CRM-900");
      await page.locator("#customer-description").fill("5G backhaul\nsecond line");
      // Read your writes: the reads after the create send the token it answered with.
      const listTokens: string[] = [];
      page.on("request", (request) => {
        if (request.url().includes("/ListCustomers")) {
          listTokens.push(request.headers()["x-consistency-token"] ?? "");
        }
      });
      const created = page.waitForResponse((r) => r.url().includes("/CreateCustomer") && r.ok());
      await submit.click();
      const token = (await created).headers()["x-consistency-token"];
      expect(token).toMatch(/^c1\./);
      await poll(() => page.locator(".notice").textContent()).toBe(" Added Zeta Mobile.");
      await poll(() => total(page)).toBe("33 customers");
      expect(listTokens).toContain(token);
      await page.locator("#search").fill("zeta");
      await poll(() => names(page)).toEqual(["Zeta Mobile"]);
    } finally {
      await context.close();
    }
  });

  it("edits a customer", async () => {
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("zeta");
      await poll(() => names(page)).toEqual(["Zeta Mobile"]);
      await page.getByRole("button", { name: "Edit Zeta Mobile" }).click();
      await page.locator("#customer-description").fill("moved to the metro ring");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await poll(() =>
        page.locator('table.grid tbody td[data-col="description"]').textContent(),
      ).toBe("moved to the metro ring");
      const { customers } = await server.clients().inventory.listCustomers({ search: "zeta" });
      expect(customers.map((c) => [c.name, c.description, c.referenceNumber])).toEqual([
        ["Zeta Mobile", "moved to the metro ring", "CRM-900"],
      ]);
    } finally {
      await context.close();
    }
  });

  it("shows a customer's history: when, who, what changed, before → after", async () => {
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("zeta");
      await poll(() => names(page)).toEqual(["Zeta Mobile"]);
      await page.getByRole("button", { name: "History of Zeta Mobile" }).click();
      const rows = page.locator("table.history tbody tr");
      await poll(() => rows.count()).toBe(2);
      // Newest first: the edit of "edits a customer", then the create of "adds a customer".
      expect(await rows.nth(0).getAttribute("data-kind")).toBe("CUSTOMER_UPDATED");
      expect(await rows.nth(0).locator("td").nth(2).textContent()).toBe("Updated");
      expect(await rows.nth(0).locator("li").allTextContents()).toEqual([
        "Description: 5G backhaul\nsecond line → moved to the metro ring",
      ]);
      expect(await rows.nth(0).locator("td").nth(1).textContent()).toBe("—");
      expect(await rows.nth(1).locator("td").nth(2).textContent()).toBe("Created");
      expect(await rows.nth(1).locator("li").first().textContent()).toBe("Name: Zeta Mobile");
      // Changes made elsewhere while the history is open appear in it (the instance goes
      // again: the tests after this one delete Zeta Mobile).
      const { inventory, instances } = server.clients();
      const { customers } = await inventory.listCustomers({ search: "zeta" });
      const { serviceInstance } = await instances.createServiceInstance({
        serviceInstance: { customerId: customers[0]?.id, name: "zeta-5g", serviceType: "L3VPN" },
      });
      await instances.deleteServiceInstance({ id: serviceInstance?.id as string });
      await poll(() => rows.count()).toBe(4);
      expect(await rows.locator("td:nth-child(3)").allTextContents()).toEqual([
        "Service instance removed",
        "Service instance added",
        "Updated",
        "Created",
      ]);
      expect(await rows.nth(0).locator("td").nth(3).textContent()).toContain("zeta-5g (L3VPN)");
      await page.screenshot({ path: `${SHOTS}/history.png` });
    } finally {
      await context.close();
    }
  });

  it("keeps each row's Edit and Delete in view at 1280 px, however wide the columns", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => names(page).then((n) => n[0])).toBe("Acme Networks");
      /** Whether the button is inside the window and the grid's visible part, and on top. */
      const reachable = async (name: string) => {
        const box = await page.getByRole("button", { name, exact: true }).boundingBox();
        const grid = await page.locator(".table-scroll").boundingBox();
        if (!box || !grid) return false;
        const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
        const onTop = await page.evaluate(
          `document.elementFromPoint(${x}, ${y})?.getAttribute("aria-label")`,
        );
        return (
          box.x >= grid.x &&
          box.x + box.width <= Math.min(grid.x + grid.width, 1280) &&
          onTop === name
        );
      };
      const scroll = page.locator(".table-scroll");
      const overflow = () =>
        scroll.evaluate((el) => ({
          scrolled: el.scrollLeft,
          hidden: el.scrollWidth > el.clientWidth,
        }));
      expect(await reachable("Edit Acme Networks")).toBe(true);
      expect(await reachable("Delete Acme Networks")).toBe(true);
      // Widen the description by 600 px: the grid now scrolls sideways, the actions stay.
      await page.getByRole("separator", { name: "Resize column Description" }).focus();
      for (let i = 0; i < 30; i++) await page.keyboard.press("ArrowRight");
      expect(await overflow()).toEqual({ scrolled: 0, hidden: true });
      expect(await reachable("Edit Acme Networks")).toBe(true);
      expect(await reachable("Delete Acme Networks")).toBe(true);
      await page.screenshot({ path: `${SHOTS}/pinned-actions.png` });
      await page.getByRole("button", { name: "Delete Acme Networks" }).click();
      await poll(() => page.getByRole("dialog").locator("h2").textContent()).toBe(
        "Delete Acme Networks?",
      );
    } finally {
      await context.close();
    }
  });

  it("refuses to delete a customer with service instances and links to them", async () => {
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("Busy Transit");
      await poll(() => names(page)).toEqual(["Busy Transit"]);
      await page.getByRole("button", { name: "Delete Busy Transit" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      const alert = page.getByRole("dialog").getByRole("alert");
      await poll(() => alert.textContent()).toContain("cannot be deleted");
      const links = alert.getByRole("link");
      // Each blocking instance by name and service type, with its id.
      await poll(() => links.allTextContents()).toEqual([
        "busy-elan-a (EVPN-ELAN)",
        "busy-elan-b (EVPN-ELAN)",
      ]);
      const ids = await alert.locator("li .mono").allTextContents();
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(id).toMatch(/^[0-9A-Z]{26}$/);
      await page.screenshot({ path: `${SHOTS}/refused-delete.png` });
      const firstBlocker = ids[0];
      await links.first().click();
      await poll(() => page.getByRole("dialog").locator("h2").textContent()).toBe(
        "Service instances of Busy Transit",
      );
      await poll(() => page.locator("tr.highlight td.mono").textContent()).toBe(firstBlocker);
      const { customers } = await server
        .clients()
        .inventory.listCustomers({ filter: 'name = "Busy Transit"' });
      expect(customers).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it("deletes a customer after confirmation", async () => {
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("zeta");
      await poll(() => names(page)).toEqual(["Zeta Mobile"]);
      await page.getByRole("button", { name: "Delete Zeta Mobile" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      await poll(() => page.locator(".notice").textContent()).toBe(" Deleted Zeta Mobile.");
      await poll(() => page.locator(".empty").textContent()).toContain("No customer matches");
    } finally {
      await context.close();
    }
  });

  it("after deleting the last row of a page, shows the page before", async () => {
    const { inventory } = server.clients();
    const temps = [];
    for (let i = 1; i <= 11; i++) {
      const { customer } = await inventory.createCustomer({
        customer: { name: `Ephemeral ${String(i).padStart(2, "0")}` },
      });
      temps.push(customer?.id ?? "");
    }
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("ephemeral");
      await poll(() => total(page)).toBe("11 customers match");
      await page.locator("main .pager select").selectOption("10");
      await page.getByRole("button", { name: "Next" }).click();
      await poll(() => names(page)).toEqual(["Ephemeral 11"]);
      await page.getByRole("button", { name: "Delete Ephemeral 11" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      await poll(() => page.locator("main .range").textContent()).toBe("1–10 of 10");
      expect(await page.locator("main .pager").textContent()).toContain("Page 1");
    } finally {
      await context.close();
      for (const id of temps.slice(0, 10)) await inventory.deleteCustomer({ id });
    }
  });

  it("views a customer's service instances, paged", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).not.toBeNull();
      await page.getByRole("link", { name: "View Instances (12)" }).click();
      const dialog = page.getByRole("dialog");
      await poll(() => dialog.locator("tbody tr").count()).toBe(10);
      expect(await dialog.locator("tbody tr").first().locator("td").allTextContents()).toEqual([
        expect.stringMatching(/^acme-vpn-\d\d$/),
        "L3VPN",
        expect.stringMatching(/\d/),
        expect.stringMatching(/^[0-9A-Z]{26}$/),
      ]);
      await page.screenshot({ path: `${SHOTS}/instances.png` });
      await dialog.getByRole("button", { name: "Next" }).click();
      await poll(() => dialog.locator("tbody tr").count()).toBe(2);
      expect(await dialog.locator(".range").textContent()).toBe("11–12 of 12");
      await page.keyboard.press("Escape");
      await poll(() => page.getByRole("dialog").count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("works with the keyboard alone", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => total(page)).toBe("32 customers");
      // Tab order: token, search, filters, saved filters, columns, add.
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      expect(await focused(page, "id")).toBe("search");
      await page.keyboard.type("transit");
      await poll(() => total(page)).toBe("1 customer matches");
      for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
      expect(await focused(page, "textContent")).toBe("Add customer");
      await page.keyboard.press("Enter");
      await poll(() => focused(page, "id")).toBe("customer-name");
      await page.keyboard.type("Keyboard Only Ltd");
      await page.keyboard.press("Enter");
      await poll(() => page.locator(".notice").textContent()).toBe(" Added Keyboard Only Ltd.");
      await poll(() => focused(page, "textContent")).toBe("Add customer");

      // A column moves with the arrow keys on its grip; a header sorts with Enter.
      await page.locator('th[data-key="id"] .grip').focus();
      await page.keyboard.press("ArrowLeft");
      await poll(() => headers(page)).toEqual([
        "id",
        "name",
        "instances",
        "reference",
        "description",
        "created",
      ]);
      await page.locator('th[data-key="name"] .sort').focus();
      await page.keyboard.press("Enter");
      await poll(() => page.locator('th[data-key="name"]').getAttribute("aria-sort")).toBe(
        "descending",
      );
    } finally {
      await context.close();
    }
  });

  it("stays live: others' creates, renames and deletes appear within a second, keeping the page and an open dialog", async () => {
    const { context, page } = await openPage();
    try {
      await poll(() => page.locator("#feed-state").textContent()).toBe("Live");
      const firstPage = await names(page);
      await page.getByRole("button", { name: "Next" }).click();
      await poll(() => page.getByText("Page 2", { exact: true }).count()).toBe(1);
      // Page 1 stays on screen while page 2 loads.
      await poll(async () => (await names(page))[0] !== firstPage[0]).toBe(true);
      const before = await names(page);
      expect(before.length).toBeGreaterThan(2);
      // Two customers of this page without service instances (those could not be deleted).
      const { customers: free } = await server
        .clients()
        .inventory.listCustomers({ filter: "service_instance_count = 0", pageSize: 1000 });
      const [renamedName = "", deletedName = ""] = before.filter((n) =>
        free.some((c) => c.name === n),
      );
      await page.getByRole("button", { name: "Add customer" }).click();
      await page.locator("#customer-name").fill("Half-typed Name");

      const { inventory } = server.clients();
      const idOf = async (name: string) =>
        (await inventory.listCustomers({ filter: `name = "${name}"` })).customers[0]?.id;
      const started = Date.now();
      await inventory.updateCustomer({
        customer: { id: await idOf(renamedName), name: `${renamedName} (renamed)` },
        updateMask: { paths: ["name"] },
      });
      await inventory.deleteCustomer({ id: await idOf(deletedName) });
      await inventory.createCustomer({ customer: { name: "Aardvark Telecom" } });
      await poll(() => names(page)).toContain(`${renamedName} (renamed)`);
      expect(await names(page)).not.toContain(deletedName);
      expect(Date.now() - started).toBeLessThan(1_500);
      // Still on page 2, the dialog still open with what was typed.
      expect(await page.getByText("Page 2", { exact: true }).count()).toBe(1);
      expect(await page.locator("dialog[open]").count()).toBe(1);
      expect(await page.locator("#customer-name").inputValue()).toBe("Half-typed Name");
      await page.keyboard.press("Escape");
      // The new customer sorts first: it is on page 1.
      await page.getByRole("button", { name: "Previous" }).click();
      await poll(() => names(page).then((n) => n[0])).toBe("Aardvark Telecom");
    } finally {
      await context.close();
    }
  });

  it("exports what the grid shows as CSV", async () => {
    const { context, page } = await openPage();
    try {
      await page.locator("#search").fill("tenant");
      // The searched page is in (the total of the page before stays while it loads).
      await poll(async () => {
        const shown = await names(page);
        return shown.length > 0 && shown.every((n) => n.toLowerCase().includes("tenant"));
      }).toBe(true);
      await poll(() => page.getByText("Loading…").count()).toBe(0);
      const shown = Number((await total(page))?.split(" ")[0]);
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export CSV" }).click(),
      ]);
      const text = readFileSync((await download.path()) as string, "utf8");
      const rows = parse(text, { columns: true }) as Record<string, string>[];
      expect(Object.keys(rows[0] ?? {})).toEqual([
        "id",
        "name",
        "reference_number",
        "description",
        "service_instance_count",
        "create_time",
        "update_time",
      ]);
      expect(rows).toHaveLength(shown);
      expect(rows.every((r) => r.name?.toLowerCase().includes("tenant"))).toBe(true);
      const exported = rows.map((r) => r.name ?? "");
      expect(exported).toEqual(
        [...exported].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)),
      );
    } finally {
      await context.close();
    }
  });

  it("imports a CSV: a dry-run preview naming bad rows by line, then the import and its summary", async () => {
    const { context, page } = await openPage();
    try {
      await page.getByRole("button", { name: "Import CSV" }).click();
      const csv = (body: string) => ({
        name: "import.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(body),
      });
      await page
        .locator("#import-file")
        .setInputFiles(csv("name,reference_number\nImported One,IMP-1\n,IMP-2\n"));
      await poll(() => page.locator("#import-problems li").allTextContents()).toEqual([
        "Line 3: name: is required",
      ]);
      expect(await page.getByRole("button", { name: /^Import \d+ rows$/ }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Choose another file" }).click();
      await page
        .locator("#import-file")
        .setInputFiles(
          csv('description,name\n"first, with a comma",Imported One\nsecond,Imported Two\n'),
        );
      await poll(() => page.locator("#import-summary").textContent()).toBe(
        "2 rows: 2 would be created, 0 updated, 0 unchanged.",
      );
      await page.getByRole("button", { name: "Import 2 rows" }).click();
      await poll(() => page.locator("#import-done").textContent()).toBe(
        "Imported: 2 were created, 0 updated, 0 unchanged.",
      );
      await page.getByRole("button", { name: "Close" }).last().click();
      await page.locator("#search").fill("imported");
      await poll(() => names(page)).toEqual(["Imported One", "Imported Two"]);
    } finally {
      await context.close();
    }
  });

  it("fits a narrow window: the page does not overflow, the table scrolls inside", async () => {
    const { context, page } = await openPage({ width: 400, height: 800 });
    try {
      await poll(() => page.locator("#total").count()).toBe(1);
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth",
      );
      expect(overflow).toBeLessThanOrEqual(0);
      const scroller = await page
        .locator(".table-scroll")
        .evaluate((el) => el.scrollWidth > el.clientWidth);
      expect(scroller).toBe(true);
      await page.screenshot({ path: `${SHOTS}/narrow.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });
});

describe.skipIf(!chromiumPath)("the Customer Inventory page with authentication", () => {
  const idp = createTestIssuer("an-e2e-test-secret-of-32-characters!");
  let authServer: TestServer;
  const tokenFor = (role: string) => idp.sign({ sub: `${role}-user`, role }, { expiresIn: "10m" });

  beforeAll(async () => {
    authServer = await startTestServer({
      staticSite: await siteOrFail(),
      authenticator: createJwtAuthenticator({
        key: idp.key,
        issuer: idp.issuer,
        audience: idp.audience,
      }),
    });
    await authServer
      .clients()
      .inventory.createCustomer(
        { customer: { name: "Guarded Co" } },
        { headers: { authorization: `Bearer ${await tokenFor("editor")}` } },
      );
  });
  afterAll(() => authServer?.close());

  async function signIn(page: Page, role: string) {
    await page.getByText("Access token", { exact: true }).click();
    await page.locator("#token").fill(await tokenFor(role));
    await page.getByRole("button", { name: "Use token" }).click();
  }

  it("asks for a token, then shows a viewer no edit buttons and an editor all", async () => {
    const { context, page } = await openPage({ url: authServer.baseUrl });
    try {
      await poll(() => page.getByRole("alert").textContent()).toContain(
        "needs a valid access token",
      );
      await signIn(page, "viewer");
      await poll(() => names(page)).toEqual(["Guarded Co"]);
      expect(await page.getByText("Signed in (viewer)").count()).toBe(1);
      expect(await page.getByRole("button", { name: "Add customer" }).count()).toBe(0);
      expect(await page.getByRole("button", { name: /^Edit / }).count()).toBe(0);
      expect(await page.getByRole("button", { name: /^Delete / }).count()).toBe(0);
      await page.screenshot({ path: `${SHOTS}/viewer.png` });

      await page.getByText("Signed in (viewer)").click();
      await page.getByRole("button", { name: "Forget token" }).click();
      await signIn(page, "editor");
      await poll(() => page.getByRole("button", { name: "Edit Guarded Co" }).count()).toBe(1);
      expect(await page.getByRole("button", { name: "Add customer" }).count()).toBe(1);
    } finally {
      await context.close();
    }
  });
});
