//! Docker token-auth scopes: `repository:<name>:<actions>` and
//! `registry:catalog:*`, as clients ask for them and as bearer tokens grant them
//! (the `access` claim). A token grants only what was asked *and* what the policy
//! allows the identity.

use serde::{Deserialize, Serialize};

use crate::auth::account::Role;
use crate::auth::policy::{decide, Action, Decision};
use crate::oci::name::RepoName;

/// One entry of a token's `access` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// Scopes from the `scope` query parameters (each may hold several, separated by
/// spaces, as the OAuth2 form sends them). Malformed entries are dropped: a
/// token grants nothing for them.
pub fn parse(params: &[String]) -> Vec<ResourceAccess> {
    params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter_map(parse_one)
        .collect()
}

fn parse_one(scope: &str) -> Option<ResourceAccess> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let valid_name = match kind {
        "repository" => name.parse::<RepoName>().is_ok(),
        "registry" => name == "catalog",
        _ => false,
    };
    valid_name.then(|| ResourceAccess {
        kind: kind.to_owned(),
        name: name.to_owned(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// The actions a scope's action word stands for.
fn actions_of(kind: &str, word: &str) -> &'static [Action] {
    match (kind, word) {
        ("repository", "pull") => &[Action::Pull],
        ("repository", "push") => &[Action::Push],
        ("repository", "delete") => &[Action::Delete],
        ("repository", "*") => &[Action::Pull, Action::Push, Action::Delete],
        ("registry", "*") => &[Action::Catalog],
        _ => &[],
    }
}

/// What a token for `role` may carry of what was `requested`: each action word
/// kept only when the policy allows every action it stands for; entries left with
/// no action are dropped. `may_pull` decides pulls the role leaves to licenses.
pub fn grant(
    role: Role,
    requested: &[ResourceAccess],
    may_pull: impl Fn(&str) -> bool,
) -> Vec<ResourceAccess> {
    let allowed = |kind: &str, name: &str, action: Action| match decide(role, action) {
        Decision::Allow => true,
        // The catalog is filtered by licenses; a pull needs one on the repository.
        Decision::Licensed => action != Action::Pull || (kind == "repository" && may_pull(name)),
        Decision::Deny => false,
    };
    let mut granted: Vec<ResourceAccess> = Vec::new();
    for entry in requested {
        let actions: Vec<String> = entry
            .actions
            .iter()
            .filter(|word| {
                let acts = actions_of(&entry.kind, word);
                !acts.is_empty() && acts.iter().all(|a| allowed(&entry.kind, &entry.name, *a))
            })
            .cloned()
            .collect();
        if actions.is_empty() {
            continue;
        }
        match granted
            .iter_mut()
            .find(|g| g.kind == entry.kind && g.name == entry.name)
        {
            Some(existing) => {
                for a in actions {
                    if !existing.actions.contains(&a) {
                        existing.actions.push(a);
                    }
                }
            }
            None => granted.push(ResourceAccess {
                actions,
                ..entry.clone()
            }),
        }
    }
    granted
}

/// Whether a token's `access` covers `action` on the repository `name` (or, for
/// `Action::Catalog`, the catalog).
pub fn covers(access: &[ResourceAccess], name: Option<&RepoName>, action: Action) -> bool {
    access.iter().any(|entry| {
        let resource_matches = match name {
            Some(repo) => entry.kind == "repository" && entry.name == repo.as_str(),
            None => entry.kind == "registry" && entry.name == "catalog",
        };
        resource_matches
            && entry
                .actions
                .iter()
                .any(|w| actions_of(&entry.kind, w).contains(&action))
    })
}

/// The scope a client should ask a token for to do `action` (the `scope` of a
/// `WWW-Authenticate` challenge).
pub fn challenge(name: Option<&RepoName>, action: Action) -> Option<String> {
    match (name, action) {
        (None, Action::Catalog) => Some("registry:catalog:*".into()),
        (Some(repo), Action::Pull) => Some(format!("repository:{}:pull", repo.as_str())),
        (Some(repo), Action::Push) => Some(format!("repository:{}:pull,push", repo.as_str())),
        (Some(repo), Action::Delete) => Some(format!("repository:{}:delete", repo.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<ResourceAccess> {
        parse(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn repo(name: &str) -> RepoName {
        name.parse().unwrap()
    }

    #[test]
    fn parses_docker_scopes() {
        let parsed = scopes(&[
            "repository:team/app:pull,push",
            "registry:catalog:* repository:x:delete",
            "repository:Bad..Name:pull",
            "nonsense",
            "repository:y:",
        ]);
        let names: Vec<_> = parsed
            .iter()
            .map(|p| (p.name.as_str(), p.actions.len()))
            .collect();
        assert_eq!(names, [("team/app", 2), ("catalog", 1), ("x", 1), ("y", 0)]);
    }

    #[test]
    fn grants_the_intersection_of_asked_and_allowed() {
        let asked = scopes(&["repository:a:pull,push,delete", "registry:catalog:*"]);
        let all = grant(Role::Admin, &asked, |_| false);
        assert_eq!(all, asked);
        let ro = grant(Role::ReadOnly, &asked, |_| false);
        assert_eq!(ro, scopes(&["repository:a:pull", "registry:catalog:*"]));
        let customer = grant(Role::Customer, &asked, |_| false);
        assert_eq!(customer, scopes(&["registry:catalog:*"]));
        let licensed = grant(Role::Customer, &asked, |name| name == "a");
        assert_eq!(
            licensed,
            scopes(&["repository:a:pull", "registry:catalog:*"])
        );
        let star = grant(Role::ReadOnly, &scopes(&["repository:a:*"]), |_| true);
        assert!(star.is_empty(), "* needs push and delete too");
        let merged = grant(
            Role::Admin,
            &scopes(&["repository:a:pull", "repository:a:push"]),
            |_| false,
        );
        assert_eq!(merged, scopes(&["repository:a:pull,push"]));
    }

    #[test]
    fn covers_only_the_named_repository_and_action() {
        let access = scopes(&["repository:a:pull,push", "repository:b:*"]);
        assert!(covers(&access, Some(&repo("a")), Action::Push));
        assert!(!covers(&access, Some(&repo("a")), Action::Delete));
        assert!(!covers(&access, Some(&repo("c")), Action::Pull));
        assert!(covers(&access, Some(&repo("b")), Action::Delete));
        assert!(!covers(&access, None, Action::Catalog));
        assert!(covers(
            &scopes(&["registry:catalog:*"]),
            None,
            Action::Catalog
        ));
        assert_eq!(
            challenge(Some(&repo("a")), Action::Push).unwrap(),
            "repository:a:pull,push"
        );
    }
}
