//! Download analytics (`/api/v1/downloads…`): the chronological log of pulls with
//! filters, its CSV export (streamed page by page, so any length fits in a
//! Worker's memory), and pulls per day for charts. A customer sees only its own
//! pulls.

use tollgate_core::analytics::downloads::{Downloads, LogFilter, CSV_HEADER};
use tollgate_core::{Error, Result};
use tollgate_d1::D1;
use worker::Response;

use super::csv::Lines;
use super::{customer_filter, json, page_params};
use crate::app::App;
use crate::error::internal;
use crate::http::query;
use crate::request::Request;

/// Rows one CSV chunk reads from D1.
const CSV_PAGE: u32 = 500;

/// The default span of the daily counts: the last 30 days.
const DEFAULT_DAYS: i64 = 30;

pub(super) fn seconds(req: &Request, name: &str) -> Result<Option<i64>> {
    query(req, name)
        .map(|v| {
            v.parse()
                .map_err(|_| Error::Invalid(format!("{name} must be Unix seconds")))
        })
        .transpose()
}

fn filters(req: &Request, app: &App) -> Result<LogFilter> {
    Ok(LogFilter {
        artifact: query(req, "artifact"),
        customer_id: customer_filter(req, app)?,
        user_id: query(req, "user_id"),
        from: seconds(req, "from")?,
        to: seconds(req, "to")?,
    })
}

pub async fn log(req: &Request, app: &App) -> Result<Response> {
    let filters = filters(req, app)?;
    let (cursor, limit) = page_params(req)?;
    let downloads = Downloads::new(&app.db);
    json(
        200,
        &downloads.log(&filters, cursor.as_deref(), limit).await?,
    )
}

pub async fn csv(req: &Request, app: &App) -> Result<Response> {
    let filters = filters(req, app)?;
    let db = D1::new(app.env.d1("DB").map_err(internal)?);
    super::csv::export(
        "tollgate-downloads.csv",
        CSV_HEADER,
        (db, filters),
        csv_page,
    )
}

fn csv_page((db, filters): &(D1, LogFilter), cursor: Option<String>) -> Lines<'_> {
    Box::pin(async move {
        let page = Downloads::new(db)
            .log(filters, cursor.as_deref(), CSV_PAGE)
            .await?;
        let lines = page.items.iter().map(|d| d.csv_line()).collect();
        Ok((lines, page.next_cursor))
    })
}

pub async fn daily(req: &Request, app: &App) -> Result<Response> {
    let customer = customer_filter(req, app)?;
    let to = seconds(req, "to")?.unwrap_or(app.now);
    let from = seconds(req, "from")?.unwrap_or(to - DEFAULT_DAYS * 86_400);
    let artifact = query(req, "artifact");
    let days = Downloads::new(&app.db)
        .daily(artifact.as_deref(), customer.as_deref(), from, to)
        .await?;
    json(200, &serde_json::json!({ "days": days }))
}
