//! A small generated warehouse for tests. Its period covers the leap day of
//! 2024 and ends on Wednesday 13 March 2024, so "last month" is all 29 days
//! of February and "this week" is a partial week.

use std::path::Path;

use quarry::config::Config;
use quarry::demo::{GenerateOptions, generate};
use quarry::semantic::Workspace;
use tempfile::TempDir;

pub const SEED: u64 = 7;
pub const SCALE: f64 = 0.01;
pub const END: &str = "2024-03-13";
pub const DAYS: u32 = 180;

pub struct TestWarehouse {
    pub dir: TempDir,
}

impl TestWarehouse {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        let mut cfg = Config::default();
        cfg.warehouse.path = Some(self.path().to_path_buf());
        // Deterministic plans, as the conventions ask for sqllogictest.
        cfg.engine.target_partitions = 2;
        cfg
    }

    pub async fn workspace(&self) -> Workspace {
        Workspace::open(&self.config())
            .await
            .expect("the test warehouse opens")
    }
}

pub fn warehouse() -> TestWarehouse {
    warehouse_with_seed(SEED)
}

/// A small warehouse with the demo's seed, so its catalogue (campaign and
/// publisher names) is the demo's, which the evaluation sets name.
pub fn demo_catalogue_warehouse() -> TestWarehouse {
    warehouse_with_seed(42)
}

fn warehouse_with_seed(seed: u64) -> TestWarehouse {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = GenerateOptions {
        scale: SCALE,
        seed,
        out: dir.path().to_path_buf(),
        end_date: chrono::NaiveDate::parse_from_str(END, "%Y-%m-%d").expect("date"),
        days: DAYS,
    };
    generate(&opts, &indicatif::ProgressBar::hidden())
        .expect("the generator writes the test warehouse");
    TestWarehouse { dir }
}

/// Where setup put the embedding model and ONNX Runtime: the data
/// directory the Makefile exports, else the clone's `.quarry`.
pub fn assets_dir() -> std::path::PathBuf {
    std::env::var_os("QUARRY_DATA_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.quarry"))
}

impl TestWarehouse {
    /// The test config with its own data directory (for the index) and the
    /// real embedding assets.
    pub fn retrieval_config(&self, data_dir: &Path) -> Config {
        let mut cfg = self.config();
        cfg.data_dir = data_dir.to_path_buf();
        let assets = assets_dir();
        cfg.retrieval.model_dir = Some(assets.join(quarry_retrieval::assets::DEFAULT_MODEL_DIR));
        cfg.retrieval.onnxruntime = Some(
            assets
                .join(quarry_retrieval::assets::ORT_DIR)
                .join(quarry_retrieval::assets::ORT_FILE),
        );
        cfg
    }
}
