//! The scheduled sync of upstream tags (docs/pull-through.md, "Tags stay
//! fresh"), run every five minutes (src/scheduled.rs): the fetched tags the
//! core picks as due (`tollgate_core::upstream::sync`, bounded per run) are
//! re-resolved exactly as a pull re-resolves them (src/upstream.rs,
//! `refresh`), so a tag moved upstream is seen without a customer's pull
//! waiting on the upstream. Logs one line per run.

use tollgate_core::upstream::store::Upstreams;
use tollgate_core::upstream::sync::{self, DueArtifact, Summary, BOUND};
use tollgate_core::{Error, Result};
use worker::{console_error, console_log, Env};

use crate::app::App;
use crate::upstream;

pub async fn run(env: &Env) {
    let mut summary = Summary::default();
    match sync_due(env, &mut summary).await {
        Ok(()) => console_log!("upstream sync: {summary}"),
        Err(e) => console_error!("upstream sync: {summary}; stopped: {e}"),
    }
}

/// Re-resolves the due tags the core picks, artifact by artifact.
async fn sync_due(env: &Env, summary: &mut Summary) -> Result<()> {
    let app = App::new(env)?;
    for artifact in sync::due_tags(&app.db, app.now, BOUND).await? {
        summary.artifacts += 1;
        if let Err(e) = sync_artifact(&app, &artifact, summary).await {
            summary.errors += 1;
            console_error!("upstream sync: {}: {e}", artifact.repo);
            put_off(&app, &artifact, &e).await;
        }
    }
    Ok(())
}

/// Records an error of Tollgate's own on `artifact`'s setting and puts its due
/// tags off by an interval, as an upstream failure does: an artifact that fails
/// every time (a secret that no longer opens) must not take its share of every
/// run from the others. Best effort: the next run tries again.
async fn put_off(app: &App, artifact: &DueArtifact, e: &Error) {
    let repo = &artifact.repo;
    let why = format!("Tollgate could not re-resolve its tags: {e}");
    let _ = Upstreams::new(&app.db)
        .record_failure(repo, &why, app.now)
        .await;
    let next = app.now + i64::from(artifact.refresh_seconds);
    for (tag, digest) in &artifact.tags {
        let _ = app.store().tag_resolved(repo, tag, digest, next).await;
    }
}

/// Re-resolves `artifact`'s due tags, oldest first, until its upstream fails:
/// that failure is recorded once and the rest wait for the next run. An error
/// of Tollgate's own ends this artifact's turn, not the run's.
async fn sync_artifact(app: &App, artifact: &DueArtifact, summary: &mut Summary) -> Result<()> {
    let repo = &artifact.repo;
    let Some(client) = upstream::client(app, repo).await? else {
        return Ok(());
    };
    for (n, (tag, digest)) in artifact.tags.iter().enumerate() {
        let resolved = upstream::refresh(app, &client, repo, tag, digest).await?;
        summary.count(&resolved);
        if sync::ends_turn(&resolved) {
            summary.skipped += (artifact.tags.len() - n - 1) as u32;
            break;
        }
    }
    Ok(())
}
