// The artifact details page: a deletion a rule refuses shows the rule in the
// server's words, and one allowed reloads the tags.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { ArtifactDetails } from "../api/client";
import { admin, mockApi, problem, renderAs } from "../test-api";
import { ArtifactDetailsPage } from "./ArtifactDetails";

afterEach(() => vi.restoreAllMocks());

const digest = `sha256:${"a".repeat(64)}`;
const details: ArtifactDetails = {
  name: "acme/app",
  type: "container_image",
  created_at: 1_700_000_000,
  url: "registry.example/acme/app",
  immutable_tags: ["semver"],
  tags: [
    { tag: "v1", digest, updated_at: 1_700_000_000, pulls: 7 },
    { tag: "v2", digest, updated_at: 1_700_000_100, pulls: 0 },
  ],
  manifests: [
    {
      digest,
      media_type: "application/vnd.oci.image.manifest.v1+json",
      type: "container_image",
      artifact_type: null,
      created_at: 1_700_000_000,
      size: 2048,
      tags: ["v1", "v2"],
      platforms: [],
      referrers: [{ digest: `sha256:${"b".repeat(64)}`, type: "sbom", artifact_type: "application/spdx+json", created_at: 1_700_000_200 }],
    },
  ],
};

const REFUSAL = "v1 is the last tag of a digest licensed to Globex";
const BAD_PATTERN = 'tag pattern "a/b" contains \'/\'';

function server() {
  return mockApi((call) => {
    if (call.method === "GET" && call.path === "/api/v1/artifacts/acme/app") return { body: details };
    if (call.path === "/api/v1/downloads/daily") return { body: { days: [] } };
    if (call.method === "DELETE" && call.path.endsWith("/tags/v1")) return problem(400, REFUSAL);
    if (call.method === "DELETE" && call.path.endsWith("/tags/v2")) return { status: 204 };
    if (call.method === "PATCH" && JSON.stringify(call.body).includes("a/b")) return problem(400, BAD_PATTERN);
    if (call.method === "PATCH") return { body: { name: "acme/app", immutable_tags: (call.body as { immutable_tags: string[] }).immutable_tags } };
  });
}

async function deleteTag(tag: string) {
  const row = (await screen.findByText(tag)).closest("tr")!;
  fireEvent.click(within(row).getByRole("button", { name: "Delete" }));
  const dialog = screen.getByRole("dialog", { name: `Delete the tag ${tag}?`, hidden: true });
  fireEvent.click(within(dialog).getByRole("button", { name: "Delete", hidden: true }));
}

test("a refused tag deletion shows the rule in the server's words", async () => {
  const calls = server();
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  await deleteTag("v1");
  expect((await screen.findByRole("alert")).textContent).toBe(REFUSAL);
  expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/v1/artifacts/acme/app/tags/v1"]);
});

test("an allowed deletion reloads the artifact", async () => {
  const calls = server();
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  await deleteTag("v2");
  await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === "/api/v1/artifacts/acme/app")).toHaveLength(2));
  expect(screen.queryByRole("alert")).toBeNull();
});

test("the page shows the pull command of the newest tag, sizes, pulls and referrers", async () => {
  server();
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  expect(await screen.findByText("docker pull registry.example/acme/app:v2")).toBeTruthy();
  expect(screen.getAllByText("2.0 KiB").length).toBeGreaterThan(0);
  expect(screen.getByText("7")).toBeTruthy();
  expect(screen.getByText("SBOM")).toBeTruthy();
});

test("a read-only user gets no delete buttons", async () => {
  server();
  renderAs({ ...admin, role: "read_only" }, <ArtifactDetailsPage name="acme/app" />);
  await screen.findByText("v1");
  expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  expect(screen.queryByRole("button", { name: "Delete artifact" })).toBeNull();
});

async function saveImmutable(text: string) {
  const form = await screen.findByRole("form", { name: "Immutable tags" });
  fireEvent.change(within(form).getByLabelText("Patterns"), { target: { value: text } });
  fireEvent.click(within(form).getByRole("button", { name: "Save immutable tags" }));
}

test("an admin edits the immutable tags, one pattern a line", async () => {
  const calls = server();
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  expect(((await screen.findByLabelText("Patterns")) as HTMLTextAreaElement).value).toBe("semver");
  await saveImmutable("semver\n>=1, <2\n\n stable-* ");
  await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(1));
  expect(calls.find((c) => c.method === "PATCH")).toMatchObject({
    path: "/api/v1/artifacts/acme/app",
    body: { immutable_tags: ["semver", ">=1, <2", "stable-*"] },
  });
  await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === "/api/v1/artifacts/acme/app")).toHaveLength(2));
});

test("a refused pattern shows the server's words", async () => {
  server();
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  await saveImmutable("a/b");
  expect((await screen.findByRole("alert")).textContent).toBe(BAD_PATTERN);
});

test("others see the immutable tags but cannot edit them", async () => {
  server();
  renderAs({ ...admin, role: "read_write" }, <ArtifactDetailsPage name="acme/app" />);
  expect(await screen.findByText("semver")).toBeTruthy();
  expect(screen.queryByRole("form", { name: "Immutable tags" })).toBeNull();
  expect(screen.queryByLabelText("Patterns")).toBeNull();
});
