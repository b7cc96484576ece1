// An artifact's upstream registry on its page (docs/pull-through.md): the
// setting, which only admins may read, set, replace and remove (the API answers
// anyone else 403, so nothing is asked for them), and the upstream's last
// failure, which the artifact's details give all vendor staff, shown where it
// cannot be missed.
import { useState } from "react";
import { api, ApiError, ok, type ArtifactDetails, type Upstream, type UpstreamSetting } from "../api/client";
import { useLoad, type Loaded } from "./async";
import { dateTime } from "./format";
import { ActionForm, field, NamedOptions } from "./forms";
import { ConfirmAction, Show } from "./parts";

type Auth = UpstreamSetting["auth"];
type UpstreamFailure = NonNullable<ArtifactDetails["upstream_failure"]>;

const AUTH_NAMES: Record<Auth, string> = {
  none: "None (anonymous)",
  basic: "HTTP Basic",
  token: "Docker token flow",
};

/** The interval a new setting starts with: the API's default (src/api/openapi.json, UpstreamSetting). */
const DEFAULT_REFRESH_SECONDS = 300;

/** The artifact's upstream, null when it has none; for anyone but an admin, null without asking. */
export function useUpstream(name: string, admin: boolean): Loaded<Upstream | null> {
  return useLoad(() => (admin ? readUpstream(name) : Promise.resolve(null)), name);
}

async function readUpstream(name: string): Promise<Upstream | null> {
  try {
    return await ok(api.GET("/api/v1/artifacts/{name}/upstream", { params: { path: { name } } }));
  } catch (e) {
    // On the artifact's own page a 404 can only mean it has no upstream.
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The upstream's last failure with its time, from the artifact's details (vendor staff see it, whatever
 * their role), while pulls are served what is stored; nothing when there is none. */
export function UpstreamOutage({ failure }: { failure: UpstreamFailure | undefined }) {
  if (!failure) return null;
  return (
    <div className="error" role="region" aria-label="Upstream outage">
      <p>
        <strong>The upstream registry failed</strong> at {dateTime(failure.at)}: {failure.error}
      </p>
      <p className="hint">
        Pulls are served what is stored here; what is not cannot be pulled until the upstream answers. An admin saving the setting
        again clears this.
      </p>
    </div>
  );
}

/** The admin's section: the current setting with its removal, and the form that sets or replaces it. */
export function UpstreamSection({ name, upstream }: { name: string; upstream: Loaded<Upstream | null> }) {
  return (
    <>
      <h2>Upstream registry</h2>
      <p className="hint">
        A licensed pull of a version not stored here is fetched from this registry, stored and answered; licenses apply as to pushed
        versions.
      </p>
      <Show state={upstream}>
        {(current) => (
          <>
            {current ? (
              <UpstreamFacts name={name} upstream={current} removed={upstream.reload} />
            ) : (
              <p>None: this artifact holds only what is pushed to it.</p>
            )}
            {/* Keyed by the setting, so a saved one comes back as the form's new defaults. */}
            <UpstreamForm key={JSON.stringify(current)} name={name} current={current} saved={upstream.reload} />
          </>
        )}
      </Show>
    </>
  );
}

function UpstreamFacts({ name, upstream, removed }: { name: string; upstream: Upstream; removed: () => void }) {
  const remove = () => ok(api.DELETE("/api/v1/artifacts/{name}/upstream", { params: { path: { name } } })).then(removed);
  return (
    <>
      <dl className="facts" aria-label="Upstream setting">
        <dt>Registry</dt>
        <dd>{upstream.url}</dd>
        <dt>Repository</dt>
        <dd>{upstream.repository}</dd>
        <dt>Login</dt>
        <dd>{upstream.auth === "none" ? AUTH_NAMES.none : `${AUTH_NAMES[upstream.auth]} as ${upstream.username}`}</dd>
        {upstream.auth !== "none" && (
          <>
            <dt>Password</dt>
            <dd>{upstream.password_set ? "password set" : "none"}</dd>
          </>
        )}
        <dt>Tags refreshed</dt>
        <dd>every {upstream.refresh_seconds} s</dd>
        <dt>Set</dt>
        <dd>{dateTime(upstream.updated_at)}</dd>
      </dl>
      <div className="row">
        <ConfirmAction
          label="Remove upstream"
          question={`Remove the upstream of ${name}? What was fetched through it stays.`}
          action={remove}
        />
      </div>
    </>
  );
}

/** Sets the whole setting: the API keeps nothing of the one it replaces, the password included. */
function UpstreamForm({ name, current, saved }: { name: string; current: Upstream | null; saved: () => void }) {
  const [auth, setAuth] = useState<Auth>(current?.auth ?? "none");
  const save = async (values: FormData) => {
    await ok(api.PUT("/api/v1/artifacts/{name}/upstream", { params: { path: { name } }, body: upstreamSetting(values) }));
    saved();
  };
  return (
    <ActionForm title={current ? "Replace upstream" : "Set upstream"} label="Save upstream" submit={save}>
      <label>
        Registry URL
        <input
          name="url"
          type="url"
          required
          defaultValue={current?.url}
          placeholder="https://registry.example.com"
          aria-describedby="upstream-url-hint"
        />
      </label>
      <p className="hint" id="upstream-url-hint">
        The registry's base URL only: https://host[:port] (plain http only to this machine, for local tests).
      </p>
      <label>
        Repository
        <input name="repository" required defaultValue={current?.repository} placeholder="acme/app" />
      </label>
      <label>
        Login
        {/* Uncontrolled, so the form's reset after a save puts it back with the other fields. */}
        <select name="auth" defaultValue={auth} onChange={(e) => setAuth(e.target.value as Auth)} aria-describedby="upstream-auth-hint">
          <NamedOptions names={AUTH_NAMES} />
        </select>
      </label>
      <p className="hint" id="upstream-auth-hint">
        HTTP Basic sends the username and password with every request; the token flow exchanges them for a short-lived token where the
        registry's 401 answer says.
      </p>
      {auth !== "none" && <Credentials current={current} />}
      <label>
        Refresh interval (seconds)
        <input
          name="refresh_seconds"
          type="number"
          min={1}
          max={86_400}
          step={1}
          required
          defaultValue={current?.refresh_seconds ?? DEFAULT_REFRESH_SECONDS}
          aria-describedby="upstream-refresh-hint"
        />
      </label>
      <p className="hint" id="upstream-refresh-hint">
        How long a tag fetched from the upstream is served before a pull asks the upstream again, 1 to 86400; the default is{" "}
        {DEFAULT_REFRESH_SECONDS} (five minutes).
      </p>
    </ActionForm>
  );
}

/** Username and password (or access token), never prefilled: the API does not return the password. */
function Credentials({ current }: { current: Upstream | null }) {
  return (
    <>
      <label>
        Username
        <input name="username" required autoComplete="off" defaultValue={current?.username ?? undefined} />
      </label>
      <label>
        Password or access token
        <input name="password" type="password" required autoComplete="new-password" aria-describedby="upstream-password-hint" />
      </label>
      <p className="hint" id="upstream-password-hint">
        {current?.password_set
          ? "A password is set; it is never shown. Saving replaces the whole setting: type it again."
          : "Stored encrypted; never shown again."}
      </p>
    </>
  );
}

/** The PUT's body: credentials only for a login that uses them (the API refuses them for none). */
function upstreamSetting(values: FormData): UpstreamSetting {
  const auth = field(values, "auth") as Auth;
  return {
    url: field(values, "url"),
    repository: field(values, "repository"),
    auth,
    // The password as typed: spaces may belong to it.
    ...(auth === "none" ? {} : { username: field(values, "username"), password: String(values.get("password") ?? "") }),
    refresh_seconds: Number(field(values, "refresh_seconds")),
  };
}
