// The small pieces every page is made of: loading, empty and error states,
// copy buttons, a confirmation dialog before anything destructive, and pagers.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useAction, type Loaded, type Paged } from "./async";

export function Loading() {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ErrorNote({ error }: { error: Error | string | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {typeof error === "string" ? error : error.message}
    </p>
  );
}

/** Shows loading and error states of `state`, and `children(data)` once it has arrived. */
export function Show<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ReactNode }) {
  if (state.error) return <ErrorNote error={state.error} />;
  if (state.data === undefined) return <Loading />;
  return <>{children(state.data)}</>;
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard access needs a secure context; selecting the text is the fallback.
      window.prompt("Copy:", text);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <button type="button" className="small" onClick={copy} aria-label={`${label}: ${text}`}>
      {copied ? "Copied" : label}
    </button>
  );
}

/** A command or reference shown in full with a button that copies it. */
export function Command({ text }: { text: string }) {
  return (
    <div className="command">
      <code>{text}</code>
      <CopyButton text={text} />
    </div>
  );
}

/** A button that asks first, in a modal dialog, and then runs `action`. */
export function ConfirmButton({
  label,
  question,
  action,
  className = "danger",
}: {
  label: string;
  question: string;
  action: () => Promise<void> | void;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
      dialog.current?.close();
    }
  };
  return (
    <>
      <button type="button" className={className} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-label={question}>
        <p>{question}</p>
        <div className="row">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" className="danger" onClick={confirm} disabled={busy}>
            {busy ? "Working…" : label}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A [`ConfirmButton`] whose refusal is shown beside it, in the server's words. */
export function ConfirmAction({ label, question, action }: { label: string; question: string; action: () => Promise<unknown> }) {
  const { error, run } = useAction();
  return (
    <>
      <ConfirmButton label={label} question={question} action={() => run(action).then(() => undefined)} />
      <ErrorNote error={error} />
    </>
  );
}

/** Previous/next over a server-paged list. */
export function Pager<T>({ paged }: { paged: Paged<T> }) {
  if (!paged.previous && !paged.next) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={paged.previous} disabled={!paged.previous}>
        ← Previous
      </button>
      <span>Page {paged.pageNumber}</span>
      <button type="button" onClick={paged.next} disabled={!paged.next}>
        Next →
      </button>
    </nav>
  );
}

/** A text input whose value is reported `delay` ms after typing stops, so each keystroke is not a request. */
export function SearchBox({
  value,
  onChange,
  label,
  delay = 250,
}: {
  value: string;
  onChange: (value: string) => void;
  label: string;
  delay?: number;
}) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const timer = setTimeout(() => onChange(text), delay);
    return () => clearTimeout(timer);
  }, [text, value, onChange, delay]);
  return <input type="search" aria-label={label} placeholder={label} value={text} onChange={(e) => setText(e.target.value)} />;
}
