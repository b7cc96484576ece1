export function TokensPage(_props: Record<string, unknown>) {
  return <h1>TODO</h1>;
}
