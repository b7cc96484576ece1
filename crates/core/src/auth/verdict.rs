//! The answer for one request: what the policy decides for the caller's role,
//! narrowed by the scopes its bearer token was issued for. Every path that checks a
//! request — `/v2/`, and the credential guard of write batches — asks here.

use crate::auth::account::Role;
use crate::auth::policy::{decide, Action, Decision};
use crate::auth::scope::{covers, ResourceAccess};
use crate::oci::name::RepoName;

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

    #[test]
    fn bearer_tokens_narrow_what_the_role_allows() {
        let repo: RepoName = "a".parse().unwrap();
        let pull = crate::auth::scope::parse(&["repository:a:pull".into()]);
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
        let pull = crate::auth::scope::parse(&["repository:a:pull".into()]);
        let push = crate::auth::scope::parse(&["repository:a:pull,push".into()]);
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
}
