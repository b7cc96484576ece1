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

function server() {
  return mockApi((call) => {
    if (call.method === "GET" && call.path === "/api/v1/artifacts/acme/app") return { body: details };
    if (call.path === "/api/v1/downloads/daily") return { body: { days: [] } };
    if (call.method === "DELETE" && call.path.endsWith("/tags/v1")) return problem(400, REFUSAL);
    if (call.method === "DELETE" && call.path.endsWith("/tags/v2")) return { status: 204 };
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
