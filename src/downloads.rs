//! Download events: each successful manifest GET, and each version of a bundle
//! download (src/api/bundles.rs), is described as a core [`Event`], each customer
//! blob GET and bundle GET as a [`BlobRead`] (the bytes a usage cap counts), and
//! sent to the `DOWNLOADS` queue once the response is on its way (`wait_until`),
//! so no pull waits for analytics and a failing Queue never fails
//! a pull. The events of the pulls an isolate answers within [`BATCH_WINDOW`] go
//! in one batch: a send costs the isolate far more than an event. Each goes as its
//! JSON text. The analytics worker stores what arrives.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use tollgate_core::analytics::downloads::{user_agent, BlobRead, Event, Message};
use tollgate_core::bundles::plan::Version;
use tollgate_core::storage::paging::IdSequence;
use tollgate_core::{Reference, RepoName, Result};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_error, Context, Delay, Queue, Response};

use crate::app::{random, App};
use crate::http;
use crate::request::Request;

/// The Queue binding events go to.
const QUEUE: &str = "DOWNLOADS";

/// How long the first event of a batch waits for others; the request that made it
/// stays alive (`wait_until`) until the batch is sent.
const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// The most messages one Queue send takes.
const BATCH_MAX: usize = 100;

thread_local! {
    /// Whether this isolate has logged that the Queue binding is missing.
    static MISSING_REPORTED: Cell<bool> = const { Cell::new(false) };
    /// Events waiting for their batch to be sent; a send is pending when not empty.
    static OUTBOX: RefCell<Vec<Message>> = const { RefCell::new(Vec::new()) };
    /// This isolate's message ids, drawn once (see `IdSequence`).
    static IDS: RefCell<Option<IdSequence>> = const { RefCell::new(None) };
}

/// A new message id, made at `now`.
fn message_id(now: i64) -> Result<String> {
    IDS.with_borrow_mut(|ids| {
        let ids = match ids {
            Some(ids) => ids,
            None => ids.insert(IdSequence::starting_at(&random()?)),
        };
        Ok(ids.next_id(now))
    })
}

/// Sends the event of `req`, a GET of `repo` by `reference` that answered the
/// manifest `digest`, granted through `license` (`None` for vendor staff).
pub fn send(
    req: &Request,
    app: &App,
    ctx: &Context,
    (repo, reference, digest): (&RepoName, &Reference, &str),
    license: Option<String>,
) -> Result<()> {
    let pulled = Pulled {
        repo: repo.to_string(),
        reference: reference.to_string(),
        digest: digest.to_owned(),
        license_id: license,
        bundle_id: None,
    };
    enqueue(app, ctx, vec![event(req, app, pulled)?.into()]);
    Ok(())
}

/// Sends one event per version of the bundle `bundle_id` that `req` downloads,
/// each marked with the bundle and counted against its license (`None` for
/// vendor staff).
pub fn send_bundle(
    req: &Request,
    app: &App,
    ctx: &Context,
    bundle_id: &str,
    (versions, licenses): (&[Version], &[Option<String>]),
) -> Result<()> {
    let events = versions
        .iter()
        .zip(licenses)
        .map(|(v, license)| {
            let pulled = Pulled {
                repo: v.artifact.clone(),
                reference: v.tag.clone().unwrap_or_else(|| v.digest.clone()),
                digest: v.digest.clone(),
                license_id: license.clone(),
                bundle_id: Some(bundle_id.to_owned()),
            };
            event(req, app, pulled).map(Message::from)
        })
        .collect::<Result<Vec<_>>>()?;
    enqueue(app, ctx, events);
    Ok(())
}

/// What an event is about.
struct Pulled {
    repo: String,
    reference: String,
    digest: String,
    license_id: Option<String>,
    bundle_id: Option<String>,
}

fn event(req: &Request, app: &App, pulled: Pulled) -> Result<Event> {
    let identity = &app.caller()?.identity;
    let client = req.client();
    Ok(Event {
        id: message_id(app.now)?,
        at: app.now,
        repo: pulled.repo,
        reference: pulled.reference,
        digest: pulled.digest,
        user_id: identity.user_id.clone(),
        customer_id: identity.customer_id.clone(),
        ip: client.address.clone(),
        user_agent: client.user_agent.as_deref().map(user_agent),
        country: client.country.as_deref().and_then(http::country_of),
        colo: client.ray.as_deref().and_then(http::colo_of),
        license_id: pulled.license_id,
        bundle_id: pulled.bundle_id,
    })
}

/// Sends the read of a blob `response` (its body's length) granted through
/// `license`.
pub fn send_read(app: &App, ctx: &Context, license: String, response: &Response) -> Result<()> {
    let length = response.headers().get("Content-Length").ok().flatten();
    let bytes = length.and_then(|l| l.parse().ok()).unwrap_or(0);
    send_reads(app, ctx, vec![(license, bytes)])
}

/// Sends reads of so many bytes, each counted against its license.
pub fn send_reads(app: &App, ctx: &Context, reads: Vec<(String, u64)>) -> Result<()> {
    let reads = reads
        .into_iter()
        .map(|(license_id, bytes)| {
            Ok(Message::BlobRead(BlobRead {
                id: message_id(app.now)?,
                at: app.now,
                license_id,
                bytes,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    if !reads.is_empty() {
        enqueue(app, ctx, reads);
    }
    Ok(())
}

/// Puts `messages` in the outbox, and sends the outbox after the batch window
/// when it was empty.
fn enqueue(app: &App, ctx: &Context, messages: Vec<Message>) {
    let queue = match crate::app::binding::<Queue>(&app.env, QUEUE) {
        Ok(queue) => queue,
        Err(e) => {
            // A deployment without the binding: said once per isolate, not on
            // every pull.
            if !MISSING_REPORTED.replace(true) {
                let first = messages.first().map_or("none", Message::id);
                console_error!("download event {first} not sent: no queue {QUEUE}: {e}");
            }
            return;
        }
    };
    let first = OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        let first = outbox.is_empty();
        outbox.extend(messages);
        first
    });
    if first {
        ctx.wait_until(send_batch(queue));
    }
}

#[wasm_bindgen(module = "/src/js/queue.js")]
extern "C" {
    #[wasm_bindgen(js_name = sendLines, catch)]
    fn send_lines_of(queue: &JsValue, bodies: &str) -> std::result::Result<Promise, JsValue>;
}

/// Sends each line of `bodies` as a message.
async fn send_lines(queue: &Queue, bodies: &str) -> worker::Result<()> {
    JsFuture::from(send_lines_of(queue.as_ref(), bodies)?).await?;
    Ok(())
}

/// Sends what the outbox holds once the batch window has passed.
async fn send_batch(queue: Queue) {
    Delay::from(BATCH_WINDOW).await;
    let messages = OUTBOX.with(|outbox| std::mem::take(&mut *outbox.borrow_mut()));
    for batch in messages.chunks(BATCH_MAX) {
        // Each as its JSON text, a line of one string handed to the runtime at once:
        // an object built field by field crossed into it once per field (the
        // analytics worker reads both).
        let lines: Vec<String> = batch
            .iter()
            .filter_map(|m| serde_json::to_string(m).ok())
            .collect();
        if let Err(e) = send_lines(&queue, &lines.join("\n")).await {
            let first = batch[0].id();
            console_error!(
                "download event {first} and {} more not sent: {e}",
                batch.len() - 1
            );
        }
    }
}
