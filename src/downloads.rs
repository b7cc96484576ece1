//! Download events: each successful manifest GET is described as a core
//! [`Event`] and sent to the `DOWNLOADS` queue once the response is on its way
//! (`wait_until`), so no pull waits for analytics and a failing Queue never fails
//! a pull. The analytics worker stores what arrives.

use std::cell::Cell;

use tollgate_core::analytics::downloads::Event;
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Reference, RepoName, Result};
use worker::{console_error, Context, Request};

use crate::app::{random, App};
use crate::http::header;

/// The Queue binding events go to.
const QUEUE: &str = "DOWNLOADS";

thread_local! {
    /// Whether this isolate has logged that the Queue binding is missing.
    static MISSING_REPORTED: Cell<bool> = const { Cell::new(false) };
}

/// Sends the event of `req`, a GET of `repo` by `reference` that answered the
/// manifest `digest`.
pub fn send(
    req: &Request,
    app: &App,
    ctx: &Context,
    repo: &RepoName,
    reference: &Reference,
    digest: &str,
) -> Result<()> {
    let identity = &app.caller()?.identity;
    let cf = req.cf();
    let event = Event {
        id: new_id(app.now, &random()?),
        at: app.now,
        repo: repo.to_string(),
        reference: reference.to_string(),
        digest: digest.to_owned(),
        user_id: identity.user_id.clone(),
        customer_id: identity.customer_id.clone(),
        ip: header(req, "CF-Connecting-IP"),
        user_agent: header(req, "User-Agent"),
        country: cf.and_then(|cf| cf.country()).filter(|c| !c.is_empty()),
        colo: cf.map(|cf| cf.colo()).filter(|c| !c.is_empty()),
    };
    let queue = match app.env.queue(QUEUE) {
        Ok(queue) => queue,
        Err(e) => {
            // A deployment without the binding: said once per isolate, not on
            // every pull.
            if !MISSING_REPORTED.replace(true) {
                console_error!(
                    "download event {} not sent: no queue {QUEUE}: {e}",
                    event.id
                );
            }
            return Ok(());
        }
    };
    ctx.wait_until(async move {
        let id = event.id.clone();
        if let Err(e) = queue.send(event).await {
            console_error!("download event {id} not sent: {e}");
        }
    });
    Ok(())
}
