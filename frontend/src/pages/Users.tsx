export function UsersPage(_props: Record<string, unknown>) {
  return <h1>TODO</h1>;
}
