//! Isolation forest (Liu, Ting and Zhou 2008): anomalies are few and
//! different, so random axis-parallel splits isolate them in fewer steps
//! than normal rows. Each tree is grown on a random subsample of
//! `sample_size` rows, splitting on a random feature at a random value
//! between the node's minimum and maximum, down to a height limit of
//! `ceil(log2(sample_size))`. A row's anomaly score is
//! `s(x) = 2^(-E[h(x)] / c(psi))`, where `h(x)` is the path length to the
//! row's leaf plus `c(leaf size)` for the part of the tree left unbuilt,
//! and `c(psi)` the average path length of an unsuccessful search in a
//! binary search tree of the subsample size. Scores are in (0, 1]; around
//! 0.5 and below is normal, close to 1 is anomalous.
//!
//! Missing values: NaN and ±infinity are treated as missing. When growing a
//! tree, split values are chosen among the non-missing values of the node,
//! and rows missing the split feature follow the child that received more of
//! the node's non-missing rows (the left one on a tie). Scoring sends a
//! missing value the same way, so a missing value looks typical rather than
//! anomalous. A node where every feature is constant (or missing) becomes a
//! leaf; a feature that is constant at a node is passed over for another.
//!
//! Models are deterministic given the seed: tree `t` draws from its own
//! ChaCha8 stream `t` of the seed.

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The Euler-Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_9;

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// Settings of [`IsolationForest::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IForestParams {
    /// Number of trees; at least 1. Default 100.
    pub trees: usize,
    /// Rows drawn (without replacement) for each tree; at least 2. When the
    /// data has fewer rows, every tree uses all of them. Default 256.
    pub sample_size: usize,
    /// Seed of the random choices. Default 7.
    pub seed: u64,
}

impl Default for IForestParams {
    fn default() -> Self {
        Self {
            trees: 100,
            sample_size: 256,
            seed: 7,
        }
    }
}

/// Why an isolation forest could not be fitted or applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IForestError {
    /// No feature columns were given.
    #[error("no feature columns given")]
    NoFeatures,
    /// Fewer than two rows to fit on.
    #[error("an isolation forest needs at least 2 rows to fit on, got {0}")]
    TooFewRows(usize),
    /// Feature columns of different lengths.
    #[error("feature column {column} has {len} rows but column 0 has {expected}")]
    Ragged {
        /// The offending column.
        column: usize,
        /// Its length.
        len: usize,
        /// The length of column 0.
        expected: usize,
    },
    /// Input with a different number of features than the model.
    #[error("the model was fitted on {expected} features but {got} were given")]
    FeatureCount {
        /// Features of the model.
        expected: usize,
        /// Features given.
        got: usize,
    },
    /// Output buffer of the wrong length.
    #[error("the output has room for {got} scores but there are {expected} rows")]
    OutputLength {
        /// Rows to score.
        expected: usize,
        /// Length of the output.
        got: usize,
    },
    /// Invalid parameters.
    #[error("invalid isolation forest parameters: {0}")]
    BadParams(String),
    /// A deserialised model that does not hold together.
    #[error("invalid isolation forest model: {0}")]
    BadModel(String),
}

/// One node of a tree, stored flat. A split sends `x <= value` to `left`
/// and everything else to `left + 1`; a leaf holds in `value` its depth plus
/// `c(size)`, the whole path length credited to rows ending there.
///
/// Serialised compactly as `[feature, left, size, missing_right, bits]`,
/// the value as the `u64` of its bits: text formats do not always parse a
/// printed float back to the same value, and a model must score the same
/// after a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "NodeRepr", into = "NodeRepr")]
struct Node {
    /// Split feature, or [`LEAF`].
    feature: u32,
    /// Index of the left child; the right child follows it.
    left: u32,
    /// Training rows (of the tree's subsample) that reached the node.
    size: u32,
    /// Whether rows missing the split feature go right.
    missing_right: bool,
    /// Split value, or the path length of a leaf.
    value: f64,
}

/// The serialised form of a [`Node`].
type NodeRepr = (u32, u32, u32, bool, u64);

impl From<NodeRepr> for Node {
    fn from((feature, left, size, missing_right, bits): NodeRepr) -> Self {
        Self {
            feature,
            left,
            size,
            missing_right,
            value: f64::from_bits(bits),
        }
    }
}

impl From<Node> for NodeRepr {
    fn from(n: Node) -> Self {
        (
            n.feature,
            n.left,
            n.size,
            n.missing_right,
            n.value.to_bits(),
        )
    }
}

/// A fitted isolation forest. See the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ForestRepr")]
pub struct IsolationForest {
    n_features: usize,
    /// Subsample size actually used, `psi`.
    psi: usize,
    /// Root node index of each tree.
    roots: Vec<u32>,
    nodes: Vec<Node>,
}

/// The serialised form, checked before it becomes a model so that scoring
/// can never index out of bounds or loop.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForestRepr {
    n_features: usize,
    psi: usize,
    roots: Vec<u32>,
    nodes: Vec<Node>,
}

impl TryFrom<ForestRepr> for IsolationForest {
    type Error = IForestError;

    fn try_from(r: ForestRepr) -> Result<Self, IForestError> {
        let bad = |m: String| Err(IForestError::BadModel(m));
        if r.n_features == 0 || r.psi < 2 || r.roots.is_empty() {
            return bad("no features, trees or subsample".into());
        }
        let n = r.nodes.len();
        if let Some(root) = r.roots.iter().find(|&&i| i as usize >= n) {
            return bad(format!("root {root} is past the {n} nodes"));
        }
        for (i, node) in r.nodes.iter().enumerate() {
            if !node.value.is_finite() {
                return bad(format!("node {i} has a non-finite value"));
            }
            if node.feature == LEAF {
                continue;
            }
            let left = node.left as usize;
            // Children after their parent: every walk ends.
            if node.feature as usize >= r.n_features || left <= i || left + 1 >= n {
                return bad(format!("node {i} points outside the model"));
            }
        }
        Ok(Self {
            n_features: r.n_features,
            psi: r.psi,
            roots: r.roots,
            nodes: r.nodes,
        })
    }
}

/// `c(n)`, the average path length of an unsuccessful search in a binary
/// search tree of `n` nodes: `2 H(n-1) - 2 (n-1) / n` with the harmonic
/// number approximated by `H(i) = ln(i) + 0.5772156649`; `c(0) = c(1) = 0`
/// and `c(2) = 1`.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// Checks the columns are rectangular and returns the row count.
fn rows_of(columns: &[&[f64]]) -> Result<usize, IForestError> {
    let Some(first) = columns.first() else {
        return Err(IForestError::NoFeatures);
    };
    let expected = first.len();
    for (column, c) in columns.iter().enumerate() {
        if c.len() != expected {
            return Err(IForestError::Ragged {
                column,
                len: c.len(),
                expected,
            });
        }
    }
    Ok(expected)
}

/// Grows one tree over the subsample `rows` (indices into the columns).
struct Builder<'a> {
    columns: &'a [&'a [f64]],
    height_limit: usize,
    rng: ChaCha8Rng,
    nodes: &'a mut Vec<Node>,
}

impl Builder<'_> {
    fn leaf(&mut self, slot: usize, depth: usize, size: usize) {
        self.nodes[slot] = Node {
            feature: LEAF,
            left: 0,
            size: size as u32,
            missing_right: false,
            value: depth as f64 + average_path_length(size),
        };
    }

    /// The smallest and largest non-missing values of feature `f` over
    /// `rows`, if they differ.
    fn range(&self, f: usize, rows: &[u32]) -> Option<(f64, f64)> {
        let column = self.columns[f];
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for &r in rows {
            let x = column[r as usize];
            if x.is_finite() {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
        (lo < hi).then_some((lo, hi))
    }

    /// Builds the subtree for `rows` into `slot`.
    fn grow(&mut self, slot: usize, rows: &mut [u32], depth: usize) {
        if depth >= self.height_limit || rows.len() <= 1 {
            self.leaf(slot, depth, rows.len());
            return;
        }
        // A random feature; if it is constant here, the next ones in turn.
        let n_features = self.columns.len();
        let start = self.rng.random_range(0..n_features);
        let mut chosen = None;
        for k in 0..n_features {
            let f = (start + k) % n_features;
            if let Some(range) = self.range(f, rows) {
                chosen = Some((f, range));
                break;
            }
        }
        let Some((feature, (lo, hi))) = chosen else {
            self.leaf(slot, depth, rows.len());
            return;
        };
        let u: f64 = self.rng.random();
        let mut value = lo + u * (hi - lo);
        if !value.is_finite() {
            // hi - lo overflowed.
            value = (1.0 - u) * lo + u * hi;
        }
        if !(value >= lo && value < hi) {
            value = lo;
        }
        // Partition: non-missing left values first, then non-missing right
        // values, then the missing ones.
        let column = self.columns[feature];
        let goes_left = |r: u32| column[r as usize] <= value;
        let present_end = partition(rows, |r| column[r as usize].is_finite());
        let left_end = partition(&mut rows[..present_end], goes_left);
        let missing_right = present_end - left_end > left_end;
        let missing = rows.len() - present_end;
        let left_end = if missing_right {
            left_end
        } else {
            // Move the missing rows next to the left ones.
            rows[left_end..].rotate_right(missing);
            left_end + missing
        };
        let left = self.nodes.len();
        self.nodes.extend(
            [Node {
                feature: LEAF,
                left: 0,
                size: 0,
                missing_right: false,
                value: 0.0,
            }; 2],
        );
        self.nodes[slot] = Node {
            feature: feature as u32,
            left: left as u32,
            size: rows.len() as u32,
            missing_right,
            value,
        };
        let (left_rows, right_rows) = rows.split_at_mut(left_end);
        self.grow(left, left_rows, depth + 1);
        self.grow(left + 1, right_rows, depth + 1);
    }
}

/// Moves the rows satisfying `pred` to the front and returns their count.
fn partition(rows: &mut [u32], pred: impl Fn(u32) -> bool) -> usize {
    let mut end = 0;
    for i in 0..rows.len() {
        if pred(rows[i]) {
            rows.swap(i, end);
            end += 1;
        }
    }
    end
}

impl IsolationForest {
    /// Grows the forest on feature-major `columns` (`columns[f][row]`).
    ///
    /// Errors on no columns, ragged columns, fewer than 2 rows, or
    /// parameters out of range (no trees, `sample_size` below 2 or above
    /// `u32::MAX`).
    pub fn fit(columns: &[&[f64]], params: &IForestParams) -> Result<Self, IForestError> {
        if params.trees == 0 {
            return Err(IForestError::BadParams("trees must be at least 1".into()));
        }
        if params.sample_size < 2 || params.sample_size > u32::MAX as usize / 2 {
            return Err(IForestError::BadParams(format!(
                "sample_size must be between 2 and {}, got {}",
                u32::MAX / 2,
                params.sample_size
            )));
        }
        let n = rows_of(columns)?;
        if n < 2 {
            return Err(IForestError::TooFewRows(n));
        }
        if columns.len() >= LEAF as usize {
            return Err(IForestError::BadParams("too many features".into()));
        }
        if n > u32::MAX as usize {
            return Err(IForestError::BadParams(format!(
                "at most {} rows can be fitted on, got {n}",
                u32::MAX
            )));
        }
        let psi = params.sample_size.min(n);
        let height_limit = (psi as f64).log2().ceil() as usize;
        let mut nodes = Vec::with_capacity(params.trees.saturating_mul(2 * psi - 1).min(1 << 20));
        let mut roots = Vec::with_capacity(params.trees.min(1 << 16));
        for t in 0..params.trees {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(t as u64);
            let mut rows: Vec<u32> = index::sample(&mut rng, n, psi)
                .into_iter()
                .map(|i| i as u32)
                .collect();
            let root = nodes.len();
            if root + 2 * psi >= u32::MAX as usize {
                return Err(IForestError::BadParams(
                    "the forest would have too many nodes; use fewer trees or a smaller sample_size"
                        .into(),
                ));
            }
            nodes.push(Node {
                feature: LEAF,
                left: 0,
                size: 0,
                missing_right: false,
                value: 0.0,
            });
            roots.push(root as u32);
            let mut builder = Builder {
                columns,
                height_limit,
                rng,
                nodes: &mut nodes,
            };
            builder.grow(root, &mut rows, 0);
        }
        Ok(Self {
            n_features: columns.len(),
            psi,
            roots,
            nodes,
        })
    }

    /// Number of features the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Rows each tree was grown on (`psi`).
    pub fn sample_size(&self) -> usize {
        self.psi
    }

    fn check_columns(&self, columns: &[&[f64]]) -> Result<usize, IForestError> {
        if columns.len() != self.n_features {
            return Err(IForestError::FeatureCount {
                expected: self.n_features,
                got: columns.len(),
            });
        }
        rows_of(columns)
    }

    /// The child a value takes at split node `node`.
    #[inline]
    fn child(node: &Node, x: f64) -> usize {
        let right = if x.is_finite() {
            x > node.value
        } else {
            node.missing_right
        };
        node.left as usize + usize::from(right)
    }

    /// Anomaly score `s(x) = 2^(-E[h(x)] / c(psi))` of each row, in (0, 1];
    /// higher is more anomalous. Writes into `out`, which must have one
    /// entry per row. Missing values follow the larger side of each split.
    pub fn score(&self, columns: &[&[f64]], out: &mut [f64]) -> Result<(), IForestError> {
        let rows = self.check_columns(columns)?;
        if out.len() != rows {
            return Err(IForestError::OutputLength {
                expected: rows,
                got: out.len(),
            });
        }
        out.fill(0.0);
        // A block of rows at a time, and within it tree by tree, so that
        // both the block's values and the tree's nodes stay in cache.
        const ROWS: usize = 1024;
        for (b, block) in out.chunks_mut(ROWS).enumerate() {
            let first = b * ROWS;
            for &root in &self.roots {
                for (r, acc) in (first..).zip(block.iter_mut()) {
                    let mut i = root as usize;
                    loop {
                        let node = &self.nodes[i];
                        if node.feature == LEAF {
                            *acc += node.value;
                            break;
                        }
                        i = Self::child(node, columns[node.feature as usize][r]);
                    }
                }
            }
        }
        let norm = self.roots.len() as f64 * average_path_length(self.psi);
        for s in out.iter_mut() {
            *s = (-*s / norm).exp2();
        }
        Ok(())
    }

    /// Which features isolated `row` (one value per feature, missing as
    /// NaN), normalised to sum to 1. Every split on the row's path in every
    /// tree credits its feature with `log2(parent size / child size)`, the
    /// share of the subsample that split cut away from the row; the credits
    /// along a path add up to how far the row got isolated, and features
    /// that cut an anomaly off from the bulk of the data early get most of
    /// it. All zeros if no tree ever split.
    pub fn attributions(&self, row: &[f64]) -> Result<Vec<f64>, IForestError> {
        if row.len() != self.n_features {
            return Err(IForestError::FeatureCount {
                expected: self.n_features,
                got: row.len(),
            });
        }
        let mut credit = vec![0.0; self.n_features];
        for &root in &self.roots {
            let mut i = root as usize;
            loop {
                let node = &self.nodes[i];
                if node.feature == LEAF {
                    break;
                }
                let f = node.feature as usize;
                let next = Self::child(node, row[f]);
                let child = &self.nodes[next];
                if child.size > 0 {
                    credit[f] += (f64::from(node.size) / f64::from(child.size)).log2();
                } else {
                    credit[f] += f64::from(node.size).log2();
                }
                i = next;
            }
        }
        let total: f64 = credit.iter().sum();
        if total > 0.0 {
            for c in &mut credit {
                *c /= total;
            }
        }
        Ok(credit)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// A 2-D standard normal blob of `n` rows (Box-Muller) plus outliers.
    fn blob(n: usize, outliers: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            xs.push(r * t.cos());
            ys.push(r * t.sin());
        }
        for &(x, y) in outliers {
            xs.push(x);
            ys.push(y);
        }
        (xs, ys)
    }

    const OUTLIERS: [(f64, f64); 4] = [(8.0, 8.0), (-9.0, 7.0), (10.0, -6.0), (-7.0, -9.0)];

    fn fitted() -> (IsolationForest, Vec<f64>, Vec<f64>) {
        let (xs, ys) = blob(2000, &OUTLIERS);
        let model = IsolationForest::fit(&[&xs, &ys], &IForestParams::default()).unwrap();
        (model, xs, ys)
    }

    #[test]
    fn average_path_length_values() {
        assert_eq!(average_path_length(0), 0.0);
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2 (ln 255 + 0.5772156649) - 2 * 255 / 256
        // = 2 * 6.1184792089 - 1.9921875 = 10.2447709...
        let c = average_path_length(256);
        assert!((c - 10.244_770_9).abs() < 1e-6, "{c}");
        // 2 (ln 2 + gamma) - 4/3
        let c3 = 2.0 * (2f64.ln() + 0.577_215_664_9) - 4.0 / 3.0;
        assert!((average_path_length(3) - c3).abs() < 1e-12);
    }

    #[test]
    fn outliers_score_high_and_inliers_near_half() {
        let (model, xs, ys) = fitted();
        let mut scores = vec![0.0; xs.len()];
        model.score(&[&xs, &ys], &mut scores).unwrap();
        let (inliers, outliers) = scores.split_at(2000);
        let mut sorted = inliers.to_vec();
        sorted.sort_by(f64::total_cmp);
        let p99 = sorted[(0.99 * sorted.len() as f64) as usize];
        for &s in outliers {
            assert!(s > 0.6, "outlier score {s}");
            assert!(s > p99, "outlier score {s} <= 99th percentile {p99}");
        }
        let mean = inliers.iter().sum::<f64>() / inliers.len() as f64;
        assert!((0.38..=0.5).contains(&mean), "mean inlier score {mean}");
        assert!(scores.iter().all(|s| *s > 0.0 && *s <= 1.0));
    }

    #[test]
    fn deterministic_given_the_seed() {
        let (xs, ys) = blob(500, &OUTLIERS);
        let cols: [&[f64]; 2] = [&xs, &ys];
        let p = IForestParams {
            trees: 30,
            ..Default::default()
        };
        let score = |p: &IForestParams| {
            let m = IsolationForest::fit(&cols, p).unwrap();
            let mut out = vec![0.0; xs.len()];
            m.score(&cols, &mut out).unwrap();
            out
        };
        assert_eq!(score(&p), score(&p));
        let other = IForestParams {
            seed: 8,
            ..p.clone()
        };
        assert_ne!(score(&p), score(&other));
    }

    #[test]
    fn attributions_point_at_the_odd_feature() {
        let (mut xs, ys) = blob(2000, &[]);
        // Normal in y, far out in x.
        xs.push(12.0);
        let mut ys = ys;
        ys.push(0.0);
        let model = IsolationForest::fit(&[&xs, &ys], &IForestParams::default()).unwrap();
        let a = model.attributions(&[12.0, 0.0]).unwrap();
        assert_eq!(a.len(), 2);
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(a[0] > 0.7, "{a:?}");
        let b = model.attributions(&[0.0, -12.0]).unwrap();
        assert!(b[1] > 0.7, "{b:?}");
        assert!(matches!(
            model.attributions(&[1.0]),
            Err(IForestError::FeatureCount {
                expected: 2,
                got: 1
            })
        ));
        // Missing values do not break it.
        let c = model.attributions(&[f64::NAN, f64::NAN]).unwrap();
        assert!(c.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn missing_values_do_not_panic() {
        let (mut xs, mut ys) = blob(300, &OUTLIERS);
        for i in (0..xs.len()).step_by(7) {
            xs[i] = f64::NAN;
        }
        for i in (0..ys.len()).step_by(11) {
            ys[i] = f64::INFINITY;
        }
        ys[3] = f64::NAN;
        let model = IsolationForest::fit(&[&xs, &ys], &IForestParams::default()).unwrap();
        let qx = [f64::NAN, 0.0, f64::NEG_INFINITY, 50.0];
        let qy = [f64::NAN, f64::NAN, 0.0, 50.0];
        let mut out = [0.0; 4];
        model.score(&[&qx, &qy], &mut out).unwrap();
        assert!(out.iter().all(|s| *s > 0.0 && *s <= 1.0), "{out:?}");
        // A row missing everything looks typical, not anomalous.
        assert!(out[0] < out[3], "{out:?}");
        // All values missing in training: every tree is a single leaf.
        let nan = [f64::NAN; 10];
        let model = IsolationForest::fit(&[&nan], &IForestParams::default()).unwrap();
        let mut out = [0.0; 10];
        model.score(&[&nan], &mut out).unwrap();
        assert!(out.iter().all(|s| s.is_finite()));
        assert_eq!(model.attributions(&[1.0]).unwrap(), vec![0.0]);
    }

    #[test]
    fn constant_features_are_passed_over() {
        let (xs, _) = blob(400, &[(9.0, 0.0)]);
        let constant = vec![3.0; xs.len()];
        let model = IsolationForest::fit(&[&constant, &xs], &IForestParams::default()).unwrap();
        let mut out = vec![0.0; xs.len()];
        model.score(&[&constant, &xs], &mut out).unwrap();
        assert!(out[400] > 0.6, "{}", out[400]);
        let a = model.attributions(&[3.0, 9.0]).unwrap();
        assert_eq!(a[0], 0.0);
    }

    #[test]
    fn errors_are_reported() {
        let p = IForestParams::default();
        let a = [1.0, 2.0, 3.0];
        let b = [1.0, 2.0];
        assert_eq!(
            IsolationForest::fit(&[], &p).unwrap_err(),
            IForestError::NoFeatures
        );
        assert_eq!(
            IsolationForest::fit(&[&[]], &p).unwrap_err(),
            IForestError::TooFewRows(0)
        );
        assert!(matches!(
            IsolationForest::fit(&[&a, &b], &p),
            Err(IForestError::Ragged { column: 1, .. })
        ));
        for bad in [
            IForestParams {
                trees: 0,
                ..p.clone()
            },
            IForestParams {
                sample_size: 1,
                ..p.clone()
            },
        ] {
            assert!(matches!(
                IsolationForest::fit(&[&a], &bad),
                Err(IForestError::BadParams(_))
            ));
        }
        let model = IsolationForest::fit(&[&a], &p).unwrap();
        let mut out = [0.0; 3];
        assert!(matches!(
            model.score(&[&a, &a], &mut out),
            Err(IForestError::FeatureCount { .. })
        ));
        let mut short = [0.0; 2];
        assert!(matches!(
            model.score(&[&a], &mut short),
            Err(IForestError::OutputLength { .. })
        ));
        let msg = IsolationForest::fit(&[&a, &b], &p).unwrap_err().to_string();
        assert!(msg.contains("column 1 has 2 rows"), "{msg}");
        let params: Result<IForestParams, _> = serde_json::from_str(r#"{"tres": 5}"#);
        assert!(params.is_err());
        let params: IForestParams = serde_json::from_str(r#"{"trees": 5}"#).unwrap();
        assert_eq!(params.sample_size, 256);
    }

    #[test]
    fn serde_round_trip_scores_the_same() {
        let (model, xs, ys) = fitted();
        let json = serde_json::to_string(&model).unwrap();
        let back: IsolationForest = serde_json::from_str(&json).unwrap();
        let (mut a, mut b) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        model.score(&[&xs, &ys], &mut a).unwrap();
        back.score(&[&xs, &ys], &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(back.n_features(), 2);
        assert_eq!(back.trees(), 100);
        assert_eq!(back.sample_size(), 256);
        // A tampered model is refused rather than trusted.
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["nodes"][0][1] = serde_json::json!(0);
        let tampered: Result<IsolationForest, _> = serde_json::from_value(value);
        assert!(tampered.is_err());
    }
}
