//! The SQL guard against a corpus of hostile statements, against every
//! query the semantic compiler writes for the demo model (which must pass
//! with their meaning unchanged), and against generated input, on which it
//! must never panic.

use std::sync::OnceLock;

use chrono::NaiveDate;
use proptest::prelude::*;
use quarry::guard::{Checked, Guard, GuardError, MAX_SQL_CHARS};
use quarry_schema::query::{Comparison, DimensionRef, TimeGrain};
use quarry_schema::sqlparser::ast::{Expr, LimitClause, Statement, Value};
use quarry_schema::sqlparser::dialect::GenericDialect;
use quarry_schema::sqlparser::parser::Parser;
use quarry_schema::{CompileContext, SemanticModel, SemanticQuery, compile};

const ROW_LIMIT: u64 = 1000;

fn model() -> SemanticModel {
    quarry_schema::demo_model::load().expect("demo model")
}

/// The guard as the server builds it for the demo: the model's tables and
/// the ML views registered over them.
fn demo_guard(model: &SemanticModel) -> Guard {
    Guard::from_model(
        model,
        ["installs", "user_metrics"].map(String::from),
        quarry::udf::names().iter().map(|s| s.to_string()),
        ROW_LIMIT,
    )
}

fn ctx() -> CompileContext {
    CompileContext {
        as_of: NaiveDate::from_ymd_opt(2024, 3, 13).expect("date"),
        data_start: NaiveDate::from_ymd_opt(2023, 9, 16),
    }
}

struct Case {
    line: usize,
    code: String,
    what: String,
    sql: String,
}

/// Reads the corpus; its format is described at the top of the file.
fn corpus() -> Vec<Case> {
    let text = include_str!("../fixtures/hostile_sql.txt");
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(header) = line.strip_prefix("---- ") {
            let (code, what) = header.split_once(':').unwrap_or((header, ""));
            cases.push(Case {
                line: i + 1,
                code: code.trim().to_string(),
                what: what.trim().to_string(),
                sql: String::new(),
            });
        } else if let Some(case) = cases.last_mut() {
            if !case.sql.is_empty() {
                case.sql.push('\n');
            }
            case.sql.push_str(line);
        }
    }
    for case in &mut cases {
        case.sql = expand(&case.sql);
    }
    cases
}

fn expand(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\u{") {
            let (hex, tail) = after.split_once('}').expect("closed \\u{...}");
            let c = u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .expect("a code point");
            out.push(c);
            rest = tail;
        } else if let Some(after) = rest.strip_prefix("<<repeat ") {
            let (spec, tail) = after.split_once(">>").expect("closed <<repeat ...>>");
            let (n, text) = spec.split_once('|').expect("<<repeat N|text>>");
            out.push_str(&text.repeat(n.parse().expect("a count")));
            rest = tail;
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[test]
fn hostile_statements_are_refused_with_the_right_code() {
    let cases = corpus();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let guard = demo_guard(&model());
    let mut wrong = Vec::new();
    for case in &cases {
        let got = match guard.check(&case.sql) {
            Ok(c) => format!("accepted as {:?}", c.sql),
            Err(e) if e.code() == case.code => continue,
            Err(e) => format!("{}: {e}", e.code()),
        };
        wrong.push(format!(
            "line {} ({}): want {}, got {got}",
            case.line, case.what, case.code
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_corpus_covers_every_kind_of_refusal_but_the_internal_ones() {
    let codes: std::collections::BTreeSet<String> = corpus().into_iter().map(|c| c.code).collect();
    for code in [
        "empty",
        "too_long",
        "forbidden_character",
        "parse",
        "too_deep",
        "multiple_statements",
        "not_a_query",
        "write",
        "unknown_relation",
        "qualified_name",
        "table_function",
        "unknown_function",
        "clock_function",
        "bad_limit",
        "unsupported",
    ] {
        assert!(codes.contains(code), "no case for {code}");
    }
}

/// The compiled statement with the limit the guard is expected to leave.
fn expected_after_guard(sql: &str) -> Statement {
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).expect("compiled SQL parses");
    assert_eq!(statements.len(), 1);
    let mut statement = statements.remove(0);
    let Statement::Query(q) = &mut statement else {
        panic!("the compiler writes queries: {sql}");
    };
    let keep = match &q.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(Expr::Value(v)),
            ..
        }) => {
            matches!(&v.value, Value::Number(n, _) if n.parse::<u64>().is_ok_and(|n| n <= ROW_LIMIT))
        }
        _ => false,
    };
    if !keep {
        let offset = match q.limit_clause.take() {
            Some(LimitClause::LimitOffset { offset, .. }) => offset,
            _ => None,
        };
        q.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(Expr::value(Value::Number(ROW_LIMIT.to_string(), false))),
            offset,
            limit_by: Vec::new(),
        });
    }
    statement
}

fn assert_passes_unchanged(guard: &Guard, sql: &str, label: &str) -> Checked {
    let checked = guard.check(sql).unwrap_or_else(|e| {
        panic!(
            "{label}: the guard refuses compiled SQL ({}): {e}\n{sql}",
            e.code()
        )
    });
    let expected = expected_after_guard(sql);
    let got = Parser::parse_sql(&GenericDialect {}, &checked.sql).expect("guarded SQL parses");
    assert_eq!(got, vec![expected.clone()], "{label}: the meaning changed");
    assert_eq!(checked.sql, expected.to_string(), "{label}");
    let tables: Vec<String> = guard.relations().map(String::from).collect();
    for r in &checked.relations {
        assert!(tables.contains(r), "{label}: {r}");
    }
    assert!(!checked.relations.is_empty(), "{label}: reads nothing?");
    checked
}

#[test]
fn verified_queries_pass_the_guard_unchanged() {
    let model = model();
    let guard = demo_guard(&model);
    assert!(!model.verified_queries.is_empty());
    for vq in &model.verified_queries {
        let compiled = compile(&model, &vq.query, &ctx())
            .unwrap_or_else(|e| panic!("{}: does not compile: {e}", vq.question));
        assert_passes_unchanged(&guard, &compiled.sql, &vq.question);
    }
}

#[test]
fn every_plan_the_compiler_writes_passes_the_guard() {
    let model = model();
    let guard = demo_guard(&model);
    let mut dims: Vec<DimensionRef> = model
        .dimensions
        .keys()
        .map(|d| DimensionRef::new(d.clone()))
        .collect();
    dims.push(DimensionRef::time(TimeGrain::Week));
    let mut passed = 0;
    let mut functions = std::collections::BTreeSet::new();
    for m in model.metric_names() {
        for d in &dims {
            for compare in [None, Some(Comparison::PreviousPeriod)] {
                let q = SemanticQuery {
                    metrics: vec![m.to_string()],
                    dimensions: vec![d.clone()],
                    compare,
                    ..SemanticQuery::default()
                };
                // Plans the compiler refuses are its business, not the guard's.
                let Ok(compiled) = compile(&model, &q, &ctx()) else {
                    continue;
                };
                let label = format!("{m} by {}", d.name);
                let checked = assert_passes_unchanged(&guard, &compiled.sql, &label);
                functions.extend(checked.functions);
                passed += 1;
            }
        }
    }
    assert!(passed > 300, "only {passed} plans compiled");
    // The model metrics call the scoring UDFs through the ML views, not
    // directly, so the compiled SQL sticks to ordinary functions.
    assert!(
        functions.contains("sum") && functions.contains("count"),
        "{functions:?}"
    );
}

fn check_never_panics(sql: &str) {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    let guard = GUARD.get_or_init(|| demo_guard(&model()));
    match guard.check(sql) {
        Ok(c) => {
            assert!(c.limit <= ROW_LIMIT, "{sql:?}");
            let open: Vec<&str> = guard.relations().collect();
            assert!(
                c.relations.iter().all(|r| open.contains(&r.as_str())),
                "{sql:?}"
            );
            // What passed passes again, as the same SQL.
            let again = guard.check(&c.sql).map(|a| a.sql);
            assert_eq!(again, Ok(c.sql.clone()), "{sql:?}");
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(!e.code().is_empty());
            if let GuardError::TooLong { chars, .. } = e {
                assert!(chars > MAX_SQL_CHARS);
            }
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "SELECT",
    "select",
    "FROM",
    "WHERE",
    "WITH",
    "AS",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "JOIN",
    "LEFT",
    "ON",
    "USING",
    "LATERAL",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "IN",
    "EXISTS",
    "NOT",
    "AND",
    "OR",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "OVER",
    "PARTITION",
    "BY",
    "INTO",
    "VALUES",
    "INSERT",
    "DROP",
    "TABLE",
    "CREATE",
    "EXTERNAL",
    "COPY",
    "TO",
    "SET",
    "SHOW",
    "EXPLAIN",
    "RECURSIVE",
    "FILTER",
    "DISTINCT",
    "NULL",
    "TRUE",
    "INTERVAL",
    "CAST",
    "DOUBLE",
    "installs",
    "campaigns",
    "user_metrics",
    "secret_salaries",
    "information_schema",
    "public",
    "t",
    "x",
    "user_id",
    "count",
    "sum",
    "fraud_score",
    "now",
    "read_parquet",
    "generate_series",
    "unnest",
    "*",
    ",",
    ".",
    ";",
    "(",
    ")",
    "((",
    "))",
    "=",
    "<",
    ">",
    "+",
    "-",
    "/",
    "%",
    "||",
    "::",
    "[",
    "]",
    "{",
    "}",
    "'",
    "''",
    "'x'",
    "\"",
    "\"installs\"",
    "`",
    "--",
    "\n",
    "/*",
    "*/",
    "$1",
    "$$",
    "?",
    "@",
    "#",
    "\\",
    "1",
    "0",
    "-1",
    "1e309",
    "18446744073709551616",
    "2.5",
    "inst\u{430}lls",
    "\u{200b}",
    "\u{200d}",
    "\u{202e}",
    "\u{2066}",
    "\u{feff}",
    "\u{ff1b}",
    "\u{37e}",
    "\u{0}",
    "\u{a0}",
    "\u{3000}",
    "\u{2028}",
    "é",
    "日本",
    "👩\u{200d}💻",
    "\u{1b}",
    "\u{7f}",
];

fn fragments() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..48),
        prop::sample::select(&[" ", "", "\n", "\t"][..]),
    )
        .prop_map(|(parts, sep)| parts.join(sep))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(sql in any::<String>()) {
        check_never_panics(&sql);
    }

    #[test]
    fn sql_fragments_never_panic(sql in fragments()) {
        check_never_panics(&sql);
    }

    #[test]
    fn valid_queries_with_noise_never_panic(
        prefix in fragments(),
        suffix in fragments(),
        base in prop::sample::select(&[
            "SELECT * FROM installs",
            "SELECT user_id FROM installs WHERE user_id IN (SELECT user_id FROM events)",
            "WITH a AS (SELECT * FROM campaigns) SELECT count(*) FROM a",
        ][..]),
    ) {
        check_never_panics(&format!("{base} {suffix}"));
        check_never_panics(&format!("{prefix} {base}"));
    }
}

#[test]
fn the_demo_relations_are_the_model_tables() {
    let guard = demo_guard(&model());
    let relations: Vec<&str> = guard.relations().collect();
    assert_eq!(
        relations,
        [
            "ad_spend",
            "campaigns",
            "daily_actives",
            "events",
            "installs",
            "payments",
            "publishers",
            "user_activity",
            "user_metrics",
            "users"
        ]
    );
}
