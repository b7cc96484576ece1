//! The scheduled event: which job each cron trigger (wrangler.toml's
//! `[triggers] crons`) runs. The hourly job (src/gc.rs) collects garbage and
//! prunes; the five-minute one (src/upstream_sync.rs) re-resolves upstream
//! tags. A cron no job answers to runs nothing and says so, so a trigger
//! added to wrangler.toml alone never runs a job at a pace it was not made for.

use worker::{console_error, event, Env, ScheduleContext, ScheduledEvent};

use crate::{gc, upstream_sync};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Job {
    Hourly,
    UpstreamSync,
}

/// Each job and the cron that triggers it, exactly as wrangler.toml writes it
/// (Cloudflare hands the handler that string).
const JOBS: [(&str, Job); 2] = [
    ("0 * * * *", Job::Hourly),
    ("*/5 * * * *", Job::UpstreamSync),
];

fn job(cron: &str) -> Option<Job> {
    JOBS.iter().find(|(c, _)| *c == cron).map(|&(_, job)| job)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    let cron = event.cron();
    match job(&cron) {
        Some(Job::Hourly) => gc::run(&env).await,
        Some(Job::UpstreamSync) => upstream_sync::run(&env).await,
        None => console_error!("scheduled: no job runs on the cron {cron:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crons wrangler.toml triggers, from its `crons = [...]` line.
    fn triggered() -> Vec<String> {
        let toml = include_str!("../wrangler.toml");
        let line = toml
            .lines()
            .find(|l| l.starts_with("crons = ["))
            .expect("a crons line");
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    #[test]
    fn every_trigger_runs_one_job_and_every_job_is_triggered() {
        let crons = triggered();
        let expected: Vec<String> = JOBS.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(crons, expected);
        assert_eq!(job("0 * * * *"), Some(Job::Hourly));
        assert_eq!(job("*/5 * * * *"), Some(Job::UpstreamSync));
        assert_eq!(job(""), None);
    }
}
