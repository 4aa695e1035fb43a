//! Compiling plans to SQL: every metric of the demo catalogue alone, and a
//! heavy plan (two facts, two breakdowns, filters, a comparison).

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use quarry_schema::query::DimensionRef;
use quarry_schema::{CompileContext, SemanticQuery, compile};

fn bench(c: &mut Criterion) {
    let model = quarry_schema::demo_model::load().expect("the demo model loads");
    let ctx = CompileContext {
        as_of: NaiveDate::from_ymd_opt(2026, 11, 18).expect("date"),
        data_start: NaiveDate::from_ymd_opt(2026, 5, 23),
    };
    let plans: Vec<SemanticQuery> = model
        .metric_names()
        .map(|m| {
            let mut q = SemanticQuery::new(&[m]);
            q.dimensions.push(DimensionRef::new("network"));
            q
        })
        .collect();
    c.bench_function("compile every catalogue metric by network", |b| {
        b.iter(|| {
            for q in &plans {
                std::hint::black_box(compile(&model, q, &ctx).ok());
            }
        })
    });
    let heavy: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["roas","cpi","installs"],"dimensions":[{"name":"network"},{"name":"platform"}],
            "filters":[{"dimension":"country","op":"not_in","values":["IN","BR"]}],
            "conditions":[{"metric":"roas","op":"gt","value":1}],
            "time_range":{"kind":"current","unit":"month"},"compare":{"kind":"previous_period"},
            "order":[{"by":"roas","desc":true}],"limit":10}"#,
    )
    .expect("plan");
    c.bench_function("compile a two-fact comparison plan", |b| {
        b.iter(|| std::hint::black_box(compile(&model, &heavy, &ctx).ok()))
    });
    c.bench_function("load the demo model", |b| {
        b.iter(|| std::hint::black_box(quarry_schema::demo_model::load().ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
