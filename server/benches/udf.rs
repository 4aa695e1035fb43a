//! The scoring UDFs inside the engine at scale 1: rows scored per second on
//! one core (one partition), for fraud_score over every install and for
//! churn_risk and ltv_predict over every user, reading the feature tables
//! the workspace materialised. A scan of the same feature columns without
//! scoring is measured too, so the cost of the model itself can be read off.
//!
//! Needs the demo warehouse and its trained models: `make models` first
//! (QUARRY_DATA_DIR as the Makefile sets it).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quarry::config::Config;
use quarry::semantic::Workspace;

struct Case {
    name: &'static str,
    table: &'static str,
    spec: &'static str,
    udf: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "fraud_score",
        table: "install_features",
        spec: "fraud",
        udf: "fraud_score",
    },
    Case {
        name: "churn_risk",
        table: "user_features",
        spec: "churn",
        udf: "churn_risk",
    },
    Case {
        name: "ltv_predict",
        table: "user_features",
        spec: "ltv",
        udf: "ltv_predict",
    },
];

fn udfs(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return;
        }
    };
    let mut cfg = Config::default();
    if let Some(d) = std::env::var_os("QUARRY_DATA_DIR") {
        cfg.data_dir = d.into();
    }
    // One partition: rows per second per core.
    cfg.engine.target_partitions = 1;
    let ws = match rt.block_on(Workspace::open(&cfg)) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("skipping the UDF benchmarks: {e} (run `make models` first)");
            return;
        }
    };
    let templates = ws.templates();
    let mut g = c.benchmark_group("udf");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    for case in CASES {
        let args = match templates.render("bench", &format!("{{{{ args(\"{}\") }}}}", case.spec)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("skipping {}: {e}", case.name);
                continue;
            }
        };
        let rows = match rt.block_on(
            ws.engine
                .sql(&format!("SELECT count(*) FROM {}", case.table)),
        ) {
            Ok(r) => r.rows_json()[0][0].as_u64().unwrap_or(0),
            Err(e) => {
                eprintln!(
                    "skipping {}: {e} (train the models with `make models`)",
                    case.name
                );
                continue;
            }
        };
        g.throughput(Throughput::Elements(rows));
        let scored = format!("SELECT sum({}({args})) FROM {}", case.udf, case.table);
        // The same columns read and summed, without the model.
        let columns: Vec<&str> = args.split(", ").collect();
        let scan = format!(
            "SELECT sum({}) FROM {}",
            columns
                .iter()
                .map(|c| format!("CASE WHEN {c} IS NULL THEN 0 ELSE 1 END"))
                .collect::<Vec<_>>()
                .join(" + "),
            case.table
        );
        if let Err(e) = rt.block_on(ws.engine.sql(&scored)) {
            eprintln!("skipping {}: {e}", case.name);
            continue;
        }
        g.bench_function(case.name, |b| {
            b.iter(|| rt.block_on(ws.engine.sql(&scored)).map(|r| r.num_rows()))
        });
        g.bench_function(format!("{}_scan_only", case.name), |b| {
            b.iter(|| rt.block_on(ws.engine.sql(&scan)).map(|r| r.num_rows()))
        });
    }
    g.finish();
}

criterion_group!(benches, udfs);
criterion_main!(benches);
