// The dashboard: each customer's standing counted by status, its artifacts folded
// away unless one customer is asked for.
import { screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { CustomerDashboard } from "../api/client";
import { admin, mockApi, page, renderAs } from "../test-api";
import { DashboardPage } from "./Dashboard";

beforeEach(() => history.replaceState(null, "", "/dashboard"));
afterEach(() => vi.restoreAllMocks());

const pull = { at: 1_700_000_000, reference: "v1", digest: `sha256:${"a".repeat(64)}` };
const newest = { tag: "v2", digest: `sha256:${"b".repeat(64)}`, at: 1_700_000_000 };
const acme: CustomerDashboard = {
  customer_id: "c1",
  customer_name: "Acme",
  artifacts: [
    { artifact: "acme/app", last_pull: pull, newest, status: "behind" },
    { artifact: "acme/chart", last_pull: null, newest, status: "no_pulls" },
    { artifact: "acme/db", last_pull: { ...pull, digest: newest.digest }, newest, status: "up_to_date" },
  ],
};
const globex: CustomerDashboard = { customer_id: "c2", customer_name: "Globex", artifacts: [] };

function server() {
  return mockApi((call) => {
    if (call.path === "/api/v1/dashboard") return page(call.query.get("customer_id") ? [acme] : [acme, globex]);
    if (call.path === "/api/v1/downloads/daily") return { body: { days: [{ day: 1_700_000_000 - (1_700_000_000 % 86_400), pulls: 4 }] } };
    if (call.path === "/api/v1/customers") return page([]);
  });
}

test("each customer is summed up by status, its artifacts folded away", async () => {
  const calls = server();
  renderAs(admin, <DashboardPage />);
  const summary = await screen.findByText(/3 licensed artifacts/);
  expect(summary.textContent).toBe("3 licensed artifacts: 1 up to date1 behind1 no pulls");
  expect(summary.closest("details")?.open).toBe(false);
  expect(screen.getByText("No live license.")).toBeTruthy();
  expect(calls.find((c) => c.path === "/api/v1/dashboard")?.query.get("days")).toBe("30");
});

test("asked for one customer, its artifacts are shown", async () => {
  history.replaceState(null, "", "/dashboard?customer_id=c1&days=90");
  const calls = server();
  renderAs(admin, <DashboardPage />);
  const summary = await screen.findByText(/3 licensed artifacts/);
  expect(summary.closest("details")?.open).toBe(true);
  const asked = calls.find((c) => c.path === "/api/v1/dashboard")!.query;
  expect([asked.get("customer_id"), asked.get("days")]).toEqual(["c1", "90"]);
  expect(screen.getByRole("link", { name: "acme/app" })).toBeTruthy();
});
