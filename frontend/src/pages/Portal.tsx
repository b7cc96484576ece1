export function PortalPage() {
  return <h1>TODO</h1>;
}
export function PortalArtifactPage(_p: { name: string }) {
  return <h1>TODO</h1>;
}
