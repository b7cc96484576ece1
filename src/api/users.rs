//! Vendor users (`/api/v1/users`) and customer users
//! (`/api/v1/customers/{id}/users`): list, create, show, delete.

use serde::Deserialize;
use tollgate_core::auth::account::{check_new_password, Email, Role};
use tollgate_core::auth::account_store::new_user;
use tollgate_core::auth::policy::Action;
use tollgate_core::auth::secret::hash_password;
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Error, Result};
use worker::Response;

use super::{deleted, found, json, page_params, read_json, require};
use crate::app::{random, App};
use crate::request::Request;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    /// Vendor users only; customer users always have role `customer`.
    role: Option<String>,
    /// Optional: a user without one signs in with tokens only.
    password: Option<String>,
}

pub async fn list(req: &Request, app: &App, customer: Option<&str>) -> Result<Response> {
    require(app, Action::ViewAccounts)?;
    if let Some(id) = customer {
        app.accounts()
            .customer(id)
            .await?
            .ok_or(Error::NotFound("customer"))?;
    }
    let (cursor, limit) = page_params(req)?;
    json(
        200,
        &app.accounts()
            .users(customer, cursor.as_deref(), limit)
            .await?,
    )
}

pub async fn create(req: Request, app: &App, customer: Option<&str>) -> Result<Response> {
    require(app, Action::ManageAccounts)?;
    let body: NewUser = read_json(req).await?;
    let email = Email::parse(&body.email)?;
    let role = match (customer, body.role.as_deref()) {
        (Some(_), None | Some("customer")) => Role::Customer,
        (Some(_), Some(_)) => {
            return Err(Error::Invalid("customer users have role customer".into()))
        }
        (None, Some(role)) => Role::parse_vendor(role)?,
        (None, None) => return Err(Error::Invalid("role is required".into())),
    };
    if let Some(id) = customer {
        app.accounts()
            .customer(id)
            .await?
            .ok_or(Error::NotFound("customer"))?;
    }
    let password_hash = match body.password.as_deref() {
        Some(password) => {
            check_new_password(password)?;
            Some(hash_password(password, &random()?))
        }
        None => None,
    };
    let user = new_user(
        new_id(app.now, &random()?),
        &email,
        role,
        customer.map(str::to_owned),
        app.now,
    );
    app.accounts()
        .create_user(&user, password_hash.as_deref())
        .await?;
    json(201, &user)
}

pub async fn show(app: &App, id: &str) -> Result<Response> {
    require(app, Action::ViewAccounts)?;
    found(app.accounts().user(id).await?, "user")
}

pub async fn delete(app: &App, id: &str) -> Result<Response> {
    require(app, Action::ManageAccounts)?;
    deleted(app.accounts().delete_user(id).await?, "user")
}
