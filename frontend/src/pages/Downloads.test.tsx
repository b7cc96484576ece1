// The download log: filters from the URL go to the server, and the CSV export
// asks for the same rows.
import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Download } from "../api/client";
import { admin, mockApi, page, renderAs } from "../test-api";
import { DownloadsPage } from "./Downloads";

afterEach(() => vi.restoreAllMocks());

const event: Download = {
  id: "e1",
  at: 1_700_000_000,
  repo: "acme/app",
  reference: "v1",
  digest: `sha256:${"a".repeat(64)}`,
  user_id: "u1",
  user_email: "ci@acme.example",
  customer_id: "c1",
  ip: "192.0.2.1",
  user_agent: "skopeo/1.13",
  country: "DE",
  colo: "FRA",
  child: false,
  bundle_id: null,
};

test("the URL's filters go to the server and into the CSV link", async () => {
  history.replaceState(null, "", "/downloads?artifact=acme/app&customer_id=c1&from=2026-11-01&to=2026-11-02");
  const calls = mockApi((call) => {
    if (call.path === "/api/v1/downloads") return page([event]);
    if (call.path === "/api/v1/customers") return page([{ id: "c1", name: "Acme", contact: "", notes: "", created_at: 1 }]);
  });
  renderAs(admin, <DownloadsPage />);
  expect(await screen.findByText("ci@acme.example")).toBeTruthy();
  const row = screen.getByText("ci@acme.example").closest("tr")!;
  await waitFor(() => expect(within(row).getByText("Acme")).toBeTruthy());
  const asked = calls.find((c) => c.path === "/api/v1/downloads")!.query;
  const from = Date.UTC(2026, 10, 1) / 1000;
  const to = Date.UTC(2026, 10, 3) / 1000;
  expect(Object.fromEntries(["artifact", "customer_id", "from", "to"].map((k) => [k, asked.get(k)]))).toEqual({
    artifact: "acme/app",
    customer_id: "c1",
    from: String(from),
    to: String(to),
  });
  const csv = new URL(screen.getByRole("link", { name: "Export CSV" }).getAttribute("href")!, location.origin);
  expect(csv.pathname).toBe("/api/v1/downloads.csv");
  expect(Object.fromEntries(csv.searchParams)).toEqual({ artifact: "acme/app", customer_id: "c1", from: String(from), to: String(to) });
});

test("a version downloaded in a bundle is marked so", async () => {
  history.replaceState(null, "", "/downloads");
  mockApi((call) => {
    if (call.path === "/api/v1/downloads") return page([{ ...event, bundle_id: "b1" }]);
    if (call.path === "/api/v1/customers") return page([]);
  });
  renderAs(admin, <DownloadsPage />);
  expect((await screen.findByTitle("bundle b1")).textContent).toBe(" (bundle)");
});
