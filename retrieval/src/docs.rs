//! What gets indexed: one document per metric, dimension, glossary term,
//! verified question and distinct dimension value. Each document has the text
//! that is embedded, the names a question may use for it (for lexical
//! matching), and a content hash that decides whether it must be embedded
//! again.

use std::collections::BTreeMap;

use quarry_schema::SemanticModel;
use quarry_schema::model::ValueNames;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::embed::hex;
use crate::index::Payload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Metric,
    Dimension,
    Value,
    Glossary,
    VerifiedQuery,
}

impl ItemKind {
    pub const ALL: [ItemKind; 5] = [
        ItemKind::Metric,
        ItemKind::Dimension,
        ItemKind::Value,
        ItemKind::Glossary,
        ItemKind::VerifiedQuery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Metric => "metric",
            ItemKind::Dimension => "dimension",
            ItemKind::Value => "value",
            ItemKind::Glossary => "glossary",
            ItemKind::VerifiedQuery => "verified_query",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub kind: ItemKind,
    /// Unique within its kind: the metric or dimension name,
    /// `dimension=value`, the glossary term, the verified question.
    pub key: String,
    pub label: String,
    /// For values: the dimension and the value as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is embedded.
    pub text: String,
    /// Words a question may use for this item, matched lexically.
    pub names: Vec<String>,
    /// Short codes matched only with the same letter case ("US", not "us").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exact_case: Vec<String>,
    /// Items a glossary term or verified question stands for, as item ids
    /// (`metric:roas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_to: Vec<String>,
}

impl Document {
    /// A document known only by its names, for tests of matching.
    #[cfg(test)]
    pub(crate) fn named(kind: ItemKind, key: &str, names: &[&str], exact_case: &[&str]) -> Self {
        Self {
            kind,
            key: key.into(),
            label: key.into(),
            dimension: None,
            value: None,
            text: key.into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            exact_case: exact_case.iter().map(|s| s.to_string()).collect(),
            maps_to: vec![],
        }
    }

    /// `kind:key`, the id used in reports and evaluation labels.
    pub fn item_id(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.key)
    }

    /// The vector index's numeric id: stable for the same kind and key.
    pub fn point_id(&self) -> u64 {
        let mut h = Sha256::new();
        h.update(self.kind.as_str());
        h.update([0]);
        h.update(&self.key);
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        // Qdrant ids are unsigned 64-bit; keep them below 2^63 so every
        // client and JSON reader sees the same number.
        u64::from_be_bytes(b) >> 1
    }

    /// Changes whenever anything embedded or matched changes, or the model.
    pub fn content_hash(&self, model_fingerprint: &str) -> String {
        let mut h = Sha256::new();
        h.update(model_fingerprint);
        h.update([0]);
        h.update(serde_json::to_vec(self).unwrap_or_default());
        hex(&h.finalize()[..12])
    }

    pub fn to_payload(&self, hash: &str) -> Payload {
        let mut p = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Payload::new(),
        };
        p.insert("hash".into(), json!(hash));
        p
    }

    pub fn from_payload(p: &Payload) -> Option<(Document, String)> {
        let hash = p.get("hash")?.as_str()?.to_string();
        let doc: Document = serde_json::from_value(Value::Object(p.clone())).ok()?;
        Some((doc, hash))
    }
}

/// Documents for everything the semantic model defines.
pub fn model_documents(model: &SemanticModel) -> Vec<Document> {
    let mut out = Vec::new();
    for name in &model.metric_order {
        let Some(m) = model.metrics.get(name) else {
            continue;
        };
        let mut names = vec![m.name.clone(), m.label.clone()];
        names.extend(m.synonyms.iter().cloned());
        out.push(Document {
            kind: ItemKind::Metric,
            key: m.name.clone(),
            label: m.label.clone(),
            dimension: None,
            value: None,
            text: describe(&m.label, &m.synonyms, &m.description),
            names: dedup(names),
            exact_case: Vec::new(),
            maps_to: Vec::new(),
        });
    }
    for d in model.dimensions.values() {
        let mut names = vec![d.name.clone(), d.label.clone()];
        names.extend(d.synonyms.iter().cloned());
        out.push(Document {
            kind: ItemKind::Dimension,
            key: d.name.clone(),
            label: d.label.clone(),
            dimension: None,
            value: None,
            text: describe(&d.label, &d.synonyms, &d.description),
            names: dedup(names),
            exact_case: Vec::new(),
            maps_to: Vec::new(),
        });
    }
    for g in &model.glossary {
        let mut names = vec![g.term.clone()];
        names.extend(g.synonyms.iter().cloned());
        let maps_to = g
            .maps_to
            .iter()
            .map(|t| {
                if model.metrics.contains_key(t) {
                    format!("metric:{t}")
                } else {
                    format!("dimension:{t}")
                }
            })
            .collect();
        out.push(Document {
            kind: ItemKind::Glossary,
            key: g.term.clone(),
            label: g.term.clone(),
            dimension: None,
            value: None,
            text: describe(&g.term, &g.synonyms, &g.definition),
            names: dedup(names),
            exact_case: Vec::new(),
            maps_to,
        });
    }
    for v in &model.verified_queries {
        out.push(verified_document(&v.question, &v.query));
    }
    out
}

/// The document of a verified question: found by its words, standing for
/// the metrics and dimensions of its plan.
pub fn verified_document(question: &str, query: &quarry_schema::SemanticQuery) -> Document {
    let mut maps_to: Vec<String> = query
        .metrics
        .iter()
        .map(|m| format!("metric:{m}"))
        .collect();
    maps_to.extend(
        query
            .dimensions
            .iter()
            .map(|d| format!("dimension:{}", d.name)),
    );
    Document {
        kind: ItemKind::VerifiedQuery,
        key: question.to_string(),
        label: question.to_string(),
        dimension: None,
        value: None,
        text: question.to_string(),
        names: vec![question.to_string()],
        exact_case: Vec::new(),
        maps_to,
    }
}

/// Documents for the distinct values of dimensions, `dimension -> values`.
pub fn value_documents(
    model: &SemanticModel,
    values: &BTreeMap<String, Vec<String>>,
) -> Vec<Document> {
    let mut out = Vec::new();
    for (dim, vals) in values {
        let Some(d) = model.dimensions.get(dim) else {
            continue;
        };
        for v in vals {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let mut names = Vec::new();
            let mut exact_case = Vec::new();
            // Short upper-case codes (US, IN, DE) collide with ordinary
            // words, so they only match as written.
            if v.len() <= 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
                exact_case.push(v.to_string());
            } else {
                names.push(v.to_string());
            }
            let spaced = v.replace(['_', '-'], " ");
            if spaced != v {
                names.push(spaced.clone());
            }
            let mut aliases = Vec::new();
            if d.value_names == Some(ValueNames::IsoCountry)
                && let Ok(c) = isocountry::CountryCode::for_alpha2_caseless(v)
            {
                aliases.push(c.name().to_string());
                aliases.extend(country_short_names(v).iter().map(|s| s.to_string()));
            }
            names.extend(aliases.iter().cloned());
            if let Some(other) = d.value_synonyms.get(v) {
                names.extend(other.iter().cloned());
            }
            let text = if aliases.is_empty() {
                format!("{}: {}", d.label, spaced)
            } else {
                format!("{}: {} ({})", d.label, aliases.join(", "), v)
            };
            out.push(Document {
                kind: ItemKind::Value,
                key: format!("{dim}={v}"),
                label: if aliases.is_empty() {
                    v.to_string()
                } else {
                    format!("{} ({v})", aliases[0])
                },
                dimension: Some(dim.clone()),
                value: Some(v.to_string()),
                text,
                names: dedup(names),
                exact_case,
                maps_to: vec![format!("dimension:{dim}")],
            });
        }
    }
    out
}

/// The ISO names are formal ("United Kingdom of Great Britain and Northern
/// Ireland"); people say these.
fn country_short_names(code: &str) -> &'static [&'static str] {
    match code.to_ascii_uppercase().as_str() {
        "US" => &["United States", "USA", "America", "the US", "the States"],
        "GB" => &[
            "United Kingdom",
            "UK",
            "Britain",
            "Great Britain",
            "England",
        ],
        "KR" => &["South Korea", "Korea"],
        "RU" => &["Russia"],
        "VN" => &["Vietnam"],
        "TW" => &["Taiwan"],
        "IR" => &["Iran"],
        "BO" => &["Bolivia"],
        "VE" => &["Venezuela"],
        "TZ" => &["Tanzania"],
        "SY" => &["Syria"],
        "LA" => &["Laos"],
        "MD" => &["Moldova"],
        "CZ" => &["Czechia", "Czech Republic"],
        "AE" => &["UAE", "Emirates"],
        "NL" => &["Netherlands", "Holland"],
        _ => &[],
    }
}

fn describe(label: &str, synonyms: &[String], description: &str) -> String {
    let mut t = label.to_string();
    if !synonyms.is_empty() {
        t.push_str(" (");
        t.push_str(&synonyms.join(", "));
        t.push(')');
    }
    if !description.is_empty() {
        t.push_str(": ");
        t.push_str(description);
    }
    t
}

fn dedup(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim().to_string();
        if !n.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    out
}
