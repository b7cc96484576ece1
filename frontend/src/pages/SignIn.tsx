// The sign-in form: email and password, answered with the session cookie.
import { useState, type FormEvent } from "react";
import { api, ok, type Me } from "../api/client";
import { ErrorNote } from "../ui/parts";

export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    try {
      await ok(api.POST("/api/v1/session", { body: { email: String(form.get("email")), password: String(form.get("password")) } }));
      onSignedIn(await ok(api.GET("/api/v1/me")));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>Tollgate</h1>
      <form onSubmit={submit} className="card">
        <h2>Sign in</h2>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
