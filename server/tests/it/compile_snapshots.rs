//! The compiled SQL of representative plans, pinned as snapshots and reviewed
//! like code. A change here changes what every answer computes.

use chrono::NaiveDate;
use quarry_schema::{CompileContext, SemanticQuery, compile};

fn ctx() -> CompileContext {
    CompileContext {
        as_of: NaiveDate::from_ymd_opt(2024, 3, 13).expect("date"),
        data_start: NaiveDate::from_ymd_opt(2023, 9, 16),
    }
}

fn sql(plan: &str) -> String {
    let model = quarry_schema::demo_model::load().expect("demo model");
    let q: SemanticQuery = serde_json::from_str(plan).expect("plan");
    compile(&model, &q, &ctx()).expect("compiles").sql
}

#[test]
fn roas_by_campaign_ios_last_month_top_5() {
    insta::assert_snapshot!(sql(
        r#"{"metrics":["roas"],"dimensions":[{"name":"campaign"}],"filters":[{"dimension":"platform","op":"eq","values":["iOS"]}],"time_range":{"kind":"previous","unit":"month"},"order":[{"by":"roas","desc":true}],"limit":5}"#
    ));
}

#[test]
fn installs_excluding_organic_by_week() {
    insta::assert_snapshot!(sql(
        r#"{"metrics":["installs"],"dimensions":[{"name":"date","grain":"week"}],"filters":[{"dimension":"network","op":"ne","values":["Organic"]}],"time_range":{"kind":"last_n_days","n":28}}"#
    ));
}

#[test]
fn cpi_by_country_month_over_month() {
    insta::assert_snapshot!(sql(
        r#"{"metrics":["cpi"],"dimensions":[{"name":"country"}],"time_range":{"kind":"current","unit":"month"},"compare":{"kind":"previous_period"}}"#
    ));
}

#[test]
fn retention_by_network_with_threshold() {
    insta::assert_snapshot!(sql(
        r#"{"metrics":["retention_d7"],"dimensions":[{"name":"network"}],"conditions":[{"metric":"retention_d7","op":"gte","value":0.1}],"time_range":{"kind":"previous","unit":"month"}}"#
    ));
}

#[test]
fn values_are_literals_never_sql() {
    let s = sql(
        r#"{"metrics":["spend"],"filters":[{"dimension":"campaign","op":"eq","values":["x'); DROP TABLE campaigns; --"]}],"time_range":{"kind":"previous","unit":"month"}}"#,
    );
    assert!(s.contains("'x''); DROP TABLE campaigns; --'"), "{s}");
}

#[test]
fn canonical_plans_are_identical_whatever_the_spelling() {
    let a: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["ROAS","roas"],"dimensions":[{"name":"Network"}],"filters":[{"dimension":"country","op":"in","values":["US","DE"]},{"dimension":"platform","op":"eq","values":["iOS"]}]}"#,
    )
    .expect("plan");
    let b: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["roas"],"dimensions":[{"name":"network"}],"filters":[{"dimension":"platform","op":"in","values":["iOS"]},{"dimension":"country","op":"in","values":["DE","US"]}],"order":[{"by":"roas","desc":true}]}"#,
    )
    .expect("plan");
    assert_eq!(a.canonical_json(), b.canonical_json());
    let c: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["roas"],"dimensions":[{"name":"network"}],"filters":[{"dimension":"platform","op":"in","values":["Android"]},{"dimension":"country","op":"in","values":["DE","US"]}]}"#,
    )
    .expect("plan");
    assert_ne!(a.canonical_json(), c.canonical_json());
}

#[test]
fn unknown_names_are_clear_errors() {
    let model = quarry_schema::demo_model::load().expect("demo model");
    let q: SemanticQuery = serde_json::from_str(r#"{"metrics":["roass"]}"#).expect("plan");
    let e = compile(&model, &q, &ctx()).expect_err("unknown metric");
    assert_eq!(
        e.to_string(),
        "unknown metric \"roass\"; did you mean \"roas\"?"
    );
    let q: SemanticQuery =
        serde_json::from_str(r#"{"metrics":["spend"],"dimensions":[{"name":"netwrok"}]}"#)
            .expect("plan");
    let e = compile(&model, &q, &ctx()).expect_err("unknown dimension");
    assert_eq!(
        e.to_string(),
        "unknown dimension \"netwrok\"; did you mean \"network\"?"
    );
    let q: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["spend"],"dimensions":[{"name":"network","grain":"week"}]}"#,
    )
    .expect("plan");
    assert!(compile(&model, &q, &ctx()).is_err());
    let q: SemanticQuery =
        serde_json::from_str(r#"{"metrics":["spend"],"limit":0}"#).expect("plan");
    assert!(compile(&model, &q, &ctx()).is_err());
}

#[test]
fn partial_buckets_and_default_periods_are_stated() {
    let model = quarry_schema::demo_model::load().expect("demo model");
    let q: SemanticQuery = serde_json::from_str(
        r#"{"metrics":["revenue"],"dimensions":[{"name":"date","grain":"week"}],"time_range":{"kind":"current","unit":"month"}}"#,
    )
    .expect("plan");
    let c = compile(&model, &q, &ctx()).expect("compiles");
    assert_eq!(
        c.notes,
        vec![
            "the first week (labelled 2024-02-26) only counts from 2024-03-01, where the period starts",
            "the last week (labelled 2024-03-11) is partial: it runs to 2024-03-13",
        ]
    );
    let q: SemanticQuery = serde_json::from_str(r#"{"metrics":["spend"]}"#).expect("plan");
    let c = compile(&model, &q, &ctx()).expect("compiles");
    assert_eq!(
        c.notes,
        vec!["no period was named, so this covers the last 30 days"]
    );
    let w = c.window.expect("window");
    assert_eq!(
        (w.start.to_string(), w.end.to_string()),
        ("2024-02-13".into(), "2024-03-13".into())
    );
    // Entity counts cover everything: no period, no note.
    let q: SemanticQuery = serde_json::from_str(r#"{"metrics":["campaigns"]}"#).expect("plan");
    let c = compile(&model, &q, &ctx()).expect("compiles");
    assert!(c.window.is_none() && c.notes.is_empty());
}

#[test]
fn share_of_installs_for_two_networks_by_week() {
    insta::assert_snapshot!(sql(
        r#"{"metrics":["installs"],"dimensions":[{"name":"date","grain":"week"},{"name":"network"}],"filters":[{"dimension":"network","op":"in","values":["Facebook","Google"]},{"dimension":"platform","op":"eq","values":["iOS"]}],"time_range":{"kind":"last_n_days","n":28},"share":true}"#
    ));
}
