//! Who may do what: the one place that decides, for an identity's role and an
//! action, whether it is allowed, refused (`DENIED`), or left to licenses. Every
//! path — `/v2/`, `/token`, `/api/v1` — asks here.
//!
//! Customers' pulls are decided by their licenses, per manifest and blob (see
//! licensing/license_store.rs): what no license of theirs covers answers as if it
//! did not exist.

use crate::auth::account::Role;
use crate::oci::route::{Method, Route};

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
    /// Change which tags of an artifact are immutable (docs/immutable-tags.md):
    /// the setting that keeps released versions from being moved or deleted, so
    /// those who may push and delete may not lift it.
    SetImmutableTags,
    /// Set, read or remove an artifact's upstream (docs/pull-through.md): it
    /// decides what content customers receive under the artifact's name and holds
    /// credentials to another registry.
    ConfigureUpstream,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Pull,
        Action::Push,
        Action::Delete,
        Action::Catalog,
        Action::ViewAccounts,
        Action::ManageAccounts,
        Action::OwnTokens,
        Action::ManageLicenses,
        Action::SetImmutableTags,
        Action::ConfigureUpstream,
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
        (_, SetImmutableTags | ConfigureUpstream) => Deny,
        (Role::ReadWrite, ManageAccounts) => Deny,
        (Role::ReadWrite, _) => Allow,
        (Role::ReadOnly, Push | Delete | ManageAccounts | ManageLicenses) => Deny,
        (Role::ReadOnly, _) => Allow,
        (Role::Customer, Pull | Catalog) => Licensed,
        (Role::Customer, OwnTokens) => Allow,
        (Role::Customer, Push | Delete | ViewAccounts | ManageAccounts | ManageLicenses) => Deny,
    }
}

/// What `method` on `route` does, for the policy: reads pull, uploads and
/// manifest pushes push, deletions of content delete. `None` for the version
/// check, which any authenticated caller may make.
pub fn action(route: &Route, method: Method) -> Option<Action> {
    let read = matches!(method, Method::Get | Method::Head);
    Some(match route {
        Route::Base => return None,
        Route::Catalog => Action::Catalog,
        Route::UploadStart(_) | Route::Upload(..) => Action::Push,
        Route::Manifest(..) | Route::InvalidManifestReference(..) | Route::Blob(..)
            if method == Method::Delete =>
        {
            Action::Delete
        }
        _ if read => Action::Pull,
        _ => Action::Push,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Decision::*;

    /// Every (role, action) pair, written out so a change to the policy shows here.
    #[rustfmt::skip]
    const TABLE: [(Role, [Decision; 10]); 4] = [
        //               Pull      Push   Delete Catalog   View   Manage OwnTokens Licenses Immutable Upstream
        (Role::Admin,     [Allow,    Allow, Allow, Allow,    Allow, Allow, Allow, Allow, Allow, Allow]),
        (Role::ReadWrite, [Allow,    Allow, Allow, Allow,    Allow, Deny,  Allow, Allow, Deny,  Deny]),
        (Role::ReadOnly,  [Allow,    Deny,  Deny,  Allow,    Allow, Deny,  Allow, Deny,  Deny,  Deny]),
        (Role::Customer,  [Licensed, Deny,  Deny,  Licensed, Deny,  Deny,  Allow, Deny,  Deny,  Deny]),
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
    fn names_the_action_each_request_needs() {
        let route = |p: &str| Route::parse(p).unwrap().unwrap();
        let manifest = route("/v2/a/manifests/v1");
        assert_eq!(action(&manifest, Method::Get), Some(Pull));
        assert_eq!(action(&manifest, Method::Head), Some(Pull));
        assert_eq!(action(&manifest, Method::Put), Some(Push));
        assert_eq!(action(&manifest, Method::Delete), Some(Delete));
        let upload = route("/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef");
        assert_eq!(
            action(&upload, Method::Get),
            Some(Push),
            "upload status is part of a push"
        );
        assert_eq!(
            action(&upload, Method::Delete),
            Some(Push),
            "cancelling is part of a push"
        );
        assert_eq!(
            action(&route("/v2/a/blobs/uploads/"), Method::Post),
            Some(Push)
        );
        assert_eq!(action(&route("/v2/_catalog"), Method::Get), Some(Catalog));
        assert_eq!(action(&route("/v2/"), Method::Get), None);
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
