//! Conversations kept in SQLite in the data directory: each turn (the
//! question and the whole answer) and the context the next question builds
//! on. A turn is written in one transaction once it is answered, in WAL
//! mode, so a crash mid-answer loses that answer and nothing before it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::plan::Context;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the conversation store {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("the conversation store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a stored conversation could not be read: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the conversation store is unavailable after an earlier failure; restart quarry")]
    Poisoned,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub seq: i64,
    pub question: String,
    pub kind: String,
    pub response: serde_json::Value,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationSummary {
    pub id: String,
    pub title: String,
    pub turns: i64,
    pub created_at: String,
    pub updated_at: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    question TEXT NOT NULL,
    kind TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let set_up = |conn: &Connection| -> rusqlite::Result<()> {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(())
        };
        let conn = Connection::open(path).map_err(|e| fail(&e))?;
        set_up(&conn).map_err(|e| fail(&e))?;
        Self::with_schema(conn).map_err(|e| fail(&e))
    }

    /// A store that lives as long as the process (evaluation runs).
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self::with_schema(Connection::open_in_memory()?)?)
    }

    fn with_schema(conn: Connection) -> rusqlite::Result<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut c = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut c)
    }

    /// The context the next question of a conversation builds on.
    pub fn context(&self, id: &str) -> Result<Context, StoreError> {
        self.with(|c| {
            let text: Option<String> = c
                .query_row(
                    "SELECT context FROM conversations WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match text {
                Some(t) => serde_json::from_str(&t)?,
                None => Context::default(),
            })
        })
    }

    /// Records an answered turn and the context it leaves, atomically.
    pub fn record(
        &self,
        id: &str,
        question: &str,
        kind: &str,
        response: &serde_json::Value,
        context: &Context,
    ) -> Result<i64, StoreError> {
        let ctx = serde_json::to_string(context)?;
        let resp = serde_json::to_string(response)?;
        self.with(|c| {
            let tx = c.transaction()?;
            let t = now();
            let title: String = question.chars().take(80).collect();
            tx.execute(
                "INSERT INTO conversations (id, title, context, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(id) DO UPDATE SET context = excluded.context, updated_at = excluded.updated_at",
                params![id, title, ctx, t],
            )?;
            let seq: i64 = tx.query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO turns (conversation_id, seq, question, kind, response, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, seq, question, kind, resp, t],
            )?;
            tx.commit()?;
            Ok(seq)
        })
    }

    pub fn turns(&self, id: &str) -> Result<Option<Vec<Turn>>, StoreError> {
        self.with(|c| {
            let exists: Option<i64> = c
                .query_row(
                    "SELECT 1 FROM conversations WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let mut st = c.prepare(
                "SELECT seq, question, kind, response, created_at FROM turns
                 WHERE conversation_id = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map(params![id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, question, kind, response, created_at) = row?;
                out.push(Turn {
                    seq,
                    question,
                    kind,
                    response: serde_json::from_str(&response)?,
                    created_at,
                });
            }
            Ok(Some(out))
        })
    }

    pub fn list(&self, limit: usize) -> Result<Vec<ConversationSummary>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT c.id, c.title, (SELECT count(*) FROM turns t WHERE t.conversation_id = c.id),
                        c.created_at, c.updated_at
                 FROM conversations c ORDER BY c.updated_at DESC LIMIT ?1",
            )?;
            let rows = st.query_map(params![limit as i64], |r| {
                Ok(ConversationSummary {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    turns: r.get(2)?,
                    created_at: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            let n = c.execute("DELETE FROM conversations WHERE id = ?1", params![id])?;
            Ok(n > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use quarry_schema::SemanticQuery;

    #[test]
    fn turns_and_context_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quarry.sqlite");
        {
            let s = Store::open(&path).unwrap();
            let ctx = Context {
                last: Some(SemanticQuery::new(&["roas"])),
                pending: None,
            };
            assert_eq!(
                s.record(
                    "c1",
                    "ROAS last week",
                    "answer",
                    &serde_json::json!({"rows": [[1]]}),
                    &ctx
                )
                .unwrap(),
                1
            );
            s.record(
                "c2",
                "spend",
                "answer",
                &serde_json::json!({}),
                &Context::default(),
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.context("c1").unwrap().last.unwrap().metrics,
            vec!["roas".to_string()]
        );
        let turns = s.turns("c1").unwrap().unwrap();
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].response["rows"][0][0], 1);
        assert!(s.turns("nope").unwrap().is_none());
        assert_eq!(s.list(10).unwrap().len(), 2);
        assert!(s.delete("c2").unwrap());
        assert!(s.turns("c2").unwrap().is_none());
        assert!(s.context("c2").unwrap().last.is_none());
    }
}
