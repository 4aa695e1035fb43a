//! The entities a question mentions, for the semantic cache: two questions
//! may share a plan only when these are identical. Embeddings cannot be
//! trusted with this ("revenue on iOS" and "revenue on Android" are 0.75
//! alike), so the comparison is exact and deliberately strict: any word that
//! is neither a known item, a number, a time word, a comparison, an ordering,
//! a negation nor plain filler is kept as it is, and must match too. A
//! paraphrase that differs in such a word misses the cache and is planned
//! again; that costs milliseconds, a wrong hit would cost a wrong number.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::docs::ItemKind;
use crate::lexical::{Lexicon, stem, tokens};

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Entities {
    /// Metrics in the order named: the first one orders a ranking, so
    /// "ROAS and spend" is not "spend and ROAS".
    pub metrics: Vec<String>,
    /// Other semantic items named: `dimension:network`, `value:platform=iOS`...
    pub items: BTreeSet<String>,
    pub numbers: Vec<String>,
    pub time: Vec<String>,
    pub grains: BTreeSet<String>,
    pub comparisons: Vec<String>,
    pub order: Vec<String>,
    pub negations: Vec<String>,
    /// Words none of the above explains.
    pub other: BTreeSet<String>,
}

const FILLER: &[&str] = &[
    "what",
    "wa",
    "was",
    "were",
    "is",
    "are",
    "our",
    "the",
    "a",
    "an",
    "of",
    "for",
    "by",
    "per",
    "in",
    "on",
    "at",
    "how",
    "much",
    "many",
    "did",
    "do",
    "doe",
    "does",
    "we",
    "get",
    "got",
    "give",
    "list",
    "tell",
    "please",
    "can",
    "could",
    "would",
    "you",
    "i",
    "me",
    "my",
    "show",
    "see",
    "want",
    "to",
    "and",
    "with",
    "from",
    "during",
    "across",
    "each",
    "all",
    "data",
    "number",
    "about",
    "there",
    "which",
    "whats",
    "s",
    "it",
    "its",
    "be",
    "been",
    "have",
    "ha",
    "has",
    "had",
    "so",
    "far",
    "let",
    "display",
    "report",
    "broken",
    "down",
    "split",
    "up",
    "into",
    "total",
    "overall",
    "value",
    "figure",
    "metric",
    "like",
    "look",
    "looking",
    "doing",
    "perform",
    "performance",
    "performed",
    "did",
    "here",
    "now",
    "currently",
    "u",
    "be",
    "ve",
    "pull",
    "give",
    "breakdown",
    "grouped",
    "view",
    "fetch",
    "find",
    "know",
    "need",
    "tell",
    "than",
];

const TIME: &[(&str, &str)] = &[
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("tomorrow", "tomorrow"),
    ("day", "day"),
    ("week", "week"),
    ("month", "month"),
    ("quarter", "quarter"),
    ("year", "year"),
    ("last", "last"),
    ("past", "last"),
    ("previou", "last"),
    ("previous", "last"),
    ("prior", "last"),
    ("preceding", "last"),
    ("this", "this"),
    ("current", "this"),
    ("ytd", "ytd"),
    ("mtd", "mtd"),
    ("qtd", "qtd"),
    ("wtd", "wtd"),
    ("since", "since"),
    ("until", "until"),
    ("till", "until"),
    ("before", "before"),
    ("after", "after"),
    ("between", "between"),
    ("ago", "ago"),
    ("next", "next"),
    ("weekend", "weekend"),
    ("q1", "q1"),
    ("q2", "q2"),
    ("q3", "q3"),
    ("q4", "q4"),
    ("h1", "h1"),
    ("h2", "h2"),
    ("jan", "jan"),
    ("january", "jan"),
    ("feb", "feb"),
    ("february", "feb"),
    ("mar", "mar"),
    ("march", "mar"),
    ("apr", "apr"),
    ("april", "apr"),
    ("may", "may"),
    ("jun", "jun"),
    ("june", "jun"),
    ("jul", "jul"),
    ("july", "jul"),
    ("aug", "aug"),
    ("august", "aug"),
    ("sep", "sep"),
    ("sept", "sep"),
    ("september", "sep"),
    ("oct", "oct"),
    ("october", "oct"),
    ("nov", "nov"),
    ("november", "nov"),
    ("dec", "dec"),
    ("december", "dec"),
    ("monday", "mon"),
    ("tuesday", "tue"),
    ("wednesday", "wed"),
    ("thursday", "thu"),
    ("friday", "fri"),
    ("saturday", "sat"),
    ("sunday", "sun"),
    ("recent", "recent"),
    ("recently", "recent"),
    ("latest", "latest"),
    ("ever", "ever"),
    ("alltime", "alltime"),
    ("lifetime", "lifetime"),
];

const GRAINS: &[(&str, &str)] = &[
    ("daily", "day"),
    ("weekly", "week"),
    ("monthly", "month"),
    ("quarterly", "quarter"),
    ("yearly", "year"),
    ("annual", "year"),
    ("annually", "year"),
    ("trend", "trend"),
    ("trending", "trend"),
    ("over time", "trend"),
    ("timeline", "trend"),
    ("time series", "trend"),
];

const COMPARISONS: &[(&str, &str)] = &[
    ("above", "gt"),
    ("over", "gt"),
    ("more", "gt"),
    ("greater", "gt"),
    ("exceed", "gt"),
    ("exceeding", "gt"),
    ("exceeded", "gt"),
    ("higher", "gt"),
    ("beyond", "gt"),
    ("below", "lt"),
    ("under", "lt"),
    ("less", "lt"),
    ("fewer", "lt"),
    ("lower", "lt"),
    ("least", "least"),
    ("most", "most"),
    ("vs", "vs"),
    ("versu", "vs"),
    ("versus", "vs"),
    ("against", "vs"),
    ("compared", "vs"),
    ("compare", "vs"),
    ("comparison", "vs"),
    ("change", "change"),
    ("changed", "change"),
    ("growth", "up"),
    ("grow", "up"),
    ("grew", "up"),
    ("increase", "up"),
    ("increased", "up"),
    ("rise", "up"),
    ("rose", "up"),
    ("drop", "down"),
    ("dropped", "down"),
    ("decline", "down"),
    ("declined", "down"),
    ("decrease", "down"),
    ("decreased", "down"),
    ("fell", "down"),
    ("fall", "down"),
    ("wow", "wow"),
    ("mom", "mom"),
    ("yoy", "yoy"),
    ("qoq", "qoq"),
    ("dod", "dod"),
    ("equal", "eq"),
    ("exactly", "eq"),
    ("between", "between"),
    ("same", "same"),
    ("difference", "change"),
    ("delta", "change"),
    ("equals", "eq"),
];

const ORDER: &[(&str, &str)] = &[
    ("top", "top"),
    ("bottom", "bottom"),
    ("best", "best"),
    ("worst", "worst"),
    ("highest", "highest"),
    ("lowest", "lowest"),
    ("largest", "largest"),
    ("biggest", "largest"),
    ("smallest", "smallest"),
    ("ascending", "asc"),
    ("descending", "desc"),
    ("rank", "rank"),
    ("ranked", "rank"),
    ("ranking", "rank"),
    ("first", "first"),
    ("leading", "top"),
    ("strongest", "best"),
    ("weakest", "worst"),
    ("sorted", "sort"),
    ("sort", "sort"),
    ("order", "sort"),
    ("ordered", "sort"),
    ("max", "highest"),
    ("maximum", "highest"),
    ("min", "lowest"),
    ("minimum", "lowest"),
];

const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "without",
    "excluding",
    "exclude",
    "excluded",
    "except",
    "non",
    "other",
    "only",
    "just",
    "but",
    "besides",
    "minus",
    "neither",
    "nor",
    "any",
    "none",
    "never",
    "isn",
    "aren",
    "don",
    "didn",
    "doesn",
    "wasn",
    "t",
    "or",
    "nothing",
    "outside",
    "ignore",
    "ignoring",
    "omit",
    "omitting",
];

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("fifteen", "15"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("fifty", "50"),
    ("hundred", "100"),
    ("dozen", "12"),
    ("single", "1"),
    ("double", "x2"),
    ("twice", "x2"),
    ("half", "x0.5"),
    ("percent", "%"),
    ("pct", "%"),
];

fn lookup<'a>(table: &'a [(&str, &'a str)], w: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

/// The entities of a question, given the lexicon of indexed items.
pub fn extract(lexicon: &Lexicon, question: &str) -> Entities {
    let raw = tokens(question);
    let lower: Vec<String> = raw.iter().map(|t| t.to_lowercase()).collect();
    let mut covered = vec![false; raw.len()];
    let mut e = Entities::default();
    let docs = lexicon.docs();
    let mut mentions = lexicon.mentions(question);
    mentions.sort_by_key(|h| (h.span.0, h.doc));
    // (token position, metric) of every metric named, for ordering and for
    // binding comparisons to what they compare.
    let mut metric_at: Vec<(usize, String)> = Vec::new();
    for h in mentions {
        let Some(d) = docs.get(h.doc) else { continue };
        let named: Vec<String> = match d.kind {
            // A verified question names a whole plan, not an entity; its
            // words are compared one by one instead.
            ItemKind::VerifiedQuery => continue,
            // A glossary term stands for the items it maps to, so "whales"
            // and "paying users" differ while "ROAS" and "return on ad
            // spend" agree.
            ItemKind::Glossary => d.maps_to.clone(),
            _ => vec![d.item_id()],
        };
        for id in named {
            if id.starts_with("metric:") {
                metric_at.push((h.span.0, id));
            } else {
                e.items.insert(id);
            }
        }
        covered[h.span.0..h.span.1.min(raw.len())]
            .iter_mut()
            .for_each(|c| *c = true);
    }
    metric_at.sort();
    for (_, m) in &metric_at {
        if !e.metrics.contains(m) {
            e.metrics.push(m.clone());
        }
    }
    // The metric a comparison applies to: the last one named before it,
    // else the first after it ("spend above 1000" is not "ROAS above 1000").
    let subject = |pos: usize| -> String {
        metric_at
            .iter()
            .rev()
            .find(|(p, _)| *p < pos)
            .or_else(|| metric_at.iter().find(|(p, _)| *p > pos))
            .map_or("?".to_string(), |(_, m)| m.clone())
    };
    let mut i = 0;
    while i < raw.len() {
        let w = lower[i].as_str();
        let next = lower.get(i + 1).map(String::as_str);
        // Two-word grains ("over time", "time series") first.
        if let Some(n) = next
            && let Some(g) = lookup(GRAINS, &format!("{w} {n}"))
        {
            e.grains.insert(g.to_string());
            i += 2;
            continue;
        }
        if covered[i] {
            i += 1;
            continue;
        }
        // "over the last 30 days" is a period, not a threshold.
        if w == "over"
            && next.is_some_and(|n| {
                matches!(n, "the" | "last" | "past" | "previous" | "prior" | "this")
            })
        {
            i += 1;
            continue;
        }
        let s = stem(w);
        if let Ok(x) = w.parse::<f64>() {
            e.numbers.push(format!("{x}"));
        } else if let Some(n) = lookup(NUMBER_WORDS, w) {
            e.numbers.push(n.to_string());
        } else if let Some(t) = lookup(TIME, w).or_else(|| lookup(TIME, &s)) {
            e.time.push(t.to_string());
        } else if let Some(g) = lookup(GRAINS, w) {
            e.grains.insert(g.to_string());
        } else if let Some(c) = lookup(COMPARISONS, w) {
            // "compare X with Y" and "X versus Y" say the same once.
            if c == "vs" {
                if !e.comparisons.iter().any(|x| x == "vs") {
                    e.comparisons.push(c.to_string());
                }
            } else {
                e.comparisons.push(format!("{c}:{}", subject(i)));
            }
        } else if let Some(o) = lookup(ORDER, w) {
            e.order.push(o.to_string());
        } else if NEGATIONS.contains(&w) {
            e.negations.push(w.to_string());
        } else if let Some(num) = leading_number(w) {
            // "30d", "7day", "2x", "10k": the number and its unit both count.
            e.numbers.push(num);
        } else if !FILLER.contains(&w) && !FILLER.contains(&s.as_str()) {
            e.other.insert(s);
        }
        i += 1;
    }
    e
}

fn leading_number(w: &str) -> Option<String> {
    let digits: String = w
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if digits.is_empty() {
        return None;
    }
    let unit = &w[digits.len()..];
    Some(format!("{digits}{unit}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::docs::Document;

    fn lexicon() -> Lexicon {
        let d = Document::named;
        Lexicon::new(vec![
            d(
                ItemKind::Metric,
                "roas",
                &["roas", "return on ad spend"],
                &[],
            ),
            d(ItemKind::Metric, "spend", &["spend", "cost"], &[]),
            d(ItemKind::Value, "platform=iOS", &["iOS"], &[]),
            d(ItemKind::Value, "platform=Android", &["Android"], &[]),
            d(ItemKind::Dimension, "campaign", &["campaign"], &[]),
        ])
    }

    #[test]
    fn same_meaning_same_entities() {
        let l = lexicon();
        assert_eq!(
            extract(&l, "What was our ROAS last week?"),
            extract(&l, "ROAS for last week")
        );
        assert_eq!(
            extract(&l, "top five campaigns by ROAS"),
            extract(&l, "Top 5 campaigns by roas")
        );
        assert_eq!(
            extract(&l, "spend over the past 30 days"),
            extract(&l, "spend over the last 30 days")
        );
    }

    #[test]
    fn one_changed_element_changes_the_entities() {
        let l = lexicon();
        let pairs = [
            ("revenue on iOS", "revenue on Android"),
            ("ROAS last week", "ROAS last month"),
            ("top 5 campaigns by ROAS", "top 10 campaigns by ROAS"),
            ("campaigns with ROAS above 2", "campaigns with ROAS below 2"),
            ("spend with organic", "spend without organic"),
            ("best campaigns by ROAS", "worst campaigns by ROAS"),
            ("ROAS by campaign", "spend by campaign"),
            ("weekly spend", "monthly spend"),
            ("spend for Zorblax", "spend for Blorp"),
            (
                "top 5 campaigns by ROAS with spend above 1000",
                "top 5 campaigns by spend with ROAS above 1000",
            ),
            ("ROAS and spend by campaign", "spend and ROAS by campaign"),
        ];
        for (a, b) in pairs {
            assert_ne!(extract(&l, a), extract(&l, b), "{a} / {b}");
        }
    }
}
