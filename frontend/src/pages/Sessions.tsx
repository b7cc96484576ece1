// The signed-in user's sessions: dashboard sign-ins and the refresh tokens registry
// clients keep after signing in with the password (docker login), each revocable.
import { api, ok, type Session } from "../api/client";
import { useAction, usePaged } from "../ui/async";
import { date, dateTime } from "../ui/format";
import { ConfirmButton, Empty, ErrorNote, Pager, Show } from "../ui/parts";

const KINDS: Record<Session["kind"], string> = { dashboard: "Dashboard", refresh: "Refresh token" };

export function SessionsSection() {
  const sessions = usePaged((cursor) => ok(api.GET("/api/v1/sessions", { params: { query: { cursor } } })), "sessions");
  return (
    <>
      <h2>Your sessions</h2>
      <p className="muted">Dashboard sign-ins, and the refresh tokens clients keep after signing in with your password. Revoking one signs it out.</p>
      <Show state={sessions}>{(page) => (page.items.length === 0 ? <Empty>No sessions.</Empty> : <SessionTable sessions={page.items} reload={sessions.reload} />)}</Show>
      <Pager paged={sessions} />
    </>
  );
}

function SessionTable({ sessions, reload }: { sessions: Session[]; reload: () => void }) {
  const { error, run } = useAction();
  const revoke = async (session: Session) => {
    await run(() => ok(api.DELETE("/api/v1/sessions/{id}", { params: { path: { id: session.id } } })).then(reload));
  };
  return (
    <>
      <ErrorNote error={error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Client</th>
              <th className="hide-narrow">Address</th>
              <th className="hide-narrow">Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr key={session.id}>
                <td>{KINDS[session.kind]}</td>
                <td>
                  {session.user_agent || <span className="muted">unknown</span>}
                  {session.current && <span className="muted"> (this session)</span>}
                </td>
                <td className="hide-narrow">{session.address}</td>
                <td className="hide-narrow">{date(session.created_at)}</td>
                <td>{dateTime(session.last_used_at)}</td>
                <td>
                  <ConfirmButton
                    label="Revoke"
                    question={session.current ? "Revoke this session? You will be signed out." : `Revoke this ${KINDS[session.kind].toLowerCase()}? It is refused from the next request.`}
                    action={() => revoke(session)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
