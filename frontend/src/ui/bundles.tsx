// Air-gap bundles (docs/bundles.md): a customer's licensed versions as one OCI
// image-layout tar. The form fixes a bundle — everything licensed, or versions
// named one a line as `artifact:tag` or `artifact@sha256:…` — and then offers its
// download; the server refuses a selection naming anything not licensed.
import { useState } from "react";
import { api, ok, type Bundle } from "../api/client";
import { ActionForm, field } from "./forms";
import { bytes } from "./format";

interface Item {
  artifact: string;
  tags: string[];
  digests: string[];
}

/** The items of lines `artifact:tag` or `artifact@digest`, grouped by artifact. */
export function parseVersions(text: string): Item[] {
  const items = new Map<string, Item>();
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("@");
    const colon = line.lastIndexOf(":");
    const split = at > 0 ? at : colon;
    if (split <= 0) throw new Error(`"${line}": write artifact:tag or artifact@digest`);
    const artifact = line.slice(0, split);
    const item = items.get(artifact) ?? { artifact, tags: [], digests: [] };
    (at > 0 ? item.digests : item.tags).push(line.slice(split + 1));
    items.set(artifact, item);
  }
  if (items.size === 0) throw new Error("name at least one version, or choose everything licensed");
  return [...items.values()];
}

/** The "Download bundle" form: for the signed-in customer, or for `customerId` (vendor users). */
export function BundleForm({ customerId }: { customerId?: string }) {
  const [bundle, setBundle] = useState<Bundle>();
  const submit = async (values: FormData) => {
    setBundle(undefined);
    const selection = values.get("scope") === "all" ? { all: true } : { items: parseVersions(field(values, "versions")) };
    const body = customerId ? { ...selection, customer_id: customerId } : selection;
    setBundle(await ok(api.POST("/api/v1/bundles", { body })));
  };
  return (
    <>
      <ActionForm title="Download bundle" label="Create bundle" submit={submit}>
        <p className="muted">One archive (an OCI image layout as tar) of licensed versions with their platforms, signatures and SBOMs, for sites that cannot pull.</p>
        <fieldset>
          <legend>Versions</legend>
          <label>
            <input type="radio" name="scope" value="all" defaultChecked /> Everything licensed
          </label>
          <label>
            <input type="radio" name="scope" value="chosen" /> These versions
          </label>
        </fieldset>
        <label>
          Versions, one a line
          <textarea name="versions" rows={3} placeholder="vendor/app:v1.2.0" />
        </label>
      </ActionForm>
      {bundle && (
        <p role="status">
          {bundle.versions.length} versions, {bytes(bundle.size)}:{" "}
          <a href={bundle.download} download>
            Download bundle
          </a>
        </p>
      )}
    </>
  );
}
