// Who is signed in: the account from /api/v1/me, shared with every page, and
// what its role may do (the server enforces the same rules; the UI only hides
// what would be refused).
import { createContext, useContext } from "react";
import type { Me } from "./api/client";

export const SessionContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error("useMe outside a signed-in page");
  return me;
}

export const isCustomer = (me: Me) => me.role === "customer";
export const isAdmin = (me: Me) => me.role === "admin";
/** May create, change and delete licenses, tags and artifacts. */
export const canWrite = (me: Me) => me.role === "admin" || me.role === "read_write";
