// The one way pages talk to the server: a client typed from the OpenAPI
// document the worker serves (schema.d.ts is generated from it at build time, so
// a server change that breaks a page breaks the build), and problem details
// turned into errors whose message is the server's own words.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Artifact = Schemas["Artifact"];
export type ArtifactDetails = Schemas["ArtifactDetails"];
export type AuditEvent = Schemas["AuditEvent"];
export type Bundle = Schemas["Bundle"];
export type Customer = Schemas["Customer"];
export type CustomerDashboard = Schemas["CustomerDashboard"];
export type Download = Schemas["Download"];
export type License = Schemas["License"];
export type LicenseItem = Schemas["LicenseItem"];
export type NewLicense = Schemas["NewLicense"];
export type Me = Schemas["Me"];
export type NewUser = Schemas["NewUser"];
export type Role = Schemas["Role"];
export type Session = Schemas["Session"];
export type Tag = Schemas["Tag"];
export type Token = Schemas["Token"];
export type Upstream = Schemas["Upstream"];
export type UpstreamSetting = Schemas["UpstreamSetting"];
export type User = Schemas["User"];

// An absolute base (the page's origin) because Request outside a browser, as in
// component tests, takes no relative URL; fetch is looked up on every call so
// tests can stub the global one.
export const api = createClient<paths>({
  baseUrl: location.origin,
  credentials: "same-origin",
  fetch: (request) => globalThis.fetch(request),
});

/** An answer other than success, with the problem's detail as its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail || title || `HTTP ${status}`);
  }
}

/** Listeners told when the session has ended, so the app can ask to sign in. */
const signedOut = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOut.add(listener);
  return () => signedOut.delete(listener);
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an ApiError carrying the problem's words. */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  if (response.status === 401) signedOut.forEach((listener) => listener());
  const problem = (error ?? {}) as Partial<Schemas["Problem"]>;
  throw new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? "");
}

/** A page of any cursor-paginated list. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

