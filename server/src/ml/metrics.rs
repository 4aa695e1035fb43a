//! Evaluation measures for the models: ranking quality (ROC AUC, average
//! precision), calibration (Brier score, log loss), an operating point
//! (confusion counts at a threshold, the threshold for a target false
//! positive rate) and the regression errors (MAE, RMSE, R²).
//!
//! All functions are pure and never panic. They answer `None` when the
//! measure is undefined: empty input, inputs of different lengths, or (for
//! the ranking measures and operating points) only one class present.
//!
//! Missing values: a row whose score, probability or prediction is NaN is
//! skipped, as is (for the regression measures) a row whose actual value is
//! NaN. The row counts in [`ClassificationMetrics`] and
//! [`RegressionMetrics`] report how many rows were used. Infinite scores are
//! kept: they rank above (or below) every finite score.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Scores with their labels, NaN scores dropped; `None` if the lengths
/// differ.
fn usable(scores: &[f64], labels: &[bool]) -> Option<Vec<(f64, bool)>> {
    if scores.len() != labels.len() {
        return None;
    }
    Some(
        scores
            .iter()
            .zip(labels)
            .filter(|(s, _)| !s.is_nan())
            .map(|(s, l)| (*s, *l))
            .collect(),
    )
}

/// Orders NaN-free scores; -0.0 and 0.0 compare equal, as they do with `==`.
fn cmp_scores(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Usable rows sorted by descending score, with the class counts.
struct Ranked {
    rows: Vec<(f64, bool)>,
    positives: usize,
    negatives: usize,
}

/// The usable rows ranked; `None` unless both classes are present.
fn ranked(scores: &[f64], labels: &[bool]) -> Option<Ranked> {
    let mut rows = usable(scores, labels)?;
    let positives = rows.iter().filter(|(_, l)| *l).count();
    let negatives = rows.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    rows.sort_by(|a, b| cmp_scores(b.0, a.0));
    Some(Ranked {
        rows,
        positives,
        negatives,
    })
}

/// One point of the ranking curve: everything scoring at or above
/// `threshold` is called positive, and `tp`/`fp` are the cumulative counts.
struct Step {
    threshold: f64,
    tp: usize,
    fp: usize,
}

/// The cumulative counts at each distinct score, highest score first. Rows
/// with equal scores always fall on the same side of a threshold.
fn steps(rows: &[(f64, bool)]) -> Vec<Step> {
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    let mut i = 0;
    while i < rows.len() {
        let threshold = rows[i].0;
        while i < rows.len() && rows[i].0 == threshold {
            if rows[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push(Step { threshold, tp, fp });
    }
    out
}

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (the Mann-Whitney U
/// statistic with average ranks). Higher scores mean "more positive".
///
/// `None` if the lengths differ or, after dropping NaN scores, only one
/// class (or nothing) remains.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let Ranked {
        mut rows,
        positives,
        negatives,
    } = ranked(scores, labels)?;
    // Ascending order for ranks (1-based), ties sharing their average rank.
    rows.reverse();
    let mut positive_rank_sum = 0.0;
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j < rows.len() && rows[j].0 == rows[i].0 {
            j += 1;
        }
        // Rows i..j share ranks i+1..=j, whose mean is (i + 1 + j) / 2.
        let rank = (i + 1 + j) as f64 / 2.0;
        let tied_positives = rows[i..j].iter().filter(|(_, l)| *l).count();
        positive_rank_sum += rank * tied_positives as f64;
        i = j;
    }
    let p = positives as f64;
    let u = positive_rank_sum - p * (p + 1.0) / 2.0;
    Some(u / (p * negatives as f64))
}

/// Average precision, the area under the precision-recall curve as
/// scikit-learn's `average_precision_score` defines it: the sum over the
/// distinct score thresholds (highest first) of `(R_n - R_{n-1}) * P_n`,
/// a step function with no interpolation.
///
/// `None` if the lengths differ or, after dropping NaN scores, only one
/// class (or nothing) remains.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let Ranked {
        rows, positives, ..
    } = ranked(scores, labels)?;
    let total = positives as f64;
    let mut ap = 0.0;
    let mut previous_recall = 0.0;
    for step in steps(&rows) {
        let recall = step.tp as f64 / total;
        let precision = step.tp as f64 / (step.tp + step.fp) as f64;
        ap += (recall - previous_recall) * precision;
        previous_recall = recall;
    }
    Some(ap)
}

/// Probabilities with their labels as 0/1, NaN probabilities dropped; `None`
/// if the lengths differ or nothing remains.
fn probability_rows(probs: &[f64], labels: &[bool]) -> Option<Vec<(f64, f64)>> {
    let rows: Vec<(f64, f64)> = usable(probs, labels)?
        .into_iter()
        .map(|(p, l)| (p, if l { 1.0 } else { 0.0 }))
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// Brier score: the mean squared difference between the predicted
/// probability and the outcome (0 or 1); lower is better. Defined for one
/// class too; `None` only if the lengths differ or no row has a probability.
pub fn brier(probs: &[f64], labels: &[bool]) -> Option<f64> {
    let rows = probability_rows(probs, labels)?;
    let sum: f64 = rows.iter().map(|(p, y)| (p - y) * (p - y)).sum();
    Some(sum / rows.len() as f64)
}

/// Log loss (cross-entropy), in nats per row, with probabilities clipped to
/// `[1e-15, 1 - 1e-15]` so a confident mistake costs about 34.5 rather than
/// infinity; lower is better. `None` only if the lengths differ or no row has
/// a probability.
pub fn log_loss(probs: &[f64], labels: &[bool]) -> Option<f64> {
    const EPS: f64 = 1e-15;
    let rows = probability_rows(probs, labels)?;
    let sum: f64 = rows
        .iter()
        .map(|(p, y)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Some(sum / rows.len() as f64)
}

/// Counts of a binary decision against the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Positives called positive.
    pub tp: usize,
    /// Negatives called positive.
    pub fp: usize,
    /// Negatives called negative.
    pub tn: usize,
    /// Positives called negative.
    pub fn_: usize,
}

fn ratio(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Confusion {
    /// Rows counted.
    pub fn rows(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// Share of the rows called positive that are positive; `None` if none
    /// was called positive.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Share of the positives called positive (true positive rate); `None`
    /// if there are no positives.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Share of the negatives called positive; `None` if there are no
    /// negatives.
    pub fn fpr(&self) -> Option<f64> {
        ratio(self.fp, self.fp + self.tn)
    }
}

/// The confusion counts when rows scoring `>= threshold` are called
/// positive. Rows with a NaN score are not counted, and neither is anything
/// past the shorter of the two slices.
pub fn confusion_at(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
    let mut c = Confusion::default();
    for (s, l) in scores.iter().zip(labels) {
        if s.is_nan() {
            continue;
        }
        match (*s >= threshold, *l) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// A threshold with what it achieves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Rows scoring `>= threshold` are called positive.
    pub threshold: f64,
    /// Share of the positives called positive.
    pub recall: f64,
    /// Share of the negatives called positive.
    pub fpr: f64,
    /// Share of the rows called positive that are positive.
    pub precision: f64,
}

/// The lowest threshold (so the highest recall) whose false positive rate
/// is at most `max_fpr`. Candidate thresholds are the observed scores, and
/// rows with equal scores are always on the same side, so a tie between a
/// positive and a negative cannot be split to sneak under the limit.
///
/// `None` if the lengths differ, only one class is present (after dropping
/// NaN scores), `max_fpr` is NaN, or even the highest observed score gives
/// a false positive rate above `max_fpr` (calling nothing positive is not
/// offered as an operating point).
pub fn threshold_at_fpr(scores: &[f64], labels: &[bool], max_fpr: f64) -> Option<OperatingPoint> {
    let Ranked {
        rows,
        positives,
        negatives,
    } = ranked(scores, labels)?;
    let mut best = None;
    for step in steps(&rows) {
        let fpr = step.fp as f64 / negatives as f64;
        if fpr > max_fpr || max_fpr.is_nan() {
            break;
        }
        best = Some(OperatingPoint {
            threshold: step.threshold,
            recall: step.tp as f64 / positives as f64,
            fpr,
            precision: step.tp as f64 / (step.tp + step.fp) as f64,
        });
    }
    best
}

/// Prediction/actual pairs with neither NaN; `None` if the lengths differ or
/// nothing remains.
fn pairs(pred: &[f64], actual: &[f64]) -> Option<Vec<(f64, f64)>> {
    if pred.len() != actual.len() {
        return None;
    }
    let rows: Vec<(f64, f64)> = pred
        .iter()
        .zip(actual)
        .filter(|(p, a)| !p.is_nan() && !a.is_nan())
        .map(|(p, a)| (*p, *a))
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// Mean absolute error. `None` if the lengths differ or no pair is free of
/// NaN.
pub fn mae(pred: &[f64], actual: &[f64]) -> Option<f64> {
    let rows = pairs(pred, actual)?;
    Some(rows.iter().map(|(p, a)| (p - a).abs()).sum::<f64>() / rows.len() as f64)
}

/// Root mean squared error. `None` if the lengths differ or no pair is free
/// of NaN.
pub fn rmse(pred: &[f64], actual: &[f64]) -> Option<f64> {
    let rows = pairs(pred, actual)?;
    let mse = rows.iter().map(|(p, a)| (p - a) * (p - a)).sum::<f64>() / rows.len() as f64;
    Some(mse.sqrt())
}

/// Coefficient of determination, `1 - SS_res / SS_tot`: 1 for a perfect
/// prediction, 0 for predicting the mean, negative for worse. `None` if the
/// lengths differ, no pair is free of NaN, or the actual values are all
/// equal (`SS_tot = 0`, where R² is undefined).
pub fn r2(pred: &[f64], actual: &[f64]) -> Option<f64> {
    let rows = pairs(pred, actual)?;
    r2_of(&rows)
}

fn r2_of(rows: &[(f64, f64)]) -> Option<f64> {
    let mean = rows.iter().map(|(_, a)| a).sum::<f64>() / rows.len() as f64;
    let ss_tot: f64 = rows.iter().map(|(_, a)| (a - mean) * (a - mean)).sum();
    let ss_res: f64 = rows.iter().map(|(p, a)| (p - a) * (p - a)).sum();
    (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot)
}

/// The measures of a probabilistic classifier on one data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Rows used (those with a probability).
    pub rows: usize,
    /// Positives among them.
    pub positives: usize,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Brier score.
    pub brier: f64,
    /// Log loss, in nats per row.
    pub log_loss: f64,
    /// The decision threshold the next three measures are taken at.
    pub threshold: f64,
    /// Precision at the threshold; `None` if no row reaches it.
    pub precision: Option<f64>,
    /// Recall at the threshold.
    pub recall: f64,
    /// False positive rate at the threshold.
    pub fpr: f64,
}

/// All classification measures of `probs` against `labels`, with the
/// decision made at `threshold` (`>=` is positive). `None` if the lengths
/// differ, the threshold is not finite, or after dropping NaN probabilities
/// only one class (or nothing) remains.
pub fn classification_metrics(
    probs: &[f64],
    labels: &[bool],
    threshold: f64,
) -> Option<ClassificationMetrics> {
    if !threshold.is_finite() {
        return None;
    }
    let confusion = confusion_at(probs, labels, threshold);
    Some(ClassificationMetrics {
        rows: confusion.rows(),
        positives: confusion.tp + confusion.fn_,
        roc_auc: roc_auc(probs, labels)?,
        pr_auc: pr_auc(probs, labels)?,
        brier: brier(probs, labels)?,
        log_loss: log_loss(probs, labels)?,
        threshold,
        precision: confusion.precision(),
        recall: confusion.recall()?,
        fpr: confusion.fpr()?,
    })
}

/// The measures of a regression model on one data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Rows used (those with both a prediction and an actual value).
    pub rows: usize,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination; `None` if the actual values are all
    /// equal.
    pub r2: Option<f64>,
    /// Mean of the actual values.
    pub mean_actual: f64,
    /// Mean of the predictions.
    pub mean_predicted: f64,
}

/// All regression measures of `pred` against `actual`. `None` if the
/// lengths differ or no pair is free of NaN.
pub fn regression_metrics(pred: &[f64], actual: &[f64]) -> Option<RegressionMetrics> {
    let rows = pairs(pred, actual)?;
    let n = rows.len() as f64;
    let mae = rows.iter().map(|(p, a)| (p - a).abs()).sum::<f64>() / n;
    let mse = rows.iter().map(|(p, a)| (p - a) * (p - a)).sum::<f64>() / n;
    Some(RegressionMetrics {
        rows: rows.len(),
        mae,
        rmse: mse.sqrt(),
        r2: r2_of(&rows),
        mean_actual: rows.iter().map(|(_, a)| a).sum::<f64>() / n,
        mean_predicted: rows.iter().map(|(p, _)| p).sum::<f64>() / n,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    const LABELS: [bool; 4] = [false, false, true, true];
    const SCORES: [f64; 4] = [0.1, 0.4, 0.35, 0.8];

    #[test]
    fn roc_auc_matches_scikit_learn_example() {
        assert!(close(roc_auc(&SCORES, &LABELS).unwrap(), 0.75));
    }

    #[test]
    fn pr_auc_matches_scikit_learn_example() {
        assert!(close(pr_auc(&SCORES, &LABELS).unwrap(), 5.0 / 6.0));
    }

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [false, false, true, true];
        let good = [0.1, 0.2, 0.8, 0.9];
        let bad = [0.9, 0.8, 0.2, 0.1];
        assert_eq!(roc_auc(&good, &labels), Some(1.0));
        assert_eq!(roc_auc(&bad, &labels), Some(0.0));
        assert_eq!(pr_auc(&good, &labels), Some(1.0));
        // Inverted: the positives come last, at recall 1/2 with precision
        // 1/3 and recall 1 with precision 1/2.
        assert!(close(pr_auc(&bad, &labels).unwrap(), 0.5 / 3.0 + 0.5 / 2.0));
    }

    #[test]
    fn ties_count_one_half() {
        // Every score equal: no ranking information at all.
        let labels = [true, false, true, false, false];
        assert_eq!(roc_auc(&[0.5; 5], &labels), Some(0.5));
        // One threshold covering everything: AP is the base rate.
        assert!(close(pr_auc(&[0.5; 5], &labels).unwrap(), 0.4));
        // Pairs (pos, neg): (0.9, 0.1) 1, (0.9, 0.5) 1, (0.5, 0.1) 1,
        // (0.5, 0.5) 1/2 -> 3.5 / 4.
        let scores = [0.9, 0.5, 0.5, 0.1];
        let labels = [true, true, false, false];
        assert!(close(roc_auc(&scores, &labels).unwrap(), 0.875));
        // Thresholds 0.9 (R 1/2, P 1) and 0.5 (R 1, P 2/3).
        assert!(close(
            pr_auc(&scores, &labels).unwrap(),
            0.5 + 0.5 * 2.0 / 3.0
        ));
        // -0.0 and 0.0 are the same score.
        assert_eq!(roc_auc(&[0.0, -0.0], &[true, false]), Some(0.5));
    }

    #[test]
    fn undefined_inputs_give_none() {
        assert_eq!(roc_auc(&[], &[]), None);
        assert_eq!(pr_auc(&[], &[]), None);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(pr_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(roc_auc(&[0.1], &[true, false]), None);
        assert_eq!(brier(&[], &[]), None);
        assert_eq!(log_loss(&[0.5], &[]), None);
        assert_eq!(threshold_at_fpr(&[0.3], &[true], 0.1), None);
        assert_eq!(mae(&[], &[]), None);
        assert_eq!(rmse(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(r2(&[1.0, 2.0], &[3.0, 3.0]), None);
        assert_eq!(
            classification_metrics(&[0.2, 0.3], &[true, true], 0.5),
            None
        );
        assert_eq!(classification_metrics(&SCORES, &LABELS, f64::NAN), None);
        assert_eq!(regression_metrics(&[f64::NAN], &[1.0]), None);
    }

    #[test]
    fn nan_scores_are_skipped() {
        let scores = [0.1, f64::NAN, 0.4, 0.35, 0.8, f64::NAN];
        let labels = [false, true, false, true, true, false];
        assert!(close(roc_auc(&scores, &labels).unwrap(), 0.75));
        assert!(close(pr_auc(&scores, &labels).unwrap(), 5.0 / 6.0));
        assert_eq!(confusion_at(&scores, &labels, 0.3).rows(), 4);
        // Only NaN left for one class: undefined.
        assert_eq!(roc_auc(&[f64::NAN, 0.3], &[true, false]), None);
        assert_eq!(
            brier(&[0.1, f64::NAN], &[false, true]),
            brier(&[0.1], &[false])
        );
        assert!(close(mae(&[1.0, f64::NAN], &[2.0, 5.0]).unwrap(), 1.0));
    }

    #[test]
    fn brier_and_log_loss() {
        let probs = [0.1, 0.9, 0.8, 0.3];
        let labels = [false, true, true, false];
        // (0.01 + 0.01 + 0.04 + 0.09) / 4
        assert!(close(brier(&probs, &labels).unwrap(), 0.0375));
        let want = -(0.9f64.ln() + 0.9f64.ln() + 0.8f64.ln() + 0.7f64.ln()) / 4.0;
        assert!(close(log_loss(&probs, &labels).unwrap(), want));
        // Clipping keeps a certain mistake finite: about -ln(1e-15) = 34.54
        // (1 - 1e-15 is not exact in binary, hence the loose tolerance).
        let worst = log_loss(&[0.0, 1.0], &[true, false]).unwrap();
        assert!((worst - -(1e-15f64).ln()).abs() < 1e-2, "{worst}");
        // One class is fine for these.
        assert!(close(brier(&[1.0, 0.5], &[true, true]).unwrap(), 0.125));
    }

    #[test]
    fn confusion_counts_and_rates() {
        let c = confusion_at(&SCORES, &LABELS, 0.35);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 1,
                tn: 1,
                fn_: 0
            }
        );
        assert!(close(c.precision().unwrap(), 2.0 / 3.0));
        assert_eq!(c.recall(), Some(1.0));
        assert_eq!(c.fpr(), Some(0.5));
        let none_called = confusion_at(&SCORES, &LABELS, 0.9);
        assert_eq!(none_called.precision(), None);
        assert_eq!(none_called.recall(), Some(0.0));
        assert_eq!(Confusion::default().fpr(), None);
    }

    #[test]
    fn threshold_at_fpr_hand_example() {
        // Descending: 0.9 P, 0.8 N, 0.7 P, 0.6 P, 0.6 N, 0.4 N, 0.3 P, 0.2 N.
        // 4 positives, 4 negatives.
        let scores = [0.9, 0.8, 0.7, 0.6, 0.6, 0.4, 0.3, 0.2];
        let labels = [true, false, true, true, false, false, true, false];
        // FPR <= 0.25 allows one negative: thresholds 0.9 (0/4), 0.8 (1/4),
        // 0.7 (1/4); at 0.6 the tied negative brings it to 2/4.
        let p = threshold_at_fpr(&scores, &labels, 0.25).unwrap();
        assert_eq!(p.threshold, 0.7);
        assert_eq!(p.recall, 0.5);
        assert_eq!(p.fpr, 0.25);
        assert!(close(p.precision, 2.0 / 3.0));
        // FPR <= 0.5 reaches the tie at 0.6 and then 0.4 adds a third.
        let p = threshold_at_fpr(&scores, &labels, 0.5).unwrap();
        assert_eq!(p.threshold, 0.6);
        assert_eq!(p.recall, 0.75);
        // Allowing everything: the lowest score.
        let p = threshold_at_fpr(&scores, &labels, 1.0).unwrap();
        assert_eq!((p.threshold, p.recall, p.fpr), (0.2, 1.0, 1.0));
        // FPR 0: only the top positive.
        let p = threshold_at_fpr(&scores, &labels, 0.0).unwrap();
        assert_eq!((p.threshold, p.recall), (0.9, 0.25));
        // The operating point agrees with the confusion counts.
        let c = confusion_at(&scores, &labels, 0.6);
        assert_eq!(c.recall(), Some(0.75));
        assert_eq!(c.fpr(), Some(0.5));
    }

    #[test]
    fn threshold_at_fpr_respects_ties_and_impossible_limits() {
        // The top score is shared by a positive and a negative: with FPR 0
        // nothing can be called positive without the negative.
        let scores = [0.9, 0.9, 0.1];
        let labels = [true, false, false];
        assert_eq!(threshold_at_fpr(&scores, &labels, 0.0), None);
        let p = threshold_at_fpr(&scores, &labels, 0.5).unwrap();
        assert_eq!((p.threshold, p.recall, p.fpr), (0.9, 1.0, 0.5));
        assert_eq!(threshold_at_fpr(&scores, &labels, f64::NAN), None);
    }

    #[test]
    fn regression_hand_examples() {
        let pred = [2.5, 0.0, 2.0, 8.0];
        let actual = [3.0, -0.5, 2.0, 7.0];
        // scikit-learn's documentation example: MAE 0.5, MSE 0.375,
        // R² 0.9486081370449679.
        assert!(close(mae(&pred, &actual).unwrap(), 0.5));
        assert!(close(rmse(&pred, &actual).unwrap(), 0.375f64.sqrt()));
        assert!(close(r2(&pred, &actual).unwrap(), 0.948_608_137_044_967_9));
        assert_eq!(r2(&actual, &actual), Some(1.0));
        let mean = [2.875; 4];
        assert!(close(r2(&mean, &actual).unwrap(), 0.0));
        let m = regression_metrics(&pred, &actual).unwrap();
        assert_eq!(m.rows, 4);
        assert!(close(m.mean_actual, 2.875));
        assert!(close(m.mean_predicted, 3.125));
        assert!(close(m.rmse, 0.375f64.sqrt()));
        assert_eq!(m.r2, r2(&pred, &actual));
    }

    #[test]
    fn summaries_round_trip_through_json() {
        let probs = [0.1, 0.9, 0.8, 0.3, 0.6];
        let labels = [false, true, true, false, false];
        let m = classification_metrics(&probs, &labels, 0.5).unwrap();
        assert_eq!(m.rows, 5);
        assert_eq!(m.positives, 2);
        assert!(close(m.roc_auc, roc_auc(&probs, &labels).unwrap()));
        assert!(close(m.precision.unwrap(), 2.0 / 3.0));
        assert_eq!(m.recall, 1.0);
        assert!(close(m.fpr, 1.0 / 3.0));
        // JSON text may move a float by one unit in the last place.
        let json = serde_json::to_string(&m).unwrap();
        let back: ClassificationMetrics = serde_json::from_str(&json).unwrap();
        assert_eq!((back.rows, back.positives), (m.rows, m.positives));
        assert!(close(back.brier, m.brier) && close(back.log_loss, m.log_loss));
        assert!(close(back.precision.unwrap(), m.precision.unwrap()));
        let r = regression_metrics(&[1.0, 2.0], &[1.5, 3.0]).unwrap();
        let back: RegressionMetrics =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.rows, r.rows);
        assert!(close(back.rmse, r.rmse) && close(back.r2.unwrap(), r.r2.unwrap()));
        // An undefined R² survives as null.
        let flat = regression_metrics(&[1.0, 2.0], &[1.0, 1.0]).unwrap();
        let json = serde_json::to_string(&flat).unwrap();
        assert!(json.contains(r#""r2":null"#), "{json}");
        let back: RegressionMetrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back, flat);
    }
}
