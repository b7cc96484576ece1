// Customers: the list (admins create and delete them) and one customer's page —
// its facts, its users, its licenses, links to its downloads and dashboard, and
// a bundle of its licensed versions to download for it.
import { api, ok, type Customer, type NewUser } from "../api/client";
import { customerHref, Link, navigate } from "../router";
import { canWrite, isAdmin, useMe } from "../session";
import { useLoad, usePaged } from "../ui/async";
import { ActionForm, field } from "../ui/forms";
import { date } from "../ui/format";
import { LicenseTable } from "../ui/licenses";
import { ConfirmAction, Empty, Pager, Show } from "../ui/parts";
import { UsersSection } from "../ui/users";
import { BundleForm } from "../ui/bundles";

function DeleteCustomer({ customer, label, done }: { customer: Customer; label: string; done: () => void }) {
  return (
    <ConfirmAction
      label={label}
      question={`Delete ${customer.name}? Its users, their tokens and its licenses go with it.`}
      action={() => ok(api.DELETE("/api/v1/customers/{id}", { params: { path: { id: customer.id } } })).then(done)}
    />
  );
}

export function CustomersPage() {
  const admin = isAdmin(useMe());
  const customers = usePaged((cursor) => ok(api.GET("/api/v1/customers", { params: { query: { cursor } } })), "customers");
  const create = (values: FormData) =>
    ok(api.POST("/api/v1/customers", { body: { name: field(values, "name"), contact: field(values, "contact"), notes: field(values, "notes") } })).then(customers.reload);
  return (
    <section>
      <h1>Customers</h1>
      <Show state={customers}>
        {(page) => (page.items.length === 0 ? <Empty>No customers yet.</Empty> : <CustomerTable customers={page.items} admin={admin} reload={customers.reload} />)}
      </Show>
      <Pager paged={customers} />
      {admin && (
        <ActionForm title="New customer" label="Create customer" submit={create}>
          <label>
            Name
            <input name="name" required maxLength={200} />
          </label>
          <label>
            Contact
            <input name="contact" placeholder="ops@customer.example" />
          </label>
          <label>
            Notes
            <textarea name="notes" rows={2} />
          </label>
        </ActionForm>
      )}
    </section>
  );
}

function CustomerTable({ customers, admin, reload }: { customers: Customer[]; admin: boolean; reload: () => void }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Contact</th>
            <th className="hide-narrow">Created</th>
            {admin && (
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {customers.map((customer) => (
            <tr key={customer.id}>
              <td>
                <Link href={customerHref(customer.id)}>{customer.name}</Link>
              </td>
              <td>{customer.contact || <span className="muted">—</span>}</td>
              <td className="hide-narrow">{date(customer.created_at)}</td>
              {admin && (
                <td>
                  <DeleteCustomer customer={customer} label="Delete" done={reload} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function CustomerPage({ id }: { id: string }) {
  const admin = isAdmin(useMe());
  const customer = useLoad(() => ok(api.GET("/api/v1/customers/{id}", { params: { path: { id } } })), id);
  return (
    <section>
      <p>
        <Link href="/customers">← Customers</Link>
      </p>
      <Show state={customer}>
        {(c) => (
          <>
            <h1>{c.name}</h1>
            <CustomerFacts customer={c} />
            {admin && <DeleteCustomer customer={c} label="Delete customer" done={() => navigate("/customers")} />}
          </>
        )}
      </Show>
      <h2>Users</h2>
      <UsersSection
        listKey={`customer-users\u0000${id}`}
        load={(cursor) => ok(api.GET("/api/v1/customers/{id}/users", { params: { path: { id }, query: { cursor } } }))}
        create={(body: NewUser) => ok(api.POST("/api/v1/customers/{id}/users", { params: { path: { id } }, body }))}
        roles={["customer"]}
      />
      <CustomerLicenses id={id} />
      <BundleForm customerId={id} />
    </section>
  );
}

function CustomerFacts({ customer }: { customer: Customer }) {
  const query = `?customer_id=${encodeURIComponent(customer.id)}`;
  return (
    <>
      <dl className="facts">
        <dt>Contact</dt>
        <dd>{customer.contact || "—"}</dd>
        <dt>Notes</dt>
        <dd>{customer.notes || "—"}</dd>
        <dt>Created</dt>
        <dd>{date(customer.created_at)}</dd>
      </dl>
      <p className="row">
        <Link href={`/downloads${query}`}>Downloads</Link>
        <Link href={`/dashboard${query}`}>Dashboard</Link>
      </p>
    </>
  );
}

function CustomerLicenses({ id }: { id: string }) {
  const write = canWrite(useMe());
  const licenses = usePaged((cursor) => ok(api.GET("/api/v1/licenses", { params: { query: { cursor, customer_id: id } } })), `licenses\u0000${id}`);
  return (
    <>
      <h2>Licenses</h2>
      <Show state={licenses}>
        {(page) => (page.items.length === 0 ? <Empty>No licenses: this customer can pull nothing.</Empty> : <LicenseTable licenses={page.items} />)}
      </Show>
      <Pager paged={licenses} />
      {write && (
        <p>
          <Link href={`/licenses/new?customer_id=${encodeURIComponent(id)}`}>New license for this customer</Link>
        </p>
      )}
    </>
  );
}
