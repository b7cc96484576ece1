// The tokens page: a new token's secret is shown once, with the login commands.
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import { mockApi, page, renderAs, type Call } from "../test-api";
import { TokensPage } from "./Tokens";

const customer = { id: "u-cust", email: "dev@acme.example", role: "customer" as const, customer_id: "c1" };
const secret = `tgpat_${"x".repeat(43)}`;
const token = { id: "t1", user_id: customer.id, name: "CI", created_at: 1, expires_at: null, last_used_at: null, revoked_at: null };

afterEach(() => vi.restoreAllMocks());

function server() {
  let created = false;
  return mockApi((call: Call) => {
    if (call.method === "POST" && call.path === "/api/v1/tokens") {
      created = true;
      return { status: 201, body: { token, secret } };
    }
    if (call.path === "/api/v1/tokens") return page(created ? [token] : []);
    if (call.path === "/api/v1/sessions") return page([]);
  });
}

test("the new token's secret appears once, with the docker login command", async () => {
  const calls = server();
  renderAs(customer, <TokensPage />);
  expect(await screen.findByText("No tokens yet.")).toBeTruthy();
  fireEvent.change(screen.getByLabelText("Name"), { target: { value: "CI" } });
  fireEvent.change(screen.getByLabelText("Expires in (days)"), { target: { value: "30" } });
  fireEvent.click(screen.getByRole("button", { name: "Create token" }));

  const login = `docker login ${location.host} -u dev@acme.example -p ${secret}`;
  expect(await screen.findByText(login)).toBeTruthy();
  expect(screen.getByText(/will not be shown again/)).toBeTruthy();
  const expires = (calls.find((c) => c.method === "POST")?.body as { expires_at: number }).expires_at;
  expect(expires - Date.now() / 1000).toBeCloseTo(30 * 24 * 3600, -2);
  await screen.findByRole("button", { name: "Revoke" });

  fireEvent.click(screen.getByRole("button", { name: "Done" }));
  await waitFor(() => expect(screen.queryByText(login)).toBeNull());
  expect(document.body.textContent).not.toContain(secret);
});
