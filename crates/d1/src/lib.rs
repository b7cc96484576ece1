//! The core's `Sql` trait over the D1 binding, metered: each round trip is
//! counted and timed for the `Server-Timing` header. Shared by the registry worker
//! and the analytics worker, which open the same database under the binding `DB`.

use std::cell::Cell;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tollgate_core::storage::sql::{Param, Sql, Statement};
use tollgate_core::{Error, Result};
use wasm_bindgen::JsValue;
use worker::{js_sys, D1Database, D1PreparedStatement};

/// How many calls a request made to one binding, and how long it waited on them.
#[derive(Default)]
pub struct Meter {
    calls: Cell<u32>,
    millis: Cell<f64>,
}

impl Meter {
    /// Awaits `call`, counting it and its wall time. Time in a worker advances
    /// only across I/O, which is what this measures.
    pub async fn time<F: Future>(&self, call: F) -> F::Output {
        let start = js_sys::Date::now();
        let output = call.await;
        self.calls.set(self.calls.get() + 1);
        self.millis
            .set(self.millis.get() + (js_sys::Date::now() - start));
        output
    }

    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    pub fn millis(&self) -> f64 {
        self.millis.get()
    }
}

pub struct D1 {
    db: D1Database,
    pub meter: Meter,
}

fn internal(e: worker::Error) -> Error {
    Error::Internal(format!("D1: {e}"))
}

impl D1 {
    pub fn new(db: D1Database) -> Self {
        D1 {
            db,
            meter: Meter::default(),
        }
    }

    fn prepare(&self, s: Statement) -> Result<D1PreparedStatement> {
        let values: Vec<JsValue> = s
            .params
            .into_iter()
            .map(|p| match p {
                Param::Null => JsValue::NULL,
                Param::Int(i) => JsValue::from_f64(i as f64),
                Param::Text(t) => JsValue::from_str(&t),
            })
            .collect();
        self.db.prepare(s.sql).bind(&values).map_err(internal)
    }
}

impl Sql for D1 {
    async fn query<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>> {
        let statement = self.prepare(statement)?;
        let result = self.meter.time(statement.all()).await.map_err(internal)?;
        result.results().map_err(internal)
    }

    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>> {
        let count = statements.len();
        let prepared = statements
            .into_iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>>>()?;
        let results = self
            .meter
            .time(self.db.batch(prepared))
            .await
            .map_err(internal)?;
        if results.len() != count {
            return Err(Error::Internal(format!(
                "D1 batch of {count} answered {}",
                results.len()
            )));
        }
        results
            .iter()
            .map(|r| r.results().map_err(internal))
            .collect()
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        let prepared = statements
            .into_iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>>>()?;
        let results = self
            .meter
            .time(self.db.batch(prepared))
            .await
            .map_err(internal)?;
        results
            .iter()
            .map(|r| {
                Ok(r.meta()
                    .map_err(internal)?
                    .and_then(|m| m.changes)
                    .unwrap_or(0) as u64)
            })
            .collect()
    }
}
