//! Configuration, layered: compiled-in defaults, then `quarry.toml` (or the
//! file named by `--config`), then `QUARRY__SECTION__KEY` environment
//! variables, then command-line flags (applied by the caller).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
pub use quarry_retrieval::RetrievalConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where everything Quarry generates or downloads lives.
    pub data_dir: PathBuf,
    pub warehouse: WarehouseConfig,
    pub model: ModelConfig,
    pub engine: EngineConfig,
    pub retrieval: RetrievalConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    /// A folder with one sub-folder (or CSV file) per table. Default:
    /// `<data_dir>/warehouse`, the demo warehouse.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// A folder of semantic-model YAML files. Default: the built-in demo model.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Memory the engine may use for query execution, in MiB.
    pub memory_limit_mb: u64,
    /// A query running longer than this is stopped.
    pub query_timeout_secs: u64,
    /// Parallelism of query execution; 0 means one per core.
    pub target_partitions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".quarry"),
            warehouse: WarehouseConfig::default(),
            model: ModelConfig::default(),
            engine: EngineConfig::default(),
            retrieval: RetrievalConfig::default(),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_limit_mb: 4096,
            query_timeout_secs: 30,
            target_partitions: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("the config file {0} does not exist; create it or drop --config")]
    MissingFile(PathBuf),
}

impl Config {
    /// Defaults, then `file` (or `./quarry.toml` when present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) if !f.exists() => return Err(ConfigError::MissingFile(f.to_path_buf())),
            Some(f) => fig = fig.merge(Toml::file(f)),
            None => {
                if Path::new("quarry.toml").exists() {
                    fig = fig.merge(Toml::file("quarry.toml"));
                }
            }
        }
        fig = fig.merge(Env::prefixed("QUARRY__").split("__"));
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.engine.memory_limit_mb < 64 {
            return Err(ConfigError::Invalid(
                "engine.memory_limit_mb must be at least 64".into(),
            ));
        }
        if self.engine.query_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "engine.query_timeout_secs must be at least 1".into(),
            ));
        }
        self.retrieval.validate().map_err(ConfigError::Invalid)?;
        Ok(())
    }

    pub fn warehouse_dir(&self) -> PathBuf {
        self.warehouse
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("warehouse"))
    }
}

#[cfg(test)]
// figment's Jail returns its own large error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_load_and_validate() {
        let c = Config::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.warehouse_dir(), PathBuf::from(".quarry/warehouse"));
    }

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "q.toml",
                "data_dir = \"/tmp/x\"\n[engine]\nquery_timeout_secs = 5\n",
            )?;
            jail.set_env("QUARRY__ENGINE__MEMORY_LIMIT_MB", "128");
            let c = Config::load(Some(Path::new("q.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
            assert_eq!(c.engine.query_timeout_secs, 5);
            assert_eq!(c.engine.memory_limit_mb, 128);
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_rejected_with_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("q.toml", "[engine]\nmemory_limit_mb = 1\n")?;
            let e = Config::load(Some(Path::new("q.toml"))).expect_err("too small");
            assert!(e.to_string().contains("memory_limit_mb"));
            jail.create_file("r.toml", "[engine]\nmemory_limt_mb = 100\n")?;
            let e = Config::load(Some(Path::new("r.toml"))).expect_err("typo");
            assert!(e.to_string().contains("memory_limt_mb"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn retrieval_section_reads_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("QUARRY__RETRIEVAL__BACKEND", "qdrant");
            let e = Config::load(None).expect_err("no url");
            assert!(e.to_string().contains("qdrant_url"), "{e}");
            jail.set_env("QUARRY__RETRIEVAL__QDRANT_URL", "http://localhost:6334");
            jail.set_env("QUARRY__RETRIEVAL__QDRANT_API_KEY", "hunter2");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                c.retrieval.qdrant_url.as_deref(),
                Some("http://localhost:6334")
            );
            assert!(!format!("{c:?}").contains("hunter2"), "secrets never print");
            Ok(())
        });
    }
}
