// The commands that pull an artifact, for the kind of thing it is: what a
// vendor checks and a customer copies.
import type { ArtifactDetails } from "../api/client";
import { Command } from "./parts";

/** The client's login, then its pull command for `tag` of the artifact at `url` (host/name). */
export function PullCommands({ details, tag, user }: { details: ArtifactDetails; tag: string | undefined; user: string }) {
  const host = details.url.split("/")[0];
  const ref = tag ? `${details.url}:${tag}` : details.url;
  const commands: string[] = [];
  if (details.type === "helm_chart") {
    commands.push(`helm registry login ${host} -u ${user}`);
    commands.push(`helm pull oci://${details.url}${tag ? ` --version ${tag}` : ""}`);
  } else if (details.type === "container_image") {
    commands.push(`docker login ${host} -u ${user}`);
    commands.push(`docker pull ${ref}`);
  } else {
    commands.push(`oras login ${host} -u ${user}`);
    commands.push(`oras pull ${ref}`);
  }
  return (
    <div aria-label="Pull commands">
      {commands.map((c) => (
        <Command key={c} text={c} />
      ))}
    </div>
  );
}

/** The most recently set tag: the version to offer first. */
export function newestTag(details: ArtifactDetails): ArtifactDetails["tags"][number] | undefined {
  return details.tags.reduce<ArtifactDetails["tags"][number] | undefined>(
    (newest, t) => (!newest || t.updated_at > newest.updated_at ? t : newest),
    undefined,
  );
}
