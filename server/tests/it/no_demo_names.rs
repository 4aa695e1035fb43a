//! Nothing the planner, the answers or the server decide may depend on a name
//! that only the demo's model defines: such rules belong in the model YAML
//! (schema/README.md), where a team's own model can say its own words. This
//! scans the string literals of the shipped Rust code (the demo generator and
//! tests excepted) for the demo model's entity, metric, dimension and value
//! names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// English or SQL words that happen to be demo names too, and that the
/// generic code uses in their generic sense.
const GENERIC: &[&str] = &[
    // English words: verbs, prepositions, units and generic nouns
    "spend",
    "spent",
    "install",
    "day",
    "days",
    "date",
    "user",
    "users",
    "country",
    "countries",
    "platform",
    "platforms",
    "revenue",
    "cost",
    "costs",
    "value",
    "values",
    "rate",
    "count",
    "name",
    "week",
    "month",
    "type",
    "source",
    "channel",
    "channels",
    "other",
    "unknown",
    "none",
    "organic",
    "paid",
    "new",
    "total",
    "amount",
    "price",
    "sales",
    "id",
    "key",
    "in",
    "us",
    "views",
    "events",
    "money",
    "margin",
    "income",
    "purchase",
    "purchases",
    "payments",
    "acquisition",
    "objective",
    "arpu",
    // "lost money" is a negative profit, in any model with a profit metric
    "profit",
    // SQL keywords (the guard's deny list)
    "installs",
    "load",
    // the engine's built-in scoring functions (fraud, churn, lifetime value)
    "ltv",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The demo generator writes the demo's own tables and values.
            if path.file_name().is_some_and(|n| n == "demo") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name != "tests.rs" && name != "fixtures.rs" {
                out.push(path);
            }
        }
    }
}

/// The string literals of `code`, comments and the `#[cfg(test)]` part left out.
fn literals(code: &str) -> Vec<(usize, String)> {
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut in_str = false;
        let mut current = String::new();
        let mut chars = line.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            if !in_str {
                if c == '/' && chars.peek() == Some(&'/') {
                    break;
                }
                // A char literal such as '"' is not the start of a string.
                if c == '"' && prev != '\'' {
                    in_str = true;
                    current.clear();
                }
            } else if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_str = false;
                found.push((n + 1, std::mem::take(&mut current)));
            } else {
                current.push(c);
            }
            prev = c;
        }
    }
    found
}

fn demo_names() -> BTreeSet<String> {
    let model = quarry_schema::demo_model::load().unwrap();
    let mut names = BTreeSet::new();
    // Whole one-word names only: a phrase's words ("meta ads") are English.
    let mut add = |s: &str| {
        let s = s.trim().to_lowercase();
        if s.len() > 1 && s.chars().all(|c| c.is_alphanumeric() || c == '_') {
            names.insert(s);
        }
    };
    for e in model.entities.keys() {
        add(e);
    }
    for (name, m) in &model.metrics {
        add(name);
        m.synonyms.iter().for_each(|s| add(s));
    }
    for (name, d) in &model.dimensions {
        add(name);
        d.sample_values.iter().for_each(|s| add(s));
        for (value, synonyms) in &d.value_synonyms {
            add(value);
            synonyms.iter().for_each(|s| add(s));
        }
    }
    if let Some(c) = &model.vocabulary.currency {
        add(&c.code);
    }
    for g in GENERIC {
        names.remove(*g);
    }
    names
}

#[test]
fn shipped_rust_names_nothing_of_the_demo() {
    let names = demo_names();
    assert!(
        names.contains("roas") && names.contains("usd"),
        "the demo's names were read"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["server/src", "schema/src", "retrieval/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the sources were found: {}", files.len());
    let mut hits = Vec::new();
    for file in &files {
        let code = std::fs::read_to_string(file).unwrap();
        for (line, text) in literals(&code) {
            // The built-in demo model's own files.
            if text.contains("models/demo/") {
                continue;
            }
            for word in text
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .map(str::to_lowercase)
            {
                if names.contains(&word) {
                    let shown = file.strip_prefix(&root).unwrap_or(file).display();
                    hits.push(format!("{shown}:{line}: \"{word}\" in \"{text}\""));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "demo names in shipped Rust (move the rule into the model YAML):\n{}",
        hits.join("\n")
    );
}
