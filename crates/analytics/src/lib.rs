//! The analytics worker: consumes the download events and blob reads the registry
//! sends to the `tollgate-downloads` queue and writes them to D1, with the pull
//! counts and license usage they add to (`tollgate_core::analytics::downloads`), and
//! once a day prunes raw events older than `RETENTION_DAYS`.
//!
//! Delivery is at least once and recording is idempotent (events carry an id), so a
//! batch whose write fails is retried whole; after `max_retries` the queue moves it to
//! the dead-letter queue `tollgate-downloads-dlq`. A message whose body is not an
//! event can never succeed: it is logged and acknowledged, not retried.

use tollgate_core::analytics::downloads::{Downloads, Message, MAX_BATCH};
use tollgate_d1::D1;
use worker::{
    console_error, console_log, event, js_sys, Context, Date, Env, MessageBatch, MessageExt,
    RawMessage, Result, ScheduleContext, ScheduledEvent,
};

/// Events pruned per statement, and statements per run: a run deletes at most
/// 100,000 events, well inside the ~1,000 queries an invocation may make; a larger
/// backlog goes over the following days.
const PRUNE_LIMIT: u64 = 1000;
const PRUNE_ROUNDS: u32 = 100;

/// `RETENTION_DAYS` when unset.
const DEFAULT_RETENTION_DAYS: i64 = 365;

/// An event from a message body; `None` (logged) when it is not one. The registry
/// sends each event as its JSON text (one string is cheaper to hand to the queue
/// than an object built field by field); a body that is a JSON object, as
/// messages sent before were, is read as well.
fn parse(message: &RawMessage) -> Option<Message> {
    let body = message.body();
    let parsed = body
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&body).ok()?.as_string())
        .ok_or_else(|| "not JSON".to_string())
        .and_then(|json| serde_json::from_str::<Message>(&json).map_err(|e| e.to_string()));
    match parsed {
        Ok(event) => Some(event),
        Err(e) => {
            console_error!(
                "analytics: message {} is not a download event ({e}): dropped",
                message.id()
            );
            None
        }
    }
}

#[event(queue)]
async fn consume(batch: MessageBatch<Message>, env: Env, _ctx: Context) -> Result<()> {
    console_error_panic_hook::set_once();
    let mut events = Vec::new();
    let mut kept = Vec::new();
    for message in batch.raw_iter() {
        match parse(&message) {
            Some(event) => {
                events.push(event);
                kept.push(message);
            }
            None => message.ack(),
        }
    }
    let count = events.len();
    let dropped = batch.raw_iter().len() - count;
    let db = match env.d1("DB") {
        Ok(db) => D1::new(db),
        Err(e) => {
            console_error!("analytics: no D1 binding DB ({e}): retrying {count} events");
            kept.iter().for_each(|m| m.retry());
            return Ok(());
        }
    };
    let downloads = Downloads::new(&db);
    for chunk in events.chunks(MAX_BATCH) {
        if let Err(e) = downloads.record(chunk).await {
            // Events already written are written again on retry: recording is idempotent.
            console_error!("analytics: recording {count} events failed ({e}): retrying the batch");
            kept.iter().for_each(|m| m.retry());
            return Ok(());
        }
    }
    kept.iter().for_each(|m| m.ack());
    console_log!(
        "analytics: recorded {count} download events from {} ({dropped} dropped)",
        batch.queue()
    );
    Ok(())
}

/// `RETENTION_DAYS`, default 365.
fn retention_days(env: &Env) -> std::result::Result<i64, String> {
    match env.var("RETENTION_DAYS") {
        Ok(v) => v
            .to_string()
            .parse()
            .map_err(|_| "RETENTION_DAYS is not a number".to_string()),
        Err(_) => Ok(DEFAULT_RETENTION_DAYS),
    }
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    let days = match retention_days(&env) {
        Ok(days) => days,
        Err(e) => {
            console_error!("analytics: retention not run: {e}");
            return;
        }
    };
    let db = match env.d1("DB") {
        Ok(db) => D1::new(db),
        Err(e) => {
            console_error!("analytics: retention not run: no D1 binding DB ({e})");
            return;
        }
    };
    let now = (Date::now().as_millis() / 1000) as i64;
    let before = now - days * 24 * 60 * 60;
    let downloads = Downloads::new(&db);
    let mut pruned = 0;
    for _ in 0..PRUNE_ROUNDS {
        match downloads.prune(before, PRUNE_LIMIT).await {
            Ok(n) => {
                pruned += n;
                if n < PRUNE_LIMIT {
                    break;
                }
            }
            Err(e) => {
                console_error!("analytics: pruned {pruned} download events; stopped: {e}");
                return;
            }
        }
    }
    console_log!("analytics: pruned {pruned} download events older than {days} days");
}
