export function DashboardPage(_props: Record<string, unknown>) {
  return <h1>TODO</h1>;
}
