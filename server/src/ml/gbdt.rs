//! Gradient-boosted decision trees made of oblivious (symmetric) trees, as
//! in CatBoost: every node at one depth of a tree shares a single
//! (feature, threshold) split, so a tree of depth `d` is `d` comparisons and
//! a table of `2^d` leaf values. A row reaches leaf
//! `sum over levels l of (x[f_l] > t_l) << l`.
//!
//! Training:
//! - Each feature is cut into at most `max_bins` bins by quantile borders
//!   of the training values. Bin 0 holds missing values (NaN), `-inf` and
//!   `f64::MIN`: its upper border is `f64::MIN`, so "x > f64::MIN" is the
//!   "present" split and NaN always goes left (`NaN > t` is false). The
//!   other borders lie between consecutive distinct values, so a value goes
//!   right iff it is greater than the border, on raw values as on bins.
//! - A tree is grown level by level from gradient histograms, built in
//!   parallel over features (each feature by one thread). After the first
//!   level a histogram is built only for the smaller child of each node;
//!   the other child's is its parent's minus that one. The passes over all
//!   rows (margins, gradients, losses) run in parallel over fixed chunks
//!   whose sums are added in order, so a fit does not depend on the number
//!   of threads. The split of a level maximises
//!   `sum over nodes of GL²/(HL+λ) + GR²/(HR+λ) - G²/(H+λ)`. A node whose
//!   split would leave a child with a hessian sum below `min_child_weight`
//!   adds nothing to that sum; the node is still split, as every node of an
//!   oblivious level is, and its leaves are held back by `l2`. When no split
//!   has positive gain the tree stops there, shallower than `depth`.
//! - Leaf value `-G/(H+λ) * learning_rate`; the base score is the log-odds
//!   of the (weighted) mean label for logistic, the mean for squared error.
//! - Rows are subsampled per tree with a ChaCha8 generator seeded from
//!   `seed`, so a fit is deterministic.
//! - With a validation set and `early_stopping_rounds = Some(k)`, training
//!   stops once the validation loss has not improved for `k` trees, and the
//!   model is cut back to the best tree (also when all trees were built).
//!
//! Scoring works on blocks of 256 rows. When every tree has depth at most 8
//! and no feature is split at more than 255 distinct thresholds (always the
//! case for a fitted model), each used feature of the block is first mapped
//! to a one-byte bin against the model's own sorted thresholds; a tree level
//! is then one comparison of eight bins packed in a `u64` (SWAR), giving
//! eight leaf indices at a time, and the leaf values are summed per row in
//! tree order. The searches for the bins are branch-free and the
//! comparisons are plain integer arithmetic, so the loop is fast without
//! auto-vectorisation (the crate is built at opt-level 1). Other models are
//! scored by direct comparison of the raw values. Both give exactly
//! `base + tree_0 + tree_1 + ...`. Scoring is single-threaded.
//!
//! Serialised models write floats as decimal strings (Rust's shortest
//! round-trip form), because serde_json's default float parser can be off by
//! one unit in the last place and a reloaded model must score identically.
//! Plain JSON numbers are accepted when reading.

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Feature-major input: `columns[f][row]`. Missing values are `f64::NAN`.
pub type Columns<'a> = [&'a [f64]];

/// Deepest tree allowed.
pub const MAX_DEPTH: usize = 10;
/// Most bins per feature allowed (bin indices are bytes).
pub const MAX_BINS: usize = 255;
/// Upper border of the missing bin: every finite value except `f64::MIN`
/// lies above it; NaN and `-inf` do not.
const MISSING_BORDER: f64 = f64::MIN;
/// Values sampled per feature to place the bin borders.
const BORDER_SAMPLE: usize = 200_000;
/// Rows per task in the parallel passes over all training rows.
const CHUNK: usize = 8192;
/// Rows scored together.
const BLOCK: usize = 256;
/// `u64` words of packed one-byte bins per block.
const WORDS: usize = BLOCK / 8;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The loss being minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Binary classification on labels 0 and 1; margins are log-odds.
    Logistic,
    /// Regression on squared error.
    SquaredError,
}

/// Training settings. Every field has a default, so `{}` is a valid spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtParams {
    /// The loss; default logistic.
    pub objective: Objective,
    /// Most boosting rounds (trees); default 300.
    pub trees: usize,
    /// Levels per tree, 1 to 10; default 6.
    pub depth: usize,
    /// Shrinkage applied to every leaf, in (0, 1]; default 0.1.
    pub learning_rate: f64,
    /// L2 penalty on leaf values (λ), at least 0; default 1.
    pub l2: f64,
    /// Least hessian sum a child needs for its node to count in a split's
    /// gain (see the module documentation), at least 0; default 1.
    pub min_child_weight: f64,
    /// Most bins per feature, counting the missing bin, 3 to 255; default
    /// 128 (127 thresholds, which keeps scoring on its fastest path).
    pub max_bins: usize,
    /// Share of rows drawn for each tree, in (0, 1]; default 0.8.
    pub subsample: f64,
    /// Stop after this many trees without a better validation loss; used
    /// only when a validation set is given. Default 30.
    pub early_stopping_rounds: Option<usize>,
    /// Seed of the row subsampling; default 7.
    pub seed: u64,
    /// Weight of rows labelled 1 (logistic only), above 0; default 1.
    pub positive_weight: f64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            objective: Objective::Logistic,
            trees: 300,
            depth: 6,
            learning_rate: 0.1,
            l2: 1.0,
            min_child_weight: 1.0,
            max_bins: 128,
            subsample: 0.8,
            early_stopping_rounds: Some(30),
            seed: 7,
            positive_weight: 1.0,
        }
    }
}

impl GbdtParams {
    /// Checks every setting against its allowed range.
    pub fn validate(&self) -> Result<(), GbdtError> {
        fn bad(name: &'static str, value: impl fmt::Debug, allowed: &'static str) -> GbdtError {
            GbdtError::BadParam {
                name,
                value: format!("{value:?}"),
                allowed,
            }
        }
        if self.trees == 0 {
            return Err(bad("trees", self.trees, "at least 1"));
        }
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            return Err(bad("depth", self.depth, "1 to 10"));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(bad(
                "learning_rate",
                self.learning_rate,
                "above 0 and at most 1",
            ));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(bad("l2", self.l2, "a finite number, at least 0"));
        }
        if !(self.min_child_weight.is_finite() && self.min_child_weight >= 0.0) {
            return Err(bad(
                "min_child_weight",
                self.min_child_weight,
                "a finite number, at least 0",
            ));
        }
        if !(3..=MAX_BINS).contains(&self.max_bins) {
            return Err(bad("max_bins", self.max_bins, "3 to 255"));
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return Err(bad("subsample", self.subsample, "above 0 and at most 1"));
        }
        if self.early_stopping_rounds == Some(0) {
            return Err(bad(
                "early_stopping_rounds",
                self.early_stopping_rounds,
                "at least 1, or null to turn early stopping off",
            ));
        }
        if !(self.positive_weight.is_finite() && self.positive_weight > 0.0) {
            return Err(bad(
                "positive_weight",
                self.positive_weight,
                "a finite number above 0",
            ));
        }
        Ok(())
    }
}

/// What can go wrong fitting or using a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GbdtError {
    /// A data set without rows.
    #[error("the {set} data has no rows")]
    NoRows {
        /// "training", "validation" or "prediction".
        set: &'static str,
    },
    /// A data set without feature columns.
    #[error("the {set} data has no feature columns")]
    NoFeatures {
        /// "training" or "validation".
        set: &'static str,
    },
    /// Columns of different lengths.
    #[error("{set} column {column} has {len} values; expected {expected}, one per row")]
    ColumnLength {
        /// "training", "validation" or "prediction".
        set: &'static str,
        /// Index of the offending column.
        column: usize,
        /// Its length.
        len: usize,
        /// The number of rows.
        expected: usize,
    },
    /// A label vector whose length is not the number of rows.
    #[error("the {set} data has {labels} labels for {rows} rows")]
    LabelCount {
        /// "training" or "validation".
        set: &'static str,
        /// Labels given.
        labels: usize,
        /// Rows given.
        rows: usize,
    },
    /// A NaN or infinite label.
    #[error("{set} label {index} is {value}; labels must be finite")]
    NonFiniteLabel {
        /// "training" or "validation".
        set: &'static str,
        /// Row of the label.
        index: usize,
        /// The label.
        value: f64,
    },
    /// A logistic label other than 0 or 1.
    #[error("{set} label {index} is {value}; the logistic objective needs labels 0 or 1")]
    NotBinary {
        /// "training" or "validation".
        set: &'static str,
        /// Row of the label.
        index: usize,
        /// The label.
        value: f64,
    },
    /// A training setting out of range.
    #[error("parameter {name} is {value}; allowed: {allowed}")]
    BadParam {
        /// The setting.
        name: &'static str,
        /// Its value as given.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
    /// Data with a different number of features than the model.
    #[error("the {set} data has {got} features; the model uses {expected}")]
    FeatureCount {
        /// "validation", "prediction" or "explained row".
        set: &'static str,
        /// Features of the model.
        expected: usize,
        /// Features given.
        got: usize,
    },
    /// More rows than row indices can address.
    #[error("the training data has {rows} rows; at most {max} are supported")]
    TooManyRows {
        /// Rows given.
        rows: usize,
        /// The limit.
        max: usize,
    },
    /// A stored model that is not self-consistent.
    #[error("invalid model: {0}")]
    InvalidModel(String),
}

/// One oblivious tree: level `l` sends a row right iff
/// `row[features[l]] > thresholds[l]`, and the row's leaf is the sum of
/// `1 << l` over the levels that sent it right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObliviousTree {
    features: Vec<usize>,
    #[serde(with = "exact::vec")]
    thresholds: Vec<f64>,
    #[serde(with = "exact::vec")]
    leaf_values: Vec<f64>,
    #[serde(with = "exact::vec")]
    leaf_weights: Vec<f64>,
    #[serde(with = "exact::vec")]
    gains: Vec<f64>,
}

impl ObliviousTree {
    /// Number of levels (0 for a single leaf).
    pub fn depth(&self) -> usize {
        self.features.len()
    }

    /// Split feature of each level.
    pub fn features(&self) -> &[usize] {
        &self.features
    }

    /// Split threshold of each level; a value goes right iff it is greater.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// Leaf values (margin increments, learning rate included), `2^depth`.
    pub fn leaf_values(&self) -> &[f64] {
        &self.leaf_values
    }

    /// Hessian sum of the training rows in each leaf, `2^depth`.
    pub fn leaf_weights(&self) -> &[f64] {
        &self.leaf_weights
    }

    /// Gain of the split of each level.
    pub fn split_gains(&self) -> &[f64] {
        &self.gains
    }

    /// Leaf reached by a row with one value per feature (at least every
    /// feature the tree uses).
    fn leaf_of(&self, row: &[f64]) -> usize {
        self.features
            .iter()
            .zip(&self.thresholds)
            .enumerate()
            .fold(0, |leaf, (level, (&f, &t))| {
                let right = row.get(f).is_some_and(|&x| x > t);
                leaf | (usize::from(right) << level)
            })
    }

    /// Weighted mean of the leaf values below the node at `level` on the
    /// path to `leaf` (the leaf value itself at the bottom).
    fn node_value(&self, leaf: usize, level: usize) -> f64 {
        let depth = self.depth();
        if level >= depth {
            return self.leaf_values.get(leaf).copied().unwrap_or(0.0);
        }
        let prefix = leaf & ((1 << level) - 1);
        let leaves = self.leaf_values.iter().zip(&self.leaf_weights);
        let below = leaves.skip(prefix).step_by(1 << level);
        let (mut sum, mut weight, mut plain, mut count) = (0.0, 0.0, 0.0, 0.0);
        for (&v, &w) in below {
            sum += v * w;
            weight += w;
            plain += v;
            count += 1.0;
        }
        if weight > 0.0 {
            sum / weight
        } else if count > 0.0 {
            plain / count
        } else {
            0.0
        }
    }

    fn check(&self, index: usize, n_features: usize) -> Result<(), String> {
        let depth = self.depth();
        let leaves = 1usize << depth.min(MAX_DEPTH);
        let problem = if depth > MAX_DEPTH {
            Some(format!("depth {depth} exceeds {MAX_DEPTH}"))
        } else if self.thresholds.len() != depth || self.gains.len() != depth {
            Some(format!(
                "{depth} split features but {} thresholds and {} gains",
                self.thresholds.len(),
                self.gains.len()
            ))
        } else if self.leaf_values.len() != leaves || self.leaf_weights.len() != leaves {
            Some(format!(
                "depth {depth} needs {leaves} leaves; it has {} values and {} weights",
                self.leaf_values.len(),
                self.leaf_weights.len()
            ))
        } else if let Some(f) = self.features.iter().find(|&&f| f >= n_features) {
            Some(format!("splits on feature {f} of {n_features}"))
        } else if self.thresholds.iter().any(|t| t.is_nan()) {
            Some("has a NaN threshold".to_string())
        } else if self.leaf_values.iter().any(|v| !v.is_finite()) {
            Some("has a non-finite leaf value".to_string())
        } else if self
            .leaf_weights
            .iter()
            .any(|w| !(w.is_finite() && *w >= 0.0))
        {
            Some("has a negative or non-finite leaf weight".to_string())
        } else if self.gains.iter().any(|g| !g.is_finite()) {
            Some("has a non-finite gain".to_string())
        } else {
            None
        };
        match problem {
            Some(p) => Err(format!("tree {index} {p}")),
            None => Ok(()),
        }
    }
}

/// The stored form of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelData {
    objective: Objective,
    n_features: usize,
    #[serde(with = "exact::scalar")]
    base_score: f64,
    best_iteration: usize,
    trees: Vec<ObliviousTree>,
}

/// A fitted model. Serialises to its trees; deserialising checks the trees
/// and rebuilds the scoring tables.
#[derive(Clone)]
pub struct Gbdt {
    data: ModelData,
    scorer: Scorer,
}

/// What a fit did.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Trees in the returned model.
    pub trees: usize,
    /// Index (from 0) of the last tree kept: the one with the lowest
    /// validation loss under early stopping, otherwise the last tree built.
    pub best_iteration: usize,
    /// Training loss (weighted log loss or mean squared error over all
    /// training rows) after each tree built.
    pub train_loss: Vec<f64>,
    /// Validation loss after each tree built; empty without validation data.
    pub valid_loss: Vec<f64>,
}

impl fmt::Debug for Gbdt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gbdt")
            .field("objective", &self.data.objective)
            .field("n_features", &self.data.n_features)
            .field("base_score", &self.data.base_score)
            .field("trees", &self.data.trees.len())
            .field("best_iteration", &self.data.best_iteration)
            .field(
                "scorer",
                &match self.scorer {
                    Scorer::Binned(_) => "binned",
                    Scorer::Direct => "direct",
                },
            )
            .finish()
    }
}

impl Serialize for Gbdt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Gbdt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let data = ModelData::deserialize(deserializer)?;
        Gbdt::from_data(data).map_err(serde::de::Error::custom)
    }
}

impl Gbdt {
    fn from_data(data: ModelData) -> Result<Self, GbdtError> {
        if data.n_features == 0 {
            return Err(GbdtError::InvalidModel(
                "a model needs at least one feature".into(),
            ));
        }
        if !data.base_score.is_finite() {
            return Err(GbdtError::InvalidModel(format!(
                "base score {} is not finite",
                data.base_score
            )));
        }
        for (i, tree) in data.trees.iter().enumerate() {
            tree.check(i, data.n_features)
                .map_err(GbdtError::InvalidModel)?;
        }
        let scorer = Scorer::build(&data);
        Ok(Self { data, scorer })
    }

    /// Fits a model. `train` and `y` are the training rows; `valid`, if
    /// given, is scored after every tree and drives early stopping.
    /// `progress(trees_done, trees_max)` is called after each tree.
    pub fn fit(
        train: &Columns,
        y: &[f64],
        valid: Option<(&Columns, &[f64])>,
        params: &GbdtParams,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Gbdt, FitReport), GbdtError> {
        params.validate()?;
        let n = check_columns("training", train, None)?;
        check_labels("training", y, n, params.objective)?;
        if n > u32::MAX as usize {
            return Err(GbdtError::TooManyRows {
                rows: n,
                max: u32::MAX as usize,
            });
        }
        let valid = match valid {
            Some((columns, labels)) => {
                if columns.len() != train.len() {
                    return Err(GbdtError::FeatureCount {
                        set: "validation",
                        expected: train.len(),
                        got: columns.len(),
                    });
                }
                let rows = check_columns("validation", columns, None)?;
                check_labels("validation", labels, rows, params.objective)?;
                Some((columns, labels))
            }
            None => None,
        };
        Trainer::new(train, y, params).run(valid, progress)
    }

    /// Number of feature columns the model takes.
    pub fn n_features(&self) -> usize {
        self.data.n_features
    }

    /// The loss the model was fitted on.
    pub fn objective(&self) -> Objective {
        self.data.objective
    }

    /// The margin before any tree.
    pub fn base_score(&self) -> f64 {
        self.data.base_score
    }

    /// Index of the last tree (see [`FitReport::best_iteration`]).
    pub fn best_iteration(&self) -> usize {
        self.data.best_iteration
    }

    /// The trees, in boosting order.
    pub fn trees(&self) -> &[ObliviousTree] {
        &self.data.trees
    }

    fn check_batch(&self, columns: &Columns, rows: usize) -> Result<(), GbdtError> {
        if columns.len() != self.data.n_features {
            return Err(GbdtError::FeatureCount {
                set: "prediction",
                expected: self.data.n_features,
                got: columns.len(),
            });
        }
        check_columns("prediction", columns, Some(rows)).map(|_| ())
    }

    /// Raw margin (log-odds for logistic) of every row, written into `out`,
    /// whose length is the number of rows.
    pub fn predict_margin(&self, columns: &Columns, out: &mut [f64]) -> Result<(), GbdtError> {
        self.check_batch(columns, out.len())?;
        let base = self.data.base_score;
        match &self.scorer {
            Scorer::Binned(binned) => binned.score(base, columns, out),
            Scorer::Direct => score_direct(&self.data.trees, base, columns, out),
        }
        Ok(())
    }

    /// Probability of label 1 for logistic (sigmoid of the margin), the
    /// predicted value for squared error.
    pub fn predict(&self, columns: &Columns, out: &mut [f64]) -> Result<(), GbdtError> {
        self.predict_margin(columns, out)?;
        if self.data.objective == Objective::Logistic {
            for v in out.iter_mut() {
                *v = sigmoid(*v);
            }
        }
        Ok(())
    }

    /// Margin of one row given as one value per feature.
    pub fn predict_margin_row(&self, row: &[f64]) -> Result<f64, GbdtError> {
        self.check_row(row)?;
        Ok(self.data.trees.iter().fold(self.data.base_score, |m, t| {
            m + t.leaf_values.get(t.leaf_of(row)).copied().unwrap_or(0.0)
        }))
    }

    fn check_row(&self, row: &[f64]) -> Result<(), GbdtError> {
        if row.len() == self.data.n_features {
            Ok(())
        } else {
            Err(GbdtError::FeatureCount {
                set: "explained row",
                expected: self.data.n_features,
                got: row.len(),
            })
        }
    }

    /// Per-feature contributions to the margin of one row, and the bias.
    /// Each node's value is the hessian-weighted mean of the leaves below it;
    /// a level's feature is credited with the change in value along the
    /// row's path (Saabas), and the bias is the base score plus every
    /// tree's root value, so `bias + sum(contributions)` is the margin.
    pub fn contributions(&self, row: &[f64]) -> Result<(Vec<f64>, f64), GbdtError> {
        self.check_row(row)?;
        let mut contributions = vec![0.0; self.data.n_features];
        let mut bias = self.data.base_score;
        for tree in &self.data.trees {
            let leaf = tree.leaf_of(row);
            let mut previous = tree.node_value(leaf, 0);
            bias += previous;
            for (level, &f) in tree.features.iter().enumerate() {
                let value = tree.node_value(leaf, level + 1);
                if let Some(c) = contributions.get_mut(f) {
                    *c += value - previous;
                }
                previous = value;
            }
        }
        Ok((contributions, bias))
    }

    /// Total split gain per feature, normalised to sum to 1 (all zeros when
    /// the model has no splits).
    pub fn feature_importance(&self) -> Vec<f64> {
        let mut gains = vec![0.0; self.data.n_features];
        for tree in &self.data.trees {
            for (&f, &g) in tree.features.iter().zip(&tree.gains) {
                if let Some(slot) = gains.get_mut(f) {
                    *slot += g.max(0.0);
                }
            }
        }
        let total: f64 = gains.iter().sum();
        if total > 0.0 {
            for g in &mut gains {
                *g /= total;
            }
        }
        gains
    }
}

fn check_columns(
    set: &'static str,
    columns: &Columns,
    rows: Option<usize>,
) -> Result<usize, GbdtError> {
    let first = columns.first().ok_or(GbdtError::NoFeatures { set })?;
    let expected = rows.unwrap_or(first.len());
    for (column, c) in columns.iter().enumerate() {
        if c.len() != expected {
            return Err(GbdtError::ColumnLength {
                set,
                column,
                len: c.len(),
                expected,
            });
        }
    }
    if expected == 0 && rows.is_none() {
        return Err(GbdtError::NoRows { set });
    }
    Ok(expected)
}

fn check_labels(
    set: &'static str,
    y: &[f64],
    rows: usize,
    objective: Objective,
) -> Result<(), GbdtError> {
    if y.len() != rows {
        return Err(GbdtError::LabelCount {
            set,
            labels: y.len(),
            rows,
        });
    }
    for (index, &value) in y.iter().enumerate() {
        if !value.is_finite() {
            return Err(GbdtError::NonFiniteLabel { set, index, value });
        }
        if objective == Objective::Logistic && value != 0.0 && value != 1.0 {
            return Err(GbdtError::NotBinary { set, index, value });
        }
    }
    Ok(())
}

fn sigmoid(m: f64) -> f64 {
    if m >= 0.0 {
        1.0 / (1.0 + (-m).exp())
    } else {
        let e = m.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^m)` without overflow.
fn softplus(m: f64) -> f64 {
    m.max(0.0) + (-m.abs()).exp().ln_1p()
}

/// The score of a node with gradient sum `g` and hessian sum `h`.
fn node_score(g: f64, h: f64, l2: f64) -> f64 {
    let d = h + l2;
    if d > 0.0 { g * g / d } else { 0.0 }
}

fn leaf_value(g: f64, h: f64, params: &GbdtParams) -> f64 {
    let d = h + params.l2;
    // Adding zero turns -0.0 (an empty leaf) into 0.0.
    let value = -g / d * params.learning_rate + 0.0;
    // A near-zero hessian with l2 = 0 can overflow; such a leaf stays 0.
    if d > 0.0 && value.is_finite() {
        value
    } else {
        0.0
    }
}

/// Mean loss of margins against labels: weighted log loss or squared error.
/// Summed in parallel over fixed chunks, then in chunk order, so the result
/// does not depend on the number of threads.
fn loss(objective: Objective, positive_weight: f64, margin: &[f64], y: &[f64]) -> f64 {
    let parts: Vec<[f64; 2]> = margin
        .par_chunks(CHUNK)
        .zip(y.par_chunks(CHUNK))
        .map(|(margin, y)| {
            let mut sum = [0.0, 0.0];
            for (&m, &t) in margin.iter().zip(y) {
                let [l, w] = row_loss(objective, positive_weight, m, t);
                sum[0] += l;
                sum[1] += w;
            }
            sum
        })
        .collect();
    mean_of(&parts)
}

/// The mean from per-chunk `[weighted loss, weight]` sums, added in order.
fn mean_of(parts: &[[f64; 2]]) -> f64 {
    let (total, weight) = parts
        .iter()
        .fold((0.0, 0.0), |(t, w), p| (t + p[0], w + p[1]));
    if weight > 0.0 { total / weight } else { 0.0 }
}

/// One row's weighted loss and its weight.
#[inline]
fn row_loss(objective: Objective, positive_weight: f64, m: f64, t: f64) -> [f64; 2] {
    match objective {
        Objective::Logistic => {
            let w = if t > 0.5 { positive_weight } else { 1.0 };
            [w * (softplus(m) - t * m), w]
        }
        Objective::SquaredError => [(m - t) * (m - t), 1.0],
    }
}

/// One training feature cut into bins.
struct BinnedFeature {
    /// Strictly increasing; the first is [`MISSING_BORDER`].
    thresholds: Vec<f64>,
    /// Bin of each row: the number of thresholds below the value.
    bins: Vec<u8>,
}

impl BinnedFeature {
    fn new(column: &[f64], max_bins: usize) -> Self {
        let mut thresholds = vec![MISSING_BORDER];
        let stride = column.len().div_ceil(BORDER_SAMPLE).max(1);
        let mut values: Vec<f64> = column
            .iter()
            .step_by(stride)
            .copied()
            .filter(|&x| x > MISSING_BORDER)
            .collect();
        values.sort_unstable_by(f64::total_cmp);
        // Distinct values with the count of values up to each.
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            match distinct.last_mut() {
                Some(last) if last.0 == v => last.1 = i + 1,
                _ => distinct.push((v, i + 1)),
            }
        }
        let max_borders = max_bins - 2;
        let every_gap = distinct.len() <= max_borders + 1;
        let mut last_bucket = 0;
        for pair in distinct.windows(2) {
            let ((a, below), (b, _)) = (pair[0], pair[1]);
            let take = every_gap || {
                let bucket = below * (max_borders + 1) / values.len();
                let new = bucket > last_bucket;
                last_bucket = last_bucket.max(bucket);
                new
            };
            if take {
                thresholds.push(border_between(a, b));
            }
        }
        let bins = column
            .iter()
            .map(|&x| thresholds.partition_point(|&t| t < x) as u8)
            .collect();
        Self { thresholds, bins }
    }

    fn n_bins(&self) -> usize {
        self.thresholds.len() + 1
    }
}

/// A finite border `t` with `a <= t < b`, preferably the midpoint.
fn border_between(a: f64, b: f64) -> f64 {
    let mid = a / 2.0 + b / 2.0;
    if mid.is_finite() && mid >= a && mid < b {
        mid
    } else {
        a
    }
}

/// The chosen split of one level.
struct Split {
    feature: usize,
    bin: u8,
    gain: f64,
}

/// The best split of one feature given its histogram: `(bin, gain)`, where
/// rows with a bin above `bin` go right.
fn best_bin(hist: &[[f64; 2]], nodes: usize, nb: usize, params: &GbdtParams) -> (u8, f64) {
    let candidates = nb - 1;
    let mut gains = vec![0.0; candidates];
    let mut right = vec![[0.0; 2]; nb];
    for node in hist.chunks_exact(nb).take(nodes) {
        // Suffix sums so an empty side is exactly zero.
        let mut acc = [0.0, 0.0];
        for (r, h) in right.iter_mut().zip(node).rev() {
            *r = acc;
            acc[0] += h[0];
            acc[1] += h[1];
        }
        let [g, h] = acc;
        if h <= 0.0 {
            continue;
        }
        let parent = node_score(g, h, params.l2);
        let mut left = [0.0, 0.0];
        for ((gain, bin), r) in gains.iter_mut().zip(node).zip(&right) {
            left[0] += bin[0];
            left[1] += bin[1];
            if left[1] >= params.min_child_weight && r[1] >= params.min_child_weight {
                let change = node_score(left[0], left[1], params.l2)
                    + node_score(r[0], r[1], params.l2)
                    - parent;
                // Only overflow (near-zero hessians with l2 = 0) is skipped.
                if change.is_finite() {
                    *gain += change;
                }
            }
        }
    }
    let mut best = (0u8, 0.0);
    for (k, &g) in gains.iter().enumerate() {
        if g > best.1 && g.is_finite() {
            best = (k as u8, g);
        }
    }
    best
}

struct Trainer<'a> {
    params: &'a GbdtParams,
    y: &'a [f64],
    features: Vec<BinnedFeature>,
    n: usize,
}

impl<'a> Trainer<'a> {
    fn new(train: &Columns, y: &'a [f64], params: &'a GbdtParams) -> Self {
        let features = train
            .par_iter()
            .map(|c| BinnedFeature::new(c, params.max_bins))
            .collect();
        Self {
            params,
            y,
            features,
            n: y.len(),
        }
    }

    fn weight(&self, label: f64) -> f64 {
        if self.params.objective == Objective::Logistic && label > 0.5 {
            self.params.positive_weight
        } else {
            1.0
        }
    }

    fn base_score(&self) -> f64 {
        let (mut sum, mut weight) = (0.0, 0.0);
        for &t in self.y {
            let w = self.weight(t);
            sum += w * t;
            weight += w;
        }
        let mean = sum / weight;
        match self.params.objective {
            Objective::Logistic => {
                let p = mean.clamp(1e-12, 1.0 - 1e-12);
                (p / (1.0 - p)).ln()
            }
            Objective::SquaredError => mean,
        }
    }

    /// A row's gradient and hessian, and its weighted loss and weight (as
    /// [`row_loss`] gives them), sharing one exponential.
    #[inline]
    fn row(&self, m: f64, t: f64) -> ([f64; 2], [f64; 2]) {
        match self.params.objective {
            Objective::Logistic => {
                let w = self.weight(t);
                let e = (-m.abs()).exp();
                let p = if m >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                let loss = m.max(0.0) + e.ln_1p() - t * m;
                ([w * (p - t), w * p * (1.0 - p)], [w * loss, w])
            }
            Objective::SquaredError => ([m - t, 1.0], [(m - t) * (m - t), 1.0]),
        }
    }

    fn run(
        self,
        valid: Option<(&Columns, &[f64])>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Gbdt, FitReport), GbdtError> {
        let params = self.params;
        let base = self.base_score();
        let mut margin = vec![base; self.n];
        let mut valid_margin = valid.map(|(_, labels)| vec![base; labels.len()]);
        let early_stop = valid.and(params.early_stopping_rounds);
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut trees: Vec<ObliviousTree> = Vec::new();
        let mut train_loss = Vec::new();
        let mut valid_loss: Vec<f64> = Vec::new();
        let mut best: Option<(usize, f64)> = None;
        let mut work = Work::default();
        let mut gradients = vec![[0.0; 2]; self.n];
        self.update(None, &mut margin, &mut gradients);

        for round in 0..params.trees {
            self.sample(&mut rng, &mut work.rows);
            let tree = self.grow(&gradients, &mut work);
            train_loss.push(self.update(Some(&tree), &mut margin, &mut gradients));
            if let (Some((columns, labels)), Some(vm)) = (valid, valid_margin.as_mut()) {
                vm.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
                    add_direct(std::slice::from_ref(&tree), columns, c * CHUNK, out);
                });
                let l = loss(params.objective, params.positive_weight, vm, labels);
                valid_loss.push(l);
                if best.is_none_or(|(_, b)| l < b) {
                    best = Some((round, l));
                }
            }
            trees.push(tree);
            progress(round + 1, params.trees);
            if let (Some(k), Some((best_round, _))) = (early_stop, best)
                && round >= best_round + k
            {
                break;
            }
        }

        let kept = match (early_stop, best) {
            (Some(_), Some((best_round, _))) => best_round + 1,
            _ => trees.len(),
        };
        trees.truncate(kept);
        let best_iteration = kept.saturating_sub(1);
        let data = ModelData {
            objective: params.objective,
            n_features: self.features.len(),
            base_score: base,
            best_iteration,
            trees,
        };
        let model = Gbdt::from_data(data)?;
        let report = FitReport {
            trees: kept,
            best_iteration,
            train_loss,
            valid_loss,
        };
        Ok((model, report))
    }

    /// Adds a new tree's leaf values (if any) to the training margins,
    /// finding each row's leaf from its bins, and recomputes every row's
    /// gradient and hessian. Returns the training loss.
    fn update(
        &self,
        tree: Option<&ObliviousTree>,
        margin: &mut [f64],
        gradients: &mut [[f64; 2]],
    ) -> f64 {
        let levels: Vec<(&[u8], u8)> = tree.map_or_else(Vec::new, |tree| {
            tree.features
                .iter()
                .zip(&tree.thresholds)
                .map(|(&f, &t)| {
                    let feature = &self.features[f];
                    let bin = feature.thresholds.partition_point(|&x| x < t);
                    (feature.bins.as_slice(), bin as u8)
                })
                .collect()
        });
        let leaf_values = tree.map_or(&[0.0][..], |t| &t.leaf_values);
        let parts: Vec<[f64; 2]> = margin
            .par_chunks_mut(CHUNK)
            .zip(gradients.par_chunks_mut(CHUNK))
            .zip(self.y.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, ((margin, gradients), y))| {
                let mut sum = [0.0, 0.0];
                let rows = (c * CHUNK..).zip(margin.iter_mut().zip(gradients).zip(y));
                for (r, ((m, g), &t)) in rows {
                    let mut leaf = 0;
                    for (level, &(bins, bin)) in levels.iter().enumerate() {
                        leaf |= usize::from(bins[r] > bin) << level;
                    }
                    *m += leaf_values[leaf];
                    let (gradient, [l, w]) = self.row(*m, t);
                    *g = gradient;
                    sum[0] += l;
                    sum[1] += w;
                }
                sum
            })
            .collect();
        mean_of(&parts)
    }

    /// Draws the rows of one tree.
    fn sample(&self, rng: &mut ChaCha8Rng, rows: &mut Vec<u32>) {
        rows.clear();
        if self.params.subsample < 1.0 {
            for r in 0..self.n {
                if rng.random_bool(self.params.subsample) {
                    rows.push(r as u32);
                }
            }
        }
        if rows.is_empty() {
            rows.extend(0..self.n as u32);
        }
    }

    /// Grows one tree on `work.rows` from every row's gradient and hessian.
    fn grow(&self, gradients: &[[f64; 2]], work: &mut Work) -> ObliviousTree {
        let params = self.params;
        let rows = &work.rows;
        work.grad.clear();
        work.grad
            .par_extend(rows.par_iter().map(|&r| gradients[r as usize]));
        work.node.clear();
        work.node.resize(rows.len(), 0);
        if work.bins.len() != self.features.len() {
            work.bins = (0..self.features.len()).map(|_| Vec::new()).collect();
            work.hists = (0..self.features.len()).map(|_| Vec::new()).collect();
        }
        let whole = rows.len() == self.n;
        work.bins
            .par_iter_mut()
            .zip(&self.features)
            .for_each(|(sampled, feature)| {
                sampled.clear();
                if !whole {
                    sampled.extend(rows.iter().map(|&r| feature.bins[r as usize]));
                }
            });

        let mut splits: Vec<Split> = Vec::new();
        for level in 0..params.depth {
            let nodes = 1usize << level;
            let half = nodes / 2;
            if level > 0 {
                // Each node of the last level was split in two; histograms
                // are built for the child with fewer rows and the other is
                // its parent's minus that one.
                work.counts.clear();
                work.counts.resize(nodes, 0);
                for &n in &work.node {
                    let count = &mut work.counts[usize::from(n)];
                    *count = count.wrapping_add(1);
                }
                work.small_right.clear();
                work.small_right
                    .extend((0..half).map(|p| work.counts[p + half] <= work.counts[p]));
                // Branch-free: write every position, keep the wanted ones.
                work.subset.clear();
                work.subset.resize(work.node.len(), 0);
                let mut kept = 0;
                for (i, &n) in (0u32..).zip(&work.node) {
                    let n = usize::from(n);
                    let wanted = (n >= half) == work.small_right[n & (half - 1)];
                    work.subset[kept] = i;
                    kept += usize::from(wanted);
                }
                work.subset.truncate(kept);
            }
            let (node, grad) = (&work.node, &work.grad);
            let (subset, small_right) = (&work.subset, &work.small_right);
            let best: Vec<(u8, f64)> = work
                .hists
                .par_iter_mut()
                .zip(&work.bins)
                .zip(&self.features)
                .map(|((hist, sampled), feature)| {
                    let bins = if whole { &feature.bins } else { sampled };
                    let nb = feature.n_bins();
                    if level == 0 {
                        hist.clear();
                        hist.resize(nb, [0.0; 2]);
                        for (&b, g) in bins.iter().zip(grad) {
                            let cell = &mut hist[usize::from(b)];
                            cell[0] += g[0];
                            cell[1] += g[1];
                        }
                    } else {
                        hist.resize(nodes * nb, [0.0; 2]);
                        let (parents, built) = hist.split_at_mut(half * nb);
                        for &i in subset {
                            let i = i as usize;
                            let parent = usize::from(node[i]) & (half - 1);
                            let cell = &mut built[parent * nb + usize::from(bins[i])];
                            cell[0] += grad[i][0];
                            cell[1] += grad[i][1];
                        }
                        let pairs = parents.chunks_exact_mut(nb).zip(built.chunks_exact_mut(nb));
                        for ((left, right), &small_is_right) in pairs.zip(small_right) {
                            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                                let parent = *l;
                                if small_is_right {
                                    *l = [parent[0] - r[0], parent[1] - r[1]];
                                } else {
                                    *l = *r;
                                    *r = [parent[0] - r[0], parent[1] - r[1]];
                                }
                            }
                        }
                    }
                    best_bin(hist, nodes, nb, params)
                })
                .collect();
            let mut chosen: Option<Split> = None;
            for (feature, &(bin, gain)) in best.iter().enumerate() {
                if gain > chosen.as_ref().map_or(0.0, |s| s.gain) {
                    chosen = Some(Split { feature, bin, gain });
                }
            }
            let Some(split) = chosen else { break };
            let bins = if whole {
                &self.features[split.feature].bins
            } else {
                &work.bins[split.feature]
            };
            for (n, &b) in work.node.iter_mut().zip(bins) {
                *n |= u16::from(b > split.bin) << level;
            }
            splits.push(split);
        }

        let leaves = 1usize << splits.len();
        let mut sums = vec![[0.0; 2]; leaves];
        for (&n, g) in work.node.iter().zip(&work.grad) {
            let cell = &mut sums[usize::from(n)];
            cell[0] += g[0];
            cell[1] += g[1];
        }
        ObliviousTree {
            features: splits.iter().map(|s| s.feature).collect(),
            thresholds: splits
                .iter()
                .map(|s| self.features[s.feature].thresholds[usize::from(s.bin)])
                .collect(),
            leaf_values: sums
                .iter()
                .map(|s| leaf_value(s[0], s[1], params))
                .collect(),
            leaf_weights: sums.iter().map(|s| s[1]).collect(),
            gains: splits.iter().map(|s| s.gain).collect(),
        }
    }
}

/// Buffers reused from tree to tree.
#[derive(Default)]
struct Work {
    rows: Vec<u32>,
    grad: Vec<[f64; 2]>,
    node: Vec<u16>,
    /// Bins of the sampled rows per feature (empty when all rows are used).
    bins: Vec<Vec<u8>>,
    hists: Vec<Vec<[f64; 2]>>,
    /// Rows per node of the current level.
    counts: Vec<u32>,
    /// Per node of the last level: whether its right child has fewer rows.
    small_right: Vec<bool>,
    /// Positions (in `rows`) of the rows in the smaller children.
    subset: Vec<u32>,
}

/// Scores by comparing raw values: `out[r] = base + sum of leaf values`.
fn score_direct(trees: &[ObliviousTree], base: f64, columns: &Columns, out: &mut [f64]) {
    out.fill(base);
    add_direct(trees, columns, 0, out);
}

/// Adds the leaf value of every tree to `out`, which holds rows
/// `first..first + out.len()` of `columns`, comparing raw values.
fn add_direct(trees: &[ObliviousTree], columns: &Columns, first: usize, out: &mut [f64]) {
    let mut index = [0u16; BLOCK];
    for (b, out_block) in out.chunks_mut(BLOCK).enumerate() {
        let start = first + b * BLOCK;
        let len = out_block.len();
        let index = &mut index[..len];
        for tree in trees {
            index.fill(0);
            for (level, (&f, &t)) in tree.features.iter().zip(&tree.thresholds).enumerate() {
                let column = &columns[f][start..start + len];
                for (i, &x) in index.iter_mut().zip(column) {
                    *i |= u16::from(x > t) << level;
                }
            }
            for (o, &i) in out_block.iter_mut().zip(index.iter()) {
                *o += tree.leaf_values[usize::from(i)];
            }
        }
    }
}

/// How a model scores a batch.
#[derive(Clone)]
enum Scorer {
    /// One-byte bins compared eight rows at a time.
    Binned(Binned),
    /// Raw comparisons, for trees deeper than 8, infinite thresholds or
    /// features split at more than 255 distinct thresholds.
    Direct,
}

impl Scorer {
    fn build(data: &ModelData) -> Self {
        match Binned::build(data) {
            Some(binned) => Scorer::Binned(binned),
            None => Scorer::Direct,
        }
    }
}

/// One level of a binned tree: rows whose bin is at least `bound` go right.
#[derive(Clone, Copy)]
struct Level {
    /// Index of the level's feature among the features the model uses.
    slot: usize,
    /// The low seven bits of `bound` in every byte.
    low: u64,
    /// Whether `bound` is 128 or more.
    high: bool,
    /// Moves a byte's top bit to this level's bit of the leaf index.
    shift: u32,
}

/// Eight rows' packed bins or leaf indices, four times: 32 rows.
type Quad = [u64; 4];
/// Quads per block.
const QUADS: usize = WORDS / 4;

/// The tables of the binned scorer. A "slot" is a feature the model uses.
#[derive(Clone)]
struct Binned {
    /// Feature of each slot.
    features: Vec<usize>,
    /// Sorted distinct thresholds of each slot, padded with `f64::MAX`.
    borders: Vec<[f64; 256]>,
    /// `log2` of the searched length of each slot's borders: a power of two
    /// above the threshold count.
    steps: Vec<u32>,
    /// Whether every slot has at most 127 thresholds, so bins stay below 128.
    narrow: bool,
    /// Levels of each tree.
    levels: Vec<Vec<Level>>,
    /// Leaf values of each tree padded to 256, so a byte indexes them.
    leaves: Vec<[f64; 256]>,
}

impl Binned {
    fn build(data: &ModelData) -> Option<Self> {
        if data.trees.iter().any(|t| t.depth() > 8) {
            return None;
        }
        let mut per_feature: Vec<Vec<f64>> = vec![Vec::new(); data.n_features];
        for tree in &data.trees {
            for (&f, &t) in tree.features.iter().zip(&tree.thresholds) {
                if !t.is_finite() {
                    return None;
                }
                // x > -0.0 exactly when x > 0.0; the search needs +0.0.
                per_feature.get_mut(f)?.push(t + 0.0);
            }
        }
        let mut slot_of = vec![usize::MAX; data.n_features];
        let (mut features, mut borders, mut steps) = (Vec::new(), Vec::new(), Vec::new());
        for (feature, thresholds) in per_feature.iter_mut().enumerate() {
            if thresholds.is_empty() {
                continue;
            }
            thresholds.sort_unstable_by(f64::total_cmp);
            thresholds.dedup();
            if thresholds.len() > 255 {
                return None;
            }
            let mut padded = [f64::MAX; 256];
            padded[..thresholds.len()].copy_from_slice(thresholds);
            slot_of[feature] = features.len();
            features.push(feature);
            borders.push(padded);
            steps.push((thresholds.len() + 1).next_power_of_two().trailing_zeros());
        }
        let levels = data
            .trees
            .iter()
            .map(|tree| {
                tree.features
                    .iter()
                    .zip(&tree.thresholds)
                    .enumerate()
                    .map(|(level, (&f, &t))| {
                        // x > t exactly when more than `rank` thresholds lie
                        // below x, i.e. when its bin is at least rank + 1.
                        let rank = per_feature[f].partition_point(|&b| b < t);
                        let bound = (rank + 1) as u64;
                        Level {
                            slot: slot_of[f],
                            low: (bound & 0x7f) * ONES,
                            high: bound >= 128,
                            shift: 7 - level as u32,
                        }
                    })
                    .collect()
            })
            .collect();
        let leaves = data
            .trees
            .iter()
            .map(|tree| {
                let mut padded = [0.0; 256];
                padded[..tree.leaf_values.len()].copy_from_slice(&tree.leaf_values);
                padded
            })
            .collect();
        Some(Self {
            narrow: steps.iter().all(|&s| s <= 7),
            features,
            borders,
            steps,
            levels,
            leaves,
        })
    }

    fn score(&self, base: f64, columns: &Columns, out: &mut [f64]) {
        let mut bins = vec![[[0u64; 4]; QUADS]; self.features.len()];
        let mut index = vec![[[0u64; 4]; QUADS]; self.levels.len()];
        for (b, out_block) in out.chunks_mut(BLOCK).enumerate() {
            let start = b * BLOCK;
            let len = out_block.len();
            let flag = if self.narrow { HIGH_BITS } else { 0 };
            let slots = self.features.iter().zip(&self.borders).zip(&self.steps);
            for (((&feature, borders), &steps), words) in slots.zip(bins.iter_mut()) {
                let words = words.as_flattened_mut();
                let column = &columns[feature][start..start + len];
                let (chunks, rest) = column.as_chunks::<8>();
                for (w, chunk) in words.iter_mut().zip(chunks) {
                    *w = bin8(borders, steps, chunk) | flag;
                }
                if let Some(w) = words.get_mut(chunks.len())
                    && !rest.is_empty()
                {
                    let mut last = [f64::NAN; 8];
                    last[..rest.len()].copy_from_slice(rest);
                    *w = bin8(borders, steps, &last) | flag;
                }
            }
            if self.narrow {
                self.leaf_indices::<true>(&bins, &mut index);
            } else {
                self.leaf_indices::<false>(&bins, &mut index);
            }
            for (w, out8) in out_block.chunks_mut(8).enumerate() {
                let (mut s0, mut s1, mut s2, mut s3) = (base, base, base, base);
                let (mut s4, mut s5, mut s6, mut s7) = (base, base, base, base);
                for (leaves, index) in self.leaves.iter().zip(&index) {
                    let x = index.as_flattened()[w];
                    s0 += leaves[(x & 0xff) as usize];
                    s1 += leaves[((x >> 8) & 0xff) as usize];
                    s2 += leaves[((x >> 16) & 0xff) as usize];
                    s3 += leaves[((x >> 24) & 0xff) as usize];
                    s4 += leaves[((x >> 32) & 0xff) as usize];
                    s5 += leaves[((x >> 40) & 0xff) as usize];
                    s6 += leaves[((x >> 48) & 0xff) as usize];
                    s7 += leaves[(x >> 56) as usize];
                }
                let sums = [s0, s1, s2, s3, s4, s5, s6, s7];
                out8.copy_from_slice(&sums[..out8.len()]);
            }
        }
    }

    /// The leaf index of every row of the block in every tree, one byte
    /// per row. With `NARROW` every bin is below 128 and stored with its top
    /// bit set, so a byte is at least a bound (below 128) exactly when
    /// subtracting the bound leaves that bit set.
    fn leaf_indices<const NARROW: bool>(
        &self,
        bins: &[[Quad; QUADS]],
        index: &mut [[Quad; QUADS]],
    ) {
        for (levels, index) in self.levels.iter().zip(index.iter_mut()) {
            for (q, out) in index.iter_mut().enumerate() {
                let (mut i0, mut i1, mut i2, mut i3) = (0, 0, 0, 0);
                for level in levels {
                    let [x0, x1, x2, x3] = bins[level.slot][q];
                    let (low, shift) = (level.low, level.shift);
                    if NARROW {
                        i0 |= (x0.wrapping_sub(low) & HIGH_BITS).wrapping_shr(shift);
                        i1 |= (x1.wrapping_sub(low) & HIGH_BITS).wrapping_shr(shift);
                        i2 |= (x2.wrapping_sub(low) & HIGH_BITS).wrapping_shr(shift);
                        i3 |= (x3.wrapping_sub(low) & HIGH_BITS).wrapping_shr(shift);
                    } else if level.high {
                        i0 |= at_least_high(x0, low).wrapping_shr(shift);
                        i1 |= at_least_high(x1, low).wrapping_shr(shift);
                        i2 |= at_least_high(x2, low).wrapping_shr(shift);
                        i3 |= at_least_high(x3, low).wrapping_shr(shift);
                    } else {
                        i0 |= at_least_low(x0, low).wrapping_shr(shift);
                        i1 |= at_least_low(x1, low).wrapping_shr(shift);
                        i2 |= at_least_low(x2, low).wrapping_shr(shift);
                        i3 |= at_least_low(x3, low).wrapping_shr(shift);
                    }
                }
                *out = [i0, i1, i2, i3];
            }
        }
    }
}

/// The bins of eight values, one per byte (little-endian): the number of
/// `borders` below each value, 0 for NaN, found by eight branch-free binary
/// searches run in step so their loads overlap. `borders` is sorted, finite,
/// without -0.0, and padded with `f64::MAX`; `+inf` may also count padding,
/// which only raises a bin that is already above every threshold.
#[inline]
fn bin8(borders: &[f64; 256], steps: u32, x: &[f64; 8]) -> u64 {
    // NaN becomes -inf, which is below no border.
    let x = [
        x[0].max(f64::NEG_INFINITY),
        x[1].max(f64::NEG_INFINITY),
        x[2].max(f64::NEG_INFINITY),
        x[3].max(f64::NEG_INFINITY),
        x[4].max(f64::NEG_INFINITY),
        x[5].max(f64::NEG_INFINITY),
        x[6].max(f64::NEG_INFINITY),
        x[7].max(f64::NEG_INFINITY),
    ];
    let mut p = [0usize; 8];
    for k in (0..steps.min(8)).rev() {
        // The bits of each position below bit k are still zero. For a
        // border b and a value x, b - x is negative (sign bit set) exactly
        // when b < x: equal values give +0.0, and infinite x gives an
        // infinite difference of the right sign.
        let probe = (1usize << k) - 1;
        macro_rules! search {
            ($($j:literal)*) => {$(
                let b = borders[(p[$j] | probe) & 255];
                let below = ((b - x[$j]).to_bits() >> 63) as usize;
                p[$j] |= below << k;
            )*};
        }
        search!(0 1 2 3 4 5 6 7);
    }
    macro_rules! pack {
        ($($j:literal)*) => { 0 $(| (p[$j] as u64 & 0xff) << (8 * $j))* };
    }
    pack!(0 1 2 3 4 5 6 7)
}

/// For eight bytes packed in `x` and a bound below 128 whose byte is
/// repeated in `low`: the top bit of each byte set iff the byte is at least
/// the bound. Per byte, `(x | 0x80) - low` lies in 1..=255, so it never
/// borrows from the next byte, and keeps its top bit exactly when the low
/// seven bits of `x` are at least the bound.
#[inline(always)]
fn at_least_low(x: u64, low: u64) -> u64 {
    (x | (x | HIGH_BITS).wrapping_sub(low)) & HIGH_BITS
}

/// As [`at_least_low`] for a bound of 128 or more, whose low seven bits are
/// repeated in `low`: the byte needs its top bit and enough in the rest.
#[inline(always)]
fn at_least_high(x: u64, low: u64) -> u64 {
    x & (x | HIGH_BITS).wrapping_sub(low) & HIGH_BITS
}

/// Floats written as strings in Rust's shortest round-trip form, read back
/// from strings or numbers.
mod exact {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    struct Exact(f64);

    impl Serialize for Exact {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&format_args!("{:?}", self.0))
        }
    }

    struct ExactVisitor;

    impl Visitor<'_> for ExactVisitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, or a string holding one")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    impl<'de> Deserialize<'de> for Exact {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ExactVisitor).map(Exact)
        }
    }

    pub mod scalar {
        use super::*;

        pub fn serialize<S: Serializer>(v: &f64, serializer: S) -> Result<S::Ok, S::Error> {
            Exact(*v).serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
            Exact::deserialize(deserializer).map(|e| e.0)
        }
    }

    pub mod vec {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(v.iter().map(|&x| Exact(x)))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<f64>, D::Error> {
            let v = Vec::<Exact>::deserialize(deserializer)?;
            Ok(v.into_iter().map(|e| e.0).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(columns: &[Vec<f64>]) -> Vec<&[f64]> {
        columns.iter().map(Vec::as_slice).collect()
    }

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        let v: f64 = rng.random();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn fit(
        columns: &[Vec<f64>],
        y: &[f64],
        valid: Option<(&[Vec<f64>], &[f64])>,
        params: &GbdtParams,
    ) -> (Gbdt, FitReport) {
        let train = view(columns);
        let valid_view = valid.map(|(c, y)| (view(c), y));
        let valid = valid_view.as_ref().map(|(c, y)| (c.as_slice(), *y));
        Gbdt::fit(&train, y, valid, params, &mut |_, _| {}).expect("the fit succeeds")
    }

    fn margins(model: &Gbdt, columns: &[Vec<f64>]) -> Vec<f64> {
        let mut out = vec![0.0; columns[0].len()];
        model
            .predict_margin(&view(columns), &mut out)
            .expect("scoring succeeds");
        out
    }

    /// Base score plus one leaf per tree, walking each row on its own.
    fn naive_margin(model: &Gbdt, row: &[f64]) -> f64 {
        let mut margin = model.base_score();
        for tree in model.trees() {
            let mut leaf = 0;
            for level in 0..tree.depth() {
                if row[tree.features()[level]] > tree.thresholds()[level] {
                    leaf += 1 << level;
                }
            }
            margin += tree.leaf_values()[leaf];
        }
        margin
    }

    fn row(columns: &[Vec<f64>], r: usize) -> Vec<f64> {
        columns.iter().map(|c| c[r]).collect()
    }

    /// Area under the ROC curve by the rank-sum formula, ties averaged.
    fn auc(scores: &[f64], labels: &[f64]) -> f64 {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        let mut rank_sum = 0.0;
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
                j += 1;
            }
            let rank = (i + j) as f64 / 2.0 + 1.0;
            rank_sum += order[i..=j].iter().map(|&r| labels[r] * rank).sum::<f64>();
            i = j + 1;
        }
        let positives: f64 = labels.iter().sum();
        let negatives = labels.len() as f64 - positives;
        (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
    }

    fn exact_params(objective: Objective) -> GbdtParams {
        GbdtParams {
            objective,
            trees: 1,
            depth: 1,
            learning_rate: 1.0,
            l2: 0.0,
            min_child_weight: 0.0,
            subsample: 1.0,
            early_stopping_rounds: None,
            ..GbdtParams::default()
        }
    }

    /// Two classes drawn from unit Gaussians whose means differ by
    /// (0.8, 0.6) in the first two features; the others are noise.
    fn gaussians(rows: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut columns: Vec<Vec<f64>> = (0..5).map(|_| Vec::with_capacity(rows)).collect();
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let label = f64::from(u8::from(rng.random_bool(0.5)));
            let shift = [0.8 * label, 0.6 * label, 0.0, 0.0, 0.0];
            for (c, s) in columns.iter_mut().zip(shift) {
                c.push(normal(&mut rng) + s);
            }
            y.push(label);
        }
        (columns, y)
    }

    /// Noisy data with missing and infinite values in every feature.
    fn messy(rows: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut columns: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(rows)).collect();
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let x: Vec<f64> = (0..4)
                .map(|_| match rng.random_range(0..20) {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    _ => normal(&mut rng),
                })
                .collect();
            let signal = if x[0].is_nan() {
                1.5
            } else {
                x[0].clamp(-3.0, 3.0)
            } + 0.5 * x[1].clamp(-2.0, 2.0)
                + if x[2] > 0.0 { 0.5 } else { -0.5 };
            y.push(f64::from(u8::from(signal + normal(&mut rng) > 0.0)));
            for (c, v) in columns.iter_mut().zip(x) {
                c.push(v);
            }
        }
        (columns, y)
    }

    #[test]
    fn squared_error_stump_is_computed_exactly() {
        let columns = vec![vec![1.0, 2.0, 3.0, 4.0]];
        let y = [0.0, 0.0, 10.0, 10.0];
        let (model, report) = fit(&columns, &y, None, &exact_params(Objective::SquaredError));
        assert_eq!(report.trees, 1);
        assert_eq!(model.base_score(), 5.0);
        let tree = &model.trees()[0];
        assert_eq!(tree.features(), &[0]);
        assert_eq!(tree.thresholds(), &[2.5]);
        assert_eq!(tree.leaf_values(), &[-5.0, 5.0]);
        assert_eq!(tree.leaf_weights(), &[2.0, 2.0]);
        // Gain: 10²/2 + 10²/2 - 0²/4.
        assert_eq!(tree.split_gains(), &[100.0]);
        assert_eq!(margins(&model, &columns), vec![0.0, 0.0, 10.0, 10.0]);
        let mut out = vec![0.0; 3];
        let probe = [2.5, 2.5000001, f64::NAN];
        model
            .predict(&[&probe[..]], &mut out)
            .expect("scoring succeeds");
        assert_eq!(out, vec![0.0, 10.0, 0.0]);
        assert_eq!(report.train_loss, vec![0.0]);
    }

    #[test]
    fn logistic_leaves_are_computed_by_hand() {
        let columns = vec![(1..=8).map(f64::from).collect::<Vec<_>>()];
        let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let params = GbdtParams {
            l2: 0.5,
            ..exact_params(Objective::Logistic)
        };
        let (model, _) = fit(&columns, &y, None, &params);
        // Base: log-odds of 5/8; every row then has p = 5/8, so
        // g = p - y and h = p(1 - p) = 15/64.
        let base = (5.0f64 / 3.0).ln();
        assert!((model.base_score() - base).abs() < 1e-15);
        let (p, h) = (0.625, 0.234375);
        let (g_left, h_left) = (3.0 * p, 3.0 * h);
        let (g_right, h_right) = (5.0 * (p - 1.0), 5.0 * h);
        let tree = &model.trees()[0];
        assert_eq!(tree.thresholds(), &[3.5]);
        let want = [-g_left / (h_left + 0.5), -g_right / (h_right + 0.5)];
        for (got, want) in tree.leaf_values().iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        let gain = g_left * g_left / (h_left + 0.5) + g_right * g_right / (h_right + 0.5)
            - (g_left + g_right).powi(2) / (h_left + h_right + 0.5);
        assert!((tree.split_gains()[0] - gain).abs() < 1e-12);
        let mut out = vec![0.0; 8];
        model
            .predict(&view(&columns), &mut out)
            .expect("scoring succeeds");
        let low = sigmoid(base + want[0]);
        assert!((out[0] - low).abs() < 1e-12 && (out[7] - sigmoid(base + want[1])).abs() < 1e-12);
    }

    #[test]
    fn positive_weight_shifts_the_base_score() {
        let columns = vec![vec![0.0, 1.0, 2.0, 3.0]];
        let y = [0.0, 0.0, 0.0, 1.0];
        let params = GbdtParams {
            positive_weight: 3.0,
            ..exact_params(Objective::Logistic)
        };
        let (model, _) = fit(&columns, &y, None, &params);
        // Weighted mean label 3/6: log-odds 0.
        assert!(model.base_score().abs() < 1e-15);
    }

    #[test]
    fn two_gaussians_reach_the_bayes_auc() {
        let (train, y) = gaussians(20_000, 1);
        let (valid, yv) = gaussians(10_000, 2);
        let (test, yt) = gaussians(100_000, 3);
        let (model, report) = fit(&train, &y, Some((&valid, &yv)), &GbdtParams::default());
        assert!(report.trees >= 20, "{report:?}");
        let mut p = vec![0.0; yt.len()];
        model
            .predict(&view(&test), &mut p)
            .expect("scoring succeeds");
        assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // The optimal score is linear with separation |Δμ| = 1, so the
        // Bayes AUC is Φ(1/√2) = (1 + erf(1/2)) / 2.
        let bayes = 0.760_249_938_9;
        let got = auc(&p, &yt);
        assert!((got - bayes).abs() < 0.01, "AUC {got} vs {bayes}");
        let importance = model.feature_importance();
        assert!(importance[0] + importance[1] > 0.8, "{importance:?}");
    }

    #[test]
    fn sine_regression_reaches_the_noise_floor() {
        let sample = |rows: usize, seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let x: Vec<f64> = (0..rows)
                .map(|_| rng.random_range(0.0..std::f64::consts::TAU))
                .collect();
            let y: Vec<f64> = x.iter().map(|v| v.sin() + 0.3 * normal(&mut rng)).collect();
            (vec![x], y)
        };
        let (train, y) = sample(20_000, 4);
        let (valid, yv) = sample(5_000, 5);
        let (test, yt) = sample(20_000, 6);
        let params = GbdtParams {
            objective: Objective::SquaredError,
            ..GbdtParams::default()
        };
        let (model, _) = fit(&train, &y, Some((&valid, &yv)), &params);
        let mut p = vec![0.0; yt.len()];
        model
            .predict(&view(&test), &mut p)
            .expect("scoring succeeds");
        let rmse = |truth: &mut dyn Iterator<Item = f64>| {
            let total: f64 = p.iter().zip(truth).map(|(a, b)| (a - b) * (a - b)).sum();
            (total / p.len() as f64).sqrt()
        };
        let noisy = rmse(&mut yt.iter().copied());
        let clean = rmse(&mut test[0].iter().map(|v| v.sin()));
        assert!(
            noisy < 0.31 && noisy > 0.29,
            "RMSE {noisy} against noise sd 0.3"
        );
        assert!(clean < 0.06, "RMSE {clean} against sin(x)");
    }

    #[test]
    fn early_stopping_keeps_the_best_validation_round() {
        let (train, y) = messy(400, 7);
        let (valid, yv) = messy(2_000, 8);
        let params = GbdtParams {
            trees: 1_000,
            learning_rate: 0.5,
            l2: 0.0,
            min_child_weight: 0.0,
            early_stopping_rounds: Some(5),
            ..GbdtParams::default()
        };
        let mut calls = Vec::new();
        let train_view = view(&train);
        let valid_view = view(&valid);
        let (model, report) = Gbdt::fit(
            &train_view,
            &y,
            Some((&valid_view, &yv)),
            &params,
            &mut |done, max| calls.push((done, max)),
        )
        .expect("the fit succeeds");
        let best = report.best_iteration;
        let built = report.valid_loss.len();
        assert!(built < 1_000, "stopped after {built} trees");
        assert_eq!(built, best + 1 + 5);
        assert_eq!(report.train_loss.len(), built);
        assert_eq!(report.trees, best + 1);
        assert_eq!(model.trees().len(), best + 1);
        assert_eq!(model.best_iteration(), best);
        let min = report
            .valid_loss
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert_eq!(report.valid_loss[best], min);
        assert!(report.valid_loss[best..].iter().skip(1).all(|&l| l >= min));
        // The truncated model scores the validation set at exactly that loss.
        let kept = margins(&model, &valid);
        assert_eq!(loss(Objective::Logistic, 1.0, &kept, &yv), min);
        // The training loss keeps falling while the validation loss rises.
        assert!(report.train_loss[built - 1] < report.train_loss[best]);
        assert_eq!(calls, (1..=built).map(|d| (d, 1_000)).collect::<Vec<_>>());
    }

    #[test]
    fn batch_scoring_matches_a_naive_walk_with_nan_and_inf() {
        let (train, y) = messy(5_000, 9);
        let params = GbdtParams {
            trees: 60,
            ..GbdtParams::default()
        };
        let (model, _) = fit(&train, &y, None, &params);
        assert!(matches!(model.scorer, Scorer::Binned(_)));
        // The missing values are informative, so some split is "present".
        let thresholds = model.trees().iter().flat_map(|t| t.thresholds());
        assert!(thresholds.clone().any(|&t| t == f64::MIN));
        assert!(model.trees().iter().all(|t| t.depth() == 6));

        // 1,000 rows (not a whole number of blocks), with edge values.
        let (mut test, _) = messy(1_000, 10);
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN,
            f64::MAX,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
        ];
        for (r, &v) in specials.iter().enumerate() {
            for c in &mut test {
                c[r] = v;
            }
        }
        // Values exactly on thresholds go left.
        for (r, (tree, level)) in (100..).zip(
            model
                .trees()
                .iter()
                .flat_map(|t| (0..t.depth()).map(move |l| (t, l))),
        ) {
            if r >= 1_000 {
                break;
            }
            test[tree.features()[level]][r] = tree.thresholds()[level];
        }
        let got = margins(&model, &test);
        let mut direct = vec![0.0; 1_000];
        score_direct(
            &model.data.trees,
            model.base_score(),
            &view(&test),
            &mut direct,
        );
        for r in 0..1_000 {
            let x = row(&test, r);
            let want = naive_margin(&model, &x);
            assert_eq!(got[r], want, "row {r}: {x:?}");
            assert_eq!(direct[r], want, "row {r}");
            assert_eq!(model.predict_margin_row(&x).expect("row"), want);
            let (contributions, bias) = model.contributions(&x).expect("row");
            let total = bias + contributions.iter().sum::<f64>();
            assert!((total - want).abs() < 1e-9, "row {r}: {total} vs {want}");
        }
        // Training rows score as the fit left their margins.
        let mut out = vec![0.0; 5_000];
        model
            .predict_margin(&view(&train), &mut out)
            .expect("scoring succeeds");
        assert!(
            out.iter()
                .zip(0..)
                .all(|(&m, r)| m == naive_margin(&model, &row(&train, r)))
        );
    }

    #[test]
    fn contributions_credit_the_informative_feature() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 4_000;
        let x0: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let x1: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let y: Vec<f64> = x0
            .iter()
            .map(|v| 3.0 * v + 0.1 * normal(&mut rng))
            .collect();
        let params = GbdtParams {
            objective: Objective::SquaredError,
            trees: 100,
            ..GbdtParams::default()
        };
        let (model, _) = fit(&[x0, x1], &y, None, &params);
        let (high, bias) = model.contributions(&[2.0, 0.0]).expect("row");
        let (low, _) = model.contributions(&[-2.0, 0.0]).expect("row");
        assert!(high[0] > 4.0 && low[0] < -4.0, "{high:?} {low:?}");
        assert!(
            high[1].abs() < 0.3 && low[1].abs() < 0.3,
            "{high:?} {low:?}"
        );
        assert!(bias.abs() < 0.5, "bias {bias}");
    }

    #[test]
    fn deep_trees_and_crowded_features_score_directly() {
        let (train, y) = messy(3_000, 12);
        let params = GbdtParams {
            trees: 5,
            depth: 10,
            min_child_weight: 0.0,
            ..GbdtParams::default()
        };
        let (model, _) = fit(&train, &y, None, &params);
        assert!(model.trees().iter().any(|t| t.depth() > 8));
        assert!(matches!(model.scorer, Scorer::Direct));
        let (test, _) = messy(700, 13);
        let got = margins(&model, &test);
        for (r, &g) in got.iter().enumerate() {
            assert_eq!(g, naive_margin(&model, &row(&test, r)));
        }

        // 300 stumps on one feature, each at its own threshold.
        let trees: Vec<serde_json::Value> = (0..300)
            .map(|i| {
                serde_json::json!({
                    "features": [0], "thresholds": [f64::from(i) / 10.0],
                    "leaf_values": [-0.01, 0.01], "leaf_weights": [1, 1], "gains": [1]
                })
            })
            .collect();
        let json = serde_json::json!({
            "objective": "squared_error", "n_features": 1, "base_score": 0.5,
            "best_iteration": 299, "trees": trees
        });
        let model: Gbdt = serde_json::from_value(json).expect("a valid model");
        assert!(matches!(model.scorer, Scorer::Direct));
        let x: Vec<f64> = (0..400).map(|i| f64::from(i) / 13.0 - 2.0).collect();
        let got = margins(&model, std::slice::from_ref(&x));
        for (&g, &v) in got.iter().zip(&x) {
            assert_eq!(g, naive_margin(&model, &[v]));
        }
    }

    #[test]
    fn features_with_more_than_127_thresholds_use_wide_bins() {
        // 200 depth-2 trees over two features; feature 0 gets 200 distinct
        // thresholds, so its bins need all eight bits.
        let trees: Vec<serde_json::Value> = (0..200)
            .map(|i| {
                let v = f64::from(i);
                serde_json::json!({
                    "features": [0, 1], "thresholds": [v / 10.0 - 10.0, -v / 50.0],
                    "leaf_values": [-0.01 * v, 0.02, 0.003 * v, -0.5],
                    "leaf_weights": [1, 2, 3, 4], "gains": [1, 1]
                })
            })
            .collect();
        let json = serde_json::json!({
            "objective": "logistic", "n_features": 2, "base_score": -0.25,
            "best_iteration": 199, "trees": trees
        });
        let model: Gbdt = serde_json::from_value(json).expect("a valid model");
        assert!(matches!(&model.scorer, Scorer::Binned(b) if !b.narrow));
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        let n = 3_000;
        let mut x0: Vec<f64> = (0..n).map(|_| rng.random_range(-12.0..12.0)).collect();
        let mut x1: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..1.0)).collect();
        for i in 0..200 {
            // Exactly on the thresholds, and the specials.
            x0[i] = f64::from(i as u32) / 10.0 - 10.0;
            x1[i + 200] = -f64::from(i as u32) / 50.0;
        }
        for (i, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]
            .into_iter()
            .enumerate()
        {
            x0[500 + i] = v;
            x1[600 + i] = v;
        }
        let columns = vec![x0, x1];
        let got = margins(&model, &columns);
        for (r, &g) in got.iter().enumerate() {
            assert_eq!(g, naive_margin(&model, &row(&columns, r)), "row {r}");
        }
    }

    #[test]
    fn bins_of_edge_values_count_the_thresholds_below() {
        let thresholds = [
            -f64::MAX,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            5e-324,
            1.0,
            f64::MAX,
        ];
        let mut borders = [f64::MAX; 256];
        borders[..thresholds.len()].copy_from_slice(&thresholds);
        let steps = (thresholds.len() + 1).next_power_of_two().trailing_zeros();
        let values = [
            f64::NAN,
            -f64::NAN,
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.5,
            -1.0,
            -0.0,
            0.0,
            5e-324,
            1e-300,
            1.0,
            f64::MAX,
            f64::INFINITY,
            0.5,
            -1e-310,
            2.0,
        ];
        for chunk in values.chunks_exact(8) {
            let mut x = [0.0; 8];
            x.copy_from_slice(chunk);
            let packed = bin8(&borders, steps, &x);
            for (j, &v) in chunk.iter().enumerate() {
                let bin = (packed >> (8 * j)) & 0xff;
                let below = thresholds.iter().filter(|&&t| v > t).count() as u64;
                if v == f64::INFINITY {
                    // Padding may count too; the bin stays above every rank.
                    assert!(bin >= below, "{v}: {bin} vs {below}");
                } else {
                    assert_eq!(bin, below, "{v}");
                }
            }
        }
    }

    #[test]
    fn swar_comparison_matches_bytes_for_every_bin_and_bound() {
        for bound in 1u64..=255 {
            let low = (bound & 0x7f) * ONES;
            for start in (0u64..256).step_by(8) {
                let bytes: Vec<u8> = (start..start + 8).map(|b| b as u8).collect();
                let mut packed = [0u8; 8];
                packed.copy_from_slice(&bytes);
                let x = u64::from_le_bytes(packed);
                let got = if bound >= 128 {
                    at_least_high(x, low)
                } else {
                    at_least_low(x, low)
                };
                for (j, &b) in bytes.iter().enumerate() {
                    let bit = (got >> (8 * j + 7)) & 1;
                    assert_eq!(bit == 1, u64::from(b) >= bound, "byte {b}, bound {bound}");
                }
                assert_eq!(got & !HIGH_BITS, 0);
            }
        }
    }

    #[test]
    fn json_round_trip_scores_identically() {
        let (train, y) = messy(3_000, 14);
        let params = GbdtParams {
            trees: 40,
            ..GbdtParams::default()
        };
        let (model, _) = fit(&train, &y, None, &params);
        let json = serde_json::to_string(&model).expect("serialises");
        let back: Gbdt = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back.trees(), model.trees());
        assert_eq!(back.base_score(), model.base_score());
        let (test, _) = messy(1_000, 15);
        let (mut a, mut b) = (vec![0.0; 1_000], vec![0.0; 1_000]);
        model.predict(&view(&test), &mut a).expect("scores");
        back.predict(&view(&test), &mut b).expect("scores");
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
        assert_eq!(back.feature_importance(), model.feature_importance());

        // Inconsistent models are refused with a reason.
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        value["trees"][0]["features"][0] = serde_json::json!(9);
        let err = serde_json::from_value::<Gbdt>(value).expect_err("feature out of range");
        assert!(err.to_string().contains("feature 9 of 4"), "{err}");
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        value["trees"][1]["leaf_values"] = serde_json::json!([1.0]);
        let err = serde_json::from_value::<Gbdt>(value).expect_err("leaf count");
        assert!(err.to_string().contains("tree 1"), "{err}");
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
        value["trees"][0]["thresholds"][0] = serde_json::json!("NaN");
        assert!(serde_json::from_value::<Gbdt>(value).is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let good = vec![vec![1.0, 2.0, 3.0], vec![0.0, 1.0, 0.0]];
        let y = [0.0, 1.0, 1.0];
        let params = GbdtParams::default();
        let attempt = |columns: &[Vec<f64>], y: &[f64], params: &GbdtParams| {
            Gbdt::fit(&view(columns), y, None, params, &mut |_, _| {}).map(|_| ())
        };
        assert!(matches!(
            attempt(&[vec![], vec![]], &[], &params),
            Err(GbdtError::NoRows { set: "training" })
        ));
        assert!(matches!(
            attempt(&[], &[], &params),
            Err(GbdtError::NoFeatures { .. })
        ));
        assert!(matches!(
            attempt(&[vec![1.0, 2.0, 3.0], vec![1.0]], &y, &params),
            Err(GbdtError::ColumnLength {
                column: 1,
                len: 1,
                expected: 3,
                ..
            })
        ));
        assert!(matches!(
            attempt(&good, &[0.0, 1.0], &params),
            Err(GbdtError::LabelCount {
                labels: 2,
                rows: 3,
                ..
            })
        ));
        let err = attempt(&good, &[0.0, 2.0, 1.0], &params).expect_err("label 2");
        assert_eq!(
            err.to_string(),
            "training label 1 is 2; the logistic objective needs labels 0 or 1"
        );
        assert!(matches!(
            attempt(&good, &[0.0, f64::NAN, 1.0], &params),
            Err(GbdtError::NonFiniteLabel { index: 1, .. })
        ));
        let regression = GbdtParams {
            objective: Objective::SquaredError,
            ..GbdtParams::default()
        };
        assert!(attempt(&good, &[0.0, 2.5, -7.0], &regression).is_ok());
        assert!(matches!(
            attempt(&good, &[0.0, f64::INFINITY, 1.0], &regression),
            Err(GbdtError::NonFiniteLabel { .. })
        ));

        let bad: [(&str, GbdtParams); 13] = [
            (
                "trees",
                GbdtParams {
                    trees: 0,
                    ..GbdtParams::default()
                },
            ),
            (
                "depth",
                GbdtParams {
                    depth: 0,
                    ..GbdtParams::default()
                },
            ),
            (
                "depth",
                GbdtParams {
                    depth: 11,
                    ..GbdtParams::default()
                },
            ),
            (
                "learning_rate",
                GbdtParams {
                    learning_rate: 0.0,
                    ..GbdtParams::default()
                },
            ),
            (
                "learning_rate",
                GbdtParams {
                    learning_rate: f64::NAN,
                    ..GbdtParams::default()
                },
            ),
            (
                "l2",
                GbdtParams {
                    l2: -1.0,
                    ..GbdtParams::default()
                },
            ),
            (
                "min_child_weight",
                GbdtParams {
                    min_child_weight: f64::INFINITY,
                    ..GbdtParams::default()
                },
            ),
            (
                "max_bins",
                GbdtParams {
                    max_bins: 2,
                    ..GbdtParams::default()
                },
            ),
            (
                "max_bins",
                GbdtParams {
                    max_bins: 256,
                    ..GbdtParams::default()
                },
            ),
            (
                "subsample",
                GbdtParams {
                    subsample: 0.0,
                    ..GbdtParams::default()
                },
            ),
            (
                "subsample",
                GbdtParams {
                    subsample: 1.5,
                    ..GbdtParams::default()
                },
            ),
            (
                "early_stopping_rounds",
                GbdtParams {
                    early_stopping_rounds: Some(0),
                    ..GbdtParams::default()
                },
            ),
            (
                "positive_weight",
                GbdtParams {
                    positive_weight: 0.0,
                    ..GbdtParams::default()
                },
            ),
        ];
        for (name, params) in &bad {
            let got = attempt(&good, &y, params);
            assert!(
                matches!(got, Err(GbdtError::BadParam { name: n, .. }) if n == *name),
                "{name}: {got:?}"
            );
        }
        let err = attempt(&good, &y, &bad[2].1).expect_err("depth 11");
        assert_eq!(err.to_string(), "parameter depth is 11; allowed: 1 to 10");

        let (model, _) = fit(&good, &y, None, &params);
        let mut out = vec![0.0; 3];
        assert!(matches!(
            model.predict(&view(&good[..1]), &mut out),
            Err(GbdtError::FeatureCount {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let mut short = vec![0.0; 2];
        assert!(matches!(
            model.predict_margin(&view(&good), &mut short),
            Err(GbdtError::ColumnLength { .. })
        ));
        assert!(model.contributions(&[1.0]).is_err());
        assert!(model.predict_margin_row(&[1.0, 2.0, 3.0]).is_err());
        let mut none: Vec<f64> = Vec::new();
        assert!(model.predict(&view(&[vec![], vec![]]), &mut none).is_ok());

        let valid = vec![vec![1.0, 2.0]];
        let train_view = view(&good);
        let valid_view = view(&valid);
        assert!(matches!(
            Gbdt::fit(
                &train_view,
                &y,
                Some((&valid_view, &[0.0, 1.0])),
                &params,
                &mut |_, _| {}
            ),
            Err(GbdtError::FeatureCount {
                set: "validation",
                ..
            })
        ));

        let parsed: GbdtParams = serde_json::from_str("{}").expect("defaults");
        assert_eq!(parsed, GbdtParams::default());
        let parsed: GbdtParams =
            serde_json::from_str(r#"{"objective":"squared_error","early_stopping_rounds":null}"#)
                .expect("a spec");
        assert_eq!(parsed.objective, Objective::SquaredError);
        assert_eq!(parsed.early_stopping_rounds, None);
        assert!(serde_json::from_str::<GbdtParams>(r#"{"tress":10}"#).is_err());
    }

    #[test]
    fn importance_goes_to_the_only_informative_feature() {
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        let n = 5_000;
        let columns: Vec<Vec<f64>> = (0..4)
            .map(|_| (0..n).map(|_| normal(&mut rng)).collect())
            .collect();
        let y: Vec<f64> = columns[0]
            .iter()
            .map(|&v| f64::from(u8::from(v + 0.3 * normal(&mut rng) > 0.0)))
            .collect();
        let (model, _) = fit(
            &columns,
            &y,
            None,
            &GbdtParams {
                trees: 100,
                ..GbdtParams::default()
            },
        );
        let importance = model.feature_importance();
        assert!(importance[0] > 0.9, "{importance:?}");
        assert!((importance.iter().sum::<f64>() - 1.0).abs() < 1e-12);

        // A constant feature gives nothing to split on.
        let (flat, _) = fit(
            &[vec![1.0; 50]],
            &[1.0; 50],
            None,
            &exact_params(Objective::SquaredError),
        );
        assert_eq!(flat.feature_importance(), vec![0.0]);
        assert_eq!(flat.trees()[0].depth(), 0);
        assert_eq!(margins(&flat, &[vec![1.0, f64::NAN]]), vec![1.0, 1.0]);
    }

    #[test]
    fn missing_values_get_their_own_split() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let x: Vec<f64> = (0..2_000)
            .map(|i| {
                if i % 3 == 0 {
                    f64::NAN
                } else {
                    normal(&mut rng)
                }
            })
            .collect();
        let y: Vec<f64> = x.iter().map(|v| f64::from(u8::from(v.is_nan()))).collect();
        let (model, _) = fit(&[x], &y, None, &exact_params(Objective::SquaredError));
        assert_eq!(model.trees()[0].thresholds(), &[f64::MIN]);
        let got = margins(&model, &[vec![f64::NAN, -1e300, 0.0, f64::INFINITY]]);
        let want = [1.0, 0.0, 0.0, 0.0];
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12),
            "{got:?}"
        );
    }

    #[test]
    fn degenerate_data_fits_and_scores_finitely() {
        let params = GbdtParams {
            trees: 20,
            l2: 0.0,
            learning_rate: 1.0,
            min_child_weight: 0.0,
            ..GbdtParams::default()
        };
        let cases: Vec<(Vec<Vec<f64>>, Vec<f64>)> = vec![
            // One row.
            (vec![vec![1.0]], vec![1.0]),
            // Only missing values, all labels 0.
            (vec![vec![f64::NAN; 30], vec![f64::NAN; 30]], vec![0.0; 30]),
            // Separable with no regularisation: margins run away.
            (
                vec![(0..40).map(f64::from).collect()],
                (0..40).map(|i| f64::from(u8::from(i >= 20))).collect(),
            ),
            // Extreme magnitudes only.
            (
                vec![vec![
                    f64::MAX,
                    -f64::MAX,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::MIN,
                    0.0,
                ]],
                vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
            ),
        ];
        for (columns, y) in &cases {
            let (model, report) = fit(columns, y, None, &params);
            assert!(report.train_loss.iter().all(|l| !l.is_nan()), "{report:?}");
            let mut p = vec![0.0; y.len()];
            model.predict(&view(columns), &mut p).expect("scores");
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{p:?}");
            let (c, bias) = model.contributions(&row(columns, 0)).expect("row");
            assert!(c.iter().all(|v| v.is_finite()) && bias.is_finite());
        }
    }

    #[test]
    fn fits_are_deterministic() {
        let (train, y) = messy(3_000, 18);
        let params = GbdtParams {
            trees: 30,
            ..GbdtParams::default()
        };
        let (a, ra) = fit(&train, &y, None, &params);
        let (b, rb) = fit(&train, &y, None, &params);
        assert_eq!(a.trees(), b.trees());
        assert_eq!(ra, rb);
        let (c, _) = fit(&train, &y, None, &GbdtParams { seed: 8, ..params });
        assert_ne!(a.trees(), c.trees());
    }

    #[test]
    fn bins_respect_the_limit_and_keep_ties_together() {
        let column: Vec<f64> = (0..10_000).map(|i| f64::from(i % 1_000)).collect();
        let feature = BinnedFeature::new(&column, 16);
        assert!(feature.n_bins() <= 16);
        assert_eq!(feature.thresholds[0], f64::MIN);
        assert!(feature.thresholds.windows(2).all(|w| w[0] < w[1]));
        for (&x, &b) in column.iter().zip(&feature.bins) {
            let rank = feature.thresholds.iter().filter(|&&t| x > t).count();
            assert_eq!(usize::from(b), rank);
        }
        let extremes = [
            f64::NEG_INFINITY,
            -f64::MAX,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        let feature = BinnedFeature::new(&extremes, 255);
        assert!(feature.thresholds.iter().all(|t| t.is_finite()));
        assert_eq!(feature.bins, vec![0, 0, 1, 2, 0]);
    }
}
