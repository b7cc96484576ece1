// The customer portal: the artifacts and versions the customer's licenses
// cover — the server answers with nothing else — with the commands to pull them,
// the licenses themselves: when each expires and what it keeps after, and a
// bundle of the licensed versions to download for sites that cannot pull.
import { api, ok, type ArtifactDetails } from "../api/client";
import { useMe } from "../session";
import { useLoad, usePaged } from "../ui/async";
import { dateTime } from "../ui/format";
import { LicenseTable } from "../ui/licenses";
import { Empty, Pager, Show } from "../ui/parts";
import { newestTag, PullCommands } from "../ui/pull";
import { Link } from "../router";
import { ArtifactFacts, TagsTable, VersionsTable } from "../ui/versions";
import { ArtifactsPage } from "./Artifacts";
import { BundleForm } from "../ui/bundles";

export function PortalPage() {
  return (
    <>
      <ArtifactsPage base="/portal" title="My artifacts" />
      <MyLicenses />
      <BundleForm />
    </>
  );
}

/** The customer's licenses (the server lists only its own). */
function MyLicenses() {
  const licenses = usePaged((cursor) => ok(api.GET("/api/v1/licenses", { params: { query: { cursor } } })), "my-licenses");
  return (
    <section>
      <h2>My licenses</h2>
      <Show state={licenses}>
        {(page) => (page.items.length === 0 ? <Empty>No licenses.</Empty> : <LicenseTable licenses={page.items} linked={false} />)}
      </Show>
      <Pager paged={licenses} />
    </section>
  );
}

export function PortalArtifactPage({ name }: { name: string }) {
  const details = useLoad(() => ok(api.GET("/api/v1/artifacts/{name}", { params: { path: { name } } })), name);
  return (
    <section>
      <h1>{name}</h1>
      <Show state={details}>{(d) => <LicensedArtifact details={d} />}</Show>
    </section>
  );
}

function LicensedArtifact({ details }: { details: ArtifactDetails }) {
  const me = useMe();
  const newest = newestTag(details);
  return (
    <>
      <ArtifactFacts details={details}>
        <dt>Newest version</dt>
        <dd>{newest ? `${newest.tag}, ${dateTime(newest.updated_at)}` : "—"}</dd>
      </ArtifactFacts>
      <h2>Pull</h2>
      <p className="muted">
        Sign in with your email and a token from the <Link href="/tokens">Tokens</Link> page as the password.
      </p>
      <PullCommands details={details} tag={newest?.tag} user={me.email} />
      <h2>Versions you may pull</h2>
      <TagsTable details={details} />
      <h2>Digests</h2>
      <VersionsTable details={details} />
    </>
  );
}
