// The artifact details page: a deletion a rule refuses shows the rule in the
// server's words, and one allowed reloads the tags; the upstream registry is an
// admin's to set, replace and remove, and its outage is shown to all vendor staff.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { ArtifactDetails, Upstream, UpstreamSetting } from "../api/client";
import { admin, mockApi, problem, renderAs, type Answer, type Call } from "../test-api";
import { dateTime } from "../ui/format";
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

function answer(call: Call): Answer | undefined {
  if (call.method === "GET" && call.path === "/api/v1/artifacts/acme/app") return { body: details };
  if (call.path === "/api/v1/downloads/daily") return { body: { days: [] } };
  if (call.method === "DELETE" && call.path.endsWith("/tags/v1")) return problem(400, REFUSAL);
  if (call.method === "DELETE" && call.path.endsWith("/tags/v2")) return { status: 204 };
  if (call.method === "PATCH" && JSON.stringify(call.body).includes("a/b")) return problem(400, BAD_PATTERN);
  if (call.method === "PATCH") return { body: { name: "acme/app", immutable_tags: (call.body as { immutable_tags: string[] }).immutable_tags } };
}

function server() {
  return mockApi(answer);
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

// --- the upstream registry -------------------------------------------------------------

const UPSTREAM = "/api/v1/artifacts/acme/app/upstream";
const SECRET = "s3cret password";
const basic: Upstream = {
  url: "https://upstream.example",
  repository: "mirror/app",
  auth: "basic",
  username: "ci-robot",
  password_set: true,
  refresh_seconds: 600,
  last_error: null,
  last_error_at: null,
  updated_at: 1_700_000_300,
};

/** The page's server with `stored` as the upstream (none when null): a PUT stores the
 * setting, or answers `refusal`; a DELETE removes it. */
function upstreamServer(stored: Upstream | null, refusal?: string) {
  let current = stored;
  return mockApi((call) => {
    if (call.path !== UPSTREAM) return answer(call);
    if (call.method === "GET") return current ? { body: current } : problem(404, "acme/app has no upstream");
    if (call.method === "DELETE") {
      current = null;
      return { status: 204 };
    }
    if (refusal) return problem(400, refusal);
    const { password, username = null, ...setting } = call.body as UpstreamSetting;
    const password_set = password !== undefined;
    current = { ...setting, username, password_set, last_error: null, last_error_at: null, updated_at: 1_700_000_400 };
    return { body: current };
  });
}

const upstreamForm = (title = "Set upstream") => screen.findByRole("form", { name: title });
const puts = (calls: Call[]) => calls.filter((c) => c.method === "PUT").map((c) => c.body);

test("the credential fields follow the login kind", async () => {
  upstreamServer(null);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  const form = await upstreamForm();
  expect(screen.getByText("None: this artifact holds only what is pushed to it.")).toBeTruthy();
  const credentials = () => ["Username", "Password or access token"].filter((label) => within(form).queryByLabelText(label));
  expect(credentials()).toEqual([]);
  for (const [auth, shown] of [["basic", 2], ["token", 2], ["none", 0]] as const) {
    fireEvent.change(within(form).getByLabelText("Login"), { target: { value: auth } });
    expect(credentials()).toHaveLength(shown);
  }
});

test("an anonymous upstream is sent without credentials, then shown", async () => {
  const calls = upstreamServer(null);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  const form = await upstreamForm();
  fireEvent.change(within(form).getByLabelText("Registry URL"), { target: { value: " https://upstream.example " } });
  fireEvent.change(within(form).getByLabelText("Repository"), { target: { value: "mirror/app" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save upstream" }));
  await waitFor(() => expect(puts(calls)).toHaveLength(1));
  expect(puts(calls)[0]).toEqual({ url: "https://upstream.example", repository: "mirror/app", auth: "none", refresh_seconds: 300 });
  expect(within(await screen.findByLabelText("Upstream setting")).getByText("None (anonymous)")).toBeTruthy();
  expect(await upstreamForm("Replace upstream")).toBeTruthy();
});

test("a password is never prefilled: it is typed again to replace the setting", async () => {
  const calls = upstreamServer(basic);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  const form = await upstreamForm("Replace upstream");
  expect(within(screen.getByLabelText("Upstream setting")).getByText("password set")).toBeTruthy();
  expect((within(form).getByLabelText("Login") as HTMLSelectElement).value).toBe("basic");
  expect((within(form).getByLabelText("Username") as HTMLInputElement).value).toBe("ci-robot");
  const password = within(form).getByLabelText("Password or access token") as HTMLInputElement;
  expect(password.value).toBe("");
  fireEvent.change(password, { target: { value: SECRET } });
  fireEvent.change(within(form).getByLabelText("Refresh interval (seconds)"), { target: { value: "60" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save upstream" }));
  await waitFor(() => expect(puts(calls)).toHaveLength(1));
  expect(puts(calls)[0]).toEqual({
    url: "https://upstream.example",
    repository: "mirror/app",
    auth: "basic",
    username: "ci-robot",
    password: SECRET,
    refresh_seconds: 60,
  });
  await waitFor(() => expect(screen.getByText("every 60 s")).toBeTruthy());
  expect(document.body.textContent).not.toContain(SECRET);
});

test("a refused setting shows the server's words beside the form", async () => {
  const refusal = "upstream url: plain http is allowed only to a loopback host";
  upstreamServer(null, refusal);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  const form = await upstreamForm();
  fireEvent.change(within(form).getByLabelText("Registry URL"), { target: { value: "http://upstream.example" } });
  fireEvent.change(within(form).getByLabelText("Repository"), { target: { value: "mirror/app" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save upstream" }));
  expect((await within(form).findByRole("alert")).textContent).toBe(refusal);
});

test("the upstream's outage in the details is shown with its time, to a read-only user too", async () => {
  const failure = "upstream unreachable: connection refused";
  const failing = { ...details, upstream_failure: { error: failure, at: 1_700_000_500 } };
  const calls = mockApi((call) => (call.method === "GET" && call.path === "/api/v1/artifacts/acme/app" ? { body: failing } : answer(call)));
  renderAs({ ...admin, role: "read_only" }, <ArtifactDetailsPage name="acme/app" />);
  const outage = await screen.findByRole("region", { name: "Upstream outage" });
  expect(outage.textContent).toContain(failure);
  expect(outage.textContent).toContain(dateTime(1_700_000_500));
  expect(calls.filter((c) => c.path === UPSTREAM)).toHaveLength(0);
});

test("without an outage nothing is shown for one", async () => {
  upstreamServer(basic);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  await upstreamForm("Replace upstream");
  expect(screen.queryByRole("region", { name: "Upstream outage" })).toBeNull();
});

test("removing the upstream asks first", async () => {
  const calls = upstreamServer(basic);
  renderAs(admin, <ArtifactDetailsPage name="acme/app" />);
  fireEvent.click(await screen.findByRole("button", { name: "Remove upstream" }));
  const dialog = screen.getByRole("dialog", { name: "Remove the upstream of acme/app? What was fetched through it stays.", hidden: true });
  expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(0);
  fireEvent.click(within(dialog).getByRole("button", { name: "Remove upstream", hidden: true }));
  expect(await screen.findByText("None: this artifact holds only what is pushed to it.")).toBeTruthy();
  expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual([UPSTREAM]);
});

test("others see no upstream section, and it is not asked for", async () => {
  for (const role of ["read_write", "read_only"] as const) {
    const calls = upstreamServer(basic);
    const { unmount } = renderAs({ ...admin, role }, <ArtifactDetailsPage name="acme/app" />);
    await screen.findByText("v1");
    expect(screen.queryByRole("heading", { name: "Upstream registry" })).toBeNull();
    expect(screen.queryByRole("form", { name: "Replace upstream" })).toBeNull();
    expect(calls.filter((c) => c.path === UPSTREAM)).toEqual([]);
    unmount();
    vi.restoreAllMocks();
  }
});
