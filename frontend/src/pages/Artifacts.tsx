// The artifact list: every artifact with its type and pull figures, searched
// and sorted by the server, a page at a time. The customer portal shows the same
// list, which the server limits to the customer's licensed artifacts and pulls.
import { useCallback } from "react";
import { api, ok, type Artifact } from "../api/client";
import { artifactHref, Link, setQuery, useLocation } from "../router";
import { isCustomer, useMe } from "../session";
import { usePaged } from "../ui/async";
import { count, dateTime, typeName } from "../ui/format";
import { Empty, ErrorNote, Loading, Pager, SearchBox } from "../ui/parts";

const SORTS = [
  ["name", "Name"],
  ["pulls", "Most pulled"],
  ["last_pull", "Last pulled"],
  ["last_push", "Last pushed"],
] as const;
type Sort = (typeof SORTS)[number][0];

const PAGE_SIZE = 50;

/** The list, linking each artifact to its page under `base`. */
export function ArtifactsPage({ base = "/artifacts", title = "Artifacts" }: { base?: string; title?: string }) {
  const vendor = !isCustomer(useMe());
  const params = useLocation().searchParams;
  const q = params.get("q") ?? "";
  const sort = (SORTS.find(([value]) => value === params.get("sort"))?.[0] ?? "name") as Sort;
  const paged = usePaged(
    (cursor) => ok(api.GET("/api/v1/artifacts", { params: { query: { q, sort, cursor, limit: PAGE_SIZE } } })),
    `${q}\u0000${sort}`,
  );
  const search = useCallback((value: string) => setQuery({ q: value }), []);
  return (
    <section>
      <h1>{title}</h1>
      <div className="toolbar">
        <div className="grow">
          <SearchBox label="Search artifacts" value={q} onChange={search} />
        </div>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setQuery({ sort: e.target.value === "name" ? undefined : e.target.value })}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={paged.error} />
      {paged.data === undefined ? (
        !paged.error && <Loading />
      ) : paged.data.items.length === 0 ? (
        <Empty>{q ? `No artifact's name contains “${q}”.` : vendor ? "No artifacts yet. Push one with docker, helm, oras or any OCI client." : "No licensed artifacts yet."}</Empty>
      ) : (
        <ArtifactTable items={paged.data.items} busy={paged.loading} base={base} vendor={vendor} />
      )}
      <Pager paged={paged} />
    </section>
  );
}

/** Users and customers columns are the vendor's: a customer sees only its own pulls. An artifact whose upstream
 * registry failed is marked (the API tells vendor staff only; docs/pull-through.md). */
function ArtifactTable({ items, busy, base, vendor }: { items: Artifact[]; busy: boolean; base: string; vendor: boolean }) {
  return (
    <div className="table-wrap" aria-busy={busy}>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th className="num">Pulls</th>
            {vendor && <th className="num hide-narrow">Users</th>}
            {vendor && <th className="num hide-narrow">Customers</th>}
            <th className="hide-narrow">Last push</th>
            <th className="hide-narrow">Last pull</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.name}>
              <td>
                <Link href={artifactHref(base, a.name)}>{a.name}</Link>
                {a.upstream_failed_at !== undefined && (
                  <>
                    {" "}
                    <span className="badge expired" title={`The upstream registry failed at ${dateTime(a.upstream_failed_at)}`}>
                      Upstream failing
                    </span>
                  </>
                )}
              </td>
              <td>{typeName(a.type)}</td>
              <td className="num">{count(a.pulls)}</td>
              {vendor && <td className="num hide-narrow">{count(a.users)}</td>}
              {vendor && <td className="num hide-narrow">{count(a.customers)}</td>}
              <td className="hide-narrow">{dateTime(a.last_push)}</td>
              <td className="hide-narrow">{dateTime(a.last_pull)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
