//! L2-regularised logistic regression for binary outcomes.
//!
//! The model is `P(y = 1 | x) = 1 / (1 + exp(-(intercept + coefficients · x)))`.
//! Fitting standardises every feature (subtract its mean, divide by its
//! population standard deviation) and minimises, over the intercept `b` and
//! the standardised coefficients `β`,
//!
//! ```text
//! Σ_i w_i [log(1 + e^{z_i}) - y_i z_i] / Σ_i w_i  +  (l2 / 2) ‖β‖²
//! ```
//!
//! with `z_i = b + β · x̃_i` and `w_i = positive_weight` for positive rows, 1
//! for negative ones. The penalty is on the standardised coefficients, so it
//! does not depend on the units of the features, and it leaves the intercept
//! alone. The minimiser is Newton's method with a backtracking line search
//! and a Cholesky solve of the `(p + 1) × (p + 1)` Hessian, which suits the
//! few features these models have (each step costs `O(n p²)`). It stops when
//! the largest gradient component falls below 1e-10, when no step improves
//! the objective any more, or after `max_iter` steps. The fitted
//! coefficients are reported on the original feature scale.
//!
//! Missing values: NaN and ±infinity count as missing. Fitting computes each
//! feature's mean and spread from its non-missing values and imputes the
//! mean for missing ones; prediction imputes the same stored mean, so a
//! missing feature contributes nothing beyond the baseline.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per parallel block when evaluating the objective.
const BLOCK: usize = 8192;

/// Settings of [`LogisticRegression::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticParams {
    /// Strength of the L2 penalty `(l2 / 2) ‖β‖²` on the standardised
    /// coefficients (not the intercept), relative to the weighted mean log
    /// loss; 0 or more. The default 1e-4 barely moves well-determined
    /// coefficients but keeps them finite on separable data.
    pub l2: f64,
    /// Maximum Newton steps; at least 1. Default 200 (a fit normally takes
    /// well under 20).
    pub max_iter: u64,
    /// Weight of each positive row relative to a negative one; positive.
    /// Default 1. A weight of `k` fits as if every positive row appeared
    /// `k` times.
    pub positive_weight: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        Self {
            l2: 1e-4,
            max_iter: 200,
            positive_weight: 1.0,
        }
    }
}

/// Why a logistic regression could not be fitted or applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LogisticError {
    /// No feature columns were given.
    #[error("no feature columns given")]
    NoFeatures,
    /// No rows to fit on.
    #[error("no rows to fit on")]
    NoRows,
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
    /// Labels of a different length than the features.
    #[error("there are {got} labels for {expected} rows")]
    LabelCount {
        /// Rows of the features.
        expected: usize,
        /// Labels given.
        got: usize,
    },
    /// A label that is neither 0 nor 1.
    #[error("label {index} is {value}; labels must be 0 or 1")]
    BadLabel {
        /// Row of the label.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// All labels equal.
    #[error("all {rows} labels are {label}; logistic regression needs both classes")]
    OneClass {
        /// Rows given.
        rows: usize,
        /// The only label present.
        label: f64,
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
    #[error("the output has room for {got} values but there are {expected} rows")]
    OutputLength {
        /// Rows to predict.
        expected: usize,
        /// Length of the output.
        got: usize,
    },
    /// Invalid parameters.
    #[error("invalid logistic regression parameters: {0}")]
    BadParams(String),
    /// The fit produced non-finite coefficients.
    #[error("the logistic regression fit failed: {0}")]
    NoConvergence(String),
    /// A model whose parts do not fit together.
    #[error("invalid logistic regression model: {0}")]
    BadModel(String),
}

/// A fitted logistic regression. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Intercept on the original feature scale.
    pub intercept: f64,
    /// One coefficient per feature, on the original feature scale.
    pub coefficients: Vec<f64>,
    /// Mean of each feature's non-missing training values; imputed for
    /// missing values.
    pub means: Vec<f64>,
    /// Standard deviation each feature was divided by when fitting (1 for a
    /// constant feature).
    pub scales: Vec<f64>,
    /// Number of features.
    pub n_features: usize,
}

fn rows_of(columns: &[&[f64]]) -> Result<usize, LogisticError> {
    let Some(first) = columns.first() else {
        return Err(LogisticError::NoFeatures);
    };
    let expected = first.len();
    for (column, c) in columns.iter().enumerate() {
        if c.len() != expected {
            return Err(LogisticError::Ragged {
                column,
                len: c.len(),
                expected,
            });
        }
    }
    Ok(expected)
}

/// `log(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// The logistic function without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mean and population standard deviation of the non-missing values; a
/// scale of 1 when they do not spread (or there are none).
fn standardisation(column: &[f64]) -> (f64, f64) {
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for &x in column.iter().filter(|x| x.is_finite()) {
        // Welford's update.
        n += 1.0;
        let d = x - mean;
        mean += d / n;
        m2 += d * (x - mean);
    }
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let sd = (m2 / n).sqrt();
    let scale = if sd.is_finite() && sd > 0.0 { sd } else { 1.0 };
    (mean, scale)
}

/// The penalised objective on standardised data. Parameters are
/// `[b, β_1, ..., β_p]`.
struct Objective<'a> {
    /// Standardised columns, missing values already at 0.
    x: Vec<Vec<f64>>,
    y: &'a [f64],
    positive_weight: f64,
    total_weight: f64,
    l2: f64,
}

/// The objective at one point: its value, gradient and, when asked for,
/// its Hessian (row-major, `dim × dim`).
struct Evaluation {
    cost: f64,
    grad: Vec<f64>,
    hessian: Vec<f64>,
}

impl Objective<'_> {
    fn dim(&self) -> usize {
        self.x.len() + 1
    }

    /// Unnormalised, unpenalised sums over rows `start..end`.
    fn block(&self, p: &[f64], start: usize, end: usize, curvature: bool) -> Evaluation {
        let dim = self.dim();
        let mut z = vec![p[0]; end - start];
        for (beta, column) in p[1..].iter().zip(&self.x) {
            for (zi, xi) in z.iter_mut().zip(&column[start..end]) {
                *zi += beta * xi;
            }
        }
        let mut cost = 0.0;
        let mut residual = Vec::with_capacity(z.len());
        let mut weight = Vec::with_capacity(if curvature { z.len() } else { 0 });
        for (&zi, &yi) in z.iter().zip(&self.y[start..end]) {
            let w = if yi > 0.5 { self.positive_weight } else { 1.0 };
            let prob = sigmoid(zi);
            cost += w * (softplus(zi) - yi * zi);
            residual.push(w * (prob - yi));
            if curvature {
                weight.push(w * prob * (1.0 - prob));
            }
        }
        let mut grad = vec![0.0; dim];
        grad[0] = residual.iter().sum();
        for (g, column) in grad[1..].iter_mut().zip(&self.x) {
            *g = residual
                .iter()
                .zip(&column[start..end])
                .map(|(r, x)| r * x)
                .sum();
        }
        let mut hessian = Vec::new();
        if curvature {
            // Upper triangle of X' D X, with column 0 the constant 1.
            hessian = vec![0.0; dim * dim];
            let column =
                |j: usize| -> Option<&[f64]> { (j > 0).then(|| &self.x[j - 1][start..end]) };
            for j in 0..dim {
                for k in j..dim {
                    hessian[j * dim + k] = match (column(j), column(k)) {
                        (None, None) => weight.iter().sum(),
                        (None, Some(c)) | (Some(c), None) => {
                            weight.iter().zip(c).map(|(w, x)| w * x).sum()
                        }
                        (Some(a), Some(b)) => weight
                            .iter()
                            .zip(a)
                            .zip(b)
                            .map(|((w, x), v)| w * x * v)
                            .sum(),
                    };
                }
            }
        }
        Evaluation {
            cost,
            grad,
            hessian,
        }
    }

    /// The penalised objective at `p`, with the Hessian if `curvature`.
    fn evaluate(&self, p: &[f64], curvature: bool) -> Evaluation {
        let n = self.y.len();
        let dim = self.dim();
        let parts: Vec<Evaluation> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| self.block(p, b * BLOCK, ((b + 1) * BLOCK).min(n), curvature))
            .collect();
        // Summed in block order, so the result does not depend on threads.
        let mut total = Evaluation {
            cost: 0.0,
            grad: vec![0.0; dim],
            hessian: vec![0.0; if curvature { dim * dim } else { 0 }],
        };
        for part in parts {
            total.cost += part.cost;
            for (a, b) in total.grad.iter_mut().zip(&part.grad) {
                *a += b;
            }
            for (a, b) in total.hessian.iter_mut().zip(&part.hessian) {
                *a += b;
            }
        }
        let w = self.total_weight;
        total.cost /= w;
        total.grad.iter_mut().for_each(|g| *g /= w);
        total.hessian.iter_mut().for_each(|h| *h /= w);
        for (j, &beta) in p.iter().enumerate().skip(1) {
            total.cost += 0.5 * self.l2 * beta * beta;
            total.grad[j] += self.l2 * beta;
            if curvature {
                total.hessian[j * dim + j] += self.l2;
            }
        }
        if curvature {
            // Mirror the upper triangle.
            for j in 0..dim {
                for k in 0..j {
                    total.hessian[j * dim + k] = total.hessian[k * dim + j];
                }
            }
        }
        total
    }
}

/// Solves `a x = b` for a symmetric positive definite `a` (row-major,
/// `dim × dim`) by Cholesky factorisation; `None` if `a` is not
/// numerically positive definite.
fn cholesky_solve(a: &[f64], dim: usize, b: &[f64]) -> Option<Vec<f64>> {
    // Lower triangle L with a = L L'.
    let mut l = vec![0.0; dim * dim];
    for j in 0..dim {
        let mut d = a[j * dim + j];
        for k in 0..j {
            d -= l[j * dim + k] * l[j * dim + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let d = d.sqrt();
        l[j * dim + j] = d;
        for i in j + 1..dim {
            let mut v = a[i * dim + j];
            for k in 0..j {
                v -= l[i * dim + k] * l[j * dim + k];
            }
            l[i * dim + j] = v / d;
        }
    }
    // Forward then backward substitution.
    let mut x = b.to_vec();
    for i in 0..dim {
        for k in 0..i {
            x[i] -= l[i * dim + k] * x[k];
        }
        x[i] /= l[i * dim + i];
    }
    for i in (0..dim).rev() {
        for k in i + 1..dim {
            x[i] -= l[k * dim + i] * x[k];
        }
        x[i] /= l[i * dim + i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The Newton direction `-H⁻¹ g`, adding a growing multiple of the identity
/// to `H` while it is not numerically positive definite (as happens when
/// every probability saturates on separable data).
fn newton_direction(e: &Evaluation, dim: usize) -> Option<Vec<f64>> {
    let neg_grad: Vec<f64> = e.grad.iter().map(|g| -g).collect();
    let scale = (0..dim)
        .map(|j| e.hessian[j * dim + j].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    let mut damping = 0.0;
    let mut shifted = e.hessian.clone();
    for _ in 0..30 {
        for j in 0..dim {
            shifted[j * dim + j] = e.hessian[j * dim + j] + damping;
        }
        if let Some(d) = cholesky_solve(&shifted, dim, &neg_grad) {
            return Some(d);
        }
        damping = if damping == 0.0 {
            1e-12 * scale
        } else {
            damping * 10.0
        };
    }
    None
}

/// Gradient size (largest component) below which the fit has converged.
const GRAD_TOLERANCE: f64 = 1e-10;

/// Minimises the objective by Newton's method with a backtracking (Armijo)
/// line search, from `start`, for at most `max_iter` Newton steps. Returns
/// the final parameters.
fn newton(objective: &Objective<'_>, start: Vec<f64>, max_iter: u64) -> Result<Vec<f64>, String> {
    let dim = objective.dim();
    let mut theta = start;
    let mut current = objective.evaluate(&theta, true);
    if !current.cost.is_finite() {
        return Err("the objective is not finite at the starting point".into());
    }
    for _ in 0..max_iter {
        let worst = current.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if worst < GRAD_TOLERANCE || !worst.is_finite() {
            break;
        }
        let Some(direction) = newton_direction(&current, dim) else {
            break;
        };
        let slope: f64 = current
            .grad
            .iter()
            .zip(&direction)
            .map(|(g, d)| g * d)
            .sum();
        if slope.is_nan() || slope >= 0.0 {
            break;
        }
        // Halve the step until it decreases the objective enough.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&direction)
                .map(|(t, d)| t + step * d)
                .collect();
            let cost = objective.evaluate(&candidate, false).cost;
            if cost.is_finite() && cost <= current.cost + 1e-4 * step * slope {
                accepted = Some(candidate);
                break;
            }
            step *= 0.5;
        }
        // No step improves on the current point within rounding: done.
        let Some(next) = accepted else {
            break;
        };
        theta = next;
        current = objective.evaluate(&theta, true);
    }
    if theta.iter().all(|v| v.is_finite()) {
        Ok(theta)
    } else {
        Err("the coefficients are not finite".into())
    }
}

fn check_params(params: &LogisticParams) -> Result<(), LogisticError> {
    let bad = |m: String| Err(LogisticError::BadParams(m));
    if !(params.l2.is_finite() && params.l2 >= 0.0) {
        return bad(format!("l2 must be finite and >= 0, got {}", params.l2));
    }
    if params.max_iter == 0 {
        return bad("max_iter must be at least 1".into());
    }
    if !(params.positive_weight.is_finite() && params.positive_weight > 0.0) {
        return bad(format!(
            "positive_weight must be finite and > 0, got {}",
            params.positive_weight
        ));
    }
    Ok(())
}

impl LogisticRegression {
    /// Fits on feature-major `columns` (`columns[f][row]`) and labels `y`
    /// (each 0 or 1). See the module documentation for the objective and
    /// the handling of missing values.
    ///
    /// Errors on no columns or rows, ragged columns, a label count that
    /// differs from the row count, labels other than 0 and 1, a single
    /// class, parameters out of range, or non-finite coefficients. Reaching
    /// `max_iter` is not an error: the last point is used.
    pub fn fit(
        columns: &[&[f64]],
        y: &[f64],
        params: &LogisticParams,
    ) -> Result<Self, LogisticError> {
        check_params(params)?;
        let n = rows_of(columns)?;
        if n == 0 {
            return Err(LogisticError::NoRows);
        }
        if y.len() != n {
            return Err(LogisticError::LabelCount {
                expected: n,
                got: y.len(),
            });
        }
        if let Some((index, &value)) = y.iter().enumerate().find(|(_, v)| **v != 0.0 && **v != 1.0)
        {
            return Err(LogisticError::BadLabel { index, value });
        }
        let positives = y.iter().filter(|v| **v == 1.0).count();
        if positives == 0 || positives == n {
            return Err(LogisticError::OneClass {
                rows: n,
                label: y[0],
            });
        }

        let (means, scales): (Vec<f64>, Vec<f64>) =
            columns.iter().map(|c| standardisation(c)).unzip();
        let x: Vec<Vec<f64>> = columns
            .iter()
            .zip(means.iter().zip(&scales))
            .map(|(c, (m, s))| {
                c.iter()
                    .map(|v| if v.is_finite() { (v - m) / s } else { 0.0 })
                    .collect()
            })
            .collect();
        let positive_total = params.positive_weight * positives as f64;
        let negative_total = (n - positives) as f64;
        let objective = Objective {
            x,
            y,
            positive_weight: params.positive_weight,
            total_weight: positive_total + negative_total,
            l2: params.l2,
        };
        // Start from the weighted base rate with no slopes.
        let mut start = vec![0.0; columns.len() + 1];
        start[0] = (positive_total / negative_total).ln();
        let p = newton(&objective, start, params.max_iter).map_err(LogisticError::NoConvergence)?;

        let coefficients: Vec<f64> = p[1..].iter().zip(&scales).map(|(b, s)| b / s).collect();
        let intercept = p[0]
            - coefficients
                .iter()
                .zip(&means)
                .map(|(c, m)| c * m)
                .sum::<f64>();
        let model = Self {
            intercept,
            n_features: columns.len(),
            coefficients,
            means,
            scales,
        };
        if !model.intercept.is_finite() || model.coefficients.iter().any(|c| !c.is_finite()) {
            return Err(LogisticError::NoConvergence(
                "the coefficients are not finite on the original scale".into(),
            ));
        }
        Ok(model)
    }

    fn check_model(&self) -> Result<(), LogisticError> {
        let n = self.n_features;
        if self.coefficients.len() != n || self.means.len() != n || self.scales.len() != n {
            return Err(LogisticError::BadModel(format!(
                "{} features but {} coefficients, {} means and {} scales",
                n,
                self.coefficients.len(),
                self.means.len(),
                self.scales.len()
            )));
        }
        Ok(())
    }

    fn check_input(&self, columns: &[&[f64]], out: &[f64]) -> Result<(), LogisticError> {
        self.check_model()?;
        if columns.len() != self.n_features {
            return Err(LogisticError::FeatureCount {
                expected: self.n_features,
                got: columns.len(),
            });
        }
        let rows = rows_of(columns)?;
        if out.len() != rows {
            return Err(LogisticError::OutputLength {
                expected: rows,
                got: out.len(),
            });
        }
        Ok(())
    }

    /// The margin of a row at the feature means (every feature missing):
    /// `intercept + Σ coefficient_i mean_i`. A row's margin is this plus the
    /// sum of its [`contributions`](Self::contributions).
    pub fn baseline_margin(&self) -> f64 {
        self.intercept
            + self
                .coefficients
                .iter()
                .zip(&self.means)
                .map(|(c, m)| c * m)
                .sum::<f64>()
    }

    /// The margin (log-odds) `intercept + coefficients · x` of each row,
    /// missing values imputed with the training means. Writes into `out`,
    /// which must have one entry per row.
    pub fn predict_margin(&self, columns: &[&[f64]], out: &mut [f64]) -> Result<(), LogisticError> {
        self.check_input(columns, out)?;
        out.fill(self.baseline_margin());
        for ((column, c), m) in columns.iter().zip(&self.coefficients).zip(&self.means) {
            for (o, x) in out.iter_mut().zip(column.iter()) {
                if x.is_finite() {
                    *o += c * (x - m);
                }
            }
        }
        Ok(())
    }

    /// The probability of the positive class for each row, missing values
    /// imputed with the training means. Writes into `out`, which must have
    /// one entry per row.
    pub fn predict(&self, columns: &[&[f64]], out: &mut [f64]) -> Result<(), LogisticError> {
        self.predict_margin(columns, out)?;
        for o in out.iter_mut() {
            *o = sigmoid(*o);
        }
        Ok(())
    }

    /// Each feature's share of one row's margin relative to the baseline:
    /// `coefficient_i * (x_i - mean_i)`, 0 for a missing value. They add up
    /// to the margin minus [`baseline_margin`](Self::baseline_margin).
    pub fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, LogisticError> {
        self.check_model()?;
        if row.len() != self.n_features {
            return Err(LogisticError::FeatureCount {
                expected: self.n_features,
                got: row.len(),
            });
        }
        Ok(row
            .iter()
            .zip(&self.coefficients)
            .zip(&self.means)
            .map(|((x, c), m)| if x.is_finite() { c * (x - m) } else { 0.0 })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const HOURS: [f64; 20] = [
        0.50, 0.75, 1.00, 1.25, 1.50, 1.75, 1.75, 2.00, 2.25, 2.50, 2.75, 3.00, 3.25, 3.50, 4.00,
        4.25, 4.50, 4.75, 5.00, 5.50,
    ];
    const PASS: [f64; 20] = [
        0., 0., 0., 0., 0., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 1., 1., 1., 1., 1.,
    ];

    fn unpenalised() -> LogisticParams {
        LogisticParams {
            l2: 0.0,
            ..Default::default()
        }
    }

    #[test]
    fn hours_studied_matches_the_textbook_fit() {
        let m = LogisticRegression::fit(&[&HOURS], &PASS, &unpenalised()).unwrap();
        assert!((m.intercept - -4.0777).abs() < 1e-3, "{}", m.intercept);
        assert!(
            (m.coefficients[0] - 1.5046).abs() < 1e-3,
            "{:?}",
            m.coefficients
        );
        // Wikipedia's table: 2 hours -> 0.26, 4 hours -> 0.87.
        let mut p = [0.0; 2];
        m.predict(&[&[2.0, 4.0]], &mut p).unwrap();
        assert!(
            (p[0] - 0.26).abs() < 0.01 && (p[1] - 0.87).abs() < 0.01,
            "{p:?}"
        );
    }

    #[test]
    fn positive_weight_acts_like_duplicated_positives() {
        let weighted = LogisticRegression::fit(
            &[&HOURS],
            &PASS,
            &LogisticParams {
                positive_weight: 2.0,
                ..unpenalised()
            },
        )
        .unwrap();
        let (mut hours, mut pass) = (HOURS.to_vec(), PASS.to_vec());
        for (h, y) in HOURS.iter().zip(&PASS) {
            if *y == 1.0 {
                hours.push(*h);
                pass.push(1.0);
            }
        }
        let duplicated = LogisticRegression::fit(&[&hours], &pass, &unpenalised()).unwrap();
        assert!((weighted.intercept - duplicated.intercept).abs() < 1e-5);
        assert!((weighted.coefficients[0] - duplicated.coefficients[0]).abs() < 1e-5);
        // More weight on positives raises every probability.
        let plain = LogisticRegression::fit(&[&HOURS], &PASS, &unpenalised()).unwrap();
        assert!(weighted.intercept > plain.intercept);
    }

    #[test]
    fn penalty_shrinks_the_slope() {
        let fit = |l2| {
            LogisticRegression::fit(
                &[&HOURS],
                &PASS,
                &LogisticParams {
                    l2,
                    ..Default::default()
                },
            )
            .unwrap()
            .coefficients[0]
        };
        let (a, b, c) = (fit(0.0), fit(0.1), fit(1.0));
        assert!(a > b && b > c && c > 0.0, "{a} {b} {c}");
    }

    #[test]
    fn recovers_known_coefficients_on_mixed_scales() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let mut cols: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let x0 = 10.0 + 6.0 * (rng.random::<f64>() - 0.5);
            let x1 = rng.random::<f64>();
            let x2 = 200.0 * (rng.random::<f64>() - 0.5);
            let z = 0.5 + 1.0 * (x0 - 10.0) - 2.0 * x1 + 0.0 * x2;
            y.push(if rng.random::<f64>() < sigmoid(z) {
                1.0
            } else {
                0.0
            });
            cols[0].push(x0);
            cols[1].push(x1);
            cols[2].push(x2);
        }
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let m = LogisticRegression::fit(&refs, &y, &LogisticParams::default()).unwrap();
        let want = [1.0, -2.0, 0.0];
        for (c, w) in m.coefficients.iter().zip(want) {
            assert!((c - w).abs() < 0.1, "{:?}", m.coefficients);
        }
        assert!((m.intercept - (0.5 - 10.0)).abs() < 0.5, "{}", m.intercept);
        // Margins, contributions and the baseline agree.
        let mut margins = vec![0.0; n];
        m.predict_margin(&refs, &mut margins).unwrap();
        let row = [cols[0][7], cols[1][7], cols[2][7]];
        let sum: f64 = m.contributions(&row).unwrap().iter().sum();
        assert!((m.baseline_margin() + sum - margins[7]).abs() < 1e-9);
        let direct = m.intercept
            + m.coefficients
                .iter()
                .zip(row)
                .map(|(c, x)| c * x)
                .sum::<f64>();
        assert!((direct - margins[7]).abs() < 1e-9);
    }

    #[test]
    fn separable_data_stays_finite_with_a_penalty() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let m = LogisticRegression::fit(&[&x], &y, &LogisticParams::default()).unwrap();
        assert!(m.coefficients[0].is_finite() && m.coefficients[0] > 1.0);
        let mut p = [0.0; 6];
        m.predict(&[&x], &mut p).unwrap();
        assert!(
            p[..3].iter().all(|v| *v < 0.1) && p[3..].iter().all(|v| *v > 0.9),
            "{p:?}"
        );
        // Without a penalty there is no optimum; the fit must still end
        // without panicking, either finite or with an error.
        let _ = LogisticRegression::fit(&[&x], &y, &unpenalised());
    }

    #[test]
    fn missing_values_are_imputed_with_the_mean() {
        let mut hours = HOURS.to_vec();
        hours[3] = f64::NAN;
        hours[15] = f64::INFINITY;
        let m = LogisticRegression::fit(&[&hours], &PASS, &LogisticParams::default()).unwrap();
        let finite: Vec<f64> = hours.iter().copied().filter(|h| h.is_finite()).collect();
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        assert!((m.means[0] - mean).abs() < 1e-12);
        let mut p = [0.0; 3];
        m.predict(&[&[f64::NAN, mean, f64::NEG_INFINITY]], &mut p)
            .unwrap();
        assert!((p[0] - p[1]).abs() < 1e-12 && p[0] == p[2], "{p:?}");
        assert_eq!(m.contributions(&[f64::NAN]).unwrap(), vec![0.0]);
        // A column with no values at all is harmless.
        let empty = [f64::NAN; 20];
        let m =
            LogisticRegression::fit(&[&HOURS, &empty], &PASS, &LogisticParams::default()).unwrap();
        assert_eq!(m.coefficients[1], 0.0);
        // A constant column likewise.
        let constant = [4.0; 20];
        let m = LogisticRegression::fit(&[&constant, &HOURS], &PASS, &unpenalised()).unwrap();
        assert_eq!(m.coefficients[0], 0.0);
        assert!((m.coefficients[1] - 1.5046).abs() < 1e-3);
    }

    #[test]
    fn errors_are_reported() {
        let p = LogisticParams::default();
        let x = [1.0, 2.0, 3.0];
        assert_eq!(
            LogisticRegression::fit(&[], &[], &p),
            Err(LogisticError::NoFeatures)
        );
        assert_eq!(
            LogisticRegression::fit(&[&[]], &[], &p),
            Err(LogisticError::NoRows)
        );
        assert!(matches!(
            LogisticRegression::fit(&[&x, &[1.0]], &[0.0, 1.0, 0.0], &p),
            Err(LogisticError::Ragged { column: 1, .. })
        ));
        assert!(matches!(
            LogisticRegression::fit(&[&x], &[0.0, 1.0], &p),
            Err(LogisticError::LabelCount { .. })
        ));
        assert_eq!(
            LogisticRegression::fit(&[&x], &[0.0, 2.0, 1.0], &p),
            Err(LogisticError::BadLabel {
                index: 1,
                value: 2.0
            })
        );
        assert!(matches!(
            LogisticRegression::fit(&[&x], &[0.0, f64::NAN, 1.0], &p),
            Err(LogisticError::BadLabel { index: 1, .. })
        ));
        assert!(matches!(
            LogisticRegression::fit(&[&x], &[1.0; 3], &p),
            Err(LogisticError::OneClass { .. })
        ));
        for bad in [
            LogisticParams {
                l2: -1.0,
                ..p.clone()
            },
            LogisticParams {
                l2: f64::NAN,
                ..p.clone()
            },
            LogisticParams {
                max_iter: 0,
                ..p.clone()
            },
            LogisticParams {
                positive_weight: 0.0,
                ..p.clone()
            },
        ] {
            assert!(matches!(
                LogisticRegression::fit(&[&x], &[0.0, 1.0, 0.0], &bad),
                Err(LogisticError::BadParams(_))
            ));
        }
        let m = LogisticRegression::fit(&[&x], &[0.0, 1.0, 1.0], &p).unwrap();
        let mut out = [0.0; 3];
        assert!(matches!(
            m.predict(&[&x, &x], &mut out),
            Err(LogisticError::FeatureCount { .. })
        ));
        assert!(matches!(
            m.predict(&[&x], &mut out[..2]),
            Err(LogisticError::OutputLength { .. })
        ));
        assert!(matches!(
            m.contributions(&[]),
            Err(LogisticError::FeatureCount { .. })
        ));
        let mut broken = m.clone();
        broken.means.clear();
        assert!(matches!(
            broken.predict(&[&x], &mut out),
            Err(LogisticError::BadModel(_))
        ));
        let params: Result<LogisticParams, _> = serde_json::from_str(r#"{"l1": 1}"#);
        assert!(params.is_err());
        let params: LogisticParams = serde_json::from_str(r#"{"l2": 0.5}"#).unwrap();
        assert_eq!(params.max_iter, 200);
    }

    #[test]
    fn serde_round_trip_predicts_the_same() {
        let m = LogisticRegression::fit(&[&HOURS], &PASS, &LogisticParams::default()).unwrap();
        let back: LogisticRegression =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        // JSON text may move a float by one unit in the last place.
        assert_eq!(back.n_features, m.n_features);
        assert!((back.intercept - m.intercept).abs() < 1e-12);
        let (mut a, mut b) = ([0.0; 20], [0.0; 20]);
        m.predict(&[&HOURS], &mut a).unwrap();
        back.predict(&[&HOURS], &mut b).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
