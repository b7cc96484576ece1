export function ArtifactsPage(_props: Record<string, unknown>) {
  return <h1>TODO</h1>;
}
