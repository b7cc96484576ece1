//! The hourly job (src/scheduled.rs runs it): garbage collection (docs/gc.md),
//! the audit log's retention (docs/audit.md), and forgetting failed sign-in
//! counters and sessions that have run out (docs/accounts.md). The core decides
//! what is garbage and keeps the queue in D1; this does the R2 side (deleting
//! objects, aborting multipart uploads) and logs one line per run of each.

use tollgate_core::audit::{self, Audit};
use tollgate_core::cache::read_path::Written;
use tollgate_core::storage::gc::{self, Settings, Summary, DEFAULT_GRACE_SECONDS};
use worker::{console_error, console_log, Env};

use crate::app::{self, App};

pub async fn run(env: &Env) {
    let grace = app::number(env, "GC_GRACE_SECONDS", DEFAULT_GRACE_SECONDS);
    let setup = App::new(env).and_then(|app| Ok((grace?, app)));
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
    prune_audit(env, &app).await;
    crate::cache::written(&Written::Everything);
}

/// Drops audit events older than `AUDIT_RETENTION_DAYS` (a year by default).
async fn prune_audit(env: &Env, app: &App) {
    let days = app::number(env, "AUDIT_RETENTION_DAYS", audit::DEFAULT_RETENTION_DAYS)
        .and_then(audit::retention_days);
    match days {
        Ok(days) => match Audit::new(&app.db).prune(app.now, days).await {
            Ok(pruned) => console_log!("audit: {pruned} events older than {days} days pruned"),
            Err(e) => console_error!("audit: not pruned: {e}"),
        },
        Err(e) => console_error!("audit: not pruned: {e}"),
    }
}
