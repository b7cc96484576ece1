// One list of accounts — the vendor's users, or one customer's — with what an
// admin does to it: create a user with an initial password, delete one (never
// the account signed in).
import { api, ok, type NewUser, type Page, type Role, type User } from "../api/client";
import { isAdmin, useMe } from "../session";
import { useAction, usePaged } from "./async";
import { ActionForm, field } from "./forms";
import { date } from "./format";
import { ConfirmButton, Empty, ErrorNote, Pager, Show } from "./parts";

const ROLE_NAMES: Record<Role, string> = {
  admin: "Admin",
  read_write: "Read and write",
  read_only: "Read only",
  customer: "Customer",
};

export function UsersSection({
  listKey,
  load,
  create,
  roles,
}: {
  listKey: string;
  load: (cursor: string | undefined) => Promise<Page<User>>;
  create: (user: NewUser) => Promise<unknown>;
  /** The roles a new user may get; a choice is offered when there are several. */
  roles: Role[];
}) {
  const me = useMe();
  const users = usePaged(load, listKey);
  const removal = useAction();
  const remove = async (user: User) => {
    await removal.run(() => ok(api.DELETE("/api/v1/users/{id}", { params: { path: { id: user.id } } })).then(users.reload));
  };
  const submit = (values: FormData) => {
    const role = (field(values, "role") || roles[0]) as Role;
    return create({ email: field(values, "email"), password: String(values.get("password")), role }).then(users.reload);
  };
  return (
    <>
      <ErrorNote error={removal.error} />
      <Show state={users}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No users yet.</Empty>
          ) : (
            <UserTable users={page.items} canDelete={isAdmin(me) ? (user) => user.id !== me.id : undefined} remove={remove} />
          )
        }
      </Show>
      <Pager paged={users} />
      {isAdmin(me) && (
        <ActionForm title="New user" label="Create user" submit={submit}>
          <label>
            Email
            <input name="email" type="email" required autoComplete="off" />
          </label>
          {roles.length > 1 && <RoleSelect roles={roles} />}
          <label>
            Password
            <input name="password" type="password" required minLength={12} autoComplete="new-password" />
          </label>
          <p className="hint">At least 12 characters; the user signs in with it and creates tokens for registry clients.</p>
        </ActionForm>
      )}
    </>
  );
}

function RoleSelect({ roles }: { roles: Role[] }) {
  return (
    <label>
      Role
      <select name="role" defaultValue={roles[roles.length - 1]}>
        {roles.map((role) => (
          <option key={role} value={role}>
            {ROLE_NAMES[role]}
          </option>
        ))}
      </select>
    </label>
  );
}

function UserTable({
  users,
  canDelete,
  remove,
}: {
  users: User[];
  canDelete?: (user: User) => boolean;
  remove: (user: User) => Promise<void>;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th className="hide-narrow">Created</th>
            {canDelete && <th><span className="visually-hidden">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td>{user.email}</td>
              <td>{ROLE_NAMES[user.role]}</td>
              <td className="hide-narrow">{date(user.created_at)}</td>
              {canDelete && (
                <td>
                  {canDelete(user) && (
                    <ConfirmButton label="Delete" question={`Delete ${user.email}? Their tokens and sessions end now.`} action={() => remove(user)} />
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
