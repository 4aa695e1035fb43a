//! No fan-out, checked exhaustively over the demo catalogue: for every
//! additive metric and every dimension it can be broken down by, the
//! breakdown adds up to the total; and adding a second metric from another
//! fact never changes the first one's numbers.

use quarry_schema::SemanticQuery;
use quarry_schema::model::MetricKind;
use quarry_schema::query::{DimensionRef, TimeRange};

use super::support;

fn last_month() -> Option<TimeRange> {
    Some(TimeRange::Previous {
        unit: quarry_schema::query::CalendarUnit::Month,
        n: 1,
    })
}

fn sum_column(rows: &[Vec<serde_json::Value>], col: usize) -> f64 {
    rows.iter().map(|r| r[col].as_f64().unwrap_or(0.0)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdowns_add_up_and_extra_metrics_change_nothing() {
    let wh = support::warehouse();
    // Flagged installs and at-risk users are counts over model scores.
    wh.train(&["fraud", "churn", "ltv"]).await;
    let ws = wh.workspace().await;
    let model = &ws.model;
    // Additive metrics over distinct-free measures: sums and counts.
    let additive: Vec<String> = model
        .metric_names()
        .filter(|m| match &model.metrics[*m].kind {
            MetricKind::Simple { measure } => {
                let me = &model.measures[measure];
                matches!(
                    me.agg,
                    quarry_schema::model::Aggregation::Sum
                        | quarry_schema::model::Aggregation::Count
                )
            }
            _ => false,
        })
        .map(str::to_string)
        .collect();
    assert!(additive.len() >= 8, "{additive:?}");
    let mut checked = 0;
    for m in &additive {
        let mut total = SemanticQuery::new(&[m]);
        total.time_range = last_month();
        let t = ws.answer(&total).await.expect("total");
        let total_value = t.result.rows_json()[0][0].as_f64().unwrap_or(0.0);
        for d in model.dimensions.keys() {
            let mut by = total.clone();
            by.dimensions = vec![DimensionRef::new(d.clone())];
            let Ok(a) = ws.answer(&by).await else {
                continue; // not reachable from this metric's fact: an error, checked elsewhere
            };
            let got = sum_column(&a.result.rows_json(), 1);
            assert!(
                (got - total_value).abs() <= 1e-6 * total_value.abs().max(1.0),
                "{m} by {d} sums to {got}, total is {total_value}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} breakdowns checked");

    // A second metric from another fact leaves the first unchanged, row by row.
    for (a, b, d) in [
        ("spend", "revenue", "network"),
        ("installs", "spend", "country"),
        ("revenue", "clicks", "platform"),
        ("spend", "retention_d7", "network"),
    ] {
        let mut one = SemanticQuery::new(&[a]);
        one.dimensions = vec![DimensionRef::new(d)];
        one.time_range = last_month();
        let mut two = one.clone();
        two.metrics.push(b.to_string());
        let r1 = ws
            .answer(&one)
            .await
            .expect("one metric")
            .result
            .rows_json();
        let r2 = ws
            .answer(&two)
            .await
            .expect("two metrics")
            .result
            .rows_json();
        for row in &r1 {
            let other = r2
                .iter()
                .find(|x| x[0] == row[0])
                .unwrap_or_else(|| panic!("{d} {} missing with {b}", row[0]));
            let (x, y) = (
                row[1].as_f64().unwrap_or(0.0),
                other[1].as_f64().unwrap_or(0.0),
            );
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{a} by {d} = {x} alone but {y} beside {b}"
            );
        }
    }
}

/// Shares: over a whole breakdown they add up to one; a share asked for one
/// value is that value's share in the whole breakdown (its filter does not
/// shrink the total); and the time buckets keep totals of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_add_up_to_one_and_a_filter_keeps_the_whole_total() {
    use quarry_schema::query::{Filter, FilterOp, Literal, TimeGrain};
    let wh = support::warehouse();
    let ws = wh.workspace().await;
    for (m, d) in [
        ("installs", "network"),
        ("spend", "network"),
        ("revenue", "platform"),
        ("paid_installs", "country"),
        ("installs", "acquisition"),
    ] {
        let mut q = SemanticQuery::new(&[m]);
        q.dimensions = vec![DimensionRef::new(d)];
        q.time_range = last_month();
        q.share = true;
        let a = ws.answer(&q).await.expect("share");
        let cols: Vec<&str> = a.compiled.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cols, [d, m, &format!("{m}_share")]);
        let rows = a.result.rows_json();
        assert!(rows.len() >= 2, "{m} by {d}: {rows:?}");
        let sum = sum_column(&rows, 2);
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "{m} shares by {d} add up to {sum}"
        );

        let first = rows[0].clone();
        let mut one = q.clone();
        one.filters = vec![Filter {
            dimension: d.into(),
            op: FilterOp::In,
            values: vec![Literal::Str(first[0].as_str().unwrap_or_default().into())],
        }];
        let b = ws.answer(&one).await.expect("share of one value");
        let r = b.result.rows_json();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0][0], first[0]);
        let (x, y) = (
            r[0][2].as_f64().unwrap_or(0.0),
            first[2].as_f64().unwrap_or(-1.0),
        );
        assert!(
            (x - y).abs() < 1e-9,
            "{m} share of {}: {x} alone, {y} in the breakdown",
            first[0]
        );
    }

    // By week: each week's shares add up to one.
    let mut q = SemanticQuery::new(&["installs"]);
    q.dimensions = vec![
        DimensionRef::time(TimeGrain::Week),
        DimensionRef::new("platform"),
    ];
    q.time_range = last_month();
    q.share = true;
    let rows = ws
        .answer(&q)
        .await
        .expect("weekly shares")
        .result
        .rows_json();
    let mut by_week: std::collections::BTreeMap<String, f64> = Default::default();
    for r in &rows {
        *by_week.entry(r[0].to_string()).or_default() += r[3].as_f64().unwrap_or(0.0);
    }
    assert!(by_week.len() >= 4, "{by_week:?}");
    for (week, sum) in by_week {
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "installs shares in {week} add up to {sum}"
        );
    }

    // No breakdown, or nothing that adds up: the compiler says why.
    let mut q = SemanticQuery::new(&["installs"]);
    q.share = true;
    let Err(e) = ws.answer(&q).await else {
        panic!("a share without a breakdown compiled");
    };
    let e = e.to_string();
    assert!(e.contains("a share needs a breakdown"), "{e}");
    q = SemanticQuery::new(&["roas"]);
    q.dimensions = vec![DimensionRef::new("network")];
    q.share = true;
    let Err(e) = ws.answer(&q).await else {
        panic!("a share of a ratio compiled");
    };
    let e = e.to_string();
    assert!(e.contains("count or a sum"), "{e}");
}
