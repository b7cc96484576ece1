// How a license reads in a list — name, customer, expiry (expired ones say so),
// what it covers — shared by the licenses page and each customer's page.
import type { ReactNode } from "react";
import type { License, LicenseItem } from "../api/client";
import { Link } from "../router";
import { date } from "./format";

/** What one item covers, in a few words. */
export function itemSummary(item: LicenseItem): string {
  if (item.all_versions) return `${item.artifact}: all versions`;
  if (item.pattern) return `${item.artifact}: ${item.pattern}`;
  const n = item.digests?.length ?? item.tags?.length ?? 0;
  return `${item.artifact}: ${n} version${n === 1 ? "" : "s"}`;
}

export function Expiry({ at }: { at: number | null }) {
  if (at == null) return <span className="muted">Never</span>;
  if (at * 1000 <= Date.now()) return <span className="badge expired">Expired {date(at)}</span>;
  return <>{date(at)}</>;
}

/** Licenses as a table; `customer` renders the customer column when given. */
export function LicenseTable({ licenses, customer }: { licenses: License[]; customer?: (license: License) => ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Name</th>
            {customer && <th>Customer</th>}
            <th>Expires</th>
            <th className="hide-narrow">Covers</th>
          </tr>
        </thead>
        <tbody>
          {licenses.map((license) => (
            <tr key={license.id}>
              <td>
                <Link href={`/licenses/${encodeURIComponent(license.id)}`}>{license.name}</Link>
              </td>
              {customer && <td>{customer(license)}</td>}
              <td>
                <Expiry at={license.expires_at} />
              </td>
              <td className="hide-narrow">{license.items.map(itemSummary).join("; ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
