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
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    correction TEXT,
    question TEXT NOT NULL,
    semantic_query TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verified_queries (
    question TEXT PRIMARY KEY,
    semantic_query TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
";

/// A thumbs up or down on one answered turn.
#[derive(Debug, Clone, Serialize)]
pub struct Feedback {
    pub id: i64,
    pub conversation_id: String,
    pub seq: i64,
    pub rating: String,
    pub correction: Option<String>,
    pub question: String,
    pub created_at: String,
}

/// A question saved with its plan: answered word for word from the plan,
/// and retrieved as an example for similar questions.
#[derive(Debug, Clone, Serialize)]
pub struct SavedQuery {
    pub question: String,
    pub semantic_query: quarry_schema::SemanticQuery,
    pub source: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub revoked: bool,
}

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

    /// One turn of a conversation, if both exist.
    pub fn turn(&self, id: &str, seq: i64) -> Result<Option<Turn>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT question, kind, response, created_at FROM turns
                     WHERE conversation_id = ?1 AND seq = ?2",
                    params![id, seq],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            Ok(match row {
                Some((question, kind, response, created_at)) => Some(Turn {
                    seq,
                    question,
                    kind,
                    response: serde_json::from_str(&response)?,
                    created_at,
                }),
                None => None,
            })
        })
    }

    /// The sequence number the next turn of a conversation will get.
    pub fn next_seq(&self, id: &str) -> Result<i64, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE conversation_id = ?1",
                params![id],
                |r| r.get(0),
            )?)
        })
    }

    /// The title of a conversation (its first question).
    pub fn title(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT title FROM conversations WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    pub fn add_feedback(
        &self,
        id: &str,
        seq: i64,
        rating: &str,
        correction: Option<&str>,
        turn: &Turn,
    ) -> Result<i64, StoreError> {
        let plan = turn
            .response
            .get("semantic_query")
            .filter(|v| !v.is_null())
            .map(|v| v.to_string());
        self.with(|c| {
            c.execute(
                "INSERT INTO feedback (conversation_id, seq, rating, correction, question, semantic_query, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, seq, rating, correction, turn.question, plan, now()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    pub fn feedback(&self, limit: usize) -> Result<Vec<Feedback>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, conversation_id, seq, rating, correction, question, created_at
                 FROM feedback ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map(params![limit as i64], |r| {
                Ok(Feedback {
                    id: r.get(0)?,
                    conversation_id: r.get(1)?,
                    seq: r.get(2)?,
                    rating: r.get(3)?,
                    correction: r.get(4)?,
                    question: r.get(5)?,
                    created_at: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Saves (or replaces) a verified question and its plan.
    pub fn save_verified(
        &self,
        question: &str,
        query: &quarry_schema::SemanticQuery,
        source: &str,
    ) -> Result<SavedQuery, StoreError> {
        let json = serde_json::to_string(query)?;
        let created_at = now();
        self.with(|c| {
            c.execute(
                "INSERT INTO verified_queries (question, semantic_query, source, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(question) DO UPDATE SET semantic_query = excluded.semantic_query,
                     source = excluded.source, created_at = excluded.created_at",
                params![question, json, source, created_at],
            )?;
            Ok(())
        })?;
        Ok(SavedQuery {
            question: question.to_string(),
            semantic_query: query.clone(),
            source: source.to_string(),
            created_at,
        })
    }

    pub fn verified(&self) -> Result<Vec<SavedQuery>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT question, semantic_query, source, created_at FROM verified_queries
                 ORDER BY created_at, question",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (question, q, source, created_at) = row?;
                out.push(SavedQuery {
                    question,
                    semantic_query: serde_json::from_str(&q)?,
                    source,
                    created_at,
                });
            }
            Ok(out)
        })
    }

    /// Stores the SHA-256 of a new API token under a name.
    pub fn add_token(&self, name: &str, sha256: &str) -> Result<i64, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO api_tokens (name, sha256, created_at) VALUES (?1, ?2, ?3)",
                params![name, sha256, now()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Whether a token's hash belongs to a token that is not revoked.
    pub fn token_valid(&self, sha256: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM api_tokens WHERE sha256 = ?1 AND revoked_at IS NULL",
                params![sha256],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
    }

    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, name, created_at, revoked_at IS NOT NULL FROM api_tokens ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    revoked: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now()],
            )?;
            Ok(n > 0)
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
                ranked: None,
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
