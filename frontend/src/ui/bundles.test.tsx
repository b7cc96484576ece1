// The "Download bundle" form: everything licensed or named versions, for the
// signed-in customer or a customer a vendor user is looking at; the server's
// refusal shown in its words; the download offered once the bundle is fixed.
import { fireEvent, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Bundle, Me } from "../api/client";
import { admin, mockApi, problem, renderAs } from "../test-api";
import { BundleForm, parseVersions } from "./bundles";

afterEach(() => vi.restoreAllMocks());

const customer: Me = { id: "u1", email: "ci@acme.example", role: "customer", customer_id: "c1" };
const bundle: Bundle = {
  id: "b1",
  customer_id: "c1",
  created_at: 1,
  size: 3 * 1024 * 1024,
  download: "/api/v1/bundles/b1",
  versions: [{ artifact: "vendor/app", tag: "v1", digest: "sha256:aa", ref_name: "vendor/app:v1" }],
};

test("a customer bundles everything licensed and gets the download link", async () => {
  const calls = mockApi((call) => (call.method === "POST" ? { status: 201, body: bundle } : undefined));
  renderAs(customer, <BundleForm />);
  const form = screen.getByRole("form", { name: "Download bundle" });
  fireEvent.click(within(form).getByRole("button", { name: "Create bundle" }));
  const link = await screen.findByRole("link", { name: "Download bundle" });
  expect(link.getAttribute("href")).toBe("/api/v1/bundles/b1");
  expect(screen.getByRole("status").textContent).toContain("1 versions, 3.0 MiB");
  expect(calls.map((c) => [c.path, c.body])).toEqual([["/api/v1/bundles", { all: true }]]);
});

test("a vendor user bundles named versions for the customer on screen", async () => {
  const calls = mockApi((call) => (call.method === "POST" ? { status: 201, body: bundle } : undefined));
  renderAs(admin, <BundleForm customerId="c1" />);
  const form = screen.getByRole("form", { name: "Download bundle" });
  fireEvent.click(within(form).getByLabelText("These versions"));
  fireEvent.change(within(form).getByLabelText("Versions, one a line"), { target: { value: "vendor/app:v1\nvendor/app@sha256:bb\n vendor/tool:2.0 " } });
  fireEvent.click(within(form).getByRole("button", { name: "Create bundle" }));
  await screen.findByRole("link", { name: "Download bundle" });
  expect(calls[0].body).toEqual({
    customer_id: "c1",
    items: [
      { artifact: "vendor/app", tags: ["v1"], digests: ["sha256:bb"] },
      { artifact: "vendor/tool", tags: ["2.0"], digests: [] },
    ],
  });
});

test("a refused selection is shown in the server's words, and no link", async () => {
  mockApi((call) => (call.method === "POST" ? problem(404, "version not found") : undefined));
  renderAs(customer, <BundleForm />);
  fireEvent.click(screen.getByRole("button", { name: "Create bundle" }));
  expect((await screen.findByRole("alert")).textContent).toBe("version not found");
  expect(screen.queryByRole("link", { name: "Download bundle" })).toBeNull();
});

test("versions are read as artifact:tag or artifact@digest", () => {
  expect(parseVersions("a/b:1\na/b@sha256:x")).toEqual([{ artifact: "a/b", tags: ["1"], digests: ["sha256:x"] }]);
  for (const bad of ["", "a/b", ":1"]) expect(() => parseVersions(bad)).toThrow();
});
