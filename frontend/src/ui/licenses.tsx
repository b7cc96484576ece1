// How a license reads in a list — name, customer, expiry (expired ones say so) and
// what it grants after it, what it covers — shared by the licenses page, each
// customer's page and the customer portal; and its usage this month against its caps.
import type { ReactNode } from "react";
import type { License, LicenseItem } from "../api/client";
import { Link } from "../router";
import { bytes, count } from "./format";

/** A cap as the editor's input holds it: empty for none. */
export const capInput = (cap: number | null | undefined) => (cap == null ? "" : String(cap));

/** The editor's input as the API takes a cap: null for none. */
export const capValue = (input: string) => (input.trim() === "" ? null : Number(input));

/** One usage figure, against its cap when there is one. */
function against(used: string, cap: string | null) {
  return cap == null ? used : `${used} of ${cap}`;
}

/** This month's usage of a license against its caps. */
export function UsageNote({ license: { usage, max_pulls_per_month: pulls, max_bytes_per_month: size } }: { license: License }) {
  const over = (pulls != null && usage.pulls >= pulls) || (size != null && usage.bytes >= size);
  return (
    <p aria-label="Usage this month">
      Usage in {usage.month}: {against(count(usage.pulls), pulls == null ? null : count(pulls))} pulls,{" "}
      {against(bytes(usage.bytes), size == null ? null : bytes(size))}
      {over && <span className="badge expired"> Cap reached</span>}
    </p>
  );
}

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

/** What each expiry policy grants once the license has expired. */
export const EXPIRY_POLICIES: Record<License["expiry_policy"], string> = {
  revoke: "Revoke all access",
  keep_released: "Keep the versions released before it expired",
};

function Expiry({ license: { expires_at: at, expiry_policy: policy } }: { license: License }) {
  if (at == null) return <span className="muted">Never</span>;
  const keeps = policy === "keep_released" && <span className="muted"> · keeps versions released before</span>;
  if (at * 1000 <= Date.now()) {
    return (
      <>
        <span className="badge expired">Expired {utcDate(at)}</span>
        {keeps}
      </>
    );
  }
  return (
    <>
      {utcDate(at)}
      {keeps}
    </>
  );
}

/**
 * Licenses as a table; `customer` renders the customer column when given; names
 * link to the editor unless `linked` is false (a customer cannot open it).
 */
export function LicenseTable({ licenses, customer, linked = true }: { licenses: License[]; customer?: (license: License) => ReactNode; linked?: boolean }) {
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
                {linked ? <Link href={`/licenses/${encodeURIComponent(license.id)}`}>{license.name}</Link> : license.name}
              </td>
              {customer && <td>{customer(license)}</td>}
              <td>
                <Expiry license={license} />
              </td>
              <td className="hide-narrow">{coverage(license.items)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
