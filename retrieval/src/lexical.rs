//! Lexical matching of a question against the names of indexed items: exact
//! (after normalising case, punctuation and plurals), prefix, and within a
//! small edit distance (misspellings), over an `fst` map of every name. It
//! catches what embeddings blur: "iOS" against "Android", a campaign's exact
//! name, "roass" for "roas".

use std::collections::HashMap;

use std::sync::OnceLock;

use fst::automaton::Str;
use fst::{Automaton, IntoStreamer, Map, MapBuilder, Streamer};
use levenshtein_automata::LevenshteinAutomatonBuilder;

use crate::docs::{Document, ItemKind};

/// How a name matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    Exact,
    Prefix,
    Misspelling,
    /// One distinctive word of a longer name ("lookalike" in a campaign name).
    Word,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LexHit {
    pub doc: usize,
    pub score: f32,
    pub kind: MatchKind,
    /// The words of the question that matched, and the name they matched.
    pub said: String,
    pub name: String,
    /// Token span in the question, end exclusive.
    pub span: (usize, usize),
    /// The words are part of a longer name that also matched ("spend" in
    /// "return on ad spend").
    pub nested: bool,
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    word: bool,
    /// Scales the match score: 1 for a name, lower for a word shared by
    /// several names ("lookalike" in a dozen campaigns).
    weight: f32,
}

/// Words that never identify an item on their own.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "by", "for", "in", "on", "at", "to", "and", "or", "per", "vs", "with",
    "from", "me", "my", "our", "we", "is", "was", "what", "how", "show", "which", "all", "each",
    "it", "be", "are", "were", "do", "did", "much", "many", "get", "give", "this", "that", "last",
    "over", "than", "week", "month", "day", "year", "s",
];

/// A word shared by more names than this is not distinctive.
const MAX_WORD_DF: usize = 24;
const MAX_NGRAM: usize = 8;

#[derive(Debug)]
pub struct Lexicon {
    docs: Vec<Document>,
    names: Map<Vec<u8>>,
    postings: Vec<Vec<Posting>>,
    /// Original spelling of each normalised name, for reasons.
    spelled: Vec<String>,
    exact_case: HashMap<String, Vec<u32>>,
    by_item: HashMap<String, usize>,
}

/// Lower case, "%" spelt "percent", words split on anything not a letter or digit, "'s" dropped,
/// and a plural "s" removed from words longer than three letters.
pub fn normalise(text: &str) -> Vec<String> {
    // "margin %" is named as the question says it: a question's "%" reads
    // "percent" before it is matched.
    tokens(&text.replace('%', " percent "))
        .into_iter()
        .map(|t| stem(&t.to_lowercase()))
        .collect()
}

/// The words of a text as written.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric()
            || (c == '.'
                && !cur.is_empty()
                && cur.chars().all(|x| x.is_ascii_digit())
                && chars.peek().is_some_and(|n| n.is_ascii_digit()))
        {
            cur.push(c);
        } else {
            if (c == '\'' || c == '’') && chars.peek().is_some_and(|n| *n == 's' || *n == 'S') {
                chars.next();
            }
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn stem(word: &str) -> String {
    if word.len() > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if word.len() > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// The parametric tables behind the Levenshtein automata take a while to
/// build, so each distance's is built once per process.
fn automaton(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let cell = if distance <= 1 { &ONE } else { &TWO };
    cell.get_or_init(|| LevenshteinAutomatonBuilder::new(distance.clamp(1, 2), true))
}

/// Words that point at a thing without naming it ("our", "the").
fn is_determiner(w: &str) -> bool {
    matches!(
        w,
        "our" | "my" | "your" | "the" | "their" | "its" | "this" | "that"
    )
}

pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

impl Lexicon {
    pub fn new(docs: Vec<Document>) -> Self {
        let mut by_name: std::collections::BTreeMap<String, (Vec<Posting>, String)> =
            Default::default();
        let mut exact_case: HashMap<String, Vec<u32>> = HashMap::new();
        let mut word_docs: HashMap<String, Vec<(u32, String)>> = HashMap::new();
        for (i, d) in docs.iter().enumerate() {
            let i = i as u32;
            for n in &d.names {
                let norm = normalise(n);
                // Bare numbers ("14" as an OS version) would turn every
                // "last 14 days" into a filter.
                if norm.is_empty()
                    || norm.iter().all(|w| is_stopword(w))
                    || (norm.len() == 1 && norm[0].chars().all(|c| c.is_ascii_digit() || c == '.'))
                {
                    continue;
                }
                let key = norm.join(" ");
                let e = by_name
                    .entry(key)
                    .or_insert_with(|| (Vec::new(), n.clone()));
                if !e.0.iter().any(|p| p.doc == i && !p.word) {
                    e.0.push(Posting {
                        doc: i,
                        word: false,
                        weight: 1.0,
                    });
                }
                if d.kind == ItemKind::Value && norm.len() > 1 {
                    for w in &norm {
                        if w.len() >= 4 && !is_stopword(w) && !w.chars().all(|c| c.is_ascii_digit())
                        {
                            let list = word_docs.entry(w.clone()).or_default();
                            if !list.iter().any(|(d, _)| *d == i) {
                                list.push((i, n.clone()));
                            }
                        }
                    }
                }
            }
            for c in &d.exact_case {
                exact_case.entry(c.clone()).or_default().push(i);
            }
        }
        for (w, list) in word_docs {
            if list.len() > MAX_WORD_DF {
                continue;
            }
            let weight = 0.6 / (1.0 + (list.len() as f32).ln());
            let e = by_name
                .entry(w)
                .or_insert_with(|| (Vec::new(), list[0].1.clone()));
            for (doc, _) in list {
                if !e.0.iter().any(|p| p.doc == doc) {
                    e.0.push(Posting {
                        doc,
                        word: true,
                        weight,
                    });
                }
            }
        }
        let mut builder = MapBuilder::memory();
        let mut postings = Vec::with_capacity(by_name.len());
        let mut spelled = Vec::with_capacity(by_name.len());
        for (k, (p, s)) in by_name {
            // Keys come sorted and unique from the BTreeMap, so insert
            // cannot fail.
            if builder.insert(&k, postings.len() as u64).is_ok() {
                postings.push(p);
                spelled.push(s);
            }
        }
        let names = builder.into_map();
        let by_item = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.item_id(), i))
            .collect();
        Self {
            by_item,
            docs,
            names,
            postings,
            spelled,
            exact_case,
        }
    }

    /// The document of an item id (`metric:roas`).
    pub fn find(&self, item: &str) -> Option<usize> {
        self.by_item.get(item).copied()
    }

    pub fn docs(&self) -> &[Document] {
        &self.docs
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Every item the question names, best match per item, best first.
    pub fn matches(&self, question: &str) -> Vec<LexHit> {
        let raw = tokens(question);
        let norm: Vec<String> = raw.iter().map(|t| stem(&t.to_lowercase())).collect();
        let mut hits: Vec<LexHit> = Vec::new();
        let mut covered = vec![false; norm.len()];

        // Exact names, longest first so "paid installs" claims its words
        // before "installs" does.
        for len in (1..=MAX_NGRAM.min(norm.len())).rev() {
            for start in 0..=norm.len() - len {
                let words = &norm[start..start + len];
                if words.iter().all(|w| is_stopword(w)) {
                    continue;
                }
                let key = words.join(" ");
                // "return on our ad spend" names "return on ad spend": a
                // determiner inside a name changes nothing.
                let found = self.names.get(&key).or_else(|| {
                    if len < 3 || !words[1..len - 1].iter().any(|w| is_determiner(w)) {
                        return None;
                    }
                    let shorter: Vec<&str> = words
                        .iter()
                        .enumerate()
                        .filter(|(i, w)| *i == 0 || *i == len - 1 || !is_determiner(w))
                        .map(|(_, w)| w.as_str())
                        .collect();
                    self.names.get(shorter.join(" "))
                });
                if let Some(ix) = found {
                    let inside = covered[start..start + len].iter().all(|c| *c);
                    let said = raw[start..start + len].join(" ");
                    for p in &self.postings[ix as usize] {
                        let (kind, mut score) = if p.word {
                            (MatchKind::Word, p.weight)
                        } else {
                            (MatchKind::Exact, 1.0)
                        };
                        if inside {
                            score *= 0.6;
                        }
                        hits.push(LexHit {
                            doc: p.doc as usize,
                            score,
                            kind,
                            said: said.clone(),
                            name: self.spelled[ix as usize].clone(),
                            span: (start, start + len),
                            nested: inside,
                        });
                    }
                    // A verified question's words still name their own
                    // items; only a real name claims them.
                    if self.postings[ix as usize].iter().any(|p| {
                        !p.word && self.docs[p.doc as usize].kind != ItemKind::VerifiedQuery
                    }) {
                        covered[start..start + len]
                            .iter_mut()
                            .for_each(|c| *c = true);
                    }
                }
            }
        }
        // Codes that only count as written: "US", not "us".
        for (i, t) in raw.iter().enumerate() {
            if let Some(list) = self.exact_case.get(t.as_str()) {
                for d in list {
                    hits.push(LexHit {
                        doc: *d as usize,
                        score: 1.0,
                        kind: MatchKind::Exact,
                        said: t.clone(),
                        name: t.clone(),
                        span: (i, i + 1),
                        nested: false,
                    });
                }
                covered[i] = true;
            }
        }
        // Prefixes and misspellings of the words no exact name claimed.
        for len in 1..=3.min(norm.len()) {
            for start in 0..=norm.len() - len {
                // A misspelt phrase may hold a word that names something
                // on its own ("cost per instal": "cost" is spend), so a
                // phrase is tried unless every word is taken.
                let taken = covered[start..start + len].iter().filter(|c| **c).count();
                if taken == len || (len < 3 && taken > 0) {
                    continue;
                }
                let partly_taken = taken > 0;
                let words = &norm[start..start + len];
                // "cost per instal" may hold a stopword, but not at an end.
                if is_stopword(&words[0]) || is_stopword(&words[len - 1]) {
                    continue;
                }
                let key = words.join(" ");
                let chars = key.chars().count();
                let said = raw[start..start + len].join(" ");
                if chars >= 4 && len <= 2 && !partly_taken {
                    let mut stream = self
                        .names
                        .search(Str::new(&key).starts_with())
                        .into_stream();
                    let mut n = 0;
                    while let Some((name, ix)) = stream.next() {
                        n += 1;
                        if n > 24 {
                            break;
                        }
                        let name_chars = String::from_utf8_lossy(name).chars().count();
                        let score = 0.75 * chars as f32 / name_chars.max(1) as f32;
                        self.push_postings(
                            &mut hits,
                            ix,
                            score,
                            MatchKind::Prefix,
                            &said,
                            (start, start + len),
                        );
                    }
                }
                if chars >= 5 {
                    // A transposition counts as one edit ("andriod").
                    let dist = if chars >= 9 && !partly_taken { 2 } else { 1 };
                    // A doubled final "s" escapes the plural rule ("roass"
                    // stays whole while "roas" is indexed as "roa"), so the
                    // word is also tried with one "s" less.
                    let mut keys = vec![key.clone()];
                    if let Some(k) = key.strip_suffix("ss") {
                        keys.push(stem(&format!("{k}s")));
                    }
                    for k in &keys {
                        let lev = automaton(dist).build_dfa(k);
                        let mut stream = self.names.search(&lev).into_stream();
                        while let Some((name, ix)) = stream.next() {
                            let name = String::from_utf8_lossy(name);
                            // A number is never a misspelling of another
                            // ("above 0.8" is not "above 0.9").
                            let digits = |s: &str| {
                                s.chars().filter(char::is_ascii_digit).collect::<String>()
                            };
                            if name == key || digits(&name) != digits(&key) {
                                continue;
                            }
                            let d = strsim::damerau_levenshtein(&key, &name) as f32;
                            let score = 0.8 - 0.1 * d.min(2.0);
                            self.push_postings(
                                &mut hits,
                                ix,
                                score,
                                MatchKind::Misspelling,
                                &said,
                                (start, start + len),
                            );
                        }
                    }
                }
            }
        }

        // Best match per item.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.kind.cmp(&b.kind))
                .then(a.doc.cmp(&b.doc))
        });
        let mut seen = std::collections::HashSet::new();
        hits.retain(|h| seen.insert(h.doc));
        hits
    }

    fn push_postings(
        &self,
        hits: &mut Vec<LexHit>,
        ix: u64,
        score: f32,
        kind: MatchKind,
        said: &str,
        span: (usize, usize),
    ) {
        let Some(list) = self.postings.get(ix as usize) else {
            return;
        };
        for p in list {
            let score = score * p.weight;
            hits.push(LexHit {
                doc: p.doc as usize,
                score,
                kind: if p.word && kind == MatchKind::Exact {
                    MatchKind::Word
                } else {
                    kind
                },
                said: said.to_string(),
                name: self.spelled[ix as usize].clone(),
                span,
                nested: false,
            });
        }
    }

    /// Matches that name an item outright: exact names (not inside a longer
    /// matched name) and misspellings. Prefixes and single words of longer
    /// names are guesses, left out.
    pub fn mentions(&self, question: &str) -> Vec<LexHit> {
        self.matches(question)
            .into_iter()
            .filter(|h| matches!(h.kind, MatchKind::Exact | MatchKind::Misspelling) && !h.nested)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn doc(kind: ItemKind, key: &str, names: &[&str], exact_case: &[&str]) -> Document {
        Document::named(kind, key, names, exact_case)
    }

    fn lexicon() -> Lexicon {
        Lexicon::new(vec![
            doc(
                ItemKind::Metric,
                "roas",
                &["roas", "ROAS", "return on ad spend"],
                &[],
            ),
            doc(ItemKind::Metric, "installs", &["installs"], &[]),
            doc(
                ItemKind::Metric,
                "paid_installs",
                &["paid_installs", "Paid installs"],
                &[],
            ),
            doc(
                ItemKind::Metric,
                "retention_d7",
                &["retention_d7", "D7 retention"],
                &[],
            ),
            doc(
                ItemKind::Value,
                "country=US",
                &["United States", "USA"],
                &["US"],
            ),
            doc(ItemKind::Value, "country=IN", &["India"], &["IN"]),
            doc(ItemKind::Value, "network=Facebook", &["Facebook"], &[]),
            doc(
                ItemKind::Value,
                "campaign=Facebook_iOS_US_Lookalike",
                &["Facebook_iOS_US_Lookalike", "Facebook iOS US Lookalike"],
                &[],
            ),
        ])
    }

    fn keys(l: &Lexicon, q: &str) -> Vec<(String, MatchKind)> {
        l.matches(q)
            .into_iter()
            .map(|h| (l.docs()[h.doc].key.clone(), h.kind))
            .collect()
    }

    #[test]
    fn normalises_case_punctuation_and_plurals() {
        assert_eq!(
            normalise("Paid Installs, last week's"),
            vec!["paid", "install", "last", "week"]
        );
        assert_eq!(tokens("ROAS > 2.5 in D7"), vec!["ROAS", "2.5", "in", "D7"]);
    }

    #[test]
    fn longest_exact_name_wins_over_its_words() {
        let l = lexicon();
        let h = l.matches("paid installs by network");
        assert_eq!(l.docs()[h[0].doc].key, "paid_installs");
        assert_eq!(h[0].kind, MatchKind::Exact);
        let installs = h
            .iter()
            .find(|x| l.docs()[x.doc].key == "installs")
            .unwrap();
        assert!(installs.score < h[0].score);
    }

    #[test]
    fn a_determiner_inside_a_name_still_names_it() {
        let l = lexicon();
        let h = l.matches("what was the return on our ad spend");
        assert_eq!(l.docs()[h[0].doc].key, "roas");
        assert_eq!(h[0].kind, MatchKind::Exact);
        assert_eq!(h[0].said, "return on our ad spend");
        // Only inside: "the" before a name is no part of it.
        assert!(keys(&l, "the return on ad spend").contains(&("roas".into(), MatchKind::Exact)));
    }

    #[test]
    fn short_codes_match_only_as_written() {
        let l = lexicon();
        assert!(keys(&l, "installs in US").contains(&("country=US".into(), MatchKind::Exact)));
        assert!(
            !keys(&l, "show us installs in march")
                .iter()
                .any(|(k, _)| k.starts_with("country="))
        );
        assert!(keys(&l, "installs in India").contains(&("country=IN".into(), MatchKind::Exact)));
    }

    #[test]
    fn misspellings_prefixes_and_words_match_with_lower_scores() {
        let l = lexicon();
        let m = l.matches("facebok retention");
        let fb = m
            .iter()
            .find(|h| l.docs()[h.doc].key == "network=Facebook")
            .unwrap();
        assert_eq!(fb.kind, MatchKind::Misspelling);
        assert!(fb.score < 1.0 && fb.score > 0.5);
        let ret = m
            .iter()
            .find(|h| l.docs()[h.doc].key == "retention_d7")
            .unwrap();
        assert_eq!(ret.kind, MatchKind::Prefix);
        let k = keys(&l, "spend of the lookalike campaign");
        assert!(
            k.contains(&("campaign=Facebook_iOS_US_Lookalike".into(), MatchKind::Word)),
            "{k:?}"
        );
        assert!(keys(&l, "return on ad spend").contains(&("roas".into(), MatchKind::Exact)));
    }

    #[test]
    fn nothing_matches_nothing() {
        let l = lexicon();
        assert!(l.matches("").is_empty());
        assert!(l.matches("the of by").is_empty());
        assert!(l.matches("🙂 ??? ---").is_empty());
        assert!(Lexicon::new(vec![]).matches("roas").is_empty());
    }
}
