// Licenses: the list (filtered by customer) and the editor — name, customer,
// expiry, what it grants after (its expiry policy), monthly usage caps (with this
// month's usage against them) and 1–100 items, each an artifact with all versions, a tag pattern, or
// versions chosen by tag (the server resolves tags to digests; digests already in
// the license can be kept as they are).
import { useRef, useState, type FormEvent } from "react";
import { api, ok, type Artifact, type License, type LicenseItem, type NewLicense, type Page, type Tag } from "../api/client";
import { customerHref, Link, navigate, setQuery, useLocation } from "../router";
import { canWrite, useMe } from "../session";
import { useAction, useLoad, useMore, usePaged } from "../ui/async";
import { shortDigest } from "../ui/format";
import { NamedOptions } from "../ui/forms";
import { capInput, capValue, EXPIRY_POLICIES, LicenseTable, UsageNote } from "../ui/licenses";
import { ConfirmAction, Empty, ErrorNote, Loading, Pager, SearchBox, Show } from "../ui/parts";
import { CustomerSelect, MoreSelect, useCustomers } from "../ui/pickers";

const MAX_ITEMS = 100;

export function LicensesPage() {
  const write = canWrite(useMe());
  const customerId = useLocation().searchParams.get("customer_id") ?? "";
  const customers = useCustomers();
  const licenses = usePaged(
    (cursor) => ok(api.GET("/api/v1/licenses", { params: { query: { cursor, customer_id: customerId || undefined } } })),
    `licenses\u0000${customerId}`,
  );
  const names = new Map(customers.items.map((c) => [c.id, c.name]));
  // While the first page of customers loads, ids stand in; only a customer beyond it is asked for alone.
  const customerCell = ({ customer_id: id }: License) => (
    <Link href={customerHref(id)}>{names.get(id) ?? (customers.loading ? id : <CustomerName id={id} />)}</Link>
  );
  return (
    <section>
      <h1>Licenses</h1>
      <div className="toolbar">
        <CustomerSelect customers={customers} value={customerId} onChange={(id) => setQuery({ customer_id: id })} none="All customers" />
        {write && <Link href="/licenses/new">New license</Link>}
      </div>
      <Show state={licenses}>
        {(page) => (page.items.length === 0 ? <Empty>No licenses.</Empty> : <LicenseTable licenses={page.items} customer={customerCell} />)}
      </Show>
      <Pager paged={licenses} />
    </section>
  );
}

/** The name of a customer not among those loaded for the filter. */
function CustomerName({ id }: { id: string }) {
  const customer = useLoad(() => ok(api.GET("/api/v1/customers/{id}", { params: { path: { id } } })), id);
  return <>{customer.data?.name ?? id}</>;
}

type Mode = "all" | "pattern" | "chosen";

type FindArtifacts = (q: string, cursor: string | undefined) => Promise<Page<Artifact>>;

/** The artifact search every item of one form shares: a license with many items asks for each page once. */
function useFindArtifacts(): FindArtifacts {
  const pages = useRef(new Map<string, Promise<Page<Artifact>>>()).current;
  return (q, cursor) => {
    const key = `${q}\u0000${cursor ?? ""}`;
    let page = pages.get(key);
    if (!page) {
      page = ok(api.GET("/api/v1/artifacts", { params: { query: { q, cursor, limit: 200 } } }));
      pages.set(key, page);
      page.catch(() => pages.delete(key));
    }
    return page;
  };
}

/** One item as the form holds it: `digests` as loaded, `kept` those still chosen, `tags` newly ticked. */
interface Draft {
  key: number;
  artifact: string;
  mode: Mode;
  pattern: string;
  digests: string[];
  kept: string[];
  tags: string[];
}

let drafted = 0;
function draft(fields: Partial<Draft> = {}): Draft {
  return { key: ++drafted, artifact: "", mode: "all", pattern: "", digests: [], kept: [], tags: [], ...fields };
}

/** Drafts of stored items; digest items of one artifact become one draft (saving may have split them). */
function draftsOf(items: LicenseItem[]): Draft[] {
  const drafts: Draft[] = [];
  for (const item of items) {
    const chosen = item.digests ?? [];
    const same = item.digests && drafts.find((d) => d.mode === "chosen" && d.artifact === item.artifact);
    if (same) {
      same.digests = same.kept = [...new Set([...same.digests, ...chosen])];
      continue;
    }
    const mode: Mode = item.all_versions ? "all" : item.pattern != null ? "pattern" : "chosen";
    drafts.push(draft({ artifact: item.artifact, mode, pattern: item.pattern ?? "", digests: chosen, kept: chosen }));
  }
  return drafts;
}

/** The items a draft sends: kept digests and newly ticked tags go as two items, since an item holds one kind. */
function itemsOf({ artifact, mode, pattern, kept, tags }: Draft): LicenseItem[] {
  if (mode === "all") return [{ artifact, all_versions: true }];
  if (mode === "pattern") return [{ artifact, pattern: pattern.trim() }];
  return [...(kept.length ? [{ artifact, digests: kept }] : []), ...(tags.length ? [{ artifact, tags }] : [])];
}

/** Unix seconds as the UTC day a date input shows. */
const utcDay = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
/** The last second of a UTC day, from a date input's value. */
const endOfUtcDay = (day: string) => Date.parse(`${day}T23:59:59Z`) / 1000;

export function LicenseEditPage({ id }: { id: string | null }) {
  return (
    <section>
      <p>
        <Link href="/licenses">← Licenses</Link>
      </p>
      {id ? <ExistingLicense id={id} /> : <LicenseForm />}
    </section>
  );
}

function ExistingLicense({ id }: { id: string }) {
  const license = useLoad(() => ok(api.GET("/api/v1/licenses/{id}", { params: { path: { id } } })), id);
  return <Show state={license}>{(l) => <LicenseForm key={l.id} license={l} />}</Show>;
}

function LicenseForm({ license }: { license?: License }) {
  const write = canWrite(useMe());
  const preset = useLocation().searchParams.get("customer_id") ?? "";
  const initialDay = license?.expires_at != null ? utcDay(license.expires_at) : "";
  const [name, setName] = useState(license?.name ?? "");
  const [customerId, setCustomerId] = useState(license?.customer_id ?? preset);
  const [day, setDay] = useState(initialDay);
  const [policy, setPolicy] = useState<License["expiry_policy"]>(license?.expiry_policy ?? "revoke");
  const [maxPulls, setMaxPulls] = useState(capInput(license?.max_pulls_per_month));
  const [maxBytes, setMaxBytes] = useState(capInput(license?.max_bytes_per_month));
  const [drafts, setDrafts] = useState<Draft[]>(() => (license ? draftsOf(license.items) : [draft()]));
  const customers = useCustomers();
  const findArtifacts = useFindArtifacts();
  const saving = useAction();

  const body = (): NewLicense => ({
    name: name.trim(),
    customer_id: customerId,
    expires_at: day === initialDay ? (license?.expires_at ?? null) : day ? endOfUtcDay(day) : null,
    expiry_policy: policy,
    max_pulls_per_month: capValue(maxPulls),
    max_bytes_per_month: capValue(maxBytes),
    items: drafts.flatMap(itemsOf),
  });
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const empty = drafts.find((d) => d.mode === "chosen" && itemsOf(d).length === 0);
    const saved = await saving.run(async () => {
      if (empty) throw new Error(`Choose at least one version of ${empty.artifact}, or another kind of versions.`);
      if (license) await ok(api.PUT("/api/v1/licenses/{id}", { params: { path: { id: license.id } }, body: body() }));
      else await ok(api.POST("/api/v1/licenses", { body: body() }));
    });
    if (saved) navigate("/licenses");
  };
  const change = (key: number, fields: Partial<Draft>) => setDrafts((ds) => ds.map((d) => (d.key === key ? { ...d, ...fields } : d)));

  return (
    <form className="card" onSubmit={save} aria-label={license ? "Edit license" : "New license"}>
      <h1>{license ? license.name : "New license"}</h1>
      {!write && <p className="muted">You can read this license; admins and read-write users change licenses.</p>}
      <fieldset className="plain" disabled={!write}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <CustomerSelect customers={customers} value={customerId} onChange={setCustomerId} none="Choose a customer" required />
        <label>
          Expires
          <input type="date" value={day} onChange={(e) => setDay(e.target.value)} aria-describedby="expiry-hint" />
        </label>
        <p className="hint" id="expiry-hint">
          The license grants access through the end of this day (23:59:59 UTC). Leave empty for a license that never expires.
        </p>
        <label>
          After it expires
          <select value={policy} onChange={(e) => setPolicy(e.target.value as License["expiry_policy"])} aria-describedby="policy-hint">
            <NamedOptions names={EXPIRY_POLICIES} />
          </select>
        </label>
        <p className="hint" id="policy-hint">
          A version is released when its manifest was pushed; kept versions stay pullable for ever, with their platforms, signatures and
          SBOMs.
        </p>
        <label>
          Pulls per month
          <input type="number" min={1} step={1} value={maxPulls} onChange={(e) => setMaxPulls(e.target.value)} aria-describedby="caps-hint" />
        </label>
        <label>
          Bytes per month
          <input type="number" min={1} step={1} value={maxBytes} onChange={(e) => setMaxBytes(e.target.value)} aria-describedby="caps-hint" />
        </label>
        <p className="hint" id="caps-hint">
          Optional caps per UTC calendar month; leave empty for none. Over a cap, pulls under this license are refused until the month
          ends. Counting lags pulls by a few seconds.
        </p>
        {license && <UsageNote license={license} />}
        <h2>Artifacts</h2>
        {drafts.map((d, index) => (
          <ItemEditor
            key={d.key}
            draft={d}
            number={index + 1}
            findArtifacts={findArtifacts}
            change={(fields) => change(d.key, fields)}
            remove={drafts.length > 1 ? () => setDrafts((ds) => ds.filter((x) => x.key !== d.key)) : undefined}
          />
        ))}
        <div className="row">
          <button type="button" onClick={() => setDrafts((ds) => [...ds, draft()])} disabled={drafts.length >= MAX_ITEMS}>
            Add artifact
          </button>
        </div>
        <ErrorNote error={saving.error} />
        {write && (
          <div className="row">
            <button type="submit" className="primary" disabled={saving.busy}>
              Save license
            </button>
          </div>
        )}
      </fieldset>
      {write && license && <DeleteLicense license={license} />}
    </form>
  );
}

function DeleteLicense({ license }: { license: License }) {
  return (
    <div>
      <ConfirmAction
        label="Delete"
        question={`Delete the license ${license.name}? Its customer loses what it grants at once.`}
        action={() => ok(api.DELETE("/api/v1/licenses/{id}", { params: { path: { id: license.id } } })).then(() => navigate("/licenses"))}
      />
    </div>
  );
}

const MODES: [Mode, string][] = [
  ["all", "All versions"],
  ["pattern", "Pattern"],
  ["chosen", "Chosen versions"],
];

function ItemEditor({
  draft: d,
  number,
  findArtifacts,
  change,
  remove,
}: {
  draft: Draft;
  number: number;
  findArtifacts: FindArtifacts;
  change: (fields: Partial<Draft>) => void;
  remove: (() => void) | undefined;
}) {
  // The server searches the names: a vendor may have thousands of artifacts.
  const [search, setSearch] = useState("");
  const artifacts = useMore((cursor) => findArtifacts(search, cursor), `artifacts\u0000${search}`);
  const choices = artifacts.items.map((a) => ({ value: a.name, label: a.name }));
  return (
    <fieldset>
      <legend>Item {number}</legend>
      <SearchBox label="Find artifact by name" value={search} onChange={setSearch} />
      <MoreSelect
        label="Artifact"
        list={artifacts}
        choices={choices}
        value={d.artifact}
        onChange={(artifact) => change({ artifact, digests: [], kept: [], tags: [] })}
        none="Choose an artifact"
        required
      />
      <div className="row" role="radiogroup" aria-label={`Versions of item ${number}`}>
        {MODES.map(([mode, label]) => (
          <label key={mode} className="inline">
            <input type="radio" name={`versions-${d.key}`} checked={d.mode === mode} onChange={() => change({ mode })} />
            {label}
          </label>
        ))}
      </div>
      {d.mode === "pattern" && <PatternInput draft={d} change={change} />}
      {d.mode === "chosen" && (d.artifact ? <TagPicker draft={d} change={change} /> : <p className="hint">Choose an artifact to see its tags.</p>)}
      {remove && (
        <div>
          <button type="button" className="small" onClick={remove} aria-label={`Remove item ${number}`}>
            Remove
          </button>
        </div>
      )}
    </fieldset>
  );
}

function PatternInput({ draft: d, change }: { draft: Draft; change: (fields: Partial<Draft>) => void }) {
  const hint = `pattern-hint-${d.key}`;
  return (
    <>
      <label>
        Tag pattern
        <input value={d.pattern} onChange={(e) => change({ pattern: e.target.value })} required aria-describedby={hint} className="mono" />
      </label>
      <p className="hint" id={hint}>
        A glob such as <code>v1.*</code> or a semver range such as <code>&gt;=1.2, &lt;2</code>; tags pushed later match too.
      </p>
    </>
  );
}

const toggled = (list: string[], value: string) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);

/** The artifact's tags as checkboxes (a page at a time); digests already licensed are shown ticked. */
function TagPicker({ draft: d, change }: { draft: Draft; change: (fields: Partial<Draft>) => void }) {
  const tags = useMore(
    (cursor) => ok(api.GET("/api/v1/artifacts/{name}/tags", { params: { path: { name: d.artifact }, query: { cursor, limit: 100 } } })),
    `tags\u0000${d.artifact}`,
  );
  const tick = (tag: Tag) => change(d.kept.includes(tag.digest) ? { kept: toggled(d.kept, tag.digest) } : { tags: toggled(d.tags, tag.tag) });
  return (
    <>
      {d.digests.length > 0 && <LicensedDigests draft={d} tags={tags.items} change={change} />}
      <p className="hint">Tags of {d.artifact}: each ticked tag licenses the version it points at now.</p>
      <div className="checks" role="group" aria-label={`Tags of ${d.artifact}`}>
        {tags.items.map((tag) => (
          <div key={tag.tag} className="row">
            <label className="inline">
              <input type="checkbox" checked={d.tags.includes(tag.tag) || d.kept.includes(tag.digest)} onChange={() => tick(tag)} />
              {tag.tag}
            </label>
            <code className="muted" title={tag.digest}>
              {shortDigest(tag.digest)}
            </code>
          </div>
        ))}
      </div>
      {tags.loading && <Loading />}
      <ErrorNote error={tags.error} />
      {!tags.loading && !tags.error && tags.items.length === 0 && <p className="hint">This artifact has no tags.</p>}
      {tags.more && (
        <div>
          <button type="button" className="small" onClick={tags.more}>
            Load more tags
          </button>
        </div>
      )}
    </>
  );
}

/** The digests the stored license lists, each kept unless unticked. */
function LicensedDigests({ draft: d, tags, change }: { draft: Draft; tags: Tag[]; change: (fields: Partial<Draft>) => void }) {
  const tagsOf = (digest: string) =>
    tags
      .filter((t) => t.digest === digest)
      .map((t) => t.tag)
      .join(", ");
  return (
    <>
      <p className="hint">Versions in this license: untick one to drop it.</p>
      <div className="checks" role="group" aria-label="Versions in this license">
        {d.digests.map((digest) => (
          <div key={digest} className="row">
            <label className="inline">
              <input type="checkbox" checked={d.kept.includes(digest)} onChange={() => change({ kept: toggled(d.kept, digest) })} />
              <code title={digest}>{shortDigest(digest)}</code>
            </label>
            <span className="muted">{tagsOf(digest)}</span>
          </div>
        ))}
      </div>
    </>
  );
}
