// One artifact as the vendor sees it: where to pull it from, its tags with
// their pulls, which tags are immutable (an admin edits the patterns), its
// upstream registry and that registry's outage (admins), every version with
// size, platforms, SBOMs and signatures, its pulls over time, and deleting tags
// or the whole artifact — with the rule that refuses a deletion shown in the
// server's words.
import { useState } from "react";
import { api, ok, type ArtifactDetails } from "../api/client";
import { navigate } from "../router";
import { canWrite, isAdmin, useMe } from "../session";
import { useLoad } from "../ui/async";
import { everyDay, PullsChart } from "../ui/Chart";
import { bytes, dateTime, shortDigest } from "../ui/format";
import { ActionForm, field } from "../ui/forms";
import { ConfirmButton, ErrorNote, Show } from "../ui/parts";
import { newestTag, PullCommands } from "../ui/pull";
import { UpstreamOutage, UpstreamSection, useUpstream } from "../ui/upstream";
import { ArtifactFacts, TagsTable, VersionsTable } from "../ui/versions";

const CHART_DAYS = 30;

export function ArtifactDetailsPage({ name }: { name: string }) {
  const me = useMe();
  const details = useLoad(() => ok(api.GET("/api/v1/artifacts/{name}", { params: { path: { name } } })), name);
  const admin = isAdmin(me);
  const upstream = useUpstream(name, admin);
  const [actionError, setActionError] = useState<Error>();
  const deleteTag = async (tag: string) => {
    setActionError(undefined);
    try {
      await ok(api.DELETE("/api/v1/artifacts/{name}/tags/{tag}", { params: { path: { name, tag } } }));
      details.reload();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const deleteArtifact = async () => {
    setActionError(undefined);
    try {
      await ok(api.DELETE("/api/v1/artifacts/{name}", { params: { path: { name } } }));
      navigate("/artifacts");
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const writable = canWrite(me);
  return (
    <section>
      <h1>{name}</h1>
      <ErrorNote error={actionError} />
      <Show state={details}>
        {(d) => (
          <>
            <Facts details={d} />
            <UpstreamOutage failure={d.upstream_failure} />
            <h2>Pull</h2>
            <PullCommands details={d} tag={newestTag(d)?.tag} user={me.email} />
            <h2>Tags</h2>
            <TagsTable details={d} onDelete={writable ? deleteTag : undefined} />
            {d.immutable_tags && (
              <ImmutableTags name={name} patterns={d.immutable_tags} editable={admin} saved={details.reload} />
            )}
            {admin && <UpstreamSection name={name} upstream={upstream} />}
            <h2>Versions</h2>
            <VersionsTable details={d} />
            <h2>Pulls</h2>
            <ArtifactPulls name={name} />
            {writable && (
              <>
                <h2>Danger zone</h2>
                <ConfirmButton
                  label="Delete artifact"
                  question={`Delete ${name} with all its versions, tags and download history? This cannot be undone.`}
                  action={deleteArtifact}
                />
              </>
            )}
          </>
        )}
      </Show>
    </section>
  );
}

function Facts({ details }: { details: ArtifactDetails }) {
  const size = details.manifests.reduce((sum, m) => sum + m.size, 0);
  return (
    <ArtifactFacts details={details}>
      <dt>First pushed</dt>
      <dd>{dateTime(details.created_at)}</dd>
      <dt>Versions</dt>
      <dd>
        {details.manifests.length} ({bytes(size)} in all)
        {details.manifests[0] && <span className="muted"> · newest {shortDigest(details.manifests[0].digest)}</span>}
      </dd>
    </ArtifactFacts>
  );
}

// The patterns of tags that are never moved or deleted once pushed
// (docs/immutable-tags.md), one per line; only admins change them.
function ImmutableTags({
  name,
  patterns,
  editable,
  saved,
}: {
  name: string;
  patterns: string[];
  editable: boolean;
  saved: () => void;
}) {
  const save = async (values: FormData) => {
    const immutable_tags = field(values, "patterns")
      .split("\n")
      .map((p) => p.trim())
      .filter(Boolean);
    await ok(api.PATCH("/api/v1/artifacts/{name}", { params: { path: { name } }, body: { immutable_tags } }));
    saved();
  };
  const shown = patterns.length > 0 ? patterns.join(" · ") : "None: every tag may be moved or deleted.";
  if (!editable) {
    return (
      <>
        <h2>Immutable tags</h2>
        <p>{shown}</p>
      </>
    );
  }
  return (
    <ActionForm key={patterns.join("\n")} title="Immutable tags" label="Save immutable tags" submit={save}>
      <p className="hint">
        Tags matching these patterns are never moved to another digest or deleted once pushed. One pattern a line:
        semver for every semver-looking tag (v1.2.3), a glob (stable-*) or a range (&gt;=1, &lt;2). Empty: off.
      </p>
      <label>
        Patterns
        <textarea name="patterns" rows={3} defaultValue={patterns.join("\n")} />
      </label>
    </ActionForm>
  );
}

function ArtifactPulls({ name }: { name: string }) {
  const to = Math.floor(Date.now() / 1000);
  const from = to - (CHART_DAYS - 1) * 86_400;
  const daily = useLoad(() => ok(api.GET("/api/v1/downloads/daily", { params: { query: { artifact: name, from, to } } })), name);
  return <Show state={daily}>{(d) => <PullsChart days={everyDay(d.days, from, to)} label={`Last ${CHART_DAYS} days`} />}</Show>;
}
