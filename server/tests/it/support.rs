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
    /// The data directory (feature tables, registry), outside the
    /// warehouse so writing there does not change the warehouse.
    pub data: TempDir,
}

impl TestWarehouse {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        let mut cfg = Config::default();
        cfg.warehouse.path = Some(self.path().to_path_buf());
        cfg.data_dir = self.data.path().to_path_buf();
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
    generated(
        SCALE,
        seed,
        chrono::NaiveDate::parse_from_str(END, "%Y-%m-%d").expect("date"),
    )
}

/// A small warehouse with the demo's seed and end date, so the question set
/// of `eval/ask` (whose gold SQL names the demo's dates and campaigns) runs
/// on it.
pub fn eval_warehouse() -> TestWarehouse {
    generated(0.05, 42, GenerateOptions::default_end_date())
}

/// The demo warehouse exactly as `make run` generates it (scale 1, seed 42,
/// the default end date), for the model targets.
pub fn demo_warehouse() -> TestWarehouse {
    generated(1.0, 42, GenerateOptions::default_end_date())
}

fn generated(scale: f64, seed: u64, end_date: chrono::NaiveDate) -> TestWarehouse {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = GenerateOptions {
        scale,
        seed,
        out: dir.path().to_path_buf(),
        end_date,
        days: DAYS,
    };
    generate(&opts, &indicatif::ProgressBar::hidden())
        .expect("the generator writes the test warehouse");
    TestWarehouse {
        dir,
        data: tempfile::tempdir().expect("temp dir"),
    }
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

impl TestWarehouse {
    /// Trains the model folder's specs (all of them when `names` is empty)
    /// into this warehouse's registry and returns the outcomes.
    pub async fn train(&self, names: &[&str]) -> Vec<quarry::ml::train::TrainOutcome> {
        let ws = self.workspace().await;
        let specs: Vec<_> = if names.is_empty() {
            ws.ml.specs.values().map(|(_, s)| s.clone()).collect()
        } else {
            names
                .iter()
                .map(|n| ws.ml.spec(n).expect("a demo spec").1)
                .collect()
        };
        let mut out = Vec::new();
        for spec in &specs {
            out.push(
                quarry::ml::train::train(
                    ws.engine.context(),
                    &ws.templates(),
                    &ws.registry,
                    spec,
                    false,
                    &quarry::ml::train::Quiet,
                )
                .await
                .unwrap_or_else(|e| panic!("training {} fails: {e}", spec.name)),
            );
        }
        out
    }
}

/// Two answers' rows agree: the same shape, the same text, and numbers equal
/// to within a relative 1e-9. A parallel aggregate adds its partial sums in
/// whichever order the partitions finish, so the last bits of a float may
/// differ between two runs of one query.
pub fn assert_same_rows(got: &serde_json::Value, want: &serde_json::Value) {
    fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value::{Array, Number};
        match (a, b) {
            (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
            (Number(x), Number(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                _ => x == y,
            },
            _ => a == b,
        }
    }
    assert!(same(got, want), "rows differ:\n got {got}\nwant {want}");
}
