//! Artifacts (`/api/v1/artifacts`): the repositories with their kind and pull
//! figures, their tags, their immutable-tag setting, and deleting tags and whole
//! artifacts under the deletion rules. A customer sees only what its licenses cover. The paths, with how an
//! artifact's name is written in them, are parsed in `routes.rs`.

use serde::Deserialize;
use tollgate_core::analytics::artifacts::{ArtifactQuery, Artifacts};
use tollgate_core::auth::policy::Action;
use tollgate_core::licensing::immutable::ImmutableTags;
use tollgate_core::storage::paging::Page;
use tollgate_core::{Error, RepoName, Result, Tag};
use worker::Response;

use super::{json, no_content, page_params, read_json, require};
use crate::app::App;
use crate::auth::service;
use crate::http;
use crate::request::Request;

/// `DELETE /artifacts/{name}/tags/{tag}`: the tag, under the deletion rules.
pub async fn delete_tag(app: &App, name: &RepoName, tag: &Tag) -> Result<Response> {
    require(app, Action::Delete)?;
    app.deletions()
        .tag(name, tag)
        .await
        .map_err(not_found_tag)?;
    no_content()
}

/// `DELETE /artifacts/{name}`: the whole artifact, under the deletion rules.
pub async fn delete(app: &App, name: &RepoName) -> Result<Response> {
    require(app, Action::Delete)?;
    app.deletions().artifact(name, app.now).await?;
    no_content()
}

/// What `PATCH /artifacts/{name}` may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    immutable_tags: Vec<String>,
}

/// `PATCH /artifacts/{name}`: the artifact's immutable-tag setting, admins only;
/// `[]` turns the rule off for it.
pub async fn change(req: Request, app: &App, name: &RepoName) -> Result<Response> {
    require(app, Action::SetImmutableTags)?;
    let change: Change = read_json(req).await?;
    let setting = ImmutableTags::parse(&change.immutable_tags)?;
    if !app.immutability().set(name, &setting).await? {
        return Err(Error::NotFound("artifact"));
    }
    json(
        200,
        &serde_json::json!({ "name": name.as_str(), "immutable_tags": setting }),
    )
}

/// The registry's "manifest unknown" for a missing tag, in the API's words.
fn not_found_tag(e: Error) -> Error {
    match e {
        Error::ManifestUnknown => Error::NotFound("tag"),
        other => other,
    }
}

pub async fn list(req: &Request, app: &App) -> Result<Response> {
    let (after, limit) = page_params(req)?;
    let query = ArtifactQuery {
        search: http::query(req, "q").unwrap_or_default(),
        order: http::query(req, "sort")
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or_default(),
        after,
        limit,
    };
    let customer = app.caller()?.customer();
    let artifacts = Artifacts::new(&app.db);
    json(200, &artifacts.list(&query, customer, app.now).await?)
}

pub async fn tags(req: &Request, app: &App, name: &RepoName) -> Result<Response> {
    let (cursor, limit) = page_params(req)?;
    let items = match app.caller()?.customer() {
        None => {
            let store = app.store();
            if !store.repository_exists(name).await? {
                return Err(Error::NotFound("artifact"));
            }
            store.tag_rows(name, cursor.as_deref(), limit).await?
        }
        Some(customer) => app
            .licenses()
            .readable_tags(customer, name, cursor.as_deref(), limit.into(), app.now)
            .await?
            .ok_or(Error::NotFound("artifact"))?,
    };
    json(200, &Page::of(items, limit, |t| &t.tag))
}

/// The artifact's details, with the reference clients pull it by.
pub async fn details(req: &Request, app: &App, name: &RepoName) -> Result<Response> {
    let customer = app.caller()?.customer();
    let details = Artifacts::new(&app.db)
        .details(name, customer, app.now)
        .await?
        .ok_or(Error::NotFound("artifact"))?;
    let mut body = serde_json::to_value(&details).map_err(|e| Error::Internal(e.to_string()))?;
    body["url"] = format!("{}/{name}", service(req)?).into();
    json(200, &body)
}
