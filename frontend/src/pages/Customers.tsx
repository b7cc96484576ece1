export function CustomersPage() {
  return <h1>TODO</h1>;
}
export function CustomerPage(_p: { id: string }) {
  return <h1>TODO</h1>;
}
