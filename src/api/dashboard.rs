//! The dashboard (`/api/v1/dashboard`): per customer, each licensed artifact with
//! the version the customer last pulled, the newest version it is licensed for,
//! and whether it is up to date, behind, or has not pulled lately. Vendor users
//! page through the customers (or ask for one); a customer sees itself.

use futures::future::try_join_all;
use serde::Serialize;
use tollgate_core::analytics::artifacts::{Artifacts, CustomerArtifact};
use tollgate_core::storage::paging::Page;
use tollgate_core::{Error, Result};
use worker::Response;

use super::{customer_filter, json, page_params};
use crate::app::App;
use crate::http::query;
use crate::request::Request;

/// "No pulls lately" means none in this many days, unless `days` says otherwise.
const DEFAULT_DAYS: i64 = 30;

#[derive(Serialize)]
struct CustomerView {
    customer_id: String,
    customer_name: String,
    artifacts: Vec<CustomerArtifact>,
}

pub async fn show(req: &Request, app: &App) -> Result<Response> {
    let days = match query(req, "days") {
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| Error::Invalid("days must be 1 to 3650".into()))?,
        None => DEFAULT_DAYS,
    };
    let since = app.now - days * 86_400;
    let customers = match customer_filter(req, app)? {
        Some(id) => Page {
            items: app.accounts().customer(&id).await?.into_iter().collect(),
            next_cursor: None,
        },
        None => {
            let (cursor, limit) = page_params(req)?;
            app.accounts().customers(cursor.as_deref(), limit).await?
        }
    };
    let artifacts = &Artifacts::new(&app.db);
    // Each customer's view is a few queries of its own: run them all at once.
    let items = try_join_all(customers.items.into_iter().map(|customer| async move {
        Ok::<_, Error>(CustomerView {
            artifacts: artifacts.dashboard(&customer.id, since, app.now).await?,
            customer_id: customer.id,
            customer_name: customer.name,
        })
    }))
    .await?;
    json(
        200,
        &Page {
            items,
            next_cursor: customers.next_cursor,
        },
    )
}
