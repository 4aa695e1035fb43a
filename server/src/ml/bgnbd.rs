//! BG/NBD (Fader, Hardie and Lee 2005) and the Gamma-Gamma spend model,
//! fitted by maximum likelihood. BG/NBD describes each customer by the
//! number of repeat purchases `x`, the time of the last one `t_x` and the
//! length of observation `T`; Gamma-Gamma adds the mean value of those
//! repeat purchases. Together they predict a customer's future purchases and
//! revenue, which is what `ltv_predict` reports.
//!
//! Parameters are positive, so the optimiser (Nelder-Mead, from argmin)
//! works on their logarithms.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use libm::lgamma;
use serde::{Deserialize, Serialize};

/// One customer's purchase history, in any time unit used consistently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// Repeat purchases (the first one is not counted).
    pub x: f64,
    /// Time of the last repeat purchase since the first purchase.
    pub t_x: f64,
    /// Time from the first purchase to the end of observation.
    pub t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("no customers to fit on")]
    Empty,
    #[error(
        "customer {index} has an impossible history (x {x}, t_x {t_x}, T {t}): need x >= 0 and 0 <= t_x <= T"
    )]
    BadHistory {
        index: usize,
        x: f64,
        t_x: f64,
        t: f64,
    },
    #[error("customer {index} has a mean purchase value of {value}; it must be positive")]
    BadValue { index: usize, value: f64 },
    #[error("Gamma-Gamma needs customers with at least one repeat purchase; there are none")]
    NoRepeaters,
    #[error("the fit did not converge: {0}")]
    NoConvergence(String),
}

fn check(histories: &[History]) -> Result<(), FitError> {
    if histories.is_empty() {
        return Err(FitError::Empty);
    }
    for (index, h) in histories.iter().enumerate() {
        let ok =
            h.x.is_finite() && h.x >= 0.0 && h.t_x >= 0.0 && h.t.is_finite() && h.t_x <= h.t + 1e-9;
        if !ok {
            return Err(FitError::BadHistory {
                index,
                x: h.x,
                t_x: h.t_x,
                t: h.t,
            });
        }
    }
    Ok(())
}

impl BgNbd {
    /// The log-likelihood of one history (equation 6 of the paper).
    pub fn log_likelihood(&self, h: &History) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = h.x;
        let a1 = lgamma(r + x) - lgamma(r) + r * alpha.ln();
        let a2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
        let a3 = -(r + x) * (alpha + h.t).ln();
        if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + h.t_x).ln();
            // log(e^a3 + e^a4) without overflow.
            let m = a3.max(a4);
            a1 + a2 + m + ((a3 - m).exp() + (a4 - m).exp()).ln()
        } else {
            a1 + a2 + a3
        }
    }

    /// Maximum-likelihood fit.
    pub fn fit(histories: &[History]) -> Result<Self, FitError> {
        check(histories)?;
        let p = minimise(
            |v| {
                let m = Self {
                    r: v[0].exp(),
                    alpha: v[1].exp(),
                    a: v[2].exp(),
                    b: v[3].exp(),
                };
                -histories.iter().map(|h| m.log_likelihood(h)).sum::<f64>()
            },
            4,
        )?;
        Ok(Self {
            r: p[0].exp(),
            alpha: p[1].exp(),
            a: p[2].exp(),
            b: p[3].exp(),
        })
    }

    /// Probability that a customer with this history is still active.
    pub fn p_alive(&self, h: &History) -> f64 {
        if h.x == 0.0 {
            return 1.0;
        }
        let Self { r, alpha, a, b } = *self;
        let ln_ratio = (a.ln() - (b + h.x - 1.0).ln())
            + (r + h.x) * ((alpha + h.t).ln() - (alpha + h.t_x).ln());
        1.0 / (1.0 + ln_ratio.exp())
    }

    /// Expected purchases in the next `horizon` time units for a customer
    /// with this history (equation 10 of the paper).
    pub fn expected_purchases(&self, h: &History, horizon: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, a, b } = *self;
        let x = h.x;
        let z = horizon / (alpha + h.t + horizon);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let growth = ((alpha + h.t).ln() - (alpha + h.t + horizon).ln()) * (r + x);
        let numer = head * (1.0 - growth.exp() * hyp);
        let denom = if x > 0.0 {
            1.0 + (a / (b + x - 1.0))
                * ((r + x) * ((alpha + h.t).ln() - (alpha + h.t_x).ln())).exp()
        } else {
            1.0
        };
        numer / denom
    }
}

impl GammaGamma {
    /// The log-likelihood of one customer's `x` repeat purchases with mean
    /// value `m`.
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        lgamma(p * x + q) - lgamma(p * x) - lgamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + (p * x) * x.ln()
            - (p * x + q) * (gamma + m * x).ln()
    }

    /// Fit on `(x, mean value)` pairs; customers without repeat purchases
    /// carry no information about spend and are skipped.
    pub fn fit(customers: &[(f64, f64)]) -> Result<Self, FitError> {
        for (index, (_, m)) in customers.iter().enumerate() {
            if !m.is_finite() || (*m <= 0.0 && customers[index].0 > 0.0) {
                return Err(FitError::BadValue { index, value: *m });
            }
        }
        let used: Vec<(f64, f64)> = customers
            .iter()
            .copied()
            .filter(|(x, _)| *x > 0.0)
            .collect();
        if used.is_empty() {
            return Err(FitError::NoRepeaters);
        }
        let p = minimise(
            |v| {
                let g = Self {
                    p: v[0].exp(),
                    q: v[1].exp(),
                    gamma: v[2].exp(),
                };
                -used
                    .iter()
                    .map(|(x, m)| g.log_likelihood(*x, *m))
                    .sum::<f64>()
            },
            3,
        )?;
        Ok(Self {
            p: p[0].exp(),
            q: p[1].exp(),
            gamma: p[2].exp(),
        })
    }

    /// Expected value of a purchase for a customer with `x` repeat purchases
    /// of mean value `m` (the population mean when `x` is 0).
    pub fn expected_value(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        (gamma + m * x) * p / (p * x + q - 1.0)
    }
}

struct Objective<'a, F: Fn(&[f64]) -> f64>(&'a F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, v: &Self::Param) -> Result<f64, ArgminError> {
        let c = (self.0)(v);
        // Nelder-Mead only compares costs: a non-finite one (parameters far
        // out) is simply the worst possible.
        Ok(if c.is_finite() { c } else { f64::MAX })
    }
}

/// Nelder-Mead from all parameters at 1 (0 in log space), restarted from
/// its own answer until the cost stops improving, which recovers the
/// precision a collapsed simplex loses.
fn minimise(f: impl Fn(&[f64]) -> f64, n: usize) -> Result<Vec<f64>, FitError> {
    let mut best = vec![0.0; n];
    let mut best_cost = f64::INFINITY;
    for _ in 0..6 {
        let mut simplex = vec![best.clone()];
        for i in 0..n {
            let mut v = best.clone();
            v[i] += 0.5;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-12)
            .map_err(|e| FitError::NoConvergence(e.to_string()))?;
        let res = Executor::new(Objective(&f), solver)
            .configure(|s| s.max_iters(5000))
            .run()
            .map_err(|e| FitError::NoConvergence(e.to_string()))?;
        let state = res.state();
        let cost = state.get_best_cost();
        let Some(p) = state.get_best_param() else {
            return Err(FitError::NoConvergence("no parameters".into()));
        };
        let improved = best_cost - cost;
        best = p.clone();
        best_cost = cost;
        if improved.abs() < 1e-9 {
            break;
        }
    }
    if !best_cost.is_finite() || best_cost == f64::MAX {
        return Err(FitError::NoConvergence(
            "the likelihood is not finite anywhere tried".into(),
        ));
    }
    Ok(best)
}

/// Gauss's hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its
/// series. BG/NBD only needs z = h / (alpha + T + h), well inside the disc.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..10_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn hypergeometric_series_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.9] {
            let want = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - want).abs() < 1e-10, "{z}");
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3) - 0.7f64.powf(-2.5)).abs() < 1e-10);
    }

    #[test]
    fn bad_histories_are_refused() {
        assert_eq!(BgNbd::fit(&[]), Err(FitError::Empty));
        let bad = History {
            x: 2.0,
            t_x: 5.0,
            t: 3.0,
        };
        assert!(matches!(
            BgNbd::fit(&[bad]),
            Err(FitError::BadHistory { index: 0, .. })
        ));
        let nan = History {
            x: f64::NAN,
            t_x: 0.0,
            t: 1.0,
        };
        assert!(BgNbd::fit(&[nan]).is_err());
        assert_eq!(GammaGamma::fit(&[(0.0, 0.0)]), Err(FitError::NoRepeaters));
        assert!(matches!(
            GammaGamma::fit(&[(2.0, -1.0)]),
            Err(FitError::BadValue { .. })
        ));
    }

    #[test]
    fn predictions_behave() {
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let never = History {
            x: 0.0,
            t_x: 0.0,
            t: 38.86,
        };
        let active = History {
            x: 5.0,
            t_x: 38.0,
            t: 38.86,
        };
        let lapsed = History {
            x: 5.0,
            t_x: 5.0,
            t: 38.86,
        };
        assert_eq!(m.p_alive(&never), 1.0);
        assert!(
            m.p_alive(&active) > 0.8 && m.p_alive(&lapsed) < 0.01,
            "{} {}",
            m.p_alive(&active),
            m.p_alive(&lapsed)
        );
        assert!(m.expected_purchases(&active, 52.0) > m.expected_purchases(&lapsed, 52.0));
        assert!(m.expected_purchases(&active, 52.0) > m.expected_purchases(&active, 10.0));
        assert_eq!(m.expected_purchases(&active, 0.0), 0.0);
    }
}
