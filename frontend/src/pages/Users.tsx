// The vendor's own accounts (admins only): who may sign in and with which role.
import { api, ok, type NewUser } from "../api/client";
import { UsersSection } from "../ui/users";

const load = (cursor: string | undefined) => ok(api.GET("/api/v1/users", { params: { query: { cursor } } }));
const create = (body: NewUser) => ok(api.POST("/api/v1/users", { body }));

export function UsersPage() {
  return (
    <section>
      <h1>Users</h1>
      <p className="muted">Vendor accounts. Customers' users are managed on each customer's page.</p>
      <UsersSection listKey="users" load={load} create={create} roles={["admin", "read_write", "read_only"]} />
    </section>
  );
}
