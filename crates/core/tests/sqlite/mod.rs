//! The store's `Sql` trait over real SQLite, with the very migrations D1 applies.

use std::cell::RefCell;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tollgate_core::storage::sql::{Param, Sql, Statement};
use tollgate_core::{Error, Result};

pub struct Sqlite(RefCell<Connection>);

impl Sqlite {
    pub fn migrated() -> Self {
        Self::migrated_with(None)
    }

    /// Migrated, with `seed` — a migration's file-name prefix and SQL — run just
    /// before that migration: rows as an older schema held them.
    pub fn migrated_with(seed: Option<(&str, &str)>) -> Self {
        let conn = Connection::open_in_memory().unwrap();
        // D1 enforces foreign keys; so must the stand-in.
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if let Some((_, sql)) = seed.filter(|(prefix, _)| name.starts_with(prefix)) {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&std::fs::read_to_string(file).unwrap())
                .unwrap();
        }
        Sqlite(RefCell::new(conn))
    }
}

fn bind(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Null => rusqlite::types::Value::Null,
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect()
}

fn internal(e: rusqlite::Error) -> Error {
    Error::Internal(e.to_string())
}

impl Sql for Sqlite {
    async fn query<T: DeserializeOwned>(&self, s: Statement) -> Result<Vec<T>> {
        let conn = self.0.borrow();
        let mut stmt = conn.prepare(s.sql).map_err(internal)?;
        let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(bind(&s.params)))
            .map_err(internal)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            let mut object = Map::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i).map_err(internal)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => f.into(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    ValueRef::Blob(_) => unreachable!("the schema has no BLOB columns"),
                };
                object.insert(name.clone(), value);
            }
            out.push(
                serde_json::from_value(Value::Object(object))
                    .map_err(|e| Error::Internal(e.to_string()))?,
            );
        }
        Ok(out)
    }

    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>> {
        let mut results = Vec::new();
        for s in statements {
            results.push(self.query(s).await?);
        }
        Ok(results)
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        let mut conn = self.0.borrow_mut();
        let tx = conn.transaction().map_err(internal)?;
        let mut changes = Vec::new();
        for s in statements {
            let mut stmt = tx.prepare(s.sql).map_err(internal)?;
            let params = rusqlite::params_from_iter(bind(&s.params));
            // D1 batches take queries too; their rows are dropped, their errors count.
            let n = if stmt.readonly() {
                let mut rows = stmt.query(params).map_err(internal)?;
                while rows.next().map_err(internal)?.is_some() {}
                0
            } else {
                stmt.execute(params).map_err(internal)?
            };
            changes.push(n as u64);
        }
        tx.commit().map_err(internal)?;
        Ok(changes)
    }
}
