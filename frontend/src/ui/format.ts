// How numbers and times read on every page.

/** Unix seconds as a local date and time, or a dash. */
export function dateTime(seconds: number | null | undefined): string {
  if (seconds == null) return "—";
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Unix seconds as a local date. */
export function date(seconds: number): string {
  return new Date(seconds * 1000).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function count(n: number): string {
  return n.toLocaleString();
}

/** A digest shortened for tables; the full one is in the title. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(":");
  return `${algorithm}:${hex?.slice(0, 12) ?? ""}`;
}

/** A reference as asked for: a tag as it is, a digest shortened. */
export function reference(ref: string): string {
  return ref.includes(":") ? shortDigest(ref) : ref;
}

const TYPE_NAMES: Record<string, string> = {
  container_image: "Container image",
  helm_chart: "Helm chart",
  terraform_module: "Terraform module",
  sbom: "SBOM",
  signature: "Signature",
  artifact: "Artifact",
};

export function typeName(type: string): string {
  return TYPE_NAMES[type] ?? type;
}

/** The registry host clients use: the page's own host. */
export function registryHost(): string {
  return location.host;
}
