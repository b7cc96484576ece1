// Loading state for server data: one hook for a single answer, one for a list
// paged by the server's cursors (never paged on the client).
import { useCallback, useEffect, useRef, useState } from "react";
import type { Page } from "../api/client";

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` whenever `key` changes (and on reload); a late answer to an older key is dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => ticket === latest.current && setState({ data, loading: false }),
      (error: Error) => ticket === latest.current && setState({ error, loading: false }),
    );
    // `load` is a fresh closure every render; `key` says when what it loads changed.
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export interface Paged<T> extends Loaded<Page<T>> {
  pageNumber: number;
  next: (() => void) | undefined;
  previous: (() => void) | undefined;
}

/** A server-paginated list: `load(cursor)` fetches one page; the cursors seen are kept to go back. */
export function usePaged<T>(load: (cursor: string | undefined) => Promise<Page<T>>, key: string): Paged<T> {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setCursors([undefined]), [key]);
  const cursor = cursors[cursors.length - 1];
  const loaded = useLoad(() => load(cursor), `${key}\u0000${cursor ?? ""}`);
  const nextCursor = loaded.data?.next_cursor;
  return {
    ...loaded,
    pageNumber: cursors.length,
    next: nextCursor && !loaded.loading ? () => setCursors((c) => [...c, nextCursor]) : undefined,
    previous: cursors.length > 1 ? () => setCursors((c) => c.slice(0, -1)) : undefined,
  };
}

export interface More<T> {
  items: T[];
  error?: Error;
  loading: boolean;
  /** Loads the next page onto `items`; undefined while loading or at the end. */
  more: (() => void) | undefined;
}

/** A server-paginated list read into one growing list, a page per `more()` ("load more" pickers). */
export function useMore<T>(load: (cursor: string | undefined) => Promise<Page<T>>, key: string): More<T> {
  const [at, setAt] = useState<{ key: string; cursor?: string }>({ key });
  const cursor = at.key === key ? at.cursor : undefined;
  const [seen, setSeen] = useState<{ key: string; items: T[] }>({ key, items: [] });
  const page = useLoad(() => load(cursor), `${key}\u0000${cursor ?? ""}`);
  useEffect(() => {
    const items = page.data?.items;
    if (items) setSeen((s) => ({ key, items: s.key === key && cursor ? [...s.items, ...items] : items }));
    // Runs once per arrived page; key and cursor are the ones it was loaded for.
  }, [page.data]);
  const next = page.data?.next_cursor;
  return {
    items: seen.key === key ? seen.items : [],
    error: page.error,
    loading: page.loading,
    more: next && !page.loading ? () => setAt({ key, cursor: next }) : undefined,
  };
}

/** Runs what a button or form asks, one at a time, keeping the refusal to show in words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const run = useCallback(async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
