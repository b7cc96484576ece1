//! Licenses (`/api/v1/licenses`): which customer may pull which versions of which
//! artifacts. Vendor admins and read-write users manage them; read-only users see
//! them; a customer sees its own.

use tollgate_core::auth::policy::Action;
use tollgate_core::licensing::license::{Item, LicenseInput, Versions, Wanted};
use tollgate_core::licensing::license_store::{LicenseFilter, NewLicense};
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Error, Result};
use worker::Response;

use super::{customer_filter, deleted, json, own_customer, page_params, read_json, require};
use crate::app::{random, App};
use crate::http::query;
use crate::request::Request;

pub async fn list(req: &Request, app: &App) -> Result<Response> {
    let customer_id = customer_filter(req, app)?;
    let (cursor, limit) = page_params(req)?;
    let artifact = query(req, "artifact");
    let filter = LicenseFilter {
        id: None,
        customer_id: customer_id.as_deref(),
        artifact: artifact.as_deref(),
    };
    let licenses = app.licenses();
    json(
        200,
        &licenses.list(&filter, cursor.as_deref(), limit).await?,
    )
}

pub async fn show(app: &App, id: &str) -> Result<Response> {
    let own = own_customer(app)?;
    let license = app
        .licenses()
        .show(id)
        .await?
        .filter(|l| own.as_ref().is_none_or(|c| *c == l.customer_id))
        .ok_or(Error::NotFound("license"))?;
    json(200, &license)
}

pub async fn create(req: Request, app: &App) -> Result<Response> {
    require(app, Action::ManageLicenses)?;
    let license = checked(app, new_id(app.now, &random()?), read_json(req).await?).await?;
    app.licenses().create(&license).await?;
    json(201, &app.licenses().show(&license.id).await?)
}

pub async fn replace(req: Request, app: &App, id: &str) -> Result<Response> {
    require(app, Action::ManageLicenses)?;
    let license = checked(app, id.to_owned(), read_json(req).await?).await?;
    if !app.licenses().replace(&license).await? {
        return Err(Error::NotFound("license"));
    }
    json(200, &app.licenses().show(id).await?)
}

pub async fn delete(app: &App, id: &str) -> Result<Response> {
    require(app, Action::ManageLicenses)?;
    deleted(app.licenses().delete(id).await?, "license")
}

/// The license a request body describes, its tags resolved to digests.
async fn checked(app: &App, id: String, input: LicenseInput) -> Result<NewLicense> {
    input.checked_item_count()?;
    let mut items = Vec::with_capacity(input.items.len());
    for item in &input.items {
        items.push(match item.parse()? {
            Wanted::Ready(item) => item,
            Wanted::Tags(artifact, tags) => {
                let digests = app.licenses().resolve_tags(&artifact, &tags).await?;
                Item {
                    artifact,
                    versions: Versions::Digests(digests),
                }
            }
        });
    }
    let caps = input.checked_caps()?;
    Ok(NewLicense {
        id,
        name: input.checked_name()?,
        customer_id: input.customer_id,
        expires_at: input.expires_at,
        expiry_policy: input.expiry_policy,
        caps,
        created_at: app.now,
        items,
    })
}
