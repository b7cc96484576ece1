export function LicensesPage() {
  return <h1>TODO</h1>;
}
export function LicenseEditPage(_p: { id: string | null }) {
  return <h1>TODO</h1>;
}
