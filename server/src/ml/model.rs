//! A trained model as the registry stores it and the UDFs use it: its
//! inputs (with their names for explanations, the categories of text
//! inputs and the typical range of numeric ones), the fitted predictor, and
//! the operating threshold. Scoring is batched over feature-major columns;
//! explanations are per row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bgnbd::{BgNbd, GammaGamma, History};
use super::gbdt::Gbdt;
use super::iforest::IsolationForest;
use super::logistic::LogisticRegression;
use super::spec::{Kind, Task};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {name} takes {expected} inputs ({list}); got {got}")]
    Arity {
        name: String,
        expected: usize,
        got: usize,
        list: String,
    },
    #[error("model {name}: {message}")]
    Predict { name: String, message: String },
}

/// One input of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub unit: Option<String>,
    /// For text inputs: each known value's code (its rank by mean label in
    /// training). Unknown values are missing.
    #[serde(default)]
    pub categories: Option<BTreeMap<String, f64>>,
    /// The 10th and 90th percentiles among ordinary rows (negatives for a
    /// classifier), which explanations quote as "typical".
    #[serde(default)]
    pub typical: Option<(f64, f64)>,
}

/// Rules, an isolation forest and trees, calibrated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layered {
    /// Feature indices of the rules (0/1 columns).
    pub rules: Vec<usize>,
    /// Feature indices the isolation forest reads.
    pub anomaly_features: Vec<usize>,
    pub forest: IsolationForest,
    /// Typical anomaly score of ordinary rows.
    pub anomaly_typical: (f64, f64),
    /// Trees over every feature plus the anomaly score (last input).
    pub trees: Gbdt,
    /// Logistic regression on the trees' margin, fitted on validation rows.
    pub calibration: LogisticRegression,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Predictor {
    Gbdt {
        model: Gbdt,
    },
    Logistic {
        model: LogisticRegression,
    },
    IsolationForest {
        model: IsolationForest,
    },
    Bgnbd {
        bgnbd: BgNbd,
        gamma_gamma: GammaGamma,
        horizon: f64,
    },
    Layered(Box<Layered>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artifact {
    pub name: String,
    pub kind: Kind,
    pub task: Task,
    pub features: Vec<Feature>,
    pub threshold: f64,
    pub predictor: Predictor,
}

/// Rows per block when a predictor needs a temporary column.
const BLOCK: usize = 4096;

impl Artifact {
    pub fn arity_error(&self, got: usize) -> ModelError {
        ModelError::Arity {
            name: self.name.clone(),
            expected: self.features.len(),
            got,
            list: self
                .features
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> ModelError {
        ModelError::Predict {
            name: self.name.clone(),
            message: e.to_string(),
        }
    }

    /// Scores rows: probabilities for classifiers, values for regressions,
    /// anomaly scores for an isolation forest. `out.len()` is the row count.
    pub fn score(&self, columns: &[&[f64]], out: &mut [f64]) -> Result<(), ModelError> {
        if columns.len() != self.features.len() {
            return Err(self.arity_error(columns.len()));
        }
        if columns.iter().any(|c| c.len() != out.len()) {
            return Err(self.err("inputs have different lengths"));
        }
        match &self.predictor {
            Predictor::Gbdt { model } => model.predict(columns, out).map_err(|e| self.err(e)),
            Predictor::Logistic { model } => model.predict(columns, out).map_err(|e| self.err(e)),
            Predictor::IsolationForest { model } => {
                model.score(columns, out).map_err(|e| self.err(e))
            }
            Predictor::Bgnbd {
                bgnbd,
                gamma_gamma,
                horizon,
            } => {
                for (r, o) in out.iter_mut().enumerate() {
                    *o = bgnbd_revenue(
                        bgnbd,
                        gamma_gamma,
                        *horizon,
                        [columns[0][r], columns[1][r], columns[2][r], columns[3][r]],
                    );
                }
                Ok(())
            }
            Predictor::Layered(l) => self.score_layered(l, columns, out),
        }
    }

    fn score_layered(
        &self,
        l: &Layered,
        columns: &[&[f64]],
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        let n = out.len();
        let mut anomaly = vec![0.0; BLOCK.min(n)];
        let mut margin = vec![0.0; BLOCK.min(n)];
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            let len = end - start;
            let block: Vec<&[f64]> = columns.iter().map(|c| &c[start..end]).collect();
            let forest_in: Vec<&[f64]> = l.anomaly_features.iter().map(|&i| block[i]).collect();
            l.forest
                .score(&forest_in, &mut anomaly[..len])
                .map_err(|e| self.err(e))?;
            let mut trees_in = block.clone();
            trees_in.push(&anomaly[..len]);
            l.trees
                .predict_margin(&trees_in, &mut margin[..len])
                .map_err(|e| self.err(e))?;
            l.calibration
                .predict(&[&margin[..len]], &mut out[start..end])
                .map_err(|e| self.err(e))?;
            start = end;
        }
        Ok(())
    }

    /// Each input's contribution to one row's score (on the margin for
    /// trees and logistic models, as isolation share for a forest), largest
    /// first, with a plain sentence for kinds without per-input shares.
    pub fn contributions(&self, row: &[f64]) -> Result<Vec<(usize, f64)>, ModelError> {
        if row.len() != self.features.len() {
            return Err(self.arity_error(row.len()));
        }
        let mut out: Vec<(usize, f64)> = match &self.predictor {
            Predictor::Gbdt { model } => {
                let (c, _) = model.contributions(row).map_err(|e| self.err(e))?;
                c.into_iter().enumerate().collect()
            }
            Predictor::Logistic { model } => model
                .contributions(row)
                .map_err(|e| self.err(e))?
                .into_iter()
                .enumerate()
                .collect(),
            Predictor::IsolationForest { model } => model
                .attributions(row)
                .map_err(|e| self.err(e))?
                .into_iter()
                .enumerate()
                .collect(),
            Predictor::Bgnbd { .. } => Vec::new(),
            Predictor::Layered(l) => {
                let forest_in: Vec<f64> = l.anomaly_features.iter().map(|&i| row[i]).collect();
                let cols: Vec<&[f64]> = forest_in.iter().map(std::slice::from_ref).collect();
                let mut a = [0.0];
                l.forest.score(&cols, &mut a).map_err(|e| self.err(e))?;
                let mut with = row.to_vec();
                with.push(a[0]);
                let (c, _) = l.trees.contributions(&with).map_err(|e| self.err(e))?;
                // The anomaly score's share goes to the inputs that isolated
                // the row, in proportion.
                let n = self.features.len();
                let mut out: Vec<(usize, f64)> = c[..n].iter().copied().enumerate().collect();
                let share = c.get(n).copied().unwrap_or(0.0);
                let attr = l.forest.attributions(&forest_in).map_err(|e| self.err(e))?;
                let total: f64 = attr.iter().sum();
                if total > 0.0 {
                    for (k, &i) in l.anomaly_features.iter().enumerate() {
                        out[i].1 += share * attr[k] / total;
                    }
                }
                out
            }
        };
        out.retain(|(_, c)| c.is_finite());
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(out)
    }

    /// The top `k` inputs pushing one row's score up, as text:
    /// `click-to-install 0.4 s (typical 5-60 s); ...`. Empty when nothing
    /// pushes it up.
    pub fn reasons(&self, row: &[f64], k: usize) -> Result<String, ModelError> {
        if let Predictor::Bgnbd {
            bgnbd,
            gamma_gamma,
            horizon,
        } = &self.predictor
        {
            if row.len() != 4 {
                return Err(self.arity_error(row.len()));
            }
            let h = history([row[0], row[1], row[2]]);
            return Ok(match h {
                Some(h) => {
                    let n = bgnbd.expected_purchases(&h, *horizon);
                    let v = gamma_gamma.expected_value(h.x, mean_value(h.x, row[3]));
                    format!(
                        "{n:.2} expected payments of {v:.2} in {horizon} days; probability still active {:.2}",
                        bgnbd.p_alive(&h)
                    )
                }
                None => String::new(),
            });
        }
        let parts: Vec<String> = self
            .contributions(row)?
            .into_iter()
            .filter(|(_, c)| *c > 1e-9)
            .take(k)
            .map(|(i, _)| self.describe(i, row[i]))
            .collect();
        Ok(parts.join("; "))
    }

    fn describe(&self, i: usize, v: f64) -> String {
        let f = &self.features[i];
        let unit = f
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        if let Some(cats) = &f.categories {
            let name = cats
                .iter()
                .find(|(_, c)| **c == v)
                .map_or("unknown", |(k, _)| k.as_str());
            return format!("{} {name}", f.label);
        }
        if v.is_nan() {
            return format!("{} missing", f.label);
        }
        match f.typical {
            Some((lo, hi)) => format!(
                "{} {}{unit} (typical {}-{}{unit})",
                f.label,
                number(v),
                number(lo),
                number(hi)
            ),
            None => format!("{} {}{unit}", f.label, number(v)),
        }
    }
}

/// A short, human number: 0.4, 12, 1,234.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", a);
        let mut out = String::new();
        for (k, ch) in s.chars().enumerate() {
            if k > 0 && (s.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else if a >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        let s = if a >= 1.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn history(v: [f64; 3]) -> Option<History> {
    let [x, t_x, t] = v;
    let ok = x.is_finite() && t_x.is_finite() && t.is_finite() && x >= 0.0 && t_x >= 0.0;
    ok.then_some(History {
        x,
        t_x: t_x.min(t),
        t: t.max(t_x),
    })
}

fn mean_value(x: f64, m: f64) -> f64 {
    if x > 0.0 && m.is_finite() && m > 0.0 {
        m
    } else {
        0.0
    }
}

/// Expected revenue over `horizon`: expected purchases times the expected
/// value of one. NaN (a null) for an impossible history.
fn bgnbd_revenue(b: &BgNbd, gg: &GammaGamma, horizon: f64, v: [f64; 4]) -> f64 {
    match history([v[0], v[1], v[2]]) {
        Some(h) => {
            b.expected_purchases(&h, horizon) * gg.expected_value(h.x, mean_value(h.x, v[3]))
        }
        None => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_person_wrote_them() {
        assert_eq!(number(0.4), "0.4");
        assert_eq!(number(0.05), "0.05");
        assert_eq!(number(3.25), "3.2");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(45.6), "46");
        assert_eq!(number(1234.0), "1,234");
        assert_eq!(number(-1_234_567.0), "-1,234,567");
        assert_eq!(number(2.0), "2");
    }
}
