//! The scheduled job: garbage collection (docs/gc.md). The core decides what is
//! garbage and keeps the queue in D1; this does the R2 side (deleting objects,
//! aborting multipart uploads) and logs one line per run.

use tollgate_core::gc::{self, Objects, Settings, Summary, DEFAULT_GRACE_SECONDS};
use tollgate_core::Result;
use worker::{console_error, console_log, event, Bucket, Env, ScheduleContext, ScheduledEvent};

use crate::app::{self, App};
use crate::error::internal;

struct R2<'a>(&'a Bucket);

impl Objects for R2<'_> {
    async fn delete(&self, keys: &[&str]) -> Result<()> {
        self.0
            .delete_multiple(keys.to_vec())
            .await
            .map_err(internal)
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        self.0
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?
            .abort()
            .await
            .map_err(internal)
    }
}

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
    match gc::run(&app.db, &R2(&app.bucket), app.now, &settings, &mut summary).await {
        Ok(()) => console_log!("gc: {summary}"),
        Err(e) => console_error!("gc: {summary}; stopped: {e}"),
    }
}
