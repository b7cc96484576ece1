// Client-side routing over the History API: the worker answers every path that
// is not /v2, /token or /api with index.html, so any page can be loaded directly.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((listener) => listener());
}

/** The current location (path and query), re-rendering on every navigation. */
export function useLocation(): URL {
  const [href, setHref] = useState(location.href);
  useEffect(() => {
    const update = () => setHref(location.href);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return new URL(href);
}

/** Replaces the query string, keeping the path: filters live in the URL so they survive reloads and links. */
export function setQuery(values: Record<string, string | undefined>): void {
  const url = new URL(location.href);
  for (const [key, value] of Object.entries(values)) {
    if (value) url.searchParams.set(key, value);
    else url.searchParams.delete(key);
  }
  navigate(url.pathname + url.search, true);
}

/** An in-app link: a real <a> (open in a new tab still works) that navigates without a reload. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}

/** The in-app path of an artifact's page: its name keeps its slashes, each component escaped. */
export function artifactHref(base: string, name: string): string {
  return `${base}/${name.split("/").map(encodeURIComponent).join("/")}`;
}

/** The in-app path of a customer's page. */
export const customerHref = (id: string) => `/customers/${encodeURIComponent(id)}`;

/** The artifact name in a path under `base`, or null. */
export function artifactFromPath(path: string, base: string): string | null {
  if (!path.startsWith(`${base}/`)) return null;
  const rest = path.slice(base.length + 1);
  return rest ? rest.split("/").map(decodeURIComponent).join("/") : null;
}
