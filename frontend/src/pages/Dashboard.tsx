// Who consumes what: per customer, each licensed artifact's last pull against
// the newest version it is licensed for, and pulls over time.
import { api, ok, type CustomerDashboard } from "../api/client";
import { artifactHref, customerHref, Link, setQuery, useLocation } from "../router";
import { useLoad, usePaged } from "../ui/async";
import { everyDay, PullsChart } from "../ui/Chart";
import { CustomerSelect, useCustomers } from "../ui/pickers";
import { dateTime, reference } from "../ui/format";
import { Empty, ErrorNote, Loading, Pager, Show } from "../ui/parts";

const PERIODS = [7, 30, 90, 365];
const CUSTOMERS_PER_PAGE = 20;
const STATUS = { up_to_date: "Up to date", behind: "Behind", no_pulls: "No pulls" } as const;

export function DashboardPage() {
  const params = useLocation().searchParams;
  const days = Number(params.get("days")) || 30;
  const customerId = params.get("customer_id") || undefined;
  const customers = useCustomers();
  return (
    <section>
      <h1>Dashboard</h1>
      <div className="toolbar">
        <CustomerSelect customers={customers} value={customerId ?? ""} onChange={(id) => setQuery({ customer_id: id })} none="All customers" />
        <label>
          Period
          <select value={days} onChange={(e) => setQuery({ days: e.target.value === "30" ? undefined : e.target.value })}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </label>
      </div>
      <PullsOverTime days={days} customerId={customerId} />
      <CustomerStandings days={days} customerId={customerId} />
    </section>
  );
}

function PullsOverTime({ days, customerId }: { days: number; customerId: string | undefined }) {
  const to = Math.floor(Date.now() / 1000);
  const from = to - (days - 1) * 86_400;
  const daily = useLoad(
    () => ok(api.GET("/api/v1/downloads/daily", { params: { query: { customer_id: customerId, from, to } } })),
    `${days}\u0000${customerId ?? ""}`,
  );
  return <Show state={daily}>{(d) => <PullsChart days={everyDay(d.days, from, to)} label={`Pulls, last ${days} days`} />}</Show>;
}

function CustomerStandings({ days, customerId }: { days: number; customerId: string | undefined }) {
  const paged = usePaged(
    (cursor) => ok(api.GET("/api/v1/dashboard", { params: { query: { days, customer_id: customerId, cursor, limit: CUSTOMERS_PER_PAGE } } })),
    `${days}\u0000${customerId ?? ""}`,
  );
  return (
    <>
      <ErrorNote error={paged.error} />
      {paged.data === undefined ? (
        !paged.error && <Loading />
      ) : paged.data.items.length === 0 ? (
        <Empty>No customers yet.</Empty>
      ) : (
        // A lone customer (the one asked for, or a customer's own view) is shown unfolded.
        paged.data.items.map((c) => <Standing key={c.customer_id} customer={c} open={paged.data!.items.length === 1} />)
      )}
      <Pager paged={paged} />
    </>
  );
}

/** One customer: a count per status, the artifacts behind a disclosure (a customer may hold hundreds). */
function Standing({ customer, open }: { customer: CustomerDashboard; open: boolean }) {
  const counts = (Object.keys(STATUS) as (keyof typeof STATUS)[])
    .map((status) => [status, customer.artifacts.filter((a) => a.status === status).length] as const)
    .filter(([, n]) => n > 0);
  return (
    <article>
      <h2>
        <Link href={customerHref(customer.customer_id)}>{customer.customer_name}</Link>
      </h2>
      {customer.artifacts.length === 0 ? (
        <Empty>No live license.</Empty>
      ) : (
        <details open={open}>
          <summary>
            {customer.artifacts.length} licensed artifact{customer.artifacts.length === 1 ? "" : "s"}:{" "}
            {counts.map(([status, n]) => (
              <span key={status} className={`badge ${status}`}>
                {n} {STATUS[status].toLowerCase()}
              </span>
            ))}
          </summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Artifact</th>
                  <th>Version in use</th>
                  <th className="hide-narrow">Last pull</th>
                  <th>Newest licensed</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {customer.artifacts.map((a) => (
                  <tr key={a.artifact}>
                    <td>
                      <Link href={artifactHref("/artifacts", a.artifact)}>{a.artifact}</Link>
                    </td>
                    <td className="mono" title={a.last_pull?.digest}>
                      {a.last_pull ? reference(a.last_pull.reference) : "—"}
                    </td>
                    <td className="hide-narrow">{dateTime(a.last_pull?.at)}</td>
                    <td className="mono">{a.newest?.tag ?? "—"}</td>
                    <td>
                      <span className={`badge ${a.status}`}>{STATUS[a.status]}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </article>
  );
}
