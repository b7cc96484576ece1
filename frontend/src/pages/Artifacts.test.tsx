// The artifact list asks the server to search, sort and page; it never does so itself. An artifact whose
// upstream failed is marked.
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Artifact } from "../api/client";
import { admin, mockApi, page, renderAs } from "../test-api";
import { ArtifactsPage } from "./Artifacts";

beforeEach(() => history.replaceState(null, "", "/artifacts"));
afterEach(() => vi.restoreAllMocks());

const artifact = (name: string): Artifact => ({
  name,
  type: "helm_chart",
  created_at: 1,
  last_push: 1,
  last_pull: null,
  pulls: 3,
  users: 2,
  customers: 1,
});

test("search and sort go to the server, and Next sends its cursor", async () => {
  const calls = mockApi((call) => {
    if (call.path !== "/api/v1/artifacts") return undefined;
    return call.query.get("cursor") ? page([artifact("acme/zeta")]) : page([artifact("acme/chart")], "3|acme/chart");
  });
  renderAs(admin, <ArtifactsPage />);
  expect(await screen.findByText("acme/chart")).toBeTruthy();
  expect(screen.getByText("Helm chart")).toBeTruthy();

  fireEvent.change(screen.getByLabelText("Sort by"), { target: { value: "pulls" } });
  fireEvent.change(screen.getByPlaceholderText("Search artifacts"), { target: { value: "acme" } });
  await waitFor(() => expect(calls.at(-1)?.query.get("q")).toBe("acme"));
  expect(calls.at(-1)?.query.get("sort")).toBe("pulls");
  expect(location.search).toContain("q=acme");

  await screen.findByText("acme/chart");
  fireEvent.click(await screen.findByRole("button", { name: "Next →" }));
  expect(await screen.findByText("acme/zeta")).toBeTruthy();
  expect(calls.at(-1)?.query.get("cursor")).toBe("3|acme/chart");
});

test("a customer's list has no users or customers columns", async () => {
  mockApi((call) => (call.path === "/api/v1/artifacts" ? page([artifact("acme/chart")]) : undefined));
  renderAs({ ...admin, role: "customer", customer_id: "c1" }, <ArtifactsPage base="/portal" title="My artifacts" />);
  expect(await screen.findByRole("link", { name: "acme/chart" })).toHaveProperty("pathname", "/portal/acme/chart");
  expect(screen.queryByText("Customers")).toBeNull();
});

test("an artifact whose upstream failed is marked", async () => {
  const failing = { ...artifact("acme/mirror"), upstream_failed_at: 1_700_000_500 };
  mockApi((call) => (call.path === "/api/v1/artifacts" ? page([failing, artifact("acme/chart")]) : undefined));
  renderAs({ ...admin, role: "read_only" }, <ArtifactsPage />);
  const marker = await screen.findByText("Upstream failing");
  expect(marker.closest("tr")?.textContent).toContain("acme/mirror");
  expect(screen.getAllByText("Upstream failing")).toHaveLength(1);
});
