//! The core's `Sql` trait over the D1 binding.
//! Shared by the registry worker and the analytics worker, which open the same
//! database under the binding `DB`.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tollgate_core::storage::sql::{Param, Sql, Statement};
use tollgate_core::{Error, Result};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

pub struct D1(pub D1Database);

fn internal(e: worker::Error) -> Error {
    Error::Internal(format!("D1: {e}"))
}

impl D1 {
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
        self.0.prepare(s.sql).bind(&values).map_err(internal)
    }
}

impl Sql for D1 {
    async fn query<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>> {
        let result = self.prepare(statement)?.all().await.map_err(internal)?;
        result.results().map_err(internal)
    }

    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>> {
        let count = statements.len();
        let prepared = statements
            .into_iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>>>()?;
        let results = self.0.batch(prepared).await.map_err(internal)?;
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
        let results = self.0.batch(prepared).await.map_err(internal)?;
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
