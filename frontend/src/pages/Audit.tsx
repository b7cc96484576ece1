// The audit log (admins only): every change made through the API or the dashboard
// and every OCI delete, newest first, filtered by action, target and dates (kept in
// the URL), a page at a time from the server, and the same events as a CSV file.
import { useCallback } from "react";
import { api, ok, type AuditEvent } from "../api/client";
import { setQuery, useLocation } from "../router";
import { usePaged } from "../ui/async";
import { dateTime } from "../ui/format";
import { Empty, ErrorNote, Loading, Pager, SearchBox } from "../ui/parts";
import { csvHref, DaysAndExport, dayFilters } from "./Downloads";

const PAGE_SIZE = 100;
const ACTIONS = ["POST", "PUT", "PATCH", "DELETE"];

export interface AuditFilters {
  action?: string;
  target?: string;
  from?: number;
  to?: number;
}

function filtersFrom(params: URLSearchParams): AuditFilters {
  return {
    action: params.get("action") || undefined,
    target: params.get("target") || undefined,
    ...dayFilters(params),
  };
}

export function AuditPage() {
  const params = useLocation().searchParams;
  const filters = filtersFrom(params);
  const paged = usePaged(
    (cursor) => ok(api.GET("/api/v1/audit", { params: { query: { ...filters, cursor, limit: PAGE_SIZE } } })),
    JSON.stringify(filters),
  );
  const setTarget = useCallback((value: string) => setQuery({ target: value }), []);
  return (
    <section>
      <h1>Audit log</h1>
      <div className="toolbar">
        <div className="grow">
          <SearchBox label="Target (path starts with)" value={filters.target ?? ""} onChange={setTarget} />
        </div>
        <label>
          Action
          <select value={filters.action ?? ""} onChange={(e) => setQuery({ action: e.target.value })}>
            <option value="">All actions</option>
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <DaysAndExport params={params} csv={csvHref("/api/v1/audit.csv", filters)} />
      </div>
      <p className="muted">Dates are UTC days. Refused changes are recorded too; events are kept for the retention period (docs/audit.md).</p>
      <ErrorNote error={paged.error} />
      {paged.data === undefined ? (
        !paged.error && <Loading />
      ) : paged.data.items.length === 0 ? (
        <Empty>No changes match.</Empty>
      ) : (
        <AuditTable items={paged.data.items} busy={paged.loading} />
      )}
      <Pager paged={paged} />
    </section>
  );
}

function AuditTable({ items, busy }: { items: AuditEvent[]; busy: boolean }) {
  return (
    <div className="table-wrap" aria-busy={busy}>
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Status</th>
            <th className="hide-narrow">From</th>
            <th className="hide-narrow">Client</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>{dateTime(e.at)}</td>
              <td title={e.actor_id ?? undefined}>
                {e.actor_email ?? "—"}
                {e.role && <span className="muted"> ({e.role})</span>}
              </td>
              <td className="mono">{e.action}</td>
              <td className="mono">{e.target}</td>
              <td className="mono">{e.status}</td>
              <td className="hide-narrow">{e.address ?? "—"}</td>
              <td className="hide-narrow">{e.user_agent ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
