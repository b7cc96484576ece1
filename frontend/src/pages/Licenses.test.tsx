// The license editor: tags ticked in the tag picker go to the server as `tags`,
// digests already licensed are kept as `digests`, and refusals are shown.
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import { admin, mockApi, page, problem, renderAs, type Answer, type Call, uncapped } from "../test-api";
import { LicenseEditPage, LicensesPage } from "./Licenses";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const acme = { id: "c1", name: "Acme", contact: "", notes: "", created_at: 1 };
const app = { name: "acme/app", type: "container_image", created_at: 1, last_push: 1, last_pull: null, pulls: 0, users: 0, customers: 0 };
const v100 = { tag: "v1.0.0", digest: digest("a"), updated_at: 1 };
const v110 = { tag: "v1.1.0", digest: digest("b"), updated_at: 2 };
const stored = { id: "l1", name: "Acme production", customer_id: "c1", expires_at: null, expiry_policy: "revoke", ...uncapped, created_at: 1, items: [{ artifact: "acme/app", digests: [digest("a")] }] };

/** The server: one customer, one artifact with two tags on two pages; `write` answers POST and PUT. */
function server(write: (call: Call) => Answer) {
  return mockApi((call) => {
    if (call.method !== "GET") return write(call);
    if (call.path === "/api/v1/customers") return page([acme]);
    if (call.path === "/api/v1/artifacts") return page([app]);
    if (call.path === "/api/v1/licenses/l1") return { body: stored };
    if (call.path === "/api/v1/artifacts/acme/app/tags") return call.query.get("cursor") ? page([v110]) : page([v100], "next");
  });
}

afterEach(() => vi.restoreAllMocks());

async function fillNewLicense() {
  renderAs(admin, <LicenseEditPage id={null} />);
  fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Acme production" } });
  await screen.findByText("Acme");
  fireEvent.change(screen.getByLabelText("Customer"), { target: { value: "c1" } });
  await screen.findByText("acme/app");
  fireEvent.change(screen.getByLabelText("Artifact"), { target: { value: "acme/app" } });
  fireEvent.click(screen.getByLabelText("Chosen versions"));
  fireEvent.click(await screen.findByLabelText("v1.0.0"));
}

test("tags chosen in the tag picker, across pages, are sent as tags; expiry is the day's end in UTC", async () => {
  const calls = server(() => ({ status: 201, body: { ...stored, items: [] } }));
  await fillNewLicense();
  fireEvent.change(screen.getByLabelText("Expires"), { target: { value: "2030-06-30" } });
  fireEvent.click(screen.getByRole("button", { name: "Load more tags" }));
  fireEvent.click(await screen.findByLabelText("v1.1.0"));
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
  expect(calls.find((c) => c.method === "POST")).toMatchObject({
    path: "/api/v1/licenses",
    body: {
      name: "Acme production",
      customer_id: "c1",
      expires_at: Date.UTC(2030, 5, 30, 23, 59, 59) / 1000,
      items: [{ artifact: "acme/app", tags: ["v1.0.0", "v1.1.0"] }],
    },
  });
});

test("the server's problem detail is shown when it refuses the license", async () => {
  server(() => problem(400, "unknown tag v1.0.0 of acme/app"));
  await fillNewLicense();
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  expect(await screen.findByRole("alert")).toHaveProperty("textContent", "unknown tag v1.0.0 of acme/app");
});

test("an edited license keeps its digests and adds newly ticked tags", async () => {
  const calls = server((call) => ({ body: call.body }));
  renderAs(admin, <LicenseEditPage id="l1" />);
  expect(await screen.findByLabelText("v1.0.0")).toHaveProperty("checked", true);
  fireEvent.click(screen.getByRole("button", { name: "Load more tags" }));
  fireEvent.click(await screen.findByLabelText("v1.1.0"));
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
  expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({
    items: [
      { artifact: "acme/app", digests: [digest("a")] },
      { artifact: "acme/app", tags: ["v1.1.0"] },
    ],
  });
});

test("a read-only user sees the form disabled and no save button", async () => {
  server(() => problem(403, "not allowed"));
  renderAs({ ...admin, role: "read_only" }, <LicenseEditPage id="l1" />);
  expect((await screen.findByLabelText("Name")).matches(":disabled")).toBe(true);
  expect(screen.queryByRole("button", { name: "Save license" })).toBeNull();
});

test("the artifact picker asks the server to search by name", async () => {
  const calls = server(() => ({ status: 201, body: stored }));
  renderAs(admin, <LicenseEditPage id={null} />);
  await screen.findByText("acme/app");
  fireEvent.change(screen.getByPlaceholderText("Find artifact by name"), { target: { value: "app" } });
  await waitFor(() => expect(calls.some((c) => c.path === "/api/v1/artifacts" && c.query.get("q") === "app")).toBe(true));
});

test("the items of one license share the artifact list: each page is asked for once", async () => {
  const calls = server(() => ({ status: 201, body: stored }));
  renderAs(admin, <LicenseEditPage id={null} />);
  await screen.findByText("acme/app");
  fireEvent.click(screen.getByRole("button", { name: "Add artifact" }));
  fireEvent.click(screen.getByRole("button", { name: "Add artifact" }));
  await waitFor(() => expect(screen.getAllByLabelText("Artifact")).toHaveLength(3));
  for (const select of screen.getAllByLabelText("Artifact")) await waitFor(() => expect(select.textContent).toContain("acme/app"));
  expect(calls.filter((c) => c.path === "/api/v1/artifacts")).toHaveLength(1);
});

test("chosen versions with none ticked are refused before anything is sent", async () => {
  const calls = server(() => ({ status: 201, body: stored }));
  await fillNewLicense();
  fireEvent.click(screen.getByLabelText("v1.0.0"));
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  expect((await screen.findByRole("alert")).textContent).toContain("Choose at least one version of acme/app");
  expect(calls.some((c) => c.method !== "GET")).toBe(false);
});

test("the list filters by customer on the server and names each license's customer", async () => {
  history.replaceState(null, "", "/licenses?customer_id=c1");
  const calls = mockApi((call) => {
    if (call.path === "/api/v1/customers") return page([acme]);
    if (call.path === "/api/v1/licenses") return page([stored]);
  });
  renderAs(admin, <LicensesPage />);
  expect(await screen.findByRole("link", { name: "Acme" })).toHaveProperty("pathname", "/customers/c1");
  expect(calls.find((c) => c.path === "/api/v1/licenses")?.query.get("customer_id")).toBe("c1");
  history.replaceState(null, "", "/");
});

test("the expiry policy is chosen in the editor, sent, and kept when a license is edited", async () => {
  const calls = server(() => ({ status: 201, body: { ...stored, items: [] } }));
  await fillNewLicense();
  const policy = screen.getByLabelText("After it expires") as HTMLSelectElement;
  expect(policy.value).toBe("revoke");
  fireEvent.change(policy, { target: { value: "keep_released" } });
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ expiry_policy: "keep_released" }));
});

test("an edited license shows its expiry policy and keeps it when saved", async () => {
  const keeping = { ...stored, expiry_policy: "keep_released" };
  const calls = mockApi((call) => {
    if (call.method === "PUT") return { body: keeping };
    if (call.path === "/api/v1/licenses/l1") return { body: keeping };
    if (call.path === "/api/v1/customers") return page([acme]);
    if (call.path === "/api/v1/artifacts") return page([app]);
    if (call.path === "/api/v1/artifacts/acme/app/tags") return page([v100]);
  });
  renderAs(admin, <LicenseEditPage id="l1" />);
  const policy = (await screen.findByLabelText("After it expires")) as HTMLSelectElement;
  expect(policy.value).toBe("keep_released");
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({ expiry_policy: "keep_released" }));
});

test("the license list says which licenses keep released versions after expiry", async () => {
  mockApi((call) => {
    if (call.path === "/api/v1/customers") return page([acme]);
    if (call.path === "/api/v1/licenses") return page([stored, { ...stored, id: "l2", name: "Acme perpetual", expires_at: 2, expiry_policy: "keep_released" }]);
  });
  renderAs(admin, <LicensesPage />);
  const perpetual = (await screen.findByText("Acme perpetual")).closest("tr")!;
  expect(perpetual.textContent).toMatch(/Expired .* keeps versions released before/);
  expect(screen.getByText("Acme production").closest("tr")!.textContent).not.toMatch(/keeps versions/);
});

test("caps are entered in the editor and sent; empty means no cap", async () => {
  const calls = server(() => ({ status: 201, body: { ...stored, items: [] } }));
  await fillNewLicense();
  fireEvent.change(screen.getByLabelText("Pulls per month"), { target: { value: "3" } });
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ max_pulls_per_month: 3, max_bytes_per_month: null }));
});

test("an edited license shows this month's usage against its caps and keeps the caps when saved", async () => {
  const capped = { ...stored, max_pulls_per_month: 3, max_bytes_per_month: 2048, usage: { month: "2026-12", pulls: 3, bytes: 1024 } };
  const calls = mockApi((call) => {
    if (call.method === "PUT") return { body: capped };
    if (call.path === "/api/v1/licenses/l1") return { body: capped };
    if (call.path === "/api/v1/customers") return page([acme]);
    if (call.path === "/api/v1/artifacts") return page([app]);
    if (call.path === "/api/v1/artifacts/acme/app/tags") return page([v100]);
  });
  renderAs(admin, <LicenseEditPage id="l1" />);
  const usage = await screen.findByLabelText("Usage this month");
  expect(usage.textContent).toBe("Usage in 2026-12: 3 of 3 pulls, 1.0 KiB of 2.0 KiB Cap reached");
  expect((screen.getByLabelText("Pulls per month") as HTMLInputElement).value).toBe("3");
  fireEvent.click(screen.getByRole("button", { name: "Save license" }));
  await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({ max_pulls_per_month: 3, max_bytes_per_month: 2048 }));
});
