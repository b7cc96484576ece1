//! Who may do what: the one place that decides, for an identity's role and an
//! action, whether it is allowed, refused (`DENIED`), or left to licenses. Every
//! path — `/v2/`, `/token`, `/api/v1` — asks here.
//!
//! Customers' pulls are decided by their licenses, per manifest and blob (see
//! `licenses.rs`): what no license of theirs covers answers as if it did not exist.

use crate::account::Role;
use crate::name::RepoName;
use crate::scope::{covers, ResourceAccess};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read manifests, blobs, tags and referrers of a repository.
    Pull,
    /// Upload blobs and manifests, mount blobs, tag.
    Push,
    /// Delete tags, manifests and blobs.
    Delete,
    /// List repositories (`/v2/_catalog`).
    Catalog,
    /// Read users, customers and customer users.
    ViewAccounts,
    /// Create and delete users, customers and customer users; manage anyone's
    /// tokens and sessions.
    ManageAccounts,
    /// Create, list and revoke one's own tokens; list and revoke one's own sessions.
    OwnTokens,
    /// Create, change and delete licenses.
    ManageLicenses,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Pull,
        Action::Push,
        Action::Delete,
        Action::Catalog,
        Action::ViewAccounts,
        Action::ManageAccounts,
        Action::OwnTokens,
        Action::ManageLicenses,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused: the identity may see the thing but not do this (403 `DENIED`).
    Deny,
    /// Allowed only for what the identity's licenses cover; anything else is
    /// answered as if it did not exist (404, as for a missing one).
    Licensed,
}

/// What `role` may do. For customers, `Pull` is decided by their licenses;
/// holding none, they see nothing.
pub fn decide(role: Role, action: Action) -> Decision {
    use Action::*;
    use Decision::*;
    match (role, action) {
        (Role::Admin, _) => Allow,
        (Role::ReadWrite, ManageAccounts) => Deny,
        (Role::ReadWrite, _) => Allow,
        (Role::ReadOnly, Push | Delete | ManageAccounts | ManageLicenses) => Deny,
        (Role::ReadOnly, _) => Allow,
        (Role::Customer, Pull | Catalog) => Licensed,
        (Role::Customer, OwnTokens) => Allow,
        (Role::Customer, Push | Delete | ViewAccounts | ManageAccounts | ManageLicenses) => Deny,
    }
}

/// The answer for a request, when the credential may be limited to scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Allowed by the role, but the bearer token was not issued for it: the client
    /// should fetch a token for the challenge's scope (401 `insufficient_scope`).
    NeedsScope,
    Deny,
    /// Allowed where the caller's licenses cover it: the handler checks each
    /// manifest, blob and name against them.
    Licensed,
    /// Answered as if the thing did not exist.
    Hide,
}

/// What `role` may do with a credential that grants `access` (a bearer token's
/// claim; `None` for Basic and sessions, which are not limited to scopes) on the
/// repository `repo` (`None` for the catalog).
pub fn verdict(
    role: Role,
    access: Option<&[ResourceAccess]>,
    repo: Option<&RepoName>,
    action: Action,
) -> Verdict {
    match (decide(role, action), access) {
        (Decision::Deny, _) => Verdict::Deny,
        // `/token` gives a customer pull exactly on its licensed repositories, so
        // a token without it names one the customer may not know exists.
        (Decision::Licensed, Some(access))
            if action == Action::Pull && !covers(access, repo, action) =>
        {
            Verdict::Hide
        }
        (_, Some(access)) if !covers(access, repo, action) => Verdict::NeedsScope,
        (Decision::Licensed, _) => Verdict::Licensed,
        (Decision::Allow, _) => Verdict::Allow,
    }
}

/// The roles [`verdict`] allows `action` on `repo` with a credential granting
/// `access`: what a write batch's credential guard checks the account's role
/// against, so the policy stays decided here and nowhere else.
pub fn allowed_roles(
    access: Option<&[ResourceAccess]>,
    repo: Option<&RepoName>,
    action: Action,
) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|&role| verdict(role, access, repo, action) == Verdict::Allow)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Decision::*;

    /// Every (role, action) pair, written out so a change to the policy shows here.
    #[rustfmt::skip]
    const TABLE: [(Role, [Decision; 8]); 4] = [
        //               Pull      Push   Delete Catalog   View   Manage OwnTokens Licenses
        (Role::Admin,     [Allow,    Allow, Allow, Allow,    Allow, Allow, Allow, Allow]),
        (Role::ReadWrite, [Allow,    Allow, Allow, Allow,    Allow, Deny,  Allow, Allow]),
        (Role::ReadOnly,  [Allow,    Deny,  Deny,  Allow,    Allow, Deny,  Allow, Deny]),
        (Role::Customer,  [Licensed, Deny,  Deny,  Licensed, Deny,  Deny,  Allow, Deny]),
    ];

    #[test]
    fn every_role_and_action_pair() {
        assert_eq!(TABLE.len(), Role::ALL.len());
        for (role, decisions) in TABLE {
            for (action, expected) in Action::ALL.into_iter().zip(decisions) {
                assert_eq!(decide(role, action), expected, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn bearer_tokens_narrow_what_the_role_allows() {
        let repo: RepoName = "a".parse().unwrap();
        let pull = crate::scope::parse(&["repository:a:pull".into()]);
        let v = |role, access: Option<&[ResourceAccess]>, action| {
            verdict(role, access, Some(&repo), action)
        };
        assert_eq!(v(Role::Admin, None, Push), Verdict::Allow);
        assert_eq!(v(Role::Admin, Some(&pull), Pull), Verdict::Allow);
        assert_eq!(v(Role::Admin, Some(&pull), Push), Verdict::NeedsScope);
        assert_eq!(
            v(Role::ReadOnly, Some(&pull), Push),
            Verdict::Deny,
            "the role decides first"
        );
        assert_eq!(v(Role::Customer, Some(&pull), Pull), Verdict::Licensed);
        assert_eq!(v(Role::Customer, None, Pull), Verdict::Licensed);
        assert_eq!(
            v(Role::Customer, Some(&[]), Pull),
            Verdict::Hide,
            "a customer's token lacks pull only where it holds no license"
        );
        assert_eq!(
            verdict(Role::Customer, Some(&[]), None, Catalog),
            Verdict::NeedsScope
        );
        assert_eq!(
            verdict(Role::ReadOnly, Some(&[]), None, Catalog),
            Verdict::NeedsScope
        );
    }

    #[test]
    fn allowed_roles_are_those_the_verdict_allows() {
        let repo: RepoName = "a".parse().unwrap();
        let pull = crate::scope::parse(&["repository:a:pull".into()]);
        let push = crate::scope::parse(&["repository:a:pull,push".into()]);
        assert_eq!(
            allowed_roles(None, Some(&repo), Push),
            [Role::Admin, Role::ReadWrite]
        );
        assert_eq!(
            allowed_roles(Some(&push), Some(&repo), Push),
            [Role::Admin, Role::ReadWrite]
        );
        assert!(allowed_roles(Some(&pull), Some(&repo), Push).is_empty());
        assert!(
            !allowed_roles(None, Some(&repo), Pull).contains(&Role::Customer),
            "a customer's pull is licensed, never plainly allowed"
        );
    }

    #[test]
    fn only_admins_manage_accounts_and_customers_never_write() {
        for role in Role::ALL {
            assert_eq!(decide(role, ManageAccounts) == Allow, role == Role::Admin);
            if role == Role::Customer {
                assert_ne!(decide(role, Push), Allow);
                assert_ne!(decide(role, Delete), Allow);
            }
        }
    }
}
