//! The scheduled job: garbage collection (docs/gc.md). The core decides what is
//! garbage and keeps the queue in D1; this does the R2 side (deleting objects,
//! aborting multipart uploads) and logs one line per run. It also forgets failed
//! sign-in counters and sessions that have run out (docs/accounts.md).

use tollgate_core::gc::{self, Settings, Summary, DEFAULT_GRACE_SECONDS};
use worker::{console_error, console_log, event, Env, ScheduleContext, ScheduledEvent};

use crate::app::{self, App};

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    let grace = app::number(&env, "GC_GRACE_SECONDS", DEFAULT_GRACE_SECONDS);
    let setup = App::new(&env).and_then(|app| Ok((grace?, app)));
    let (grace, app) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            console_error!("gc: not run: {e}");
            return;
        }
    };
    let settings = Settings::new(grace, app.upload_ttl);
    let mut summary = Summary::default();
    match gc::run(&app.db, &app.objects, app.now, &settings, &mut summary).await {
        Ok(()) => console_log!("gc: {summary}"),
        Err(e) => console_error!("gc: {summary}; stopped: {e}"),
    }
    if let Err(e) = app.accounts().prune(app.now).await {
        console_error!("pruning failure counters and sessions: {e}");
    }
}
