//! Artifacts (`/api/v1/artifacts`): the repositories with their kind and pull
//! figures, their tags, and deleting tags and whole artifacts under the deletion
//! rules. A customer sees only what
//! its licenses cover. An artifact's name keeps its slashes in the path
//! (`/artifacts/acme/app/tags`); a name that itself ends in a `tags` component
//! is written escaped (`acme%2Ftags`).

use percent_encoding::percent_decode_str;
use tollgate_core::analytics::artifacts::{ArtifactQuery, Artifacts};
use tollgate_core::auth::policy::Action;
use tollgate_core::storage::paging::Page;
use tollgate_core::{Error, RepoName, Result, Tag};
use worker::{Method, Request, Response};

use super::{json, no_content, page_params, require};
use crate::app::App;
use crate::auth::service;
use crate::http;

/// What a path under `/api/v1/artifacts/` names.
enum Path {
    Artifact(RepoName),
    Tags(RepoName),
    Tag(RepoName, Tag),
}

/// `parts` is the raw path after `artifacts/`: `tags` is a marker only where it
/// is written unescaped.
fn parse(parts: &[&str]) -> Result<Path> {
    let name = |parts: &[&str]| -> Result<RepoName> {
        let raw = parts.join("/");
        let decoded = percent_decode_str(&raw)
            .decode_utf8()
            .map_err(|_| Error::NotFound("artifact"))?;
        decoded.parse().map_err(|_| Error::NotFound("artifact"))
    };
    match parts {
        [rest @ .., "tags"] if !rest.is_empty() => Ok(Path::Tags(name(rest)?)),
        [rest @ .., "tags", tag] if !rest.is_empty() => Ok(Path::Tag(
            name(rest)?,
            tag.parse().map_err(|_| Error::NotFound("tag"))?,
        )),
        _ => Ok(Path::Artifact(name(parts)?)),
    }
}

pub async fn handle(req: &Request, app: &App, parts: &[&str], method: Method) -> Result<Response> {
    if parts.is_empty() || parts == [""] {
        return match method {
            Method::Get => list(req, app).await,
            _ => Err(Error::MethodNotAllowed),
        };
    }
    match (parse(parts)?, method) {
        (Path::Tags(name), Method::Get) => tags(req, app, &name).await,
        (Path::Tag(name, tag), Method::Delete) => {
            require(app, Action::Delete)?;
            app.deletions()
                .tag(&name, &tag)
                .await
                .map_err(not_found_tag)?;
            no_content()
        }
        (Path::Artifact(name), Method::Get) => details(req, app, &name).await,
        (Path::Artifact(name), Method::Delete) => {
            require(app, Action::Delete)?;
            app.deletions().artifact(&name, app.now).await?;
            no_content()
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

/// The registry's "manifest unknown" for a missing tag, in the API's words.
fn not_found_tag(e: Error) -> Error {
    match e {
        Error::ManifestUnknown => Error::NotFound("tag"),
        other => other,
    }
}

async fn list(req: &Request, app: &App) -> Result<Response> {
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

async fn tags(req: &Request, app: &App, name: &RepoName) -> Result<Response> {
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
async fn details(req: &Request, app: &App, name: &RepoName) -> Result<Response> {
    let customer = app.caller()?.customer();
    let details = Artifacts::new(&app.db)
        .details(name, customer, app.now)
        .await?
        .ok_or(Error::NotFound("artifact"))?;
    let mut body = serde_json::to_value(&details).map_err(|e| Error::Internal(e.to_string()))?;
    body["url"] = format!("{}/{name}", service(req)?).into();
    json(200, &body)
}
