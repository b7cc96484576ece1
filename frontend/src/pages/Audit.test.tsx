// The audit log: the URL's filters go to the server and into the CSV link, and each
// event shows who did what to which path with what outcome.
import { screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { AuditEvent } from "../api/client";
import { admin, mockApi, page, renderAs } from "../test-api";
import { AuditPage } from "./Audit";

afterEach(() => vi.restoreAllMocks());

const event: AuditEvent = {
  id: "a1",
  at: 1_700_000_000,
  actor_id: "u1",
  actor_email: "ops@vendor.example",
  role: "read_write",
  action: "DELETE",
  target: "/api/v1/artifacts/acme%2Fapp/tags/v1",
  status: 400,
  address: "192.0.2.1",
  user_agent: "curl/8.5",
};

test("filters go to the server and the CSV link; an event shows actor, action, target and status", async () => {
  history.replaceState(null, "", "/audit?action=DELETE&target=/api/v1/artifacts&from=2026-11-01");
  const calls = mockApi((call) => {
    if (call.path === "/api/v1/audit") return page([event]);
  });
  renderAs(admin, <AuditPage />);
  const row = (await screen.findByText("ops@vendor.example")).closest("tr")!;
  expect(within(row).getByText("DELETE")).toBeTruthy();
  expect(within(row).getByText(event.target)).toBeTruthy();
  expect(within(row).getByText("400")).toBeTruthy();
  const asked = calls.find((c) => c.path === "/api/v1/audit")!.query;
  const from = String(Date.UTC(2026, 10, 1) / 1000);
  expect([asked.get("action"), asked.get("target"), asked.get("from")]).toEqual(["DELETE", "/api/v1/artifacts", from]);
  const csv = new URL(screen.getByRole("link", { name: "Export CSV" }).getAttribute("href")!, location.origin);
  expect(csv.pathname).toBe("/api/v1/audit.csv");
  expect(Object.fromEntries(csv.searchParams)).toEqual({ action: "DELETE", target: "/api/v1/artifacts", from });
});
