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
