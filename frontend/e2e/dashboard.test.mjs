// The dashboard and the customer portal in a real browser (Debian's Chromium through
// playwright-core) against a running Tollgate, with skopeo pushing and pulling:
// what issue "Web dashboard for vendors and a portal for customers" asks to see work.
//
//   eval "$(scripts/serve-test.sh)"; (cd frontend && npm run e2e)
//
// The tests are independent (fresh names) and mostly wait — on skopeo, on the Queue —
// so three run at once (TOLLGATE_E2E_CONCURRENCY changes that): ~65 s instead of ~170.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { api, eventually, launch, licensedCustomer, newPage, number, pullImage, pushImage, rowByName, server, signIn, unique } from "./lib.mjs";

const srv = server();
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A page signed in as the admin, through the form. */
async function adminPage() {
  const page = await newPage(browser, srv);
  await signIn(page, srv.user, srv.password);
  return page;
}

/** Picks `value` in a select that loads its options a page at a time ("Load more"). */
async function selectLoadingMore(page, label, value) {
  // by role: a label wrapping a select also holds the options' text
  const select = page.getByRole("combobox", { name: label, exact: true });
  await eventually(async () => {
    if ((await select.locator(`option[value="${value}"]`).count()) > 0) return true;
    const more = page.getByRole("button", { name: `Load more choices for ${label}` });
    if (await more.isVisible()) await more.click();
    return false;
  }, 30_000, 300);
  await select.selectOption(value);
}

describe("dashboard", { concurrency: Number(process.env.TOLLGATE_E2E_CONCURRENCY ?? 3) }, () => {
  test("a. the admin signs in through the form; a wrong password is refused in words", async () => {
    const page = await newPage(browser, srv);
    await page.goto("/");
    await page.getByLabel("Email").fill(srv.user);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    assert.notEqual((await page.getByRole("alert").innerText()).trim(), "");

    await page.getByLabel("Password").fill(srv.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const link of ["Artifacts", "Downloads", "Dashboard", "Customers", "Licenses", "Tokens", "Users"]) {
      await nav.getByRole("link", { name: link, exact: true }).waitFor();
    }
    assert.match(new URL(page.url()).pathname, /^\/artifacts/);
    // the session survives a reload, and a deep link loads the app (index.html)
    await page.goto("/customers");
    await page.getByRole("heading", { name: "Customers", level: 1 }).waitFor();
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("b. a customer's skopeo pull shows in the artifact list: pulls and customers", async () => {
    const repo = `ui/${unique("pulled")}`;
    const digest = await pushImage(srv, repo, "v1.0.0");
    const c = await licensedCustomer(srv, [{ artifact: repo, all_versions: true }]);
    const pulled = await pullImage(srv, repo, "v1.0.0", `${c.email}:${c.secret}`);
    assert.equal(pulled.manifests[0].digest, digest);

    const page = await adminPage();
    // Download events travel through the Queue to the analytics worker: reload until they show.
    const row = await eventually(
      async () => {
        await page.goto(`/artifacts?q=${encodeURIComponent(repo)}`);
        const r = await rowByName(page, repo);
        return number(r.Pulls) >= 1 && number(r.Customers) >= 1 && r;
      },
      60_000,
      2_000,
    );
    assert.equal(number(row.Customers), 1, JSON.stringify(row));
    assert.equal(number(row.Users), 1, JSON.stringify(row));
    assert.equal(row.Type, "Container image");
    // the details page has the tag and its pull
    await page.getByRole("link", { name: repo, exact: true }).click();
    await page.getByRole("heading", { name: repo, level: 1 }).waitFor();
    await page.getByText("v1.0.0", { exact: true }).first().waitFor();
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("c. customer, user, license (tag picker) and token made in the UI; the token pulls", async () => {
    const repo = `ui/${unique("picked")}`;
    await pushImage(srv, repo, "v2.0.0");
    await pushImage(srv, repo, "v2.1.0");
    const customerName = unique("UI Customer");
    const email = `${unique("ui-user")}@customer.example`;
    const password = "ui-customer-password-1";

    const page = await adminPage();
    // the customer
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Customers", exact: true }).click();
    const newCustomer = page.getByRole("form", { name: "New customer" });
    await newCustomer.getByLabel("Name").fill(customerName);
    await newCustomer.getByLabel("Contact").fill("ops@ui.example");
    await newCustomer.getByRole("button", { name: "Create customer" }).click();
    await page.getByRole("link", { name: customerName, exact: true }).click();
    await page.getByRole("heading", { name: customerName, level: 1 }).waitFor();
    const customerId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());

    // its user
    const newUser = page.getByRole("form", { name: "New user" });
    await newUser.getByLabel("Email").fill(email);
    await newUser.getByLabel("Password").fill(password);
    await newUser.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("cell", { name: email, exact: true }).waitFor();

    // a license to one chosen tag, through the tag picker
    await page.getByRole("link", { name: "New license for this customer" }).click();
    const form = page.getByRole("form", { name: "New license" });
    await form.getByLabel("Name", { exact: true }).fill(`${customerName} v2.1`);
    assert.equal(await form.getByRole("combobox", { name: "Customer", exact: true }).inputValue(), customerId);
    // the picker searches names on the server; paging through "Load more" also works
    await form.getByRole("searchbox", { name: "Find artifact by name" }).fill(repo);
    await selectLoadingMore(page, "Artifact", repo);
    await form.getByLabel("Chosen versions").check();
    const tags = page.getByRole("group", { name: `Tags of ${repo}` });
    await tags.getByLabel("v2.1.0").check();
    await form.getByRole("button", { name: "Save license" }).click();
    await page.waitForURL((u) => u.pathname === "/licenses");
    await page.getByRole("link", { name: `${customerName} v2.1`, exact: true }).waitFor();
    const licenses = await api(srv, "GET", `/api/v1/licenses?customer_id=${encodeURIComponent(customerId)}`);
    assert.equal(licenses.items.length, 1);
    assert.equal(licenses.items[0].items[0].artifact, repo);
    assert.equal(licenses.items[0].items[0].digests.length, 1);
    await page.context().close();

    // the customer's user signs in and makes a token, shown once
    const customer = await newPage(browser, srv);
    await signIn(customer, email, password);
    await customer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tokens", exact: true }).click();
    const newToken = customer.getByRole("form", { name: "New token" });
    await newToken.getByLabel("Name").fill("ci");
    await newToken.getByRole("button", { name: "Create token" }).click();
    const shown = customer.getByRole("region", { name: "New token" });
    const secret = (await shown.locator("code").first().innerText()).trim();
    assert.match(secret, /^tgpat_/);

    const pulled = await pullImage(srv, repo, "v2.1.0", `${email}:${secret}`);
    assert.equal(pulled.manifests.length, 1);
    // the unlicensed tag stays out of reach
    await assert.rejects(pullImage(srv, repo, "v2.0.0", `${email}:${secret}`));

    // revoking it in the UI ends it
    await customer.getByRole("button", { name: "Revoke" }).first().click();
    await customer.locator("dialog[open]").getByRole("button", { name: "Revoke" }).click();
    await customer.getByText(/^Revoked/).first().waitFor();
    await assert.rejects(pullImage(srv, repo, "v2.1.0", `${email}:${secret}`));
    assert.deepEqual(customer.problems, []);
    await customer.context().close();
  });

  test("d. deleting the last tag of a licensed digest is refused with the reason", async () => {
    const repo = `ui/${unique("guarded")}`;
    await pushImage(srv, repo, "v1.0.0");
    await pushImage(srv, repo, "v1.1.0");
    // The licensing rules are under test: a new artifact's semver tags would be
    // refused as immutable first (docs/immutable-tags.md).
    await api(srv, "PATCH", `/api/v1/artifacts/${repo}`, { immutable_tags: [] });
    const c = await licensedCustomer(srv, [{ artifact: repo, tags: ["v1.0.0"] }]);
    assert.ok(c.license.id);

    const page = await adminPage();
    await page.goto(`/artifacts/${repo}`);
    await page.getByRole("heading", { name: repo, level: 1 }).waitFor();
    const row = page.locator("tr", { has: page.getByText("v1.0.0", { exact: true }) }).first();
    await row.getByRole("button", { name: "Delete" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Delete" }).click();
    const alert = page.getByRole("alert").first();
    await alert.waitFor();
    const reason = await alert.innerText();
    assert.match(reason, /licen[cs]e/i, `the refusal names the license rule: ${reason}`);
    // still there
    const tags = await api(srv, "GET", `/api/v1/artifacts/${repo}/tags`);
    assert.ok(tags.items.some((t) => t.tag === "v1.0.0"), JSON.stringify(tags));

    // an unlicensed tag goes
    const other = page.locator("tr", { has: page.getByText("v1.1.0", { exact: true }) }).first();
    await other.getByRole("button", { name: "Delete" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Delete" }).click();
    await eventually(async () => (await page.getByText("v1.1.0", { exact: true }).count()) === 0, 15_000, 300);
    await page.context().close();
  });

  test("e. the downloads CSV export downloads the filtered log", async () => {
    const repo = `ui/${unique("csv")}`;
    await pushImage(srv, repo, "v3");
    const c = await licensedCustomer(srv, [{ artifact: repo, all_versions: true }]);
    await pullImage(srv, repo, "v3", `${c.email}:${c.secret}`);
    await pullImage(srv, repo, "v3", `${c.email}:${c.secret}`);
    await eventually(async () => (await api(srv, "GET", `/api/v1/downloads?artifact=${encodeURIComponent(repo)}`)).items.length >= 2, 60_000, 1_000);

    const page = await adminPage();
    await page.goto(`/downloads?artifact=${encodeURIComponent(repo)}`);
    await page.getByRole("cell", { name: repo }).first().waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const path = await download.path();
    const text = (await import("node:fs")).readFileSync(path, "utf8");
    const lines = text.trim().split(/\r?\n/);
    assert.match(lines[0], /^[a-z_]+(,[a-z_]+)+$/, `a header line: ${lines[0]}`);
    for (const column of ["time", "artifact", "reference", "digest", "customer_id"]) assert.ok(lines[0].split(",").includes(column), `${column} in ${lines[0]}`);
    const rows = lines.slice(1);
    assert.equal(rows.length, 2, text);
    for (const r of rows) assert.ok(r.includes(repo) && r.includes(c.customer.id), r);
    assert.match(download.suggestedFilename(), /\.csv$/);
    await page.context().close();
  });

  test("f. the customer portal lists licensed artifacts only; an unlicensed one is not found", async () => {
    const licensed = `ui/${unique("portal-yes")}`;
    const hidden = `ui/${unique("portal-no")}`;
    await pushImage(srv, licensed, "v1");
    await pushImage(srv, hidden, "v1");
    const c = await licensedCustomer(srv, [{ artifact: licensed, all_versions: true }]);

    const page = await newPage(browser, srv);
    await signIn(page, c.email, c.password);
    assert.equal(new URL(page.url()).pathname, "/portal");
    const nav = page.getByRole("navigation", { name: "Main" });
    assert.equal(await nav.getByRole("link", { name: "Customers" }).count(), 0);
    await page.getByRole("link", { name: licensed, exact: true }).waitFor();
    assert.equal(await page.getByRole("link", { name: hidden, exact: true }).count(), 0);
    await page.goto(`/portal?q=${encodeURIComponent("portal-no")}`);
    await page.getByText(/No artifact/).waitFor();

    await page.goto(`/portal/${licensed}`);
    await page.getByRole("heading", { name: licensed, level: 1 }).waitFor();
    await page.getByText("v1", { exact: true }).first().waitFor();

    await page.goto(`/portal/${hidden}`);
    await page.getByRole("alert").or(page.getByText(/not found/i)).first().waitFor();
    assert.match(await page.locator("main").innerText(), /not found|no such|unknown/i);
    // the vendor's pages are not the customer's
    await page.goto(`/artifacts/${licensed}`);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    await page.context().close();
  });
  test("h. the audit log shows a refused OCI delete with who asked and the status", async () => {
    const repo = `ui/${unique("audited")}`;
    await pushImage(srv, repo, "only");
    const res = await fetch(`${srv.url}/v2/${repo}/manifests/only`, {
      method: "DELETE",
      headers: { Authorization: "Basic " + Buffer.from(`${srv.user}:${srv.token}`).toString("base64") },
    });
    assert.equal(res.status, 409, "the artifact's last tag stays");

    const page = await adminPage();
    await page.goto(`/audit?action=DELETE&target=${encodeURIComponent(`/v2/${repo}/`)}`);
    const row = page.locator("tr", { has: page.getByText(`/v2/${repo}/manifests/only`, { exact: true }) });
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    const text = await row.first().innerText();
    assert.match(text, /409/, text);
    assert.ok(text.includes(srv.user), `the actor is named: ${text}`);
    await page.context().close();
  });

  test("i. the admin sets an upstream with basic auth on the artifact's page; the password never comes back; removed", async () => {
    const repo = `ui/${unique("mirrored")}`;
    await pushImage(srv, repo, "v1");
    const password = `upstream-${unique("password")}`;

    const page = await adminPage();
    await page.goto(`/artifacts/${repo}`);
    const form = page.getByRole("form", { name: "Set upstream" });
    // Nothing fetches from the upstream here, so a port where nothing listens will do.
    await form.getByLabel("Registry URL").fill("http://127.0.0.1:9/");
    await form.getByLabel("Repository").fill("mirror/app");
    await form.getByLabel("Login").selectOption("basic");
    await form.getByLabel("Username").fill("ci-robot");
    await form.getByLabel("Password or access token").fill(password);
    await form.getByRole("button", { name: "Save upstream" }).click();

    const setting = page.getByLabel("Upstream setting");
    await setting.getByText("password set", { exact: true }).waitFor();
    assert.match(await setting.innerText(), /mirror\/app[\s\S]*ci-robot/);
    const replace = page.getByRole("form", { name: "Replace upstream" });
    assert.equal(await replace.getByLabel("Password or access token").inputValue(), "");
    assert.ok(!(await page.content()).includes(password), "the password is nowhere on the page");
    const stored = await api(srv, "GET", `/api/v1/artifacts/${repo}/upstream`);
    assert.deepEqual([stored.url, stored.auth, stored.username, stored.password_set], ["http://127.0.0.1:9", "basic", "ci-robot", true]);

    await page.getByRole("button", { name: "Remove upstream" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Remove upstream" }).click();
    await page.getByRole("form", { name: "Set upstream" }).waitFor();
    await assert.rejects(api(srv, "GET", `/api/v1/artifacts/${repo}/upstream`), /404/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});
