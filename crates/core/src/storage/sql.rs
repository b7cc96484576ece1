//! The small SQL interface the store is written against. The worker implements it
//! over D1, the tests over SQLite (rusqlite) with the same migrations, so one set of
//! queries runs in both places.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// A bound parameter. SQLite needs no more types than these.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_owned())
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<u64> for Param {
    fn from(v: u64) -> Self {
        Param::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// One SQL statement with its parameters (`?1`, `?2`, …).
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: &'static str,
    pub params: Vec<Param>,
}

/// Builds a [`Statement`]: `stmt!("SELECT … WHERE a = ?1", a)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $param:expr)* $(,)?) => {
        $crate::storage::sql::Statement { sql: $sql, params: vec![$($crate::storage::sql::Param::from($param)),*] }
    };
}

#[allow(async_fn_in_trait)]
pub trait Sql {
    /// Runs a query and deserializes each row (an object keyed by column name).
    async fn query<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>>;

    /// The first row of a query, if any.
    async fn one<T: DeserializeOwned>(&self, statement: Statement) -> Result<Option<T>> {
        Ok(self.query(statement).await?.into_iter().next())
    }

    /// Runs queries in one round trip (D1 batches them) and returns the rows of
    /// each, undecoded.
    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>>;

    /// Runs two queries in one round trip and returns the rows of each.
    async fn query_both<A: DeserializeOwned, B: DeserializeOwned>(
        &self,
        a: Statement,
        b: Statement,
    ) -> Result<(Vec<A>, Vec<B>)> {
        let mut results = self.query_all(vec![a, b]).await?.into_iter();
        let mut next = || results.next().unwrap_or_default();
        Ok((decode(next())?, decode(next())?))
    }

    /// Runs statements atomically, in order; returns the rows each one changed.
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>>;
}

/// Rows as [`Sql::query_all`] returns them, decoded.
pub fn decode<T: DeserializeOwned>(rows: Vec<Value>) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|row| serde_json::from_value(row).map_err(|e| Error::Internal(format!("row: {e}"))))
        .collect()
}

/// A boolean as SQLite stores it (0 or 1), or as JSON writes it.
pub(crate) fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(n) => n != 0,
    })
}
