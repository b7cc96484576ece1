// The customer portal: beside its artifacts, a customer sees its own licenses —
// when each expires and whether it keeps the versions released before — without
// links to the vendor's editor.
import { screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { License } from "../api/client";
import { admin, mockApi, page, renderAs, uncapped } from "../test-api";
import { PortalPage } from "./Portal";

afterEach(() => vi.restoreAllMocks());

const customer = { ...admin, id: "u-c", email: "dev@acme.example", role: "customer" as const, customer_id: "c1" };
const expired: License = {
  id: "l1",
  name: "Acme 2029",
  customer_id: "c1",
  expires_at: Date.UTC(2029, 11, 31, 23, 59, 59) / 1000,
  expiry_policy: "keep_released",
  ...uncapped,
  created_at: 1,
  items: [{ artifact: "acme/app", all_versions: true }],
};
const revoked: License = { ...expired, id: "l2", name: "Acme trial", expiry_policy: "revoke" };

test("a customer sees its licenses, their expiry and what an expired one keeps", async () => {
  vi.spyOn(Date, "now").mockReturnValue(Date.UTC(2031, 0, 1));
  mockApi((call) => {
    if (call.path === "/api/v1/artifacts") return page([]);
    if (call.path === "/api/v1/licenses") return page([expired, revoked]);
  });
  renderAs(customer, <PortalPage />);
  const kept = (await screen.findByText("Acme 2029")).closest("tr")!;
  expect(within(kept).getByText(/Expired/)).toBeTruthy();
  expect(within(kept).getByText(/keeps versions released before/)).toBeTruthy();
  expect(within(kept).queryByRole("link")).toBeNull();
  const trial = screen.getByText("Acme trial").closest("tr")!;
  expect(within(trial).getByText(/Expired/)).toBeTruthy();
  expect(within(trial).queryByText(/keeps versions/)).toBeNull();
});
