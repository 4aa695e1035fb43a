//! Every metric by every dimension, with and without a comparison, either
//! compiles to SQL that DataFusion plans and runs, or is refused by the
//! compiler with a reason. An engine error here would mean the compiler
//! wrote bad SQL: that is a bug, never a user's mistake.

use quarry::semantic::SemanticError;
use quarry_schema::SemanticQuery;
use quarry_schema::query::{CalendarUnit, Comparison, DimensionRef, TimeGrain, TimeRange};

use super::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_by_every_dimension() {
    let wh = support::warehouse();
    // The model metrics (fraud rate, predicted LTV, at-risk users) need
    // trained models.
    wh.train(&[]).await;
    let ws = wh.workspace().await;
    let model = &ws.model;
    let mut dims: Vec<DimensionRef> = model
        .dimensions
        .keys()
        .map(|d| DimensionRef::new(d.clone()))
        .collect();
    dims.push(DimensionRef::time(TimeGrain::Week));
    dims.push(DimensionRef {
        name: "campaign_start".into(),
        grain: Some(TimeGrain::Month),
    });
    let (mut ran, mut refused) = (0, 0);
    for m in model.metric_names() {
        for d in &dims {
            for compare in [None, Some(Comparison::PreviousPeriod)] {
                let q = SemanticQuery {
                    metrics: vec![m.to_string()],
                    dimensions: vec![d.clone()],
                    time_range: Some(TimeRange::Previous {
                        unit: CalendarUnit::Month,
                        n: 1,
                    }),
                    compare: compare.clone(),
                    ..SemanticQuery::default()
                };
                match ws.answer(&q).await {
                    Ok(a) => {
                        ran += 1;
                        assert_eq!(
                            a.result.columns.len(),
                            a.compiled.columns.len(),
                            "{m} by {}",
                            d.name
                        );
                    }
                    Err(SemanticError::Compile(_)) => refused += 1,
                    Err(e) => panic!(
                        "{m} by {} (compare {compare:?}) failed in the engine: {e}",
                        d.name
                    ),
                }
            }
        }
    }
    assert!(ran > 300, "ran {ran}, refused {refused}");
}
