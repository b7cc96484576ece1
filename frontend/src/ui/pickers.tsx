// Selects over server-paged lists: the options loaded so far plus a button that
// loads the next page, and the current value kept even when not loaded yet.
import { api, ok, type Customer } from "../api/client";
import { useMore, type More } from "./async";
import { ErrorNote } from "./parts";

/** Every customer, up to 200 a page: for pickers and for naming customers in lists. */
export function useCustomers(): More<Customer> {
  return useMore((cursor) => ok(api.GET("/api/v1/customers", { params: { query: { cursor, limit: 200 } } })), "customers");
}

/** A customer's name for tables; its id until the customer is loaded. */
export function customerName(customers: Customer[], id: string | null): string {
  if (!id) return "—";
  return customers.find((c) => c.id === id)?.name ?? id;
}

interface Choice {
  value: string;
  label: string;
}

export function MoreSelect({
  label,
  list,
  choices,
  value,
  onChange,
  none,
  required,
}: {
  label: string;
  list: More<unknown>;
  choices: Choice[];
  value: string;
  onChange: (value: string) => void;
  /** The text of the empty choice. */
  none: string;
  required?: boolean;
}) {
  const shown = value && !choices.some((c) => c.value === value) ? [...choices, { value, label: value }] : choices;
  return (
    <div className="row">
      <label className="grow">
        {label}
        <select value={value} onChange={(e) => onChange(e.target.value)} required={required}>
          <option value="">{list.loading && choices.length === 0 ? "Loading…" : none}</option>
          {shown.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      {list.more && (
        <button type="button" className="small" onClick={list.more} aria-label={`Load more choices for ${label}`}>
          Load more
        </button>
      )}
      <ErrorNote error={list.error} />
    </div>
  );
}

export function CustomerSelect({
  customers,
  ...rest
}: { customers: More<Customer> } & Omit<Parameters<typeof MoreSelect>[0], "list" | "choices" | "label">) {
  const choices = customers.items.map((c) => ({ value: c.id, label: c.name }));
  return <MoreSelect label="Customer" list={customers} choices={choices} {...rest} />;
}
