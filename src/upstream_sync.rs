//! The scheduled sync of upstream tags (docs/pull-through.md, "Tags stay
//! fresh"), run every five minutes (src/scheduled.rs): the fetched tags the
//! core picks as due (`tollgate_core::upstream::sync`, bounded per run) are
//! re-resolved exactly as a pull re-resolves them (src/upstream.rs,
//! `refresh`), so a tag moved upstream is seen without a customer's pull
//! waiting on the upstream. Logs one line per run.

use tollgate_core::upstream::sync::{self, DueArtifact, Summary, BOUND};
use tollgate_core::Result;
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
        }
    }
    Ok(())
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
