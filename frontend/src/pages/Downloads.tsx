export function DownloadsPage(_props: Record<string, unknown>) {
  return <h1>TODO</h1>;
}
