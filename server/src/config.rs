//! Configuration, layered: compiled-in defaults, then `quarry.toml` (or the
//! file named by `--config`), then `QUARRY__SECTION__KEY` environment
//! variables, then command-line flags (applied by the caller).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
pub use quarry_retrieval::{RetrievalConfig, Secret};
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
    pub llm: LlmConfig,
    pub server: ServerConfig,
}

/// `quarry serve`: the HTTP API and the web chat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address to listen on; `0.0.0.0` to accept other machines.
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Require `Authorization: Bearer <token>` on the API; tokens are made
    /// with `quarry tokens create` and stored hashed.
    pub auth: bool,
    /// Origins allowed to call the API from a browser (CORS), e.g.
    /// `https://intranet.example.com`; `*` for any. Empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in KiB.
    pub body_limit_kb: usize,
    /// A request (other than a stream already under way) taking longer is
    /// answered with 408.
    pub request_timeout_secs: u64,
    /// Requests per minute one client address may make on average; 0 turns
    /// the limit off.
    pub rate_limit_per_minute: u64,
    /// Requests a client may make in a burst before the rate applies.
    pub rate_limit_burst: u32,
    /// Serve the web UI from this folder instead of the copy built into the
    /// binary (for working on the UI).
    pub web_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            auth: false,
            cors_origins: Vec::new(),
            body_limit_kb: 64,
            request_timeout_secs: 60,
            rate_limit_per_minute: 600,
            rate_limit_burst: 60,
            web_dir: None,
        }
    }
}

impl ServerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.host.parse::<std::net::IpAddr>().is_err() && self.host != "localhost" {
            return Err(format!(
                "server.host \"{}\" is not an IP address; use 127.0.0.1 for this machine only or 0.0.0.0 for every interface",
                self.host
            ));
        }
        if self.body_limit_kb == 0 {
            return Err("server.body_limit_kb must be at least 1".into());
        }
        if self.request_timeout_secs == 0 {
            return Err("server.request_timeout_secs must be at least 1".into());
        }
        if self.rate_limit_per_minute > 0 && self.rate_limit_burst == 0 {
            return Err(
                "server.rate_limit_burst must be at least 1 when server.rate_limit_per_minute is set"
                    .into(),
            );
        }
        for o in &self.cors_origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(format!(
                    "server.cors_origins entry \"{o}\" must be an origin such as https://intranet.example.com, or *"
                ));
            }
        }
        Ok(())
    }
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
    /// Queries run at the same time; more wait their turn, and their
    /// timeout starts when they run. Each query already uses every core, so
    /// running more at once only shares the cores and multiplies memory.
    /// 0 means one per core.
    pub max_concurrent_queries: usize,
}

/// The optional LLM planner and narrator, through any OpenAI-compatible chat
/// endpoint. Off unless `base_url` is set: the deterministic planner and the
/// narration templates need nothing outside the binary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// The API root that `/chat/completions` is appended to, e.g.
    /// `https://api.openai.com/v1` or `http://localhost:11434/v1`. None: off.
    pub base_url: Option<String>,
    /// The model name the endpoint knows (`gpt-4o-mini`, `llama3.1`...).
    pub model: Option<String>,
    /// Sent as a bearer token; also `QUARRY__LLM__API_KEY`. Local servers
    /// usually need none.
    pub api_key: Option<Secret>,
    /// A request taking longer than this is abandoned.
    pub timeout_secs: u64,
    /// How many times an invalid plan is sent back with the error before
    /// giving up; at most 2, since each round is a full request and a model
    /// that failed twice rarely gets it right the third time.
    pub max_repairs: u8,
    /// Whether the LLM words the narration (from aggregates only) when it is
    /// configured; the templates word it otherwise.
    pub narrate: bool,
    /// Sampling temperature; 0 keeps plans as repeatable as the endpoint allows.
    pub temperature: f32,
}

/// The most repair rounds `llm.max_repairs` may ask for.
pub const MAX_LLM_REPAIRS: u8 = 2;

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            timeout_secs: 30,
            max_repairs: MAX_LLM_REPAIRS,
            narrate: true,
            temperature: 0.0,
        }
    }
}

impl LlmConfig {
    /// Whether an endpoint is configured at all.
    pub fn enabled(&self) -> bool {
        self.base_url.is_some()
    }

    /// Whether answers are narrated by the LLM rather than the templates.
    pub fn narrates(&self) -> bool {
        self.enabled() && self.narrate
    }

    pub fn validate(&self) -> Result<(), String> {
        let Some(url) = &self.base_url else {
            return Ok(());
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(|h| h.is_empty() || h.starts_with(':'))
            || url.contains(char::is_whitespace)
        {
            return Err(format!(
                "llm.base_url \"{url}\" must be an http(s) URL with a host, such as https://api.openai.com/v1 or http://localhost:11434/v1"
            ));
        }
        if self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Err(format!(
                "llm.model is required when llm.base_url is set ({url}); name a model the endpoint serves, such as gpt-4o-mini, or the one you loaded into llama.cpp or Ollama"
            ));
        }
        if let Some(key) = &self.api_key
            && !key.0.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(
                "llm.api_key contains spaces or characters that cannot go in an HTTP header; copy the key again without quotes or line breaks".into(),
            );
        }
        if self.timeout_secs == 0 {
            return Err("llm.timeout_secs must be at least 1".into());
        }
        if self.max_repairs > MAX_LLM_REPAIRS {
            return Err(format!(
                "llm.max_repairs is {}; at most {MAX_LLM_REPAIRS} repair rounds are allowed, each one a full request",
                self.max_repairs
            ));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err("llm.temperature must be between 0 and 2".into());
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".quarry"),
            warehouse: WarehouseConfig::default(),
            model: ModelConfig::default(),
            engine: EngineConfig::default(),
            retrieval: RetrievalConfig::default(),
            llm: LlmConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_limit_mb: 4096,
            query_timeout_secs: 30,
            target_partitions: 0,
            max_concurrent_queries: 0,
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
        self.llm.validate().map_err(ConfigError::Invalid)?;
        self.server.validate().map_err(ConfigError::Invalid)?;
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
    fn the_llm_is_off_by_default() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert!(!c.llm.enabled());
            assert!(!c.llm.narrates());
            assert_eq!(c.llm, LlmConfig::default());
            assert_eq!(c.llm.timeout_secs, 30);
            assert_eq!(c.llm.max_repairs, 2);
            assert_eq!(c.llm.temperature, 0.0);
            Ok(())
        });
    }

    #[test]
    fn llm_section_reads_the_key_from_the_environment_and_never_prints_it() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "q.toml",
                "[llm]\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.1\"\n",
            )?;
            jail.set_env("QUARRY__LLM__API_KEY", "sk-swordfish");
            let c = Config::load(Some(Path::new("q.toml"))).map_err(|e| e.to_string())?;
            assert!(c.llm.narrates());
            assert_eq!(c.llm.api_key, Some(Secret("sk-swordfish".into())));
            assert!(
                !format!("{c:?}").contains("swordfish"),
                "secrets never print"
            );
            Ok(())
        });
    }

    #[test]
    fn llm_settings_are_validated_with_the_key_named() {
        let bad = |f: fn(&mut LlmConfig)| {
            let mut c = Config::default();
            c.llm.base_url = Some("http://localhost:8080/v1".into());
            c.llm.model = Some("local".into());
            f(&mut c.llm);
            c.validate().expect_err("invalid").to_string()
        };
        assert!(bad(|l| l.base_url = Some("localhost:8080".into())).contains("llm.base_url"));
        assert!(bad(|l| l.base_url = Some("ftp://x/v1".into())).contains("http(s)"));
        assert!(bad(|l| l.base_url = Some("http:///v1".into())).contains("llm.base_url"));
        assert!(bad(|l| l.model = None).contains("llm.model is required"));
        assert!(bad(|l| l.model = Some(" ".into())).contains("llm.model"));
        assert!(bad(|l| l.max_repairs = 3).contains("at most 2"));
        assert!(bad(|l| l.timeout_secs = 0).contains("llm.timeout_secs"));
        assert!(bad(|l| l.temperature = 3.0).contains("llm.temperature"));
        assert!(
            bad(|l| l.api_key = Some(Secret("sk-1\n".into()))).contains("llm.api_key"),
            "a key that would break the header is caught here, not at request time"
        );
        // A model name alone does nothing: the LLM stays off.
        let mut c = Config::default();
        c.llm.model = Some("gpt-4o-mini".into());
        assert!(c.validate().is_ok());
        assert!(!c.llm.enabled());
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
