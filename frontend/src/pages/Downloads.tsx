// The download log: every pull, newest first, filtered by artifact, customer
// and dates (kept in the URL), a page at a time from the server, and the same
// rows as a CSV file.
import { useCallback } from "react";
import { api, ok, type Customer, type Download } from "../api/client";
import { artifactHref, Link, setQuery, useLocation } from "../router";
import { usePaged } from "../ui/async";
import { CustomerSelect, customerName, useCustomers } from "../ui/pickers";
import { dateTime, reference, shortDigest } from "../ui/format";
import { Empty, ErrorNote, Loading, Pager, SearchBox } from "../ui/parts";

const PAGE_SIZE = 100;
const DAY = 86_400;

/** A date input's value (YYYY-MM-DD, UTC) as Unix seconds of that day's start. */
function dayStart(value: string | null): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

export interface LogFilters {
  artifact?: string;
  customer_id?: string;
  from?: number;
  to?: number;
}

/** The `from` and `to` days in a page's URL as Unix seconds; `to` is the end of the day it names. */
export function dayFilters(params: URLSearchParams): { from?: number; to?: number } {
  const to = dayStart(params.get("to"));
  return { from: dayStart(params.get("from")), to: to === undefined ? undefined : to + DAY };
}

/** The filters in the page's URL. */
function filtersFrom(params: URLSearchParams): LogFilters {
  return {
    artifact: params.get("artifact") || undefined,
    customer_id: params.get("customer_id") || undefined,
    ...dayFilters(params),
  };
}

/** A CSV export's address (`path`) for `filters`: the server streams every matching row. */
export function csvHref(path: string, filters: object): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined) query.set(key, String(value));
  }
  const qs = query.toString();
  return `${path}${qs ? `?${qs}` : ""}`;
}

/** The From and To day inputs over the URL's `from` and `to`, and the link to the `csv` export. */
export function DaysAndExport({ params, csv }: { params: URLSearchParams; csv: string }) {
  return (
    <>
      <label>
        From
        <input type="date" value={params.get("from") ?? ""} onChange={(e) => setQuery({ from: e.target.value })} />
      </label>
      <label>
        To
        <input type="date" value={params.get("to") ?? ""} onChange={(e) => setQuery({ to: e.target.value })} />
      </label>
      <a className="button" href={csv} download>
        Export CSV
      </a>
    </>
  );
}

export function DownloadsPage() {
  const params = useLocation().searchParams;
  const filters = filtersFrom(params);
  const customers = useCustomers();
  const paged = usePaged(
    (cursor) => ok(api.GET("/api/v1/downloads", { params: { query: { ...filters, cursor, limit: PAGE_SIZE } } })),
    JSON.stringify(filters),
  );
  const setArtifact = useCallback((value: string) => setQuery({ artifact: value }), []);
  return (
    <section>
      <h1>Downloads</h1>
      <div className="toolbar">
        <div className="grow">
          <SearchBox label="Artifact (exact name)" value={filters.artifact ?? ""} onChange={setArtifact} />
        </div>
        <CustomerSelect customers={customers} value={filters.customer_id ?? ""} onChange={(id) => setQuery({ customer_id: id })} none="All customers" />
        <DaysAndExport params={params} csv={csvHref("/api/v1/downloads.csv", filters)} />
      </div>
      <p className="muted">Dates are UTC days; the log keeps raw events for the retention period (docs/analytics.md), the counts for ever.</p>
      <ErrorNote error={paged.error} />
      {paged.data === undefined ? (
        !paged.error && <Loading />
      ) : paged.data.items.length === 0 ? (
        <Empty>No downloads match.</Empty>
      ) : (
        <DownloadTable items={paged.data.items} customers={customers.items} busy={paged.loading} />
      )}
      <Pager paged={paged} />
    </section>
  );
}

function DownloadTable({ items, customers, busy }: { items: Download[]; customers: Customer[]; busy: boolean }) {
  return (
    <div className="table-wrap" aria-busy={busy}>
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Artifact</th>
            <th>Reference</th>
            <th className="hide-narrow">Digest</th>
            <th>Customer</th>
            <th className="hide-narrow">User</th>
            <th className="hide-narrow">From</th>
            <th className="hide-narrow">Client</th>
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td>{dateTime(d.at)}</td>
              <td>
                <Link href={artifactHref("/artifacts", d.repo)}>{d.repo}</Link>
              </td>
              <td className="mono">{reference(d.reference)}</td>
              <td className="mono hide-narrow" title={d.digest}>
                {shortDigest(d.digest)}
                {d.child && <span className="muted"> (platform)</span>}
                {d.bundle_id && <span className="muted" title={`bundle ${d.bundle_id}`}> (bundle)</span>}
              </td>
              <td>{customerName(customers, d.customer_id)}</td>
              <td className="hide-narrow" title={d.user_id}>
                {d.user_email ?? d.user_id}
              </td>
              <td className="hide-narrow">{[d.ip, d.country, d.colo].filter(Boolean).join(" · ") || "—"}</td>
              <td className="hide-narrow">{d.user_agent ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
