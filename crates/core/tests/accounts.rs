//! The account queries against real SQLite built from `migrations/`.

mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::auth::account::{Email, Role};
use tollgate_core::auth::account_store::{
    bearer_guard, bearer_lookup, new_user, refresh_lookup, session_lookup, token_guard,
    token_lookup, token_touch, Accounts, Customer, Limits, Token,
};
use tollgate_core::auth::secret::{hash_password, hash_secret, new_secret, TOKEN_PREFIX};
use tollgate_core::auth::sessions::{NewSession, SessionKind, Sessions};
use tollgate_core::stmt;
use tollgate_core::storage::paging::new_id;
use tollgate_core::storage::sql::{Sql, Statement};
use tollgate_core::Error;

const NOW: i64 = 1_800_000_000;

fn id(n: u8) -> String {
    new_id(NOW, &[n; 6])
}

fn add_user(
    a: &Accounts<'_, Sqlite>,
    n: u8,
    email: &str,
    role: Role,
    customer: Option<&str>,
) -> String {
    let user = new_user(
        id(n),
        &Email::parse(email).unwrap(),
        role,
        customer.map(str::to_owned),
        NOW,
    );
    block_on(a.create_user(&user, Some(&hash_password("a long password", &[n; 16])))).unwrap();
    user.id
}

fn add_token(
    a: &Accounts<'_, Sqlite>,
    n: u8,
    user: &str,
    expires_at: Option<i64>,
) -> (String, String) {
    let secret = new_secret(TOKEN_PREFIX, &[n; 32]);
    let token = Token {
        id: id(n),
        user_id: user.into(),
        name: format!("t{n}"),
        created_at: NOW,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    block_on(a.create_token(&token, &hash_secret(&secret))).unwrap();
    (token.id, secret)
}

/// Whether a batch of `guard` then a write ran; the write counts its runs.
fn guarded_write(db: &Sqlite, guard: Statement) -> bool {
    let write = stmt!(
        "INSERT INTO repositories (name, created_at) VALUES ('g/' || ?1, 0)",
        NOW
    );
    let ran = block_on(db.batch(vec![guard, write])).is_ok();
    let rows: Vec<serde_json::Value> = block_on(db.query(stmt!(
        "SELECT name FROM repositories WHERE name = 'g/' || ?1",
        NOW
    )))
    .unwrap();
    assert_eq!(ran, !rows.is_empty(), "an aborted batch writes nothing");
    block_on(db.batch(vec![stmt!("DELETE FROM repositories")])).unwrap();
    ran
}

#[test]
fn credential_guards_pass_only_live_credentials_of_the_given_roles() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::ReadWrite, None);
    let (tid, secret) = add_token(&a, 3, &alice, Some(NOW + 10));
    let hash = hash_secret(&secret);
    let writers = [Role::Admin, Role::ReadWrite];
    let token = |email, now, roles: &[Role]| token_guard(email, &hash, now, roles);
    assert!(guarded_write(
        &db,
        token("alice@example.com", NOW, &writers)
    ));
    assert!(!guarded_write(
        &db,
        token("alice@example.com", NOW, &[Role::Admin])
    ));
    assert!(!guarded_write(&db, token("alice@example.com", NOW, &[])));
    assert!(!guarded_write(&db, token("bob@example.com", NOW, &writers)));
    assert!(
        !guarded_write(&db, token("alice@example.com", NOW + 10, &writers)),
        "expired"
    );
    let bearer = |token: Option<&str>, now, roles: &[Role]| bearer_guard(&alice, token, now, roles);
    assert!(guarded_write(&db, bearer(Some(&tid), NOW, &writers)));
    assert!(guarded_write(&db, bearer(None, NOW + 20, &writers)));
    assert!(!guarded_write(
        &db,
        bearer(Some(&tid), NOW, &[Role::ReadOnly])
    ));
    assert!(
        !guarded_write(&db, bearer(Some(&tid), NOW + 10, &writers)),
        "expired"
    );
    assert!(!guarded_write(
        &db,
        bearer_guard("nobody", None, NOW, &writers)
    ));

    block_on(a.revoke_token(&tid, NOW + 1)).unwrap();
    assert!(!guarded_write(
        &db,
        token("alice@example.com", NOW + 2, &writers)
    ));
    assert!(!guarded_write(&db, bearer(Some(&tid), NOW + 2, &writers)));
}

#[test]
fn a_token_touch_in_a_batch_writes_at_most_once_an_interval() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::Admin, None);
    let (_, secret) = add_token(&a, 3, &alice, None);
    let hash = hash_secret(&secret);
    let last_used = |now| {
        block_on(a.lookup(token_lookup("alice@example.com", &hash, now)))
            .unwrap()
            .unwrap()
            .last_used_at
    };
    let touch = |now| block_on(db.batch(vec![token_touch(&hash, now)])).unwrap()[0];
    assert_eq!(touch(NOW), 1);
    assert_eq!(last_used(NOW), Some(NOW));
    assert_eq!(touch(NOW + 30), 0, "within the interval");
    assert_eq!(touch(NOW + 61), 1);
    assert_eq!(last_used(NOW + 61), Some(NOW + 61));
}

#[test]
fn passwords_and_tokens_authenticate_their_owner_only() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::Admin, None);
    add_user(&a, 2, "bob@example.com", Role::ReadOnly, None);
    let who = block_on(a.check_password("ALICE@example.com", "a long password"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (who.user_id.as_str(), who.role),
        (alice.as_str(), Role::Admin)
    );
    assert!(block_on(a.check_password("alice@example.com", "wrong"))
        .unwrap()
        .is_none());
    assert!(
        block_on(a.check_password("nobody@example.com", "a long password"))
            .unwrap()
            .is_none()
    );

    let (tid, secret) = add_token(&a, 3, &alice, None);
    let hash = hash_secret(&secret);
    let who = block_on(a.lookup(token_lookup("alice@example.com", &hash, NOW)))
        .unwrap()
        .unwrap();
    assert_eq!(
        who.clone().identity().token_id.as_deref(),
        Some(tid.as_str())
    );
    assert_eq!(who.last_used_at, None);
    block_on(a.touch_token(&tid, NOW)).unwrap();
    let who = block_on(a.lookup(token_lookup("alice@example.com", &hash, NOW + 1)))
        .unwrap()
        .unwrap();
    assert_eq!(who.last_used_at, Some(NOW));
    assert!(
        block_on(a.lookup(token_lookup("bob@example.com", &hash, NOW)))
            .unwrap()
            .is_none(),
        "another user's name"
    );
    assert!(block_on(a.lookup(bearer_lookup(&alice, Some(&tid), NOW)))
        .unwrap()
        .is_some());

    block_on(a.revoke_token(&tid, NOW + 1)).unwrap();
    assert!(
        block_on(a.lookup(token_lookup("alice@example.com", &hash, NOW + 2)))
            .unwrap()
            .is_none()
    );
    assert!(
        block_on(a.lookup(bearer_lookup(&alice, Some(&tid), NOW + 2)))
            .unwrap()
            .is_none()
    );
    assert!(block_on(a.lookup(bearer_lookup(&alice, None, NOW + 2)))
        .unwrap()
        .is_some());

    let (tid, secret) = add_token(&a, 4, &alice, Some(NOW + 10));
    let hash = hash_secret(&secret);
    assert!(
        block_on(a.lookup(token_lookup("alice@example.com", &hash, NOW + 9)))
            .unwrap()
            .is_some()
    );
    assert!(
        block_on(a.lookup(token_lookup("alice@example.com", &hash, NOW + 10)))
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        block_on(a.lookup(bearer_lookup(&alice, Some(&tid), NOW + 10)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn emails_are_unique_and_the_last_admin_stays() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::Admin, None);
    let again = new_user(
        id(2),
        &Email::parse("Alice@Example.com").unwrap(),
        Role::ReadOnly,
        None,
        NOW,
    );
    assert!(matches!(
        block_on(a.create_user(&again, None)),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        block_on(a.delete_user(&alice)),
        Err(Error::Conflict(_))
    ));
    let carol = add_user(&a, 3, "carol@example.com", Role::Admin, None);
    assert!(block_on(a.delete_user(&alice)).unwrap());
    assert!(!block_on(a.delete_user(&alice)).unwrap());
    assert!(block_on(a.any_admin()).unwrap());
    assert!(block_on(a.user(&carol)).unwrap().is_some());
}

#[test]
fn deleting_a_customer_removes_its_users_and_their_tokens() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let customer = Customer {
        id: id(9),
        name: "Acme".into(),
        contact: "ops@acme.test".into(),
        notes: String::new(),
        created_at: NOW,
    };
    block_on(a.create_customer(&customer)).unwrap();
    let dup = Customer {
        id: id(8),
        name: "acme".into(),
        ..customer.clone()
    };
    assert!(matches!(
        block_on(a.create_customer(&dup)),
        Err(Error::Conflict(_))
    ));
    let user = add_user(&a, 1, "dev@acme.test", Role::Customer, Some(&customer.id));
    let ghost = new_user(
        id(2),
        &Email::parse("x@y.z").unwrap(),
        Role::Customer,
        Some(id(7)),
        NOW,
    );
    assert!(
        block_on(a.create_user(&ghost, None)).is_err(),
        "no such customer"
    );
    let (tid, _) = add_token(&a, 3, &user, None);
    let listed = block_on(a.users(Some(&customer.id), None, 10)).unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(
        block_on(a.users(None, None, 10)).unwrap().items.is_empty(),
        "vendor users only"
    );
    assert!(block_on(a.delete_customer(&customer.id)).unwrap());
    assert!(block_on(a.user(&user)).unwrap().is_none());
    assert!(block_on(a.token(&tid)).unwrap().is_none());
}

#[test]
fn lists_page_by_cursor() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    for n in 1..=5 {
        add_user(&a, n, &format!("u{n}@example.com"), Role::ReadOnly, None);
    }
    let first = block_on(a.users(None, None, 2)).unwrap();
    assert_eq!(first.items.len(), 2);
    let second = block_on(a.users(None, first.next_cursor.as_deref(), 2)).unwrap();
    let third = block_on(a.users(None, second.next_cursor.as_deref(), 2)).unwrap();
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next_cursor, None);
    let mut emails: Vec<_> = [first, second, third]
        .into_iter()
        .flat_map(|p| p.items)
        .map(|u| u.email)
        .collect();
    emails.dedup();
    assert_eq!(emails.len(), 5);
}

/// Finding 8 of issue 15: failures count per account *from one address* and per
/// address, so failing from one address locks nobody out from another.
#[test]
fn finding_8_failures_from_one_address_do_not_lock_the_account_out_of_another() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let limits = Limits {
        per_account: 3,
        per_address: 5,
        window: 60,
    };
    let blocked = |email, ip, now| block_on(a.blocked_for(email, ip, now)).unwrap();
    let fail = |email, ip, now| block_on(a.record_failure(email, ip, limits, now)).unwrap();
    for _ in 0..3 {
        assert_eq!(blocked("a@x.y", "10.0.0.1", NOW), None);
        fail("a@x.y", "10.0.0.1", NOW);
    }
    assert_eq!(
        blocked("A@x.y", "10.0.0.1", NOW + 10),
        Some(50),
        "this pair"
    );
    assert_eq!(
        blocked("a@x.y", "10.0.0.9", NOW + 10),
        None,
        "another address"
    );
    assert_eq!(
        blocked("b@x.y", "10.0.0.1", NOW + 10),
        None,
        "address under its limit"
    );
    fail("b@x.y", "10.0.0.1", NOW + 10);
    fail("c@x.y", "10.0.0.1", NOW + 10);
    assert_eq!(
        blocked("d@x.y", "10.0.0.1", NOW + 20),
        Some(50),
        "per address"
    );
    assert_eq!(blocked("d@x.y", "10.0.0.2", NOW + 20), None);
}

/// Finding 8 of issue 15: each failure after a refusal ends doubles the next
/// refusal; a key left alone for a window after its refusal starts again, and
/// the scheduled prune deletes what has run out.
#[test]
fn finding_8_refusals_back_off_and_run_out() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let limits = Limits {
        per_account: 2,
        per_address: 100,
        window: 60,
    };
    let blocked = |now| block_on(a.blocked_for("a@x.y", "10.0.0.1", now)).unwrap();
    let fail = |now| block_on(a.record_failure("a@x.y", "10.0.0.1", limits, now)).unwrap();
    fail(NOW);
    assert_eq!(blocked(NOW + 1), None, "under the limit");
    fail(NOW + 30);
    assert_eq!(blocked(NOW + 31), Some(59));
    assert_eq!(blocked(NOW + 90), None, "the refusal is over");
    fail(NOW + 90);
    assert_eq!(blocked(NOW + 91), Some(119), "twice as long");
    fail(NOW + 210);
    assert_eq!(blocked(NOW + 210), Some(240), "and again");

    let rows = || -> usize {
        let rows: Vec<serde_json::Value> =
            block_on(db.query(stmt!("SELECT key FROM auth_failures"))).unwrap();
        rows.len()
    };
    block_on(a.prune(NOW + 509)).unwrap();
    assert_eq!(
        rows(),
        1,
        "the address's ran out a window after its last failure, the pair's not yet"
    );
    block_on(a.prune(NOW + 510)).unwrap();
    assert_eq!(rows(), 0, "a window after the refusal ended");
    fail(NOW + 510);
    fail(NOW + 511);
    assert_eq!(blocked(NOW + 512), Some(59), "counted from nothing again");
}

/// Finding 8 of issue 15: an unknown email, an account without a password and a
/// wrong password are refused alike (the hash runs for all three; see
/// `secret::DUMMY_PASSWORD_HASH`).
#[test]
fn finding_8_unknown_emails_and_passwordless_accounts_are_refused_alike() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    add_user(&a, 1, "alice@example.com", Role::ReadOnly, None);
    let user = new_user(
        id(2),
        &Email::parse("bob@example.com").unwrap(),
        Role::ReadOnly,
        None,
        NOW,
    );
    block_on(a.create_user(&user, None)).unwrap();
    let check = |email, password| block_on(a.check_password(email, password)).unwrap();
    assert!(check("alice@example.com", "a long password").is_some());
    assert!(check("alice@example.com", "no account has this password").is_none());
    assert!(check("nobody@example.com", "no account has this password").is_none());
    assert!(check("bob@example.com", "no account has this password").is_none());
}

fn add_session(db: &Sqlite, n: u8, user: &str, kind: SessionKind, expires_at: i64) -> String {
    let session = NewSession {
        id: id(n),
        id_hash: &format!("h{n}"),
        user_id: user,
        kind,
        expires_at,
        user_agent: "agent/1.0",
        address: "192.0.2.1",
    };
    block_on(Sessions::new(db).create(&session, NOW)).unwrap();
    session.id
}

/// The user id a lookup finds, if any.
fn found(a: &Accounts<'_, Sqlite>, lookup: Statement) -> Option<String> {
    block_on(a.lookup(lookup))
        .unwrap()
        .map(|row| row.identity().user_id)
}

#[test]
fn sessions_expire_and_end() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let sessions = Sessions::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::ReadWrite, None);
    add_session(&db, 1, &alice, SessionKind::Dashboard, NOW + 100);
    assert_eq!(
        found(&a, session_lookup("h1", NOW + 99)),
        Some(alice.clone())
    );
    assert_eq!(found(&a, session_lookup("h1", NOW + 100)), None);
    add_session(&db, 2, &alice, SessionKind::Dashboard, NOW + 100);
    block_on(sessions.end("h2", SessionKind::Dashboard)).unwrap();
    assert_eq!(found(&a, session_lookup("h2", NOW)), None);
}

/// Finding 2 of issue 15: a refresh token is refused once its session is revoked
/// or has expired, as when its user is deleted or the token it came from revoked;
/// and neither kind of session's secret passes as the other.
#[test]
fn finding_2_refresh_tokens_live_only_while_their_session_does() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let sessions = Sessions::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::ReadWrite, None);
    let (token, _) = add_token(&a, 2, &alice, None);
    let refresh =
        |hash, token: Option<&str>, now| found(&a, refresh_lookup(&alice, token, hash, now));
    let live = add_session(&db, 3, &alice, SessionKind::Refresh, NOW + 100);
    assert_eq!(refresh("h3", None, NOW), Some(alice.clone()));
    assert_eq!(refresh("h3", Some(&token), NOW), Some(alice.clone()));
    assert_eq!(refresh("h3", None, NOW + 100), None, "expired");
    assert_eq!(refresh("nothing", None, NOW), None, "no session");
    assert_eq!(found(&a, session_lookup("h3", NOW)), None, "not a cookie");
    add_session(&db, 4, &alice, SessionKind::Dashboard, NOW + 100);
    assert_eq!(
        refresh("h4", None, NOW),
        None,
        "a cookie is no refresh token"
    );

    block_on(a.revoke_token(&token, NOW)).unwrap();
    assert_eq!(refresh("h3", Some(&token), NOW), None, "its token revoked");
    assert!(block_on(sessions.revoke(&live, Some(&alice))).unwrap());
    assert_eq!(refresh("h3", None, NOW), None, "revoked");
    add_session(&db, 5, &alice, SessionKind::Refresh, NOW + 100);
    add_user(&a, 6, "admin@example.com", Role::Admin, None);
    assert!(block_on(a.delete_user(&alice)).unwrap());
    assert_eq!(refresh("h5", None, NOW), None, "user deleted");
}

/// Finding 2 of issue 15: owners list their live sessions of both kinds, the one
/// they ask with marked, and revoke them; nobody else but an admin can.
#[test]
fn finding_2_sessions_are_listed_and_revoked_by_their_owner() {
    let db = Sqlite::migrated();
    let a = Accounts::new(&db);
    let sessions = Sessions::new(&db);
    let alice = add_user(&a, 1, "alice@example.com", Role::ReadOnly, None);
    let bob = add_user(&a, 2, "bob@example.com", Role::ReadOnly, None);
    let web = add_session(&db, 3, &alice, SessionKind::Dashboard, NOW + 100);
    let cli = add_session(&db, 4, &alice, SessionKind::Refresh, NOW + 100);
    add_session(&db, 5, &alice, SessionKind::Refresh, NOW + 10);
    add_session(&db, 6, &bob, SessionKind::Refresh, NOW + 100);
    let list =
        |current, limit| block_on(sessions.list(&alice, current, None, limit, NOW + 10)).unwrap();
    let page = list(Some("h3"), 50);
    let seen: Vec<_> = page
        .items
        .iter()
        .map(|s| (s.id.as_str(), s.kind, s.current))
        .collect();
    assert_eq!(
        seen,
        [
            (web.as_str(), SessionKind::Dashboard, true),
            (cli.as_str(), SessionKind::Refresh, false)
        ],
        "live ones only, oldest first"
    );
    assert_eq!(page.items[1].user_agent, "agent/1.0");
    assert_eq!(page.items[1].address, "192.0.2.1");
    assert_eq!(list(None, 1).next_cursor.as_deref(), Some(web.as_str()));

    assert!(
        !block_on(sessions.revoke(&cli, Some(&bob))).unwrap(),
        "not bob's"
    );
    assert!(block_on(sessions.revoke(&cli, Some(&alice))).unwrap());
    assert!(
        !block_on(sessions.revoke(&cli, Some(&alice))).unwrap(),
        "gone"
    );
    assert!(block_on(sessions.revoke(&web, None)).unwrap(), "an admin's");
    assert!(list(None, 50).items.is_empty());
}
