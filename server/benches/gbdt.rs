//! Gradient-boosted trees: scoring a 200-tree depth-6 model on one core
//! (rows per second), and fitting on 200,000 rows x 15 features.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quarry::ml::gbdt::{Gbdt, GbdtParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Features with a few missing values, and a noisy non-linear 0/1 label.
fn data(rows: usize, features: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut columns: Vec<Vec<f64>> = (0..features).map(|_| Vec::with_capacity(rows)).collect();
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut signal = 0.0;
        for (f, column) in columns.iter_mut().enumerate() {
            let x: f64 = rng.random_range(-2.0..2.0);
            signal += match f % 3 {
                0 => x,
                1 => x * x - 1.3,
                _ => (2.0 * x).sin(),
            };
            column.push(if rng.random_bool(0.02) { f64::NAN } else { x });
        }
        let noise: f64 = rng.random_range(-2.0..2.0);
        y.push(f64::from(u8::from(signal + noise > 0.0)));
    }
    (columns, y)
}

fn fit(columns: &[Vec<f64>], y: &[f64], trees: usize) -> Gbdt {
    let view: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let params = GbdtParams {
        trees,
        depth: 6,
        early_stopping_rounds: None,
        ..GbdtParams::default()
    };
    Gbdt::fit(&view, y, None, &params, &mut |_, _| {})
        .expect("the fit succeeds")
        .0
}

fn scoring(c: &mut Criterion) {
    let (train, y) = data(50_000, 10, 1);
    let model = fit(&train, &y, 200);
    assert_eq!(model.trees().len(), 200);
    assert!(model.trees().iter().all(|t| t.depth() == 6));
    let rows = 1_000_000;
    let (test, _) = data(rows, 10, 2);
    let view: Vec<&[f64]> = test.iter().map(Vec::as_slice).collect();
    let mut out = vec![0.0; rows];
    let mut group = c.benchmark_group("gbdt");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("score 1M rows x 10 features, 200 trees of depth 6", |b| {
        b.iter(|| {
            model
                .predict_margin(black_box(&view), &mut out)
                .expect("scoring succeeds");
            black_box(&out);
        })
    });
    group.finish();
}

fn fitting(c: &mut Criterion) {
    let (train, y) = data(200_000, 15, 3);
    let mut group = c.benchmark_group("gbdt");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("fit 200k rows x 15 features, 300 trees of depth 6", |b| {
        b.iter(|| black_box(fit(&train, &y, 300)))
    });
    group.finish();
}

criterion_group!(benches, scoring, fitting);
criterion_main!(benches);
