// How a license reads in a list — name, customer, expiry (expired ones say so),
// what it covers — shared by the licenses page and each customer's page.
import type { ReactNode } from "react";
import type { License, LicenseItem } from "../api/client";
import { Link } from "../router";

/** What a license covers, in a few words; digest items of one artifact are counted together. */
function coverage(items: LicenseItem[]): string {
  const versions = new Map<string, number>();
  const parts: string[] = [];
  for (const { artifact, all_versions, pattern, digests = [] } of items) {
    if (all_versions) parts.push(`${artifact}: all versions`);
    else if (pattern != null) parts.push(`${artifact}: ${pattern}`);
    else versions.set(artifact, (versions.get(artifact) ?? 0) + digests.length);
  }
  for (const [artifact, n] of versions) parts.push(`${artifact}: ${n} version${n === 1 ? "" : "s"}`);
  return parts.join("; ");
}

/** Unix seconds as a date in UTC, the day a license's expiry is chosen in. */
const utcDate = (seconds: number) => new Date(seconds * 1000).toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });

function Expiry({ at }: { at: number | null }) {
  if (at == null) return <span className="muted">Never</span>;
  if (at * 1000 <= Date.now()) return <span className="badge expired">Expired {utcDate(at)}</span>;
  return <>{utcDate(at)}</>;
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
              <td className="hide-narrow">{coverage(license.items)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
