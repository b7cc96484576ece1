// Create forms: plain inputs read on submit, the server's refusal shown in
// words, and the form cleared once the server has taken it; and the options of
// a select from the names of its values.
import type { FormEvent, ReactNode } from "react";
import { useAction } from "./async";
import { ErrorNote } from "./parts";

/** A titled form whose submit button says `label`; `submit` gets the form's values. */
export function ActionForm({
  title,
  label,
  submit,
  children,
}: {
  title: string;
  label: string;
  submit: (values: FormData) => Promise<unknown>;
  children: ReactNode;
}) {
  const { busy, error, run } = useAction();
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (await run(() => submit(new FormData(form)))) form.reset();
  };
  return (
    <form className="card" onSubmit={onSubmit} aria-label={title}>
      <h2>{title}</h2>
      {children}
      <ErrorNote error={error} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {label}
        </button>
      </div>
    </form>
  );
}

/** A text field's value, trimmed ("" when absent). */
export function field(values: FormData, name: string): string {
  return String(values.get(name) ?? "").trim();
}

/** A select's options: each value of `names` (an API enum's) shown by its name. */
export function NamedOptions({ names }: { names: Record<string, string> }) {
  return (
    <>
      {Object.entries(names).map(([value, name]) => (
        <option key={value} value={value}>
          {name}
        </option>
      ))}
    </>
  );
}
