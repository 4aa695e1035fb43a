use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn quarry() -> Command {
    let mut c = Command::cargo_bin("quarry").expect("the quarry binary is built");
    c.env_remove("QUARRY_DATA_DIR");
    c
}

fn generate(dir: &Path) {
    let out = quarry()
        .args([
            "demo",
            "generate",
            "--scale",
            "0.003",
            "--seed",
            "3",
            "--end",
            "2024-03-13",
            "--out",
        ])
        .arg(dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn generate_then_query_with_sql_and_plans() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wh = tmp.path().join("wh");
    generate(&wh);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(wh.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["seed"], 3);

    // SQL, as JSON
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .args([
            "sql",
            "SELECT count(*) AS n FROM installs",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["columns"], serde_json::json!(["n"]));
    let installs = v["rows"][0][0].as_i64().expect("count");
    assert!(installs > 500, "{installs}");

    // A plan, as JSON: the same count through the semantic layer.
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .args(["query", "--plan", "-", "--format", "json"])
        .write_stdin(r#"{"metrics":["installs"],"time_range":{"kind":"all"}}"#)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["rows"][0][0].as_i64(), Some(installs));
    assert!(
        v["sql"]
            .as_str()
            .expect("sql")
            .contains("installs AS installs")
    );

    // As a table for people, with the period stated.
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .args(["query", "--plan", "-"])
        .write_stdin(r#"{"metrics":["spend"],"dimensions":[{"name":"network"}]}"#)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("period: 2024-02-13 to 2024-03-13"), "{text}");
    assert!(text.contains("no period was named"), "{text}");
    assert!(text.contains('$'), "{text}");

    // The model check plans every metric against the warehouse.
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .args(["model", "check"])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("is valid"));

    // The tour answers the verified questions.
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .args(["demo", "tour"])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("> Top 5 iOS campaigns by ROAS last month"));
    assert!(!stdout(&o).contains("error:"), "{}", stdout(&o));
}

#[test]
fn bad_input_gets_clear_errors_not_panics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = tmp.path().join("nowhere");
    let o = quarry()
        .arg("--warehouse")
        .arg(&missing)
        .args(["sql", "SELECT 1"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("quarry demo generate"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"));

    let wh = tmp.path().join("wh");
    generate(&wh);
    let cases: [(&[&str], Option<&str>, &str); 6] = [
        (
            &["query", "--plan", "-"],
            Some(r#"{"metrics":["roass"]}"#),
            "did you mean \"roas\"",
        ),
        (
            &["query", "--plan", "-"],
            Some("{not json"),
            "not a valid SemanticQuery",
        ),
        (
            &["query", "--plan", "-"],
            Some(r#"{"metrics":["spend"],"colour":"red"}"#),
            "unknown field",
        ),
        (
            &["query", "--plan", "/nonexistent/plan.json"],
            None,
            "cannot read the plan file",
        ),
        (&["sql", "DROP TABLE installs"], None, "not supported"),
        (&["sql", "SELECT nope FROM installs"], None, "nope"),
    ];
    for (args, input, want) in cases {
        let mut c = quarry();
        c.arg("--warehouse").arg(&wh).args(args);
        if let Some(i) = input {
            c.write_stdin(i);
        }
        let o = c.output().expect("runs");
        assert!(!o.status.success(), "{args:?} should fail");
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }

    // A malformed model folder.
    let model = tmp.path().join("model");
    std::fs::create_dir_all(&model).expect("dir");
    std::fs::write(
        model.join("m.yaml"),
        "model: {name: x, as_of: a.b}\nmetrics:\n  - name: [\n",
    )
    .expect("write");
    let o = quarry()
        .arg("--warehouse")
        .arg(&wh)
        .arg("--model")
        .arg(&model)
        .args(["model", "check"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("m.yaml:"), "{}", stderr(&o));

    // A table with the wrong column type for the model.
    let bad = tmp.path().join("badwh");
    std::fs::create_dir_all(bad.join("ad_spend")).expect("dir");
    for t in ["campaigns", "publishers", "installs", "events", "users"] {
        std::fs::create_dir_all(bad.join(t)).expect("dir");
        for f in std::fs::read_dir(wh.join(t)).expect("dir").flatten() {
            std::fs::copy(f.path(), bad.join(t).join(f.file_name())).expect("copy");
        }
    }
    std::fs::write(
        bad.join("ad_spend/a.csv"),
        "date,campaign_id,publisher_id,impressions,clicks,spend\nnot-a-date,1,1,x,y,z\n",
    )
    .expect("write");
    let o = quarry()
        .arg("--warehouse")
        .arg(&bad)
        .args(["query", "--plan", "-"])
        .write_stdin(r#"{"metrics":["spend"]}"#)
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error:"), "{}", stderr(&o));
}

#[test]
fn help_is_helpful() {
    let o = quarry().arg("--help").output().expect("runs");
    let s = stdout(&o);
    for cmd in ["demo", "sql", "query", "model", "bench"] {
        assert!(s.contains(cmd), "{s}");
    }
    let o = quarry()
        .args(["demo", "generate", "--help"])
        .output()
        .expect("runs");
    assert!(stdout(&o).contains("--scale"));
}
