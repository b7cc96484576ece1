// The signed-in user's personal access tokens (vendor and customer users alike):
// list, create — the secret shown once with ready-to-paste login commands — and revoke;
// then their sessions.
import { useState } from "react";
import { api, ok, type Token } from "../api/client";
import { useMe } from "../session";
import { useAction, usePaged } from "../ui/async";
import { ActionForm, field } from "../ui/forms";
import { date, dateTime, registryHost } from "../ui/format";
import { Command, ConfirmButton, Empty, ErrorNote, Pager, Show } from "../ui/parts";
import { SessionsSection } from "./Sessions";

const DAY = 24 * 60 * 60;

export function TokensPage() {
  const me = useMe();
  const tokens = usePaged((cursor) => ok(api.GET("/api/v1/tokens", { params: { query: { cursor } } })), "tokens");
  const [secret, setSecret] = useState<string>();
  const create = async (values: FormData) => {
    const days = Number(field(values, "days"));
    const expires_at = days > 0 ? Math.floor(Date.now() / 1000) + days * DAY : undefined;
    const created = await ok(api.POST("/api/v1/tokens", { body: { name: field(values, "name"), expires_at } }));
    setSecret(created.secret);
    tokens.reload();
  };
  return (
    <section>
      <h1>Tokens</h1>
      <p className="muted">Registry clients sign in with your email ({me.email}) and a token as the password.</p>
      {secret && <NewSecret email={me.email} secret={secret} dismiss={() => setSecret(undefined)} />}
      <ActionForm title="New token" label="Create token" submit={create}>
        <label>
          Name
          <input name="name" required maxLength={200} placeholder="CI on build-01" />
        </label>
        <label>
          Expires in (days)
          <input name="days" type="number" min={1} max={1825} step={1} inputMode="numeric" />
        </label>
        <p className="hint">Leave empty for a token that lives until you revoke it.</p>
      </ActionForm>
      <h2>Your tokens</h2>
      <Show state={tokens}>{(page) => (page.items.length === 0 ? <Empty>No tokens yet.</Empty> : <TokenTable tokens={page.items} reload={tokens.reload} />)}</Show>
      <Pager paged={tokens} />
      <SessionsSection />
    </section>
  );
}

function NewSecret({ email, secret, dismiss }: { email: string; secret: string; dismiss: () => void }) {
  const host = registryHost();
  return (
    <div className="notice" role="region" aria-label="New token">
      <p>
        <strong>Copy your token now: it will not be shown again.</strong>
      </p>
      <Command text={secret} />
      <Command text={`docker login ${host} -u ${email} -p ${secret}`} />
      <Command text={`helm registry login ${host} -u ${email} --password ${secret}`} />
      <button type="button" onClick={dismiss}>
        Done
      </button>
    </div>
  );
}

function TokenTable({ tokens, reload }: { tokens: Token[]; reload: () => void }) {
  const { error, run } = useAction();
  const revoke = async (token: Token) => {
    await run(() => ok(api.DELETE("/api/v1/tokens/{id}", { params: { path: { id: token.id } } })).then(reload));
  };
  return (
    <>
      <ErrorNote error={error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th className="hide-narrow">Created</th>
              <th>Expires</th>
              <th className="hide-narrow">Last used</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td className="hide-narrow">{date(token.created_at)}</td>
                <td>{token.expires_at == null ? "Never" : date(token.expires_at)}</td>
                <td className="hide-narrow">{dateTime(token.last_used_at)}</td>
                <td>
                  {token.revoked_at != null ? (
                    <span className="muted">Revoked {date(token.revoked_at)}</span>
                  ) : token.expires_at != null && token.expires_at * 1000 <= Date.now() ? (
                    <span className="muted">Expired</span>
                  ) : (
                    <ConfirmButton label="Revoke" question={`Revoke ${token.name}? Clients using it are refused from the next request.`} action={() => revoke(token)} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
