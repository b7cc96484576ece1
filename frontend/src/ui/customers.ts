// The vendor's customers by id, for pickers and for naming customers in tables.
import { api, ok, type Customer } from "../api/client";
import { useLoad, type Loaded } from "./async";

/** Customers a picker offers at most: one page of the API's largest size. */
const MAX = 200;

export function useCustomers(): Loaded<Customer[]> {
  return useLoad(async () => (await ok(api.GET("/api/v1/customers", { params: { query: { limit: MAX } } }))).items, "customers");
}

export function customerName(customers: Customer[] | undefined, id: string | null): string {
  if (!id) return "—";
  return customers?.find((c) => c.id === id)?.name ?? id;
}
