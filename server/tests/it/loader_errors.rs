//! A broken semantic model is reported, not half-loaded: every problem with
//! its file, line and, for a misspelt name, the closest known one.

use quarry_schema::loader::load_files;

const SETTINGS: &str = "model:\n  name: t\n  as_of: spend_facts.day\n";

const ENTITIES: &str = r#"entities:
  - name: spend_facts
    table: ad_spend
    primary_key: [day, campaign_id]
    time: {column: day, type: date}
    measures:
      - name: spend
        agg: sum
        expr: spend
  - name: campaigns
    table: campaigns
    primary_key: [campaign_id]
joins:
  - {from: spend_facts, to: campaigns, on: [campaign_id]}
dimensions:
  - name: network
    sql:
      campaigns: network
"#;

fn errors(files: &[(&str, &str)]) -> Vec<String> {
    match load_files(files) {
        Ok(_) => panic!("the model should not load"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_valid_small_model_loads() {
    let m = load_files(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - {name: spend, type: simple, measure: spend}\n",
        ),
    ])
    .expect("loads");
    assert_eq!(m.metric_order, vec!["spend"]);
    assert!(m.dimensions.contains_key("network"));
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("bad.yaml", "metrics:\n  - name: [unclosed\n"),
    ]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("bad.yaml:"), "{}", e[0]);
    assert!(e[0].contains("invalid YAML"), "{}", e[0]);
}

#[test]
fn unknown_field_suggests_the_right_one() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - name: spend\n    type: simple\n    measur: spend\n",
        ),
    ]);
    assert!(
        e.iter()
            .any(|x| x.starts_with("x.yaml:4:") && x.contains("did you mean \"measure\"")),
        "{e:?}"
    );
}

#[test]
fn unknown_measure_points_at_the_reference() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - name: spend\n    type: simple\n    measure: spnd\n",
        ),
    ]);
    assert_eq!(
        e,
        vec!["x.yaml:4:14: unknown measure \"spnd\" in metric \"spend\"; did you mean \"spend\"?"]
    );
}

#[test]
fn joins_that_could_fan_out_are_refused() {
    let bad = ENTITIES.replace("on: [campaign_id]}", "on: [\"campaign_id = network\"]}");
    let e = errors(&[("m.yaml", SETTINGS), ("e.yaml", &bad)]);
    assert!(
        e.iter()
            .any(|x| x.contains("not a unique key of \"campaigns\"") && x.contains("inflate")),
        "{e:?}"
    );
}

#[test]
fn metric_cycles_are_refused() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - {name: a, type: derived, expr: b + 1}\n  - {name: b, type: ratio, numerator: a, denominator: spend}\n",
        ),
    ]);
    assert!(
        e.iter().any(|x| x.contains("defined in terms of itself")),
        "{e:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - {name: a, type: simple, measure: nope}\n  - {name: b, type: ratoi, numerator: spend, denominator: spend}\n  - {name: c, type: derived, expr: 'spend +'}\n",
        ),
    ]);
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e[1].contains("unknown metric type \"ratoi\"; did you mean \"ratio\"?"),
        "{}",
        e[1]
    );
    assert!(e[2].contains("does not parse"), "{}", e[2]);
}

#[test]
fn bad_expressions_and_references() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        (
            "e.yaml",
            &ENTITIES
                .replace("expr: spend\n", "expr: sum(spend\n")
                .replace("campaigns: network", "campaign: network"),
        ),
    ]);
    assert!(
        e.iter()
            .any(|x| x.contains("measure \"spend\" does not parse")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|x| x.contains(
            "unknown entity \"campaign\" in dimension \"network\"; did you mean \"campaigns\"?"
        )),
        "{e:?}"
    );
}

#[test]
fn missing_model_section_and_duplicates() {
    let e = errors(&[
        ("e.yaml", ENTITIES),
        (
            "f.yaml",
            "entities:\n  - {name: campaigns, table: c, primary_key: [id]}\n",
        ),
    ]);
    assert!(e.iter().any(|x| x.contains("no `model:` section")), "{e:?}");
    assert!(
        e.iter()
            .any(|x| x.starts_with("f.yaml:2")
                && x.contains("defined twice; the first is at e.yaml:")),
        "{e:?}"
    );
}

#[test]
fn a_missing_directory_is_an_error_not_a_panic() {
    let e =
        quarry_schema::load_dir(std::path::Path::new("/nonexistent/model")).expect_err("missing");
    assert!(
        e.to_string()
            .contains("cannot read the semantic model directory"),
        "{e}"
    );
}

#[test]
fn the_demo_model_loads_and_defines_the_spec_metrics() {
    let m = quarry_schema::demo_model::load().expect("the demo model is valid");
    for metric in [
        "spend",
        "impressions",
        "clicks",
        "ctr",
        "installs",
        "paid_installs",
        "organic_installs",
        "cpi",
        "revenue",
        "purchases",
        "paying_users",
        "active_users",
        "arpu",
        "roas",
        "retention_d1",
        "retention_d7",
        "retention_d30",
    ] {
        assert!(m.metrics.contains_key(metric), "missing {metric}");
    }
    assert!(m.verified_queries.len() >= 5);
}

#[test]
fn a_synonym_that_names_a_breakdown_is_refused() {
    let e = errors(&[
        ("m.yaml", SETTINGS),
        ("e.yaml", ENTITIES),
        (
            "x.yaml",
            "metrics:\n  - name: spend\n    type: simple\n    measure: spend\n    synonyms: [cost, spend by network]\n  - name: finer\n    type: simple\n    measure: spend\n    finer_grain: spnd\n",
        ),
    ]);
    assert!(
        e.iter().any(|x| x.starts_with("x.yaml:2:")
            && x.contains("\"spend by network\", which names a breakdown")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.contains("unknown metric \"spnd\" as its finer_grain")
                && x.contains("did you mean \"spend\"")),
        "{e:?}"
    );
}
