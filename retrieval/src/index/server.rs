//! The remote backend: one collection on a Qdrant server or cluster, reached
//! over gRPC with qdrant-client, with the same shape as the edge shard (one
//! unnamed cosine vector per point, a keyword index on `kind`). Writes wait
//! until applied so reads see them. Payloads cross the wire as Qdrant's
//! protobuf values; integers beyond `i64` travel as doubles because the
//! protocol has no wider integer.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::value::Kind;
use qdrant_client::qdrant::vectors_config::Config as VectorsConfig;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeletePointsBuilder, Distance, FieldType, Filter, ListValue, PointId, PointStruct,
    PointsIdsList, Query, QueryPointsBuilder, ScrollPointsBuilder, Struct, UpsertPointsBuilder,
    Value as QValue, VectorParamsBuilder,
};
use qdrant_client::{Qdrant, QdrantError};
use serde_json::{Map, Number, Value};

use super::{IndexError, KeywordFilter, Payload, Point, ScoredPoint, VectorIndex};

/// The payload field that gets a keyword index.
const KIND_FIELD: &str = "kind";

/// Points per upsert request, to stay well under gRPC message limits.
const UPSERT_BATCH: usize = 256;

/// Points per scroll page when listing payloads.
const SCROLL_PAGE: u32 = 1_000;

/// Writes wait until applied, and the first write after creating a
/// collection can be slow on a busy cluster.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

// gRPC status codes, by number because qdrant-client does not re-export tonic.
const DEADLINE_EXCEEDED: i32 = 4;
const NOT_FOUND: i32 = 5;
const ALREADY_EXISTS: i32 = 6;
const PERMISSION_DENIED: i32 = 7;
const INTERNAL: i32 = 13;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

/// A vector index in a collection of a Qdrant server.
pub struct ServerIndex {
    client: Qdrant,
    url: String,
    collection: String,
    /// The collection's dimension once seen, so writes and searches can check
    /// vectors without asking the server each time.
    dim: Mutex<Option<usize>>,
}

impl fmt::Debug for ServerIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIndex")
            .field("url", &self.url)
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl ServerIndex {
    /// Prepares a client for `collection` on the server at `url` (the gRPC
    /// port, 6334 by default). Nothing is sent yet: an unreachable server
    /// shows on the first call.
    pub fn connect(
        url: &str,
        collection: &str,
        api_key: Option<String>,
    ) -> Result<ServerIndex, IndexError> {
        let unreachable = |message: String| IndexError::Unreachable {
            url: url.to_string(),
            message,
        };
        // Without a scheme the client fails only at the first request, with
        // a message that does not say why.
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        if !matches!(scheme, Some("http" | "https")) {
            return Err(unreachable(
                "the URL must start with http:// or https://".to_string(),
            ));
        }
        if collection.is_empty() {
            return Err(IndexError::Backend {
                location: url.to_string(),
                message: "the collection name is empty".to_string(),
            });
        }
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .timeout(REQUEST_TIMEOUT)
            .skip_compatibility_check()
            .build()
            .map_err(|err| unreachable(err.to_string()))?;
        Ok(ServerIndex {
            client,
            url: url.to_string(),
            collection: collection.to_string(),
            dim: Mutex::new(None),
        })
    }

    fn cached_dim(&self) -> Option<usize> {
        self.dim.lock().map(|dim| *dim).unwrap_or(None)
    }

    fn cache_dim(&self, value: Option<usize>) {
        if let Ok(mut dim) = self.dim.lock() {
            *dim = value;
        }
    }

    /// The collection's dimension, or `None` when it does not exist.
    async fn dimension(&self) -> Result<Option<usize>, IndexError> {
        if let Some(dim) = self.cached_dim() {
            return Ok(Some(dim));
        }
        let dim = self.describe().await?.map(|shape| shape.dim);
        self.cache_dim(dim);
        Ok(dim)
    }

    /// What the server says about the collection, or `None` when it does
    /// not exist.
    async fn describe(&self) -> Result<Option<Shape>, IndexError> {
        let info = match self.client.collection_info(self.collection.as_str()).await {
            Ok(response) => response.result,
            Err(err) if is_code(&err, NOT_FOUND) => return Ok(None),
            Err(err) => return Err(self.error("reading the collection's settings", err)),
        };
        let Some(info) = info else {
            return Err(self.backend("the server sent no collection settings"));
        };
        let params = info
            .config
            .and_then(|config| config.params)
            .and_then(|params| params.vectors_config)
            .and_then(|vectors| vectors.config);
        let Some(VectorsConfig::Params(params)) = params else {
            return Err(self.backend("the collection holds no unnamed dense vector"));
        };
        if params.distance != Distance::Cosine as i32 {
            let name = Distance::try_from(params.distance)
                .map(|d| d.as_str_name())
                .unwrap_or("an unknown");
            return Err(self.backend(format!("the collection uses {name} distance, not cosine")));
        }
        let dim = usize::try_from(params.size)
            .map_err(|_| self.backend(format!("the collection has {} dimensions", params.size)))?;
        Ok(Some(Shape {
            dim,
            has_kind_index: info.payload_schema.contains_key(KIND_FIELD),
        }))
    }

    async fn create_kind_index(&self) -> Result<(), IndexError> {
        self.client
            .create_field_index(
                CreateFieldIndexCollectionBuilder::new(
                    self.collection.as_str(),
                    KIND_FIELD,
                    FieldType::Keyword,
                )
                .wait(true),
            )
            .await
            .map_err(|err| self.error("creating the `kind` index", err))?;
        Ok(())
    }

    fn location_string(&self) -> String {
        format!("{} collection {}", self.url, self.collection)
    }

    fn backend(&self, message: impl Into<String>) -> IndexError {
        IndexError::Backend {
            location: self.location_string(),
            message: message.into(),
        }
    }

    fn error(&self, what: &str, err: QdrantError) -> IndexError {
        let unreachable = |message: String| IndexError::Unreachable {
            url: self.url.clone(),
            message,
        };
        match &err {
            QdrantError::ResponseError { status } => {
                let code = i32::from(status.code());
                let message = status.message().to_string();
                match code {
                    UNAVAILABLE | DEADLINE_EXCEEDED => unreachable(message),
                    // The client reports a failed connection as an internal error.
                    INTERNAL if message.starts_with("Failed to connect") => unreachable(message),
                    UNAUTHENTICATED | PERMISSION_DENIED => {
                        self.backend(format!("{what} was refused ({message}); check the API key"))
                    }
                    _ => self.backend(format!("{what} failed: {message}")),
                }
            }
            QdrantError::InvalidUri(_) => unreachable(err.to_string()),
            _ => self.backend(format!("{what} failed: {err}")),
        }
    }
}

/// The parts of a collection's settings that matter here.
struct Shape {
    dim: usize,
    has_kind_index: bool,
}

#[async_trait]
impl VectorIndex for ServerIndex {
    fn backend(&self) -> &'static str {
        "server"
    }

    fn location(&self) -> String {
        self.location_string()
    }

    async fn ensure(&self, dim: usize) -> Result<(), IndexError> {
        if dim == 0 {
            return Err(self.backend("cannot create an index of 0-dimensional vectors"));
        }
        let shape = match self.describe().await? {
            Some(shape) => shape,
            None => {
                let created = self
                    .client
                    .create_collection(
                        CreateCollectionBuilder::new(self.collection.as_str())
                            .vectors_config(VectorParamsBuilder::new(dim as u64, Distance::Cosine)),
                    )
                    .await;
                match created {
                    Ok(_) => {}
                    // Someone else created it meanwhile: check theirs below.
                    Err(err) if is_code(&err, ALREADY_EXISTS) => {}
                    Err(err) => return Err(self.error("creating the collection", err)),
                }
                self.describe().await?.ok_or_else(|| {
                    self.backend("the collection was created but the server does not list it")
                })?
            }
        };
        if shape.dim != dim {
            return Err(IndexError::DimensionMismatch {
                location: self.location_string(),
                expected: dim,
                found: shape.dim,
            });
        }
        if !shape.has_kind_index {
            self.create_kind_index().await?;
        }
        self.cache_dim(Some(dim));
        Ok(())
    }

    async fn upsert(&self, points: Vec<Point>) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        let Some(expected) = self.dimension().await? else {
            return Err(
                self.backend("the collection does not exist yet; it is created by `ensure`")
            );
        };
        // Check everything first so a bad vector writes nothing.
        for point in &points {
            super::check_vector(&self.location(), &point.vector, expected)?;
        }
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            let batch: Vec<PointStruct> = points
                .by_ref()
                .take(UPSERT_BATCH)
                .map(|p| PointStruct::new(p.id, p.vector, payload_to_qdrant(p.payload)))
                .collect();
            self.client
                .upsert_points(UpsertPointsBuilder::new(self.collection.as_str(), batch).wait(true))
                .await
                .map_err(|err| self.error("writing points", err))?;
        }
        Ok(())
    }

    async fn delete(&self, ids: Vec<u64>) -> Result<(), IndexError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = PointsIdsList {
            ids: ids.into_iter().map(PointId::from).collect(),
        };
        match self
            .client
            .delete_points(
                DeletePointsBuilder::new(self.collection.as_str())
                    .points(ids)
                    .wait(true),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_code(&err, NOT_FOUND) => Ok(()),
            Err(err) => Err(self.error("deleting points", err)),
        }
    }

    async fn payloads(&self) -> Result<Vec<(u64, Payload)>, IndexError> {
        let mut out = Vec::new();
        let mut offset: Option<PointId> = None;
        loop {
            let mut request = ScrollPointsBuilder::new(self.collection.as_str())
                .limit(SCROLL_PAGE)
                .with_payload(true)
                .with_vectors(false);
            if let Some(offset) = offset.take() {
                request = request.offset(offset);
            }
            let page = match self.client.scroll(request).await {
                Ok(page) => page,
                Err(err) if is_code(&err, NOT_FOUND) => return Ok(Vec::new()),
                Err(err) => return Err(self.error("listing points", err)),
            };
            for point in page.result {
                out.push((
                    self.numeric_id(point.id)?,
                    payload_from_qdrant(point.payload),
                ));
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        filter: Option<&KeywordFilter>,
    ) -> Result<Vec<ScoredPoint>, IndexError> {
        if limit == 0 || filter.is_some_and(|f| f.any_of.is_empty()) {
            return Ok(Vec::new());
        }
        let Some(expected) = self.dimension().await? else {
            return Ok(Vec::new());
        };
        super::check_vector(&self.location(), vector, expected)?;
        let mut request = QueryPointsBuilder::new(self.collection.as_str())
            .query(Query::new_nearest(vector.to_vec()))
            .limit(u64::try_from(limit).unwrap_or(u64::MAX))
            .with_payload(true)
            .with_vectors(false);
        if let Some(filter) = filter {
            request = request.filter(Filter::must([Condition::matches(
                filter.field.as_str(),
                filter.any_of.clone(),
            )]));
        }
        let response = match self.client.query(request).await {
            Ok(response) => response,
            Err(err) if is_code(&err, NOT_FOUND) => return Ok(Vec::new()),
            Err(err) => return Err(self.error("searching", err)),
        };
        response
            .result
            .into_iter()
            .map(|hit| {
                Ok(ScoredPoint {
                    id: self.numeric_id(hit.id)?,
                    score: hit.score,
                    payload: payload_from_qdrant(hit.payload),
                })
            })
            .collect()
    }

    async fn count(&self) -> Result<usize, IndexError> {
        match self
            .client
            .count(CountPointsBuilder::new(self.collection.as_str()).exact(true))
            .await
        {
            Ok(response) => {
                let count = response.result.map(|r| r.count).unwrap_or(0);
                usize::try_from(count).map_err(|_| self.backend(format!("{count} points")))
            }
            Err(err) if is_code(&err, NOT_FOUND) => Ok(0),
            Err(err) => Err(self.error("counting points", err)),
        }
    }

    async fn commit(&self) -> Result<(), IndexError> {
        // The server persists every acknowledged write and optimises in the
        // background; there is nothing to trigger.
        Ok(())
    }

    async fn clear(&self) -> Result<(), IndexError> {
        self.cache_dim(None);
        match self
            .client
            .delete_collection(self.collection.as_str())
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_code(&err, NOT_FOUND) => Ok(()),
            Err(err) => Err(self.error("deleting the collection", err)),
        }
    }
}

impl ServerIndex {
    fn numeric_id(&self, id: Option<PointId>) -> Result<u64, IndexError> {
        match id.and_then(|id| id.point_id_options) {
            Some(PointIdOptions::Num(id)) => Ok(id),
            Some(PointIdOptions::Uuid(uuid)) => Err(self.backend(format!(
                "the collection holds point {uuid}, which has no numeric id"
            ))),
            None => Err(self.backend("the server sent a point without an id")),
        }
    }
}

fn is_code(err: &QdrantError, code: i32) -> bool {
    matches!(err, QdrantError::ResponseError { status } if i32::from(status.code()) == code)
}

fn payload_to_qdrant(payload: Payload) -> qdrant_client::Payload {
    payload
        .into_iter()
        .map(|(key, value)| (key, value_to_qdrant(value)))
        .collect::<HashMap<String, QValue>>()
        .into()
}

fn payload_from_qdrant(payload: HashMap<String, QValue>) -> Payload {
    payload
        .into_iter()
        .map(|(key, value)| (key, value_from_qdrant(value)))
        .collect()
}

fn value_to_qdrant(value: Value) -> QValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::IntegerValue(i),
            // u64 above i64::MAX, or a float.
            None => Kind::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(value_to_qdrant).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(Struct {
            fields: fields
                .into_iter()
                .map(|(key, value)| (key, value_to_qdrant(value)))
                .collect(),
        }),
    };
    QValue { kind: Some(kind) }
}

fn value_from_qdrant(value: QValue) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::IntegerValue(i)) => Value::Number(i.into()),
        // JSON has no NaN or infinity.
        Some(Kind::DoubleValue(d)) => Number::from_f64(d).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.into_iter().map(value_from_qdrant).collect())
        }
        Some(Kind::StructValue(object)) => Value::Object(
            object
                .fields
                .into_iter()
                .map(|(key, value)| (key, value_from_qdrant(value)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn payload_values_survive_the_protobuf_form() {
        let Value::Object(payload) = json!({
            "kind": "metric",
            "int": 42,
            "negative": -7,
            "float": 2.5,
            "whole_float": 3.0,
            "flag": true,
            "nothing": null,
            "list": ["a", 1, false, null, {"deep": [1.5]}],
            "nested": {"a": {"b": "c"}, "empty": {}, "none": []},
        }) else {
            panic!("not an object");
        };
        let wire = payload_to_qdrant(payload.clone());
        let back = payload_from_qdrant(HashMap::from(wire));
        assert_eq!(back, payload);
    }

    #[test]
    fn integers_beyond_i64_become_doubles() {
        let value = value_from_qdrant(value_to_qdrant(json!(u64::MAX)));
        assert_eq!(value, json!(u64::MAX as f64));
    }
}
