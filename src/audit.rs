//! Appends every change to the audit log (`tollgate_core::audit`): the API calls
//! [`Change::of`] for each request and records it with its caller and the status
//! of its answer, refusals included; `/v2/` does the same for `DELETE`. Recording
//! never fails the request it describes: a failed append is logged.

use tollgate_core::audit::{self, AuditEvent};
use tollgate_core::storage::paging::new_id;
use tollgate_core::storage::sql::Sql;
use tollgate_core::Result;
use worker::{console_error, Method};

use crate::app::{random, App};
use crate::http::header;
use crate::request::Request;

/// A request that changes something, as the log records it.
pub struct Change {
    action: Method,
    target: String,
    address: Option<String>,
    user_agent: Option<String>,
}

impl Change {
    /// The change `req` asks for; `None` for a read.
    pub fn of(req: &Request) -> Option<Change> {
        let action = req.method();
        if matches!(action, Method::Get | Method::Head | Method::Options) {
            return None;
        }
        Some(Change {
            action,
            target: req.path(),
            address: header(req, "CF-Connecting-IP"),
            user_agent: header(req, "User-Agent"),
        })
    }

    pub fn is_delete(&self) -> bool {
        self.action == Method::Delete
    }

    /// Appends this change, made by `app`'s caller (if it authenticated) and
    /// answered with `result`.
    pub async fn record(self, app: &App, status: u16) {
        if let Err(e) = self.append(app, status).await {
            console_error!(
                "audit: {} {} not recorded: {e}",
                self.action.as_ref(),
                self.target
            );
        }
    }

    async fn append(&self, app: &App, status: u16) -> Result<()> {
        let identity = app.caller.as_ref().map(|c| &c.identity);
        let event = AuditEvent {
            id: new_id(app.now, &random()?),
            at: app.now,
            actor_id: identity.map(|i| i.user_id.clone()),
            actor_email: identity.map(|i| i.email.clone()),
            role: identity.map(|i| i.role.as_str().to_owned()),
            action: self.action.as_ref().to_owned(),
            target: self.target.clone(),
            status,
            address: self.address.clone(),
            user_agent: self.user_agent.clone(),
        };
        app.db.batch(vec![audit::record(&event)]).await?;
        Ok(())
    }
}
