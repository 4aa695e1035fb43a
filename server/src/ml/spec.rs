//! The ML folder of a semantic model: feature tables and views
//! (`ml/features.yaml`) and training specs (`ml/<name>.yaml`). The demo's is
//! built in; a model folder given with `--model` brings its own `ml/`
//! sub-folder (optional).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gbdt::GbdtParams;
use super::iforest::IForestParams;
use super::logistic::LogisticParams;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "no training spec named \"{name}\"; the model folder has: {have}. Give a path to a spec file, or one of those names"
    )]
    UnknownSpec { name: String, have: String },
}

/// A feature table: SQL computed at the as-of date and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureTable {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sql: String,
}

/// A view registered over the feature tables and the warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sql: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesFile {
    pub features: Vec<FeatureTable>,
    pub views: Vec<View>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Gradient-boosted trees.
    Gbdt,
    Logistic,
    /// Unsupervised: the score is the anomaly score; a label, when given, is
    /// used only to evaluate.
    IsolationForest,
    /// BG/NBD with Gamma-Gamma: expected revenue over a horizon.
    Bgnbd,
    /// Rules, an isolation forest and gradient-boosted trees, calibrated.
    Layered,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gbdt => "gbdt",
            Kind::Logistic => "logistic",
            Kind::IsolationForest => "isolation_forest",
            Kind::Bgnbd => "bgnbd",
            Kind::Layered => "layered",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

/// One input of the model, in argument order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// A column of the query.
    pub name: String,
    /// How explanations name it ("click-to-install").
    #[serde(default)]
    pub label: Option<String>,
    /// Unit appended to values in explanations ("s", "days", "USD").
    #[serde(default)]
    pub unit: Option<String>,
}

/// How rows are split into train, validation and test: either by a time
/// column (`time`, `test_days`, `validation_days`: the latest `test_days`
/// of its range are the test set, the `validation_days` before them
/// validate, the rest trains) or by a column whose values are `train`,
/// `validation` and `test` (`column`; other values are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub test_days: Option<f64>,
    #[serde(default)]
    pub validation_days: Option<f64>,
    #[serde(default)]
    pub column: Option<String>,
}

/// A checked [`SplitSpec`].
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    Time {
        time: String,
        test_days: f64,
        validation_days: f64,
    },
    Column {
        column: String,
    },
}

impl SplitSpec {
    pub fn check(&self) -> Result<Split, String> {
        match self {
            SplitSpec {
                time: Some(time),
                test_days: Some(t),
                validation_days,
                column: None,
            } if *t > 0.0 && validation_days.is_none_or(|v| v >= 0.0) => Ok(Split::Time {
                time: time.clone(),
                test_days: *t,
                validation_days: validation_days.unwrap_or(0.0),
            }),
            SplitSpec {
                time: None,
                test_days: None,
                validation_days: None,
                column: Some(column),
            } => Ok(Split::Column {
                column: column.clone(),
            }),
            _ => Err("split: give either `time` with `test_days` (> 0) and `validation_days`, or `column` (a column holding train, validation and test)".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalySpec {
    pub features: Vec<String>,
    #[serde(default)]
    pub params: IForestParams,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayersSpec {
    /// 0/1 feature columns that are rules; evaluated on their own and fed to
    /// the trees.
    #[serde(default)]
    pub rules: Vec<String>,
    pub anomaly: AnomalySpec,
    #[serde(default)]
    pub calibration: LogisticParams,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbdSpec {
    /// Prediction horizon, in the unit of the recency columns (days).
    pub horizon_days: f64,
}

/// `quarry train SPEC.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Registry name; `fraud`, `churn` and `ltv` back the built-in UDFs.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub kind: Kind,
    pub task: Task,
    /// SQL over the warehouse (a minijinja template), one row per example.
    pub query: String,
    /// The label column: 0/1 or boolean for classification, a number for
    /// regression. Optional for an isolation forest.
    #[serde(default)]
    pub label: Option<String>,
    pub split: SplitSpec,
    /// The model's inputs, in the order its UDF takes them. Numbers and
    /// booleans are used as they are; text columns become categories.
    pub features: Vec<FeatureSpec>,
    /// Parameters of the model kind (for `layered`, of its trees).
    #[serde(default)]
    pub params: serde_json::Value,
    #[serde(default)]
    pub layers: Option<LayersSpec>,
    #[serde(default)]
    pub bgnbd: Option<BgNbdSpec>,
    /// Score at or above which a row is positive (classification).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Minimums (maximums for errors: mae, rmse, brier, log_loss) the test
    /// metrics must reach; `quarry train` says which are missed.
    #[serde(default)]
    pub targets: BTreeMap<String, f64>,
}

fn default_threshold() -> f64 {
    0.5
}

/// Metrics where lower is better, for targets.
pub fn lower_is_better(metric: &str) -> bool {
    matches!(metric, "mae" | "rmse" | "brier" | "log_loss") || metric.ends_with("_mae")
}

impl TrainSpec {
    pub fn gbdt_params(&self) -> Result<GbdtParams, String> {
        params_of(&self.params)
    }
    pub fn logistic_params(&self) -> Result<LogisticParams, String> {
        params_of(&self.params)
    }
    pub fn iforest_params(&self) -> Result<IForestParams, String> {
        params_of(&self.params)
    }

    fn validate(&self) -> Result<(), String> {
        self.split.check()?;
        if self.features.is_empty() {
            return Err("`features` is empty; list the query columns the model reads".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.features {
            if !seen.insert(f.name.as_str()) {
                return Err(format!("feature \"{}\" is listed twice", f.name));
            }
        }
        match (self.kind, self.task) {
            (Kind::Bgnbd, Task::Classification) => {
                return Err("kind bgnbd predicts revenue: use task: regression".into());
            }
            (Kind::Logistic | Kind::Layered, Task::Regression) => {
                return Err(format!(
                    "kind {} is a classifier: use task: classification",
                    self.kind.as_str()
                ));
            }
            _ => {}
        }
        if self.label.is_none() && self.kind != Kind::IsolationForest {
            return Err(format!(
                "kind {} needs `label`: the query column to learn",
                self.kind.as_str()
            ));
        }
        match self.kind {
            Kind::Gbdt | Kind::Layered => {
                self.gbdt_params()?;
            }
            Kind::Logistic => {
                self.logistic_params()?;
            }
            Kind::IsolationForest => {
                self.iforest_params()?;
            }
            Kind::Bgnbd => {
                if self.features.len() != 4 {
                    return Err("kind bgnbd takes four features, in this order: repeat purchases, time from first to last purchase, time since the first purchase, mean purchase value".into());
                }
                match &self.bgnbd {
                    Some(b) if b.horizon_days.is_finite() && b.horizon_days > 0.0 => {}
                    _ => {
                        return Err("kind bgnbd needs `bgnbd: {horizon_days: N}` with N > 0".into());
                    }
                }
            }
        }
        if self.kind == Kind::Layered {
            let Some(layers) = &self.layers else {
                return Err("kind layered needs `layers:` with `rules` and `anomaly`".into());
            };
            for r in layers.rules.iter().chain(&layers.anomaly.features) {
                if !seen.contains(r.as_str()) {
                    return Err(format!(
                        "layers name \"{r}\", which is not one of the features"
                    ));
                }
            }
        }
        if !(0.0..=1.0).contains(&self.threshold) && self.task == Task::Classification {
            return Err(format!(
                "threshold {} is not a probability; use a value from 0 to 1",
                self.threshold
            ));
        }
        Ok(())
    }
}

/// YAML scalars arrive as text; parameters are numbers and booleans.
fn typed(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Ok(i) = s.parse::<i64>() {
                Value::from(i)
            } else if let Ok(f) = s.parse::<f64>() {
                Value::from(f)
            } else if let Ok(b) = s.parse::<bool>() {
                Value::from(b)
            } else if s == "null" || s == "~" {
                Value::Null
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(typed).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), typed(v))).collect()),
        _ => v.clone(),
    }
}

fn params_of<T: serde::de::DeserializeOwned + Default>(v: &serde_json::Value) -> Result<T, String> {
    if v.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(typed(v)).map_err(|e| format!("params: {e}"))
}

/// The ML folder: its features file and its training specs by name.
#[derive(Debug, Clone, Default)]
pub struct MlFolder {
    pub features: FeaturesFile,
    pub specs: BTreeMap<String, (PathBuf, TrainSpec)>,
}

pub fn parse_spec(path: &Path, text: &str) -> Result<TrainSpec, SpecError> {
    let spec: TrainSpec = marked_yaml::from_yaml(0, text).map_err(|e| SpecError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    spec.validate().map_err(|message| SpecError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(spec)
}

fn parse_features(path: &Path, text: &str) -> Result<FeaturesFile, SpecError> {
    marked_yaml::from_yaml(0, text).map_err(|e| SpecError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

impl MlFolder {
    /// The built-in demo's ML folder.
    pub fn demo() -> Result<Self, SpecError> {
        Self::from_files(
            quarry_schema::demo_model::ML_FILES
                .iter()
                .map(|(p, t)| (PathBuf::from(p), (*t).to_string())),
        )
    }

    /// `<model dir>/ml/`; an absent folder is an empty one.
    pub fn load(model_dir: &Path) -> Result<Self, SpecError> {
        let dir = model_dir.join("ml");
        if !dir.is_dir() {
            return Ok(Self::default());
        }
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|e| SpecError::Read {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        for e in entries.flatten() {
            let p = e.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                let text = std::fs::read_to_string(&p).map_err(|e| SpecError::Read {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
                files.push((p, text));
            }
        }
        files.sort();
        Self::from_files(files)
    }

    fn from_files(files: impl IntoIterator<Item = (PathBuf, String)>) -> Result<Self, SpecError> {
        let mut out = Self::default();
        for (path, text) in files {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if stem == "features" {
                out.features = parse_features(&path, &text)?;
            } else {
                let spec = parse_spec(&path, &text)?;
                out.specs.insert(spec.name.clone(), (path, spec));
            }
        }
        Ok(out)
    }

    /// A spec by name, or from a file path.
    pub fn spec(&self, name_or_path: &str) -> Result<(PathBuf, TrainSpec), SpecError> {
        if let Some((p, s)) = self.specs.get(name_or_path) {
            return Ok((p.clone(), s.clone()));
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some() || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
                path: path.to_path_buf(),
                message: format!(
                    "{e}; give the path of a training spec (YAML) or the name of a built-in one"
                ),
            })?;
            return Ok((path.to_path_buf(), parse_spec(path, &text)?));
        }
        Err(SpecError::UnknownSpec {
            name: name_or_path.to_string(),
            have: if self.specs.is_empty() {
                "none".into()
            } else {
                self.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_demo_folder_parses_and_names_its_specs() {
        let ml = MlFolder::demo().unwrap();
        assert_eq!(
            ml.specs.keys().cloned().collect::<Vec<_>>(),
            ["churn", "fraud", "ltv", "ltv_bgnbd"]
        );
        let names: Vec<_> = ml
            .features
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "install_features",
                "user_features",
                "user_activity",
                "payments",
                "daily_actives"
            ]
        );
        let views: Vec<_> = ml.features.views.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(views, ["installs", "user_metrics"]);
        let fraud = &ml.specs["fraud"].1;
        assert_eq!(fraud.kind, Kind::Layered);
        assert_eq!(fraud.targets["roc_auc"], 0.95);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let p = Path::new("x.yaml");
        let base = "name: m\nkind: gbdt\ntask: classification\nquery: SELECT 1\nlabel: y\nsplit: {time: t, test_days: 1, validation_days: 1}\n";
        let e = parse_spec(p, &format!("{base}features: []\n")).unwrap_err();
        assert!(e.to_string().contains("`features` is empty"), "{e}");
        let e =
            parse_spec(p, &format!("{base}features: [{{name: a}}, {{name: a}}]\n")).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let e = parse_spec(
            p,
            &format!("{base}features: [{{name: a}}]\nparams: {{depth: 99, treez: 3}}\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("treez"), "{e}");
        let e =
            parse_spec(p, &format!("{base}features: [{{name: a}}]\nthreshold: 3\n")).unwrap_err();
        assert!(e.to_string().contains("not a probability"), "{e}");
        let e = parse_spec(p, "name: m\nkind: forest\n").unwrap_err();
        assert!(e.to_string().contains("forest"), "{e}");
        let e = MlFolder::demo().unwrap().spec("nope").unwrap_err();
        assert!(e.to_string().contains("churn, fraud, ltv"), "{e}");
    }
}
