//! The audit log (`/api/v1/audit…`): events newest first with filters and cursor
//! paging, and the CSV export. Admins only: who manages accounts reads what
//! everyone changed.

use tollgate_core::audit::{Audit, AuditFilter, CSV_HEADER};
use tollgate_core::auth::policy::Action;
use tollgate_core::Result;
use tollgate_d1::D1;
use worker::Response;

use super::csv::Lines;
use super::downloads::seconds;
use super::{json, page_params, require};
use crate::app::App;
use crate::error::internal;
use crate::http::query;
use crate::request::Request;

/// Rows one CSV chunk reads from D1.
const CSV_PAGE: u32 = 500;

fn filters(req: &Request, app: &App) -> Result<AuditFilter> {
    require(app, Action::ManageAccounts)?;
    Ok(AuditFilter {
        actor_id: query(req, "actor_id"),
        action: query(req, "action"),
        target: query(req, "target"),
        from: seconds(req, "from")?,
        to: seconds(req, "to")?,
    })
}

pub async fn list(req: &Request, app: &App) -> Result<Response> {
    let filters = filters(req, app)?;
    let (cursor, limit) = page_params(req)?;
    let page = Audit::new(&app.db)
        .list(&filters, cursor.as_deref(), limit)
        .await?;
    json(200, &page)
}

pub async fn csv(req: &Request, app: &App) -> Result<Response> {
    let filters = filters(req, app)?;
    let db = D1::new(app.env.d1("DB").map_err(internal)?);
    super::csv::export("tollgate-audit.csv", CSV_HEADER, (db, filters), csv_page)
}

fn csv_page((db, filters): &(D1, AuditFilter), cursor: Option<String>) -> Lines<'_> {
    Box::pin(async move {
        let page = Audit::new(db)
            .list(filters, cursor.as_deref(), CSV_PAGE)
            .await?;
        let lines = page.items.iter().map(|e| e.csv_line()).collect();
        Ok((lines, page.next_cursor))
    })
}
