// The sessions section: both kinds listed, the one in use marked, a revoke sent by id.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import { admin, mockApi, page, renderAs, type Call } from "../test-api";
import { SessionsSection } from "./Sessions";

const base = { user_id: admin.id, created_at: 1, expires_at: 2_000_000_000, last_used_at: null, address: "192.0.2.7" };
const web = { ...base, id: "s-web", kind: "dashboard" as const, user_agent: "Firefox/140", current: true };
const cli = { ...base, id: "s-cli", kind: "refresh" as const, user_agent: "docker/28.0", current: false };

afterEach(() => vi.restoreAllMocks());

test("sessions of both kinds are listed, and one is revoked by its id", async () => {
  let revoked = false;
  const calls = mockApi((call: Call) => {
    if (call.method === "DELETE" && call.path === "/api/v1/sessions/s-cli") {
      revoked = true;
      return { status: 204 };
    }
    if (call.path === "/api/v1/sessions") return page(revoked ? [web] : [web, cli]);
  });
  renderAs(admin, <SessionsSection />);
  const row = (await screen.findByText("docker/28.0")).closest("tr") as HTMLElement;
  expect(within(row).getByText("Refresh token")).toBeTruthy();
  expect(screen.getByText("(this session)").closest("tr")?.textContent).toContain("Firefox/140");

  fireEvent.click(within(row).getByRole("button", { name: "Revoke" }));
  const dialog = screen.getByRole("dialog", { hidden: true, name: /Revoke this refresh token/ });
  fireEvent.click(within(dialog).getByRole("button", { name: "Revoke", hidden: true }));
  await waitFor(() => expect(screen.queryByText("docker/28.0")).toBeNull());
  expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/sessions/s-cli")).toBe(true);
});
