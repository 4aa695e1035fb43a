//! The model registry: versioned model artifacts in the data directory, each
//! with a card (kind, training spec, metrics, a fingerprint of the training
//! data, creation time), and one promoted version per model name.
//!
//! Layout: `<root>/<name>/v<N>/{card.json, model.json}` and
//! `<root>/<name>/PROMOTED` holding the promoted version number. A version
//! is written to a temporary folder and renamed into place, so a reader
//! never sees half a model; promotion rewrites `PROMOTED` the same way.
//! `Live` hands scoring code the promoted model and notices a new promotion
//! without a restart, which is why the scoring UDFs are not immutable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("model name \"{0}\" must be lower-case letters, digits, '_' or '-'")]
    BadName(String),
    #[error("no model named \"{name}\"{hint}")]
    UnknownModel { name: String, hint: String },
    #[error("model \"{name}\" has no version {version}; it has {have}")]
    UnknownVersion {
        name: String,
        version: u32,
        have: String,
    },
    #[error("model \"{0}\" has no promoted version yet; promote a trained version first")]
    NotPromoted(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path} is damaged: {message}")]
    Corrupt { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RegistryError + '_ {
    move |e| RegistryError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Everything known about one trained version, apart from its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub version: u32,
    /// "gbdt", "logistic", "isolation_forest", "bgnbd"...
    pub kind: String,
    /// The training spec as given.
    pub spec: serde_json::Value,
    /// Evaluation on held-out data: name -> value (roc_auc, mae...).
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Share of the model's splits (or weight) each input accounts for,
    /// largest first.
    #[serde(default)]
    pub importance: Vec<(String, f64)>,
    /// Hash of the training rows, so two versions can be told apart by data.
    pub data_fingerprint: String,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
}

#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RegistryError::BadName(name.to_string()))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl Registry {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Stored versions of a model, ascending.
    pub fn versions(&self, name: &str) -> Result<Vec<u32>, RegistryError> {
        check_name(name)?;
        let dir = self.dir(name);
        if !dir.is_dir() {
            return Err(RegistryError::UnknownModel {
                name: name.to_string(),
                hint: quarry_schema::diagnostics::suggestion(
                    name,
                    self.names()?.iter().map(String::as_str),
                ),
            });
        }
        let mut out: Vec<u32> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_prefix('v')?.parse().ok())
            .filter(|v| {
                self.dir(name)
                    .join(format!("v{v}"))
                    .join("card.json")
                    .is_file()
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Names of every model with at least one folder.
    pub fn names(&self) -> Result<Vec<String>, RegistryError> {
        if !self.root.is_dir() {
            return Ok(Vec::new());
        }
        let mut out: Vec<String> = std::fs::read_dir(&self.root)
            .map_err(io(&self.root))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| check_name(n).is_ok())
            .collect();
        out.sort();
        Ok(out)
    }

    /// Stores a new version and returns its card. Nothing is promoted.
    pub fn save<M: Serialize>(
        &self,
        name: &str,
        kind: &str,
        spec: serde_json::Value,
        metrics: std::collections::BTreeMap<String, f64>,
        importance: Vec<(String, f64)>,
        data_fingerprint: &str,
        model: &M,
    ) -> Result<ModelCard, RegistryError> {
        check_name(name)?;
        let dir = self.dir(name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let version = self.versions(name)?.last().map_or(1, |v| v + 1);
        let card = ModelCard {
            name: name.to_string(),
            version,
            kind: kind.to_string(),
            spec,
            metrics,
            importance,
            data_fingerprint: data_fingerprint.to_string(),
            created_at: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let tmp = dir.join(format!(".v{version}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        std::fs::write(tmp.join("model.json"), to_json(model)?).map_err(io(&tmp))?;
        std::fs::write(tmp.join("card.json"), to_json(&card)?).map_err(io(&tmp))?;
        let dest = dir.join(format!("v{version}"));
        std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
        Ok(card)
    }

    pub fn card(&self, name: &str, version: u32) -> Result<ModelCard, RegistryError> {
        let path = self.version_dir(name, version)?.join("card.json");
        read_json(&path)
    }

    fn version_dir(&self, name: &str, version: u32) -> Result<PathBuf, RegistryError> {
        let have = self.versions(name)?;
        if !have.contains(&version) {
            return Err(RegistryError::UnknownVersion {
                name: name.to_string(),
                version,
                have: if have.is_empty() {
                    "none".into()
                } else {
                    have.iter()
                        .map(|v| format!("v{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
        Ok(self.dir(name).join(format!("v{version}")))
    }

    pub fn load<M: DeserializeOwned>(&self, name: &str, version: u32) -> Result<M, RegistryError> {
        read_json(&self.version_dir(name, version)?.join("model.json"))
    }

    pub fn promote(&self, name: &str, version: u32) -> Result<(), RegistryError> {
        self.version_dir(name, version)?;
        write_atomic(
            &self.dir(name).join("PROMOTED"),
            version.to_string().as_bytes(),
        )
    }

    /// The promoted version, if any.
    pub fn promoted(&self, name: &str) -> Result<Option<u32>, RegistryError> {
        check_name(name)?;
        let path = self.dir(name).join("PROMOTED");
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| RegistryError::Corrupt {
                    path,
                    message: format!("\"{}\" is not a version number", text.trim()),
                }),
        }
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, RegistryError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, RegistryError> {
    serde_json::to_vec_pretty(v).map_err(|e| RegistryError::Corrupt {
        path: "model".into(),
        message: format!("cannot be written as JSON: {e}"),
    })
}

/// The promoted version of one model, reloaded when a new one is promoted.
pub struct Live<M> {
    registry: Registry,
    name: String,
    current: RwLock<Option<(u32, Arc<M>)>>,
}

impl<M> std::fmt::Debug for Live<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("name", &self.name).finish()
    }
}

impl<M: DeserializeOwned> Live<M> {
    pub fn new(registry: Registry, name: &str) -> Self {
        Self {
            registry,
            name: name.to_string(),
            current: RwLock::new(None),
        }
    }

    /// The promoted model and its version. Reading `PROMOTED` is one small
    /// file read per call (per batch, for a UDF), which is what lets a
    /// promotion take effect on the next query.
    pub fn get(&self) -> Result<(u32, Arc<M>), RegistryError> {
        let version = self
            .registry
            .promoted(&self.name)?
            .ok_or_else(|| RegistryError::NotPromoted(self.name.clone()))?;
        if let Ok(cur) = self.current.read()
            && let Some((v, m)) = cur.as_ref()
            && *v == version
        {
            return Ok((*v, Arc::clone(m)));
        }
        let model = Arc::new(self.registry.load::<M>(&self.name, version)?);
        if let Ok(mut cur) = self.current.write() {
            *cur = Some((version, Arc::clone(&model)));
        }
        Ok((version, model))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Toy {
        weight: f64,
    }

    #[test]
    fn versions_are_saved_promoted_and_picked_up_live() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path());
        assert!(reg.names().unwrap().is_empty());
        let metrics = [("roc_auc".to_string(), 0.97)].into_iter().collect();
        let c1 = reg
            .save(
                "fraud",
                "gbdt",
                serde_json::json!({"label": "is_fraud"}),
                metrics,
                vec![("x".into(), 1.0)],
                "abc",
                &Toy { weight: 1.0 },
            )
            .unwrap();
        let c2 = reg
            .save(
                "fraud",
                "gbdt",
                serde_json::json!({}),
                Default::default(),
                Vec::new(),
                "def",
                &Toy { weight: 2.0 },
            )
            .unwrap();
        assert_eq!((c1.version, c2.version), (1, 2));
        assert_eq!(reg.versions("fraud").unwrap(), vec![1, 2]);
        assert_eq!(reg.card("fraud", 1).unwrap().metrics["roc_auc"], 0.97);

        let live: Live<Toy> = Live::new(reg.clone(), "fraud");
        assert!(matches!(live.get(), Err(RegistryError::NotPromoted(_))));
        reg.promote("fraud", 1).unwrap();
        assert_eq!(live.get().unwrap().1.weight, 1.0);
        reg.promote("fraud", 2).unwrap();
        assert_eq!(
            live.get().unwrap(),
            (2, Arc::new(Toy { weight: 2.0 })),
            "no restart needed"
        );
    }

    #[test]
    fn mistakes_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path());
        reg.save(
            "churn",
            "gbdt",
            serde_json::json!({}),
            Default::default(),
            Vec::new(),
            "x",
            &Toy { weight: 0.0 },
        )
        .unwrap();
        assert!(matches!(
            reg.versions("Churn"),
            Err(RegistryError::BadName(_))
        ));
        assert!(matches!(
            reg.versions("../etc"),
            Err(RegistryError::BadName(_))
        ));
        let e = reg.versions("chrun").unwrap_err().to_string();
        assert!(e.contains("did you mean \"churn\""), "{e}");
        let e = reg.promote("churn", 7).unwrap_err().to_string();
        assert!(e.contains("v1"), "{e}");
        std::fs::write(dir.path().join("churn/PROMOTED"), "seven").unwrap();
        assert!(matches!(
            reg.promoted("churn"),
            Err(RegistryError::Corrupt { .. })
        ));
        std::fs::write(dir.path().join("churn/v1/model.json"), "{not json").unwrap();
        reg.promote("churn", 1).unwrap();
        assert!(matches!(
            reg.load::<Toy>("churn", 1),
            Err(RegistryError::Corrupt { .. })
        ));
    }
}
