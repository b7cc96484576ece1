//! Runs requests against each other in chosen orders. Each request's calls to the
//! database, the object store and its body wait for their turn, so a schedule says
//! which request makes its next call; [`every_interleaving`] walks every schedule
//! (or every one with at most a few preemptions).

// Each test file uses a different part of it.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tollgate_core::storage::object_store::{Body, ObjectStore};
use tollgate_core::storage::sql::{Sql, Statement};
use tollgate_core::{Algorithm, Digest, Result};

use crate::memory::{Chunks, Memory};
use crate::sqlite::Sqlite;

/// Which request may make its next call.
#[derive(Default)]
pub struct Scheduler {
    grant: Cell<Option<usize>>,
}

/// One request's view of the scheduler.
#[derive(Clone)]
pub struct Turn {
    scheduler: Rc<Scheduler>,
    who: usize,
}

impl Turn {
    async fn wait(&self) {
        poll_fn(|_| {
            if self.scheduler.grant.get() == Some(self.who) {
                self.scheduler.grant.set(None);
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// The database, each call waiting for its turn.
pub struct StepSql<'a> {
    pub inner: &'a Sqlite,
    pub turn: Turn,
}

impl Sql for StepSql<'_> {
    async fn query<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>> {
        self.turn.wait().await;
        self.inner.query(statement).await
    }

    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>> {
        self.turn.wait().await;
        self.inner.query_all(statements).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        self.turn.wait().await;
        self.inner.batch(statements).await
    }
}

/// A request body, each block waiting for its turn.
pub struct StepBody {
    pub inner: Chunks,
    pub turn: Turn,
}

impl Body for StepBody {
    async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        self.turn.wait().await;
        self.inner.next().await
    }
}

/// The object store, each call waiting for its turn.
pub struct StepObjects<'a> {
    pub inner: &'a Memory,
    pub turn: Turn,
}

impl ObjectStore for StepObjects<'_> {
    type Body = StepBody;

    async fn put(&self, key: &str, bytes: Vec<u8>, checksum: Option<&Digest>) -> Result<()> {
        self.turn.wait().await;
        self.inner.put(key, bytes, checksum).await
    }

    async fn put_verified(&self, key: &str, body: StepBody, digest: &Digest) -> Result<()> {
        self.turn.wait().await;
        self.inner.put_verified(key, body.inner, digest).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.turn.wait().await;
        self.inner.get(key).await
    }

    async fn head(&self, key: &str) -> Result<Option<u64>> {
        self.turn.wait().await;
        self.inner.head(key).await
    }

    async fn hash(&self, key: &str, algorithm: Algorithm) -> Result<Option<Digest>> {
        self.turn.wait().await;
        self.inner.hash(key, algorithm).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.turn.wait().await;
        self.inner.delete(key).await
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        self.turn.wait().await;
        self.inner.create_multipart(key).await
    }

    async fn upload_part(
        &self,
        key: &str,
        id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> Result<String> {
        self.turn.wait().await;
        self.inner.upload_part(key, id, number, bytes).await
    }

    async fn complete_multipart(&self, key: &str, id: &str, etags: &[String]) -> Result<()> {
        self.turn.wait().await;
        self.inner.complete_multipart(key, id, etags).await
    }

    async fn abort_multipart(&self, key: &str, id: &str) -> Result<()> {
        self.turn.wait().await;
        self.inner.abort_multipart(key, id).await
    }
}

/// A request under the scheduler.
pub type Request<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One call made in a run: who made it, whether that was the schedule's default
/// (the request that called last, while it is alive), and whether the other request
/// could have called instead.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub who: usize,
    pub default: bool,
    pub contested: bool,
    /// Preemptions before this call: switches away from a request still alive.
    pub preemptions: usize,
    /// Whether choosing the other request here would be a preemption.
    pub other_preempts: bool,
}

/// Runs `requests` to completion, choosing who calls next from `prefix`, then
/// letting the last caller go on while it can.
pub fn run<T>(
    scheduler: &Scheduler,
    mut requests: Vec<Request<'_, T>>,
    prefix: &[usize],
) -> (Vec<T>, Vec<Step>) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut results: Vec<Option<T>> = requests.iter().map(|_| None).collect();
    let mut poll = |i: usize, results: &mut Vec<Option<T>>, requests: &mut Vec<Request<'_, T>>| {
        if let Poll::Ready(t) = requests[i].as_mut().poll(&mut cx) {
            results[i] = Some(t);
        }
    };
    // Each request runs up to its first call.
    for i in 0..requests.len() {
        poll(i, &mut results, &mut requests);
    }
    let (mut steps, mut last, mut preemptions) = (Vec::new(), None::<usize>, 0);
    loop {
        let alive: Vec<usize> = (0..requests.len())
            .filter(|&i| results[i].is_none())
            .collect();
        let Some(&first) = alive.first() else { break };
        let default = last.filter(|l| alive.contains(l)).unwrap_or(first);
        let who = prefix.get(steps.len()).copied().unwrap_or(default);
        let other_preempts = last.is_some_and(|l| alive.contains(&l));
        steps.push(Step {
            who,
            default: who == default,
            contested: alive.len() > 1,
            preemptions,
            other_preempts,
        });
        if who != default && other_preempts {
            preemptions += 1;
        }
        last = Some(who);
        scheduler.grant.set(Some(who));
        poll(who, &mut results, &mut requests);
        assert_eq!(
            scheduler.grant.get(),
            None,
            "request {who} made no call when its turn came"
        );
    }
    (results.into_iter().map(Option::unwrap).collect(), steps)
}

/// Calls `run_with(prefix)` for every schedule of two requests with at most
/// `max_preemptions` preemptions, each once; returns how many ran.
pub fn every_interleaving(
    max_preemptions: usize,
    mut run_with: impl FnMut(&[usize]) -> Vec<Step>,
) -> usize {
    let mut prefix: Vec<usize> = Vec::new();
    let mut runs = 0;
    loop {
        let steps = run_with(&prefix);
        runs += 1;
        let next = steps.iter().rposition(|s| {
            s.default
                && s.contested
                && s.preemptions + usize::from(s.other_preempts) <= max_preemptions
        });
        let Some(i) = next else { return runs };
        prefix = steps[..i].iter().map(|s| s.who).collect();
        prefix.push(1 - steps[i].who);
    }
}

/// A turn for request `who`.
pub fn turn(scheduler: &Rc<Scheduler>, who: usize) -> Turn {
    Turn {
        scheduler: scheduler.clone(),
        who,
    }
}
