//! Customers (`/api/v1/customers`): the companies licenses are granted to.
//! Deleting one removes its users and their tokens.

use serde::Deserialize;
use tollgate_core::auth::account::text_field;
use tollgate_core::auth::account_store::Customer;
use tollgate_core::auth::policy::Action;
use tollgate_core::storage::paging::new_id;
use tollgate_core::Result;
use worker::Response;

use super::{deleted, found, json, page_params, read_json, require};
use crate::app::{random, App};
use crate::request::Request;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCustomer {
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    notes: String,
}

pub async fn list(req: &Request, app: &App) -> Result<Response> {
    require(app, Action::ViewAccounts)?;
    let (cursor, limit) = page_params(req)?;
    json(
        200,
        &app.accounts().customers(cursor.as_deref(), limit).await?,
    )
}

pub async fn create(req: Request, app: &App) -> Result<Response> {
    require(app, Action::ManageAccounts)?;
    let body: NewCustomer = read_json(req).await?;
    let customer = Customer {
        id: new_id(app.now, &random()?),
        name: text_field("name", &body.name, 200, true)?,
        contact: text_field("contact", &body.contact, 500, false)?,
        notes: text_field("notes", &body.notes, 5000, false)?,
        created_at: app.now,
    };
    app.accounts().create_customer(&customer).await?;
    json(201, &customer)
}

pub async fn show(app: &App, id: &str) -> Result<Response> {
    require(app, Action::ViewAccounts)?;
    found(app.accounts().customer(id).await?, "customer")
}

pub async fn delete(app: &App, id: &str) -> Result<Response> {
    require(app, Action::ManageAccounts)?;
    deleted(app.accounts().delete_customer(id).await?, "customer")
}
