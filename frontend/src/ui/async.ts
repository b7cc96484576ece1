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
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
