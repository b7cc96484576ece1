// Customers: an admin creates one; a customer's page lists its users (created as
// customer users) and its licenses, and links to its downloads and dashboard.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Customer, License } from "../api/client";
import { admin, mockApi, page, problem, renderAs, uncapped } from "../test-api";
import { CustomerPage, CustomersPage } from "./Customers";

afterEach(() => vi.restoreAllMocks());

const acme: Customer = { id: "c1", name: "Acme", contact: "ops@acme.example", notes: "", created_at: 1 };
const license: License = { id: "l1", name: "Acme production", customer_id: "c1", expires_at: null, expiry_policy: "revoke", ...uncapped, created_at: 1, items: [{ artifact: "acme/app", all_versions: true }] };

function server() {
  return mockApi((call) => {
    if (call.method === "POST") return { status: 201, body: call.path.endsWith("/users") ? { id: "u9", role: "customer" } : acme };
    if (call.path === "/api/v1/customers") return page([]);
    if (call.path === "/api/v1/customers/c1") return { body: acme };
    if (call.path === "/api/v1/customers/c1/users") return page([]);
    if (call.path === "/api/v1/licenses") return page(call.query.get("customer_id") === "c1" ? [license] : []);
  });
}

test("an admin creates a customer with its name, contact and notes", async () => {
  const calls = server();
  renderAs(admin, <CustomersPage />);
  expect(await screen.findByText("No customers yet.")).toBeTruthy();
  const form = screen.getByRole("form", { name: "New customer" });
  fireEvent.change(within(form).getByLabelText("Name"), { target: { value: " Acme " } });
  fireEvent.change(within(form).getByLabelText("Contact"), { target: { value: "ops@acme.example" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create customer" }));
  await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "Acme", contact: "ops@acme.example", notes: "" }));
});

test("a read-only user sees customers but no create form", async () => {
  server();
  renderAs({ ...admin, role: "read_only" }, <CustomersPage />);
  await screen.findByText("No customers yet.");
  expect(screen.queryByRole("form", { name: "New customer" })).toBeNull();
});

test("a customer's page: its licenses, links, and new users made as customer users", async () => {
  const calls = server();
  renderAs(admin, <CustomerPage id="c1" />);
  expect(await screen.findByRole("heading", { name: "Acme" })).toBeTruthy();
  expect(await screen.findByText("Acme production")).toBeTruthy();
  expect(screen.getByRole("link", { name: "Downloads" }).getAttribute("href")).toBe("/downloads?customer_id=c1");
  const form = screen.getByRole("form", { name: "New user" });
  expect(within(form).queryByLabelText("Role")).toBeNull();
  fireEvent.change(within(form).getByLabelText("Email"), { target: { value: "ci@acme.example" } });
  fireEvent.change(within(form).getByLabelText("Password"), { target: { value: "a-long-password" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create user" }));
  await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
  const post = calls.find((c) => c.method === "POST")!;
  expect([post.path, post.body]).toEqual(["/api/v1/customers/c1/users", { email: "ci@acme.example", password: "a-long-password", role: "customer" }]);
});

test("deleting a customer asks first; a refusal is shown, a success reloads the list", async () => {
  let refuse = true;
  const calls = mockApi((call) => {
    if (call.method === "DELETE") return refuse ? problem(409, "customer in use") : { status: 204 };
    if (call.path === "/api/v1/customers") return page([acme]);
  });
  renderAs(admin, <CustomersPage />);
  await screen.findByRole("link", { name: "Acme" });
  const confirm = () => {
    fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    const dialog = screen.getByRole("dialog", { name: /^Delete Acme\?/, hidden: true });
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete", hidden: true }));
  };
  confirm();
  expect((await screen.findByRole("alert")).textContent).toBe("customer in use");
  refuse = false;
  const listed = calls.filter((c) => c.path === "/api/v1/customers").length;
  confirm();
  await waitFor(() => expect(calls.filter((c) => c.path === "/api/v1/customers").length).toBe(listed + 1));
  expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/v1/customers/c1", "/api/v1/customers/c1"]);
});
