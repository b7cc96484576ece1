// Vendor users: an admin creates one with a role and password and may delete any
// account but its own; the server's refusal is shown in its words.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { User } from "../api/client";
import { admin, mockApi, page, problem, renderAs } from "../test-api";
import { UsersPage } from "./Users";

afterEach(() => vi.restoreAllMocks());

const me: User = { ...admin, created_at: 1 };
const other: User = { id: "u2", email: "ops@vendor.example", role: "read_only", customer_id: null, created_at: 1 };

function server() {
  return mockApi((call) => {
    if (call.path === "/api/v1/users" && call.method === "GET") return page([me, other]);
    if (call.method === "POST") {
      const email = (call.body as { email: string }).email;
      return email === "taken@vendor.example" ? problem(409, "an account with this email exists") : { status: 201, body: other };
    }
  });
}

async function createUser(email: string) {
  const form = await screen.findByRole("form", { name: "New user" });
  fireEvent.change(within(form).getByLabelText("Email"), { target: { value: email } });
  fireEvent.change(within(form).getByLabelText("Role"), { target: { value: "read_write" } });
  fireEvent.change(within(form).getByLabelText("Password"), { target: { value: "a-long-password" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create user" }));
}

test("a new user goes to the server with its role and password", async () => {
  const calls = server();
  renderAs(admin, <UsersPage />);
  await createUser("new@vendor.example");
  await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({ email: "new@vendor.example", role: "read_write", password: "a-long-password" });
});

test("a refused user is explained, and the admin cannot delete itself", async () => {
  server();
  renderAs(admin, <UsersPage />);
  await createUser("taken@vendor.example");
  expect((await screen.findByRole("alert")).textContent).toBe("an account with this email exists");
  const mine = screen.getByText(admin.email).closest("tr")!;
  const theirs = screen.getByText(other.email).closest("tr")!;
  expect(within(mine).queryByRole("button", { name: "Delete" })).toBeNull();
  expect(within(theirs).getByRole("button", { name: "Delete" })).toBeTruthy();
});
