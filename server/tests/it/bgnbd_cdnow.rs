//! The BG/NBD and Gamma-Gamma fits reproduce the published parameters on
//! the CDNOW sample (2,357 customers, 39 calibration weeks), which setup
//! extracts from the `lifetimes` package into the data directory.

use quarry::ml::bgnbd::{BgNbd, GammaGamma, History};

use crate::support::assets_dir;

/// Rows of (x, t_x, T, mean value) from the summary with transactions.
fn cdnow() -> Vec<(f64, f64, f64, f64)> {
    let path = assets_dir().join("fixtures/cdnow/cdnow_customers_summary_with_transactions.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `make setup` to extract the CDNOW fixture",
            path.display()
        )
    });
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.trim().parse().unwrap()).collect();
            (f[1], f[2], f[3], f[4])
        })
        .collect()
}

fn close(got: f64, want: f64) -> bool {
    // The paper prints three decimals.
    (got - want).abs() <= 0.0015 + 0.001 * want
}

#[test]
fn bgnbd_reproduces_the_published_cdnow_parameters() {
    let rows = cdnow();
    assert_eq!(rows.len(), 2357);
    let histories: Vec<History> = rows
        .iter()
        .map(|&(x, t_x, t, _)| History { x, t_x, t })
        .collect();
    let m = BgNbd::fit(&histories).unwrap();
    eprintln!("{m:?}");
    assert!(close(m.r, 0.243), "r {}", m.r);
    assert!(close(m.alpha, 4.414), "alpha {}", m.alpha);
    assert!(close(m.a, 0.793), "a {}", m.a);
    assert!(close(m.b, 2.426), "b {}", m.b);
    let ll: f64 = histories.iter().map(|h| m.log_likelihood(h)).sum();
    // The paper's maximised log-likelihood.
    assert!((ll - -9582.4).abs() < 0.5, "log-likelihood {ll}");
    // The paper's worked example: customer 1 (2 repeat purchases, the last
    // in week 30.43 of 38.86) is expected to make 1.226 in the next 39 weeks.
    let one = History {
        x: 2.0,
        t_x: 30.43,
        t: 38.86,
    };
    let e = m.expected_purchases(&one, 39.0);
    assert!((e - 1.226).abs() < 0.005, "expected purchases {e}");
}

#[test]
fn gamma_gamma_reproduces_the_published_cdnow_parameters() {
    let rows = cdnow();
    let customers: Vec<(f64, f64)> = rows.iter().map(|&(x, _, _, m)| (x, m)).collect();
    let g = GammaGamma::fit(&customers).unwrap();
    eprintln!("{g:?}");
    assert!((g.p - 6.25).abs() < 0.01, "p {}", g.p);
    assert!((g.q - 3.74).abs() < 0.01, "q {}", g.q);
    assert!((g.gamma - 15.44).abs() < 0.02, "gamma {}", g.gamma);
}
