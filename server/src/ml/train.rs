//! `quarry train`: runs a spec's query, splits its rows by time, encodes
//! the features, fits the model kind, evaluates it on the held-out rows and
//! stores it in the registry with its metrics, feature importance and a
//! fingerprint of the training data.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::prelude::SessionContext;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::bgnbd::{BgNbd, GammaGamma, History};
use super::features::Templates;
use super::gbdt::{Gbdt, Objective};
use super::iforest::IsolationForest;
use super::logistic::{LogisticParams, LogisticRegression};
use super::metrics;
use super::model::{Artifact, Feature, Layered, Predictor};
use super::registry::{ModelCard, Registry, RegistryError};
use super::spec::{Kind, Split, Task, TrainSpec, lower_is_better};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Template(#[from] super::features::FeatureError),
    #[error("the training query of {name} failed: {message}")]
    Query { name: String, message: String },
    #[error("{name}: {message}")]
    Data { name: String, message: String },
    #[error("{name}: fitting failed: {message}")]
    Fit { name: String, message: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Reports training progress (a progress bar in the CLI).
pub trait TrainProgress {
    fn stage(&self, message: &str);
    fn trees(&self, done: usize, total: usize);
}

/// Says nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl TrainProgress for Quiet {
    fn stage(&self, _message: &str) {}
    fn trees(&self, _done: usize, _total: usize) {}
}

/// A metric against the spec's target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    pub metric: String,
    pub target: f64,
    pub actual: Option<f64>,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub card: ModelCard,
    pub targets: Vec<TargetCheck>,
    /// Whether this version is now the promoted one.
    pub promoted: bool,
}

impl TrainOutcome {
    pub fn targets_met(&self) -> bool {
        self.targets.iter().all(|t| t.met)
    }
}

/// A query column, as training needs it.
enum Column {
    Num(Vec<f64>),
    Text(Vec<Option<String>>),
}

struct Table {
    columns: BTreeMap<String, Column>,
    rows: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Train,
    Validation,
    Test,
    Unused,
}

const DAY_MICROS: f64 = 86_400_000_000.0;

fn data_err(spec: &TrainSpec, message: impl Into<String>) -> TrainError {
    TrainError::Data {
        name: spec.name.clone(),
        message: message.into(),
    }
}

fn fit_err(spec: &TrainSpec, e: impl std::fmt::Display) -> TrainError {
    TrainError::Fit {
        name: spec.name.clone(),
        message: e.to_string(),
    }
}

fn to_table(batches: &[RecordBatch]) -> Result<Table, String> {
    let mut columns: BTreeMap<String, Column> = BTreeMap::new();
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let Some(first) = batches.first() else {
        return Ok(Table { columns, rows: 0 });
    };
    for (i, field) in first.schema().fields().iter().enumerate() {
        let dt = field.data_type();
        let col = match dt {
            DataType::Utf8
            | DataType::Utf8View
            | DataType::LargeUtf8
            | DataType::Dictionary(..) => {
                let mut v = Vec::with_capacity(rows);
                for b in batches {
                    let a = cast(b.column(i), &DataType::Utf8View).map_err(|e| e.to_string())?;
                    let a = a.as_string_view();
                    v.extend((0..a.len()).map(|r| (!a.is_null(r)).then(|| a.value(r).to_string())));
                }
                Column::Text(v)
            }
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
                let mut v = Vec::with_capacity(rows);
                for b in batches {
                    let a = cast(
                        b.column(i),
                        &DataType::Timestamp(TimeUnit::Microsecond, None),
                    )
                    .and_then(|a| cast(&a, &DataType::Int64))
                    .map_err(|e| e.to_string())?;
                    let a = a.as_primitive::<Int64Type>();
                    v.extend((0..a.len()).map(|r| {
                        if a.is_null(r) {
                            f64::NAN
                        } else {
                            a.value(r) as f64
                        }
                    }));
                }
                Column::Num(v)
            }
            t if t.is_numeric() || *t == DataType::Boolean || *t == DataType::Null => {
                let mut v = Vec::with_capacity(rows);
                for b in batches {
                    let a = cast(b.column(i), &DataType::Float64).map_err(|e| e.to_string())?;
                    let a = a.as_primitive::<Float64Type>();
                    v.extend(
                        (0..a.len()).map(|r| if a.is_null(r) { f64::NAN } else { a.value(r) }),
                    );
                }
                Column::Num(v)
            }
            _ => continue,
        };
        columns.insert(field.name().clone(), col);
    }
    Ok(Table { columns, rows })
}

fn split(spec: &TrainSpec, t: &Table) -> Result<Vec<Part>, TrainError> {
    match spec.split.check().map_err(|m| data_err(spec, m))? {
        Split::Time {
            time,
            test_days,
            validation_days,
        } => {
            let Some(Column::Num(v)) = t.columns.get(&time) else {
                return Err(data_err(
                    spec,
                    format!(
                        "split.time names \"{time}\", which is not a time or number column of the query"
                    ),
                ));
            };
            let max = v
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            let test_from = max - test_days * DAY_MICROS;
            let valid_from = test_from - validation_days * DAY_MICROS;
            Ok(v.iter()
                .map(|&x| {
                    if !x.is_finite() {
                        Part::Unused
                    } else if x > test_from {
                        Part::Test
                    } else if x > valid_from {
                        Part::Validation
                    } else {
                        Part::Train
                    }
                })
                .collect())
        }
        Split::Column { column } => {
            let Some(Column::Text(v)) = t.columns.get(&column) else {
                return Err(data_err(
                    spec,
                    format!(
                        "split.column names \"{column}\", which is not a text column of the query with values train, validation and test"
                    ),
                ));
            };
            Ok(v.iter()
                .map(|x| match x.as_deref() {
                    Some("train") => Part::Train,
                    Some("validation") => Part::Validation,
                    Some("test") => Part::Test,
                    _ => Part::Unused,
                })
                .collect())
        }
    }
}

/// The encoded feature matrix of every row, with the feature descriptions.
fn encode(
    spec: &TrainSpec,
    t: &Table,
    parts: &[Part],
    label: Option<&[f64]>,
) -> Result<(Vec<Vec<f64>>, Vec<Feature>), TrainError> {
    let mut cols = Vec::new();
    let mut feats = Vec::new();
    let classification = spec.task == Task::Classification;
    for f in &spec.features {
        let Some(col) = t.columns.get(&f.name) else {
            return Err(data_err(
                spec,
                format!(
                    "feature \"{}\" is not a column of the query (it has: {})",
                    f.name,
                    t.columns.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let mut feature = Feature {
            name: f.name.clone(),
            label: f.label.clone().unwrap_or_else(|| f.name.replace('_', " ")),
            unit: f.unit.clone(),
            categories: None,
            typical: None,
        };
        let values = match col {
            Column::Num(v) => {
                let ordinary: Vec<f64> = (0..t.rows)
                    .filter(|&r| parts[r] == Part::Train)
                    .filter(|&r| !classification || label.is_none_or(|l| l[r] == 0.0))
                    .map(|r| v[r])
                    .filter(|x| x.is_finite())
                    .collect();
                feature.typical = percentiles(ordinary);
                v.clone()
            }
            Column::Text(v) => {
                // Codes rank categories by their smoothed mean label in the
                // training rows (by frequency without a label), so a tree
                // split on the code separates low from high.
                let mut stats: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
                let prior = label.map_or(0.0, |l| {
                    let (s, n) = (0..t.rows)
                        .filter(|&r| parts[r] == Part::Train && l[r].is_finite())
                        .fold((0.0, 0.0), |(s, n), r| (s + l[r], n + 1.0));
                    if n > 0.0 { s / n } else { 0.0 }
                });
                for r in 0..t.rows {
                    if parts[r] != Part::Train {
                        continue;
                    }
                    if let Some(s) = v[r].as_deref() {
                        let e = stats.entry(s).or_default();
                        e.0 += label.map_or(1.0, |l| if l[r].is_finite() { l[r] } else { prior });
                        e.1 += 1.0;
                    }
                }
                let m = 20.0;
                let mut ranked: Vec<(&str, f64)> = stats
                    .iter()
                    .map(|(k, (s, n))| {
                        let key = if label.is_some() {
                            (s + prior * m) / (n + m)
                        } else {
                            *n
                        };
                        (*k, key)
                    })
                    .collect();
                ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
                let cats: BTreeMap<String, f64> = ranked
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| ((*k).to_string(), i as f64))
                    .collect();
                let out = v
                    .iter()
                    .map(|x| {
                        x.as_deref()
                            .and_then(|s| cats.get(s).copied())
                            .unwrap_or(f64::NAN)
                    })
                    .collect();
                feature.categories = Some(cats);
                out
            }
        };
        cols.push(values);
        feats.push(feature);
    }
    Ok((cols, feats))
}

fn percentiles(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some((at(0.1), at(0.9)))
}

/// Rows of one part, feature-major.
fn take(cols: &[Vec<f64>], idx: &[usize]) -> Vec<Vec<f64>> {
    cols.iter()
        .map(|c| idx.iter().map(|&r| c[r]).collect())
        .collect()
}

fn refs(cols: &[Vec<f64>]) -> Vec<&[f64]> {
    cols.iter().map(Vec::as_slice).collect()
}

fn fingerprint(cols: &[Vec<f64>], label: Option<&[f64]>, parts: &[Part]) -> String {
    let mut h = Sha256::new();
    for c in cols.iter().map(Vec::as_slice).chain(label) {
        for (v, p) in c.iter().zip(parts) {
            if *p != Part::Unused {
                h.update(v.to_le_bytes());
            }
        }
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs a spec end to end and stores the model. The first version of a
/// model is promoted; later ones only when `promote` is set.
pub async fn train(
    ctx: &SessionContext,
    templates: &Templates,
    registry: &Registry,
    spec: &TrainSpec,
    promote: bool,
    progress: &dyn TrainProgress,
) -> Result<TrainOutcome, TrainError> {
    progress.stage(&format!("{}: running the training query", spec.name));
    let sql = templates.render(&format!("the query of {}", spec.name), &spec.query)?;
    let qerr = |e: datafusion::error::DataFusionError| TrainError::Query {
        name: spec.name.clone(),
        message: e.to_string(),
    };
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(qerr)?
        .collect()
        .await
        .map_err(qerr)?;
    let table = to_table(&batches).map_err(|m| data_err(spec, m))?;
    if table.rows == 0 {
        return Err(data_err(spec, "the training query returned no rows"));
    }
    let mut parts = split(spec, &table)?;
    let label: Option<Vec<f64>> = match &spec.label {
        None => None,
        Some(l) => match table.columns.get(l) {
            Some(Column::Num(v)) => Some(v.clone()),
            _ => {
                return Err(data_err(
                    spec,
                    format!("label \"{l}\" is not a number or boolean column of the query"),
                ));
            }
        },
    };
    if let Some(y) = &label {
        for (p, v) in parts.iter_mut().zip(y) {
            if !v.is_finite() {
                *p = Part::Unused;
            }
        }
        if spec.task == Task::Classification
            && let Some(bad) = y.iter().find(|v| v.is_finite() && **v != 0.0 && **v != 1.0)
        {
            return Err(data_err(
                spec,
                format!("a classification label must be 0/1 or true/false; found {bad}"),
            ));
        }
    }
    let idx = |p: Part| -> Vec<usize> { (0..table.rows).filter(|&r| parts[r] == p).collect() };
    let (train_i, valid_i, test_i) = (idx(Part::Train), idx(Part::Validation), idx(Part::Test));
    if train_i.is_empty() || test_i.is_empty() {
        return Err(data_err(
            spec,
            format!(
                "the split leaves {} training and {} test rows; both need some. Check `split` against the query's time range",
                train_i.len(),
                test_i.len()
            ),
        ));
    }
    let (cols, features) = encode(spec, &table, &parts, label.as_deref())?;
    let fp = fingerprint(&cols, label.as_deref(), &parts);
    let pick = |i: &[usize]| take(&cols, i);
    let ys = |i: &[usize]| -> Vec<f64> {
        label
            .as_ref()
            .map(|l| i.iter().map(|&r| l[r]).collect())
            .unwrap_or_default()
    };
    let (x_train, x_valid, x_test) = (pick(&train_i), pick(&valid_i), pick(&test_i));
    let (y_train, y_valid, y_test) = (ys(&train_i), ys(&valid_i), ys(&test_i));

    progress.stage(&format!(
        "{}: fitting on {} rows ({} validate, {} held out)",
        spec.name,
        train_i.len(),
        valid_i.len(),
        test_i.len()
    ));
    let mut extra: BTreeMap<String, f64> = BTreeMap::new();
    let n_feat = features.len();
    let (predictor, importance) = match spec.kind {
        Kind::Gbdt => {
            let mut params = spec.gbdt_params().map_err(|m| data_err(spec, m))?;
            if spec.task == Task::Regression {
                params.objective = Objective::SquaredError;
            }
            let valid = (!valid_i.is_empty()).then(|| (refs(&x_valid), y_valid.clone()));
            let (model, _) = Gbdt::fit(
                &refs(&x_train),
                &y_train,
                valid.as_ref().map(|(x, y)| (x.as_slice(), y.as_slice())),
                &params,
                &mut |d, t| progress.trees(d, t),
            )
            .map_err(|e| fit_err(spec, e))?;
            let imp = model.feature_importance();
            (Predictor::Gbdt { model }, imp)
        }
        Kind::Logistic => {
            let params = spec.logistic_params().map_err(|m| data_err(spec, m))?;
            let model = LogisticRegression::fit(&refs(&x_train), &y_train, &params)
                .map_err(|e| fit_err(spec, e))?;
            let imp = normalise(
                model
                    .coefficients
                    .iter()
                    .zip(&model.scales)
                    .map(|(c, s)| (c * s).abs())
                    .collect(),
            );
            (Predictor::Logistic { model }, imp)
        }
        Kind::IsolationForest => {
            let params = spec.iforest_params().map_err(|m| data_err(spec, m))?;
            let model =
                IsolationForest::fit(&refs(&x_train), &params).map_err(|e| fit_err(spec, e))?;
            (Predictor::IsolationForest { model }, vec![0.0; n_feat])
        }
        Kind::Bgnbd => {
            let horizon = spec.bgnbd.as_ref().map_or(90.0, |b| b.horizon_days);
            let hist: Vec<History> = (0..train_i.len())
                .filter_map(|r| {
                    let (x, t_x, t) = (x_train[0][r], x_train[1][r], x_train[2][r]);
                    (x.is_finite()
                        && t_x.is_finite()
                        && t.is_finite()
                        && x >= 0.0
                        && t_x >= 0.0
                        && t > 0.0)
                        .then_some(History {
                            x,
                            t_x: t_x.min(t),
                            t,
                        })
                })
                .collect();
            // The likelihood is a sum over customers; an even sample of
            // 20,000 fixes the four parameters as well as all of them would,
            // at a fraction of the optimiser's time.
            let hist = thin(hist, 20_000);
            let bgnbd = BgNbd::fit(&hist).map_err(|e| fit_err(spec, e))?;
            let repeaters: Vec<(f64, f64)> = (0..train_i.len())
                .filter_map(|r| {
                    let (x, m) = (x_train[0][r], x_train[3][r]);
                    (x > 0.0 && m.is_finite() && m > 0.0).then_some((x, m))
                })
                .collect();
            let gamma_gamma =
                GammaGamma::fit(&thin(repeaters, 20_000)).map_err(|e| fit_err(spec, e))?;
            extra.insert("bgnbd_r".into(), bgnbd.r);
            extra.insert("bgnbd_alpha".into(), bgnbd.alpha);
            extra.insert("bgnbd_a".into(), bgnbd.a);
            extra.insert("bgnbd_b".into(), bgnbd.b);
            (
                Predictor::Bgnbd {
                    bgnbd,
                    gamma_gamma,
                    horizon,
                },
                vec![0.0; n_feat],
            )
        }
        Kind::Layered => {
            let (layered, imp) = fit_layered(
                spec,
                &features,
                (&x_train, &y_train),
                (&x_valid, &y_valid),
                (&x_test, &y_test),
                progress,
                &mut extra,
            )?;
            (Predictor::Layered(Box::new(layered)), imp)
        }
    };
    let artifact = Artifact {
        name: spec.name.clone(),
        kind: spec.kind,
        task: spec.task,
        features,
        threshold: spec.threshold,
        predictor,
    };

    progress.stage(&format!("{}: evaluating on the held-out rows", spec.name));
    let mut pred = vec![0.0; test_i.len()];
    artifact
        .score(&refs(&x_test), &mut pred)
        .map_err(|e| fit_err(spec, e))?;
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    m.insert("rows_train".into(), train_i.len() as f64);
    m.insert("rows_validation".into(), valid_i.len() as f64);
    m.insert("rows_test".into(), test_i.len() as f64);
    if label.is_some() {
        match spec.task {
            Task::Classification => classification(&pred, &y_test, spec.threshold, &mut m),
            Task::Regression => {
                if let Some(r) = metrics::regression_metrics(&pred, &y_test) {
                    m.insert("mae".into(), r.mae);
                    m.insert("rmse".into(), r.rmse);
                    if let Some(r2) = r.r2 {
                        m.insert("r2".into(), r2);
                    }
                    m.insert("mean_actual".into(), r.mean_actual);
                    m.insert("mean_predicted".into(), r.mean_predicted);
                }
                // The error of predicting the training mean for everyone:
                // what the model must beat to be worth anything.
                let mean = y_train.iter().sum::<f64>() / y_train.len().max(1) as f64;
                if let Some(b) = metrics::mae(&vec![mean; y_test.len()], &y_test) {
                    m.insert("baseline_mae".into(), b);
                }
            }
        }
    }
    m.extend(extra);
    let names: Vec<String> = artifact
        .features
        .iter()
        .map(|f| f.name.clone())
        .chain((importance.len() > n_feat).then(|| "anomaly_score".to_string()))
        .collect();
    let mut importance: Vec<(String, f64)> = names.into_iter().zip(importance).collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));

    let spec_json = serde_json::to_value(spec).unwrap_or_default();
    let card = registry.save(
        &spec.name,
        spec.kind.as_str(),
        spec_json,
        m.clone(),
        importance,
        &fp,
        &artifact,
    )?;
    let first = registry.promoted(&spec.name)?.is_none();
    if first || promote {
        registry.promote(&spec.name, card.version)?;
    }
    let targets = spec
        .targets
        .iter()
        .map(|(metric, target)| {
            let actual = m.get(metric).copied();
            let met = actual.is_some_and(|a| {
                if lower_is_better(metric) {
                    a <= *target
                } else {
                    a >= *target
                }
            });
            TargetCheck {
                metric: metric.clone(),
                target: *target,
                actual,
                met,
            }
        })
        .collect();
    Ok(TrainOutcome {
        card,
        targets,
        promoted: first || promote,
    })
}

/// Every k-th item, so that at most `max` remain.
fn thin<T>(v: Vec<T>, max: usize) -> Vec<T> {
    let step = v.len().div_ceil(max.max(1)).max(1);
    v.into_iter().step_by(step).collect()
}

fn normalise(v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().filter(|x| x.is_finite()).sum();
    if s > 0.0 {
        v.into_iter()
            .map(|x| if x.is_finite() { x / s } else { 0.0 })
            .collect()
    } else {
        v
    }
}

fn bools(y: &[f64]) -> Vec<bool> {
    y.iter().map(|v| *v >= 0.5).collect()
}

/// ROC-AUC, PR-AUC, Brier, log loss, precision and recall at the threshold,
/// and recall at a false positive rate of at most 1%.
fn classification(pred: &[f64], y: &[f64], threshold: f64, m: &mut BTreeMap<String, f64>) {
    let labels = bools(y);
    m.insert(
        "positives_test".into(),
        labels.iter().filter(|b| **b).count() as f64,
    );
    if let Some(c) = metrics::classification_metrics(pred, &labels, threshold) {
        m.insert("roc_auc".into(), c.roc_auc);
        m.insert("pr_auc".into(), c.pr_auc);
        m.insert("brier".into(), c.brier);
        m.insert("log_loss".into(), c.log_loss);
        m.insert("threshold".into(), c.threshold);
        if let Some(p) = c.precision {
            m.insert("precision".into(), p);
        }
        m.insert("recall".into(), c.recall);
        m.insert("fpr".into(), c.fpr);
    }
    if let Some(op) = metrics::threshold_at_fpr(pred, &labels, 0.01) {
        m.insert("recall_at_fpr_1pct".into(), op.recall);
        m.insert("threshold_at_fpr_1pct".into(), op.threshold);
    }
}

type Part2<'a> = (&'a [Vec<f64>], &'a [f64]);

/// Rules, then an isolation forest, then trees over the features and the
/// anomaly score, then a logistic calibration of the trees' margin on the
/// validation rows. Records each layer's own test metrics in `extra`.
fn fit_layered(
    spec: &TrainSpec,
    features: &[Feature],
    train: Part2<'_>,
    valid: Part2<'_>,
    test: Part2<'_>,
    progress: &dyn TrainProgress,
    extra: &mut BTreeMap<String, f64>,
) -> Result<(Layered, Vec<f64>), TrainError> {
    let Some(layers) = &spec.layers else {
        return Err(data_err(spec, "kind layered needs `layers:`"));
    };
    let index = |name: &str| features.iter().position(|f| f.name == name);
    let rules: Vec<usize> = layers.rules.iter().filter_map(|r| index(r)).collect();
    let anomaly_features: Vec<usize> = layers
        .anomaly
        .features
        .iter()
        .filter_map(|r| index(r))
        .collect();
    let sub = |x: &[Vec<f64>]| -> Vec<Vec<f64>> {
        anomaly_features.iter().map(|&i| x[i].clone()).collect()
    };
    progress.stage(&format!("{}: isolation forest", spec.name));
    let forest = IsolationForest::fit(&refs(&sub(train.0)), &layers.anomaly.params)
        .map_err(|e| fit_err(spec, e))?;
    let anomaly = |x: &[Vec<f64>]| -> Result<Vec<f64>, TrainError> {
        let n = x.first().map_or(0, Vec::len);
        let mut out = vec![0.0; n];
        forest
            .score(&refs(&sub(x)), &mut out)
            .map_err(|e| fit_err(spec, e))?;
        Ok(out)
    };
    let (a_train, a_valid, a_test) = (anomaly(train.0)?, anomaly(valid.0)?, anomaly(test.0)?);
    let ordinary: Vec<f64> = a_train
        .iter()
        .zip(train.1)
        .filter(|(_, y)| **y == 0.0)
        .map(|(a, _)| *a)
        .collect();
    let anomaly_typical = percentiles(ordinary).unwrap_or((0.0, 1.0));
    let with = |x: &[Vec<f64>], a: Vec<f64>| -> Vec<Vec<f64>> {
        let mut v = x.to_vec();
        v.push(a);
        v
    };
    let (t_train, t_valid, t_test) = (
        with(train.0, a_train),
        with(valid.0, a_valid),
        with(test.0, a_test.clone()),
    );
    progress.stage(&format!("{}: gradient-boosted trees", spec.name));
    let params = spec.gbdt_params().map_err(|m| data_err(spec, m))?;
    let has_valid = !valid.1.is_empty();
    let (trees, _) = Gbdt::fit(
        &refs(&t_train),
        train.1,
        has_valid
            .then(|| (refs(&t_valid), valid.1))
            .as_ref()
            .map(|(x, y)| (x.as_slice(), *y)),
        &params,
        &mut |d, t| progress.trees(d, t),
    )
    .map_err(|e| fit_err(spec, e))?;
    let margin = |x: &[Vec<f64>]| -> Result<Vec<f64>, TrainError> {
        let n = x.first().map_or(0, Vec::len);
        let mut out = vec![0.0; n];
        trees
            .predict_margin(&refs(x), &mut out)
            .map_err(|e| fit_err(spec, e))?;
        Ok(out)
    };
    // Calibrate on rows the trees did not learn from, when there are any.
    let (cal_x, cal_y) = if has_valid {
        (margin(&t_valid)?, valid.1.to_vec())
    } else {
        (margin(&t_train)?, train.1.to_vec())
    };
    let calibration = LogisticRegression::fit(
        &[cal_x.as_slice()],
        &cal_y,
        &LogisticParams {
            l2: 0.0,
            ..layers.calibration.clone()
        },
    )
    .map_err(|e| fit_err(spec, e))?;

    // Each layer on its own, on the held-out rows.
    let labels = bools(test.1);
    let negatives = labels.iter().filter(|b| !**b).count().max(1) as f64;
    let positives = labels.iter().filter(|b| **b).count().max(1) as f64;
    let fired: Vec<bool> = (0..labels.len())
        .map(|r| rules.iter().any(|&i| test.0[i][r] >= 0.5))
        .collect();
    let tp = fired
        .iter()
        .zip(&labels)
        .filter(|(f, l)| **f && **l)
        .count() as f64;
    let fp = fired
        .iter()
        .zip(&labels)
        .filter(|(f, l)| **f && !**l)
        .count() as f64;
    extra.insert("rules_recall".into(), tp / positives);
    extra.insert("rules_fpr".into(), fp / negatives);
    if let Some(a) = metrics::roc_auc(&a_test, &labels) {
        extra.insert("anomaly_roc_auc".into(), a);
    }
    if let Some(a) = metrics::roc_auc(&margin(&t_test)?, &labels) {
        extra.insert("trees_roc_auc".into(), a);
    }
    let importance = trees.feature_importance();
    Ok((
        Layered {
            rules,
            anomaly_features,
            forest,
            anomaly_typical,
            trees,
            calibration,
        },
        importance,
    ))
}
