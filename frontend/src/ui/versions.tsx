// The tag and version tables of an artifact, shared by the vendor's details
// page and the customer portal (which simply gets fewer rows from the server).
import { useState, type ReactNode } from "react";
import type { ArtifactDetails } from "../api/client";
import { bytes, count, dateTime, shortDigest, typeName } from "./format";
import { Command, ConfirmButton, CopyButton, Empty } from "./parts";

/** Rows shown before "Show more": an artifact may have thousands of tags. */
const ROWS = 100;

type Manifest = ArtifactDetails["manifests"][number];

/** The facts an artifact's page starts with: its type and the OCI URL to copy, then `children`. */
export function ArtifactFacts({ details, children }: { details: ArtifactDetails; children: ReactNode }) {
  return (
    <dl className="facts">
      <dt>Type</dt>
      <dd>{typeName(details.type)}</dd>
      <dt>OCI URL</dt>
      <dd>
        <Command text={details.url} />
      </dd>
      {children}
    </dl>
  );
}

export function TagsTable({ details, onDelete }: { details: ArtifactDetails; onDelete?: (tag: string) => Promise<void> }) {
  const [shown, setShown] = useState(ROWS);
  if (details.tags.length === 0) return <Empty>No tags.</Empty>;
  const sizes = new Map(details.manifests.map((m) => [m.digest, m.size]));
  return (
    <>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Tag</th>
              <th>Digest</th>
              <th className="hide-narrow">Pushed</th>
              <th className="num hide-narrow">Size</th>
              <th className="num">Pulls</th>
              {onDelete && <th aria-label="Actions" />}
            </tr>
          </thead>
          <tbody>
            {details.tags.slice(0, shown).map((t) => (
              <tr key={t.tag}>
                <td>
                  <code>{t.tag}</code> <CopyButton text={`${details.url}:${t.tag}`} label="Copy reference" />
                </td>
                <td className="mono" title={t.digest}>
                  {shortDigest(t.digest)}
                </td>
                <td className="hide-narrow">{dateTime(t.updated_at)}</td>
                <td className="num hide-narrow">{bytes(sizes.get(t.digest) ?? 0)}</td>
                <td className="num">{count(t.pulls)}</td>
                {onDelete && (
                  <td>
                    <ConfirmButton label="Delete" question={`Delete the tag ${t.tag}?`} action={() => onDelete(t.tag)} className="danger small" />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {details.tags.length > shown && (
        <button type="button" onClick={() => setShown((n) => n + ROWS)}>
          Show more ({count(details.tags.length - shown)} left)
        </button>
      )}
    </>
  );
}

export function VersionsTable({ details }: { details: ArtifactDetails }) {
  const [shown, setShown] = useState(ROWS);
  if (details.manifests.length === 0) return <Empty>No versions.</Empty>;
  return (
    <>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Digest</th>
              <th>Tags</th>
              <th className="hide-narrow">Type</th>
              <th className="num">Size</th>
              <th className="hide-narrow">Pushed</th>
              <th>Platforms</th>
              <th>SBOMs and signatures</th>
            </tr>
          </thead>
          <tbody>
            {details.manifests.slice(0, shown).map((m) => (
              <tr key={m.digest}>
                <td className="mono" title={m.digest}>
                  {shortDigest(m.digest)} <CopyButton text={`${details.url}@${m.digest}`} label="Copy reference" />
                </td>
                <td>{m.tags.join(", ") || <span className="muted">untagged</span>}</td>
                <td className="hide-narrow">{typeName(m.type)}</td>
                <td className="num">{bytes(m.size)}</td>
                <td className="hide-narrow">{dateTime(m.created_at)}</td>
                <td>{platforms(m)}</td>
                <td>
                  <Referrers manifest={m} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {details.manifests.length > shown && (
        <button type="button" onClick={() => setShown((n) => n + ROWS)}>
          Show more ({count(details.manifests.length - shown)} left)
        </button>
      )}
    </>
  );
}

function platforms(m: Manifest): string {
  const names = m.platforms.map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join("/"));
  return names.join(", ") || "—";
}

function Referrers({ manifest }: { manifest: Manifest }) {
  if (manifest.referrers.length === 0) return <>—</>;
  return (
    <ul className="plain">
      {manifest.referrers.map((r) => (
        <li key={r.digest} title={`${r.artifact_type ?? ""} ${r.digest}`}>
          {typeName(r.type)} <span className="muted">{shortDigest(r.digest)}</span>
        </li>
      ))}
    </ul>
  );
}
