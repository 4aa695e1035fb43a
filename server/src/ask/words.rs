//! The words of a question, prepared for planning: symbols that carry
//! meaning ("$3", "2%", ">=", "1,000", "10k") are spelled out before the
//! question is split, so that the planner and the lexicon see the same
//! words at the same positions.

use quarry_retrieval::lexical::tokens;

use super::when::mark_dates;

#[derive(Debug, Clone)]
pub struct Words {
    /// The question as the lexicon is asked about it.
    pub text: String,
    /// The words as written.
    pub raw: Vec<String>,
    /// Lower case.
    pub low: Vec<String>,
}

impl Words {
    pub fn new(question: &str) -> Self {
        let text = spell_symbols(&mark_dates(question));
        let raw = tokens(&text);
        let low = raw.iter().map(|t| t.to_lowercase()).collect();
        Self { text, raw, low }
    }

    pub fn len(&self) -> usize {
        self.low.len()
    }

    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }

    /// Replaces the word at `i` with `to` in the words and in the text.
    pub fn correct(&mut self, i: usize, to: &str) {
        let Some(from) = self.raw.get(i).cloned() else {
            return;
        };
        // The same word may occur earlier: replace its occurrence number k.
        let k = self.raw[..i].iter().filter(|r| **r == from).count();
        let mut seen = 0;
        let mut at = None;
        for (pos, _) in self.text.match_indices(from.as_str()) {
            let before = self.text[..pos].chars().next_back();
            let after = self.text[pos + from.len()..].chars().next();
            if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            if seen == k {
                at = Some(pos);
                break;
            }
            seen += 1;
        }
        if let Some(pos) = at {
            self.text.replace_range(pos..pos + from.len(), to);
            self.raw[i] = to.to_string();
            self.low[i] = to.to_lowercase();
        }
    }

    /// The lower-case word at `i`, or "" past the end.
    pub fn at(&self, i: usize) -> &str {
        self.low.get(i).map_or("", String::as_str)
    }
}

/// The word a currency symbol becomes: `$3` and `€3` read `currency 3`,
/// an amount in the model's currency.
pub const CURRENCY: &str = "currency";

/// `$3` -> `currency 3`, `2%` -> `2 percent`, `>=` -> `gte`, `1,000` -> `1000`,
/// `non-organic` -> `non organic`.
fn spell_symbols(q: &str) -> String {
    let chars: Vec<char> = q.chars().collect();
    let mut out = String::with_capacity(q.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        match c {
            ',' if prev.is_some_and(|p| p.is_ascii_digit())
                && chars.get(i + 1..i + 4).is_some_and(|s| {
                    s.iter().all(char::is_ascii_digit)
                        && chars.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
                }) => {}
            c if is_currency_symbol(c) => {
                out.push(' ');
                out.push_str(CURRENCY);
                out.push(' ');
            }
            '%' => out.push_str(" percent "),
            '>' if next == Some('=') => {
                out.push_str(" gte ");
                i += 1;
            }
            '<' if next == Some('=') => {
                out.push_str(" lte ");
                i += 1;
            }
            '>' => out.push_str(" gt "),
            '<' => out.push_str(" lt "),
            '=' => out.push_str(" equals "),
            '&' => out.push_str(" and "),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

fn is_currency_symbol(c: char) -> bool {
    matches!(
        c,
        '$' | '€' | '£' | '¥' | '₹' | '₩' | '₽' | '₺' | '₪' | '฿' | '₫' | '₴' | '₦'
    )
}

/// A number as written, with its unit: `3`, `3.5`, `10k` (10,000),
/// `1.5m`, `3x`. Returns the value and whether it was written as a multiple.
pub fn quantity(w: &str) -> Option<(f64, bool)> {
    if let Ok(x) = w.parse::<f64>() {
        return x.is_finite().then_some((x, false));
    }
    let digits: String = w
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if digits.is_empty() {
        return None;
    }
    let x: f64 = digits.parse().ok()?;
    match &w[digits.len()..] {
        "k" => Some((x * 1e3, false)),
        "m" | "mm" | "mn" => Some((x * 1e6, false)),
        "x" => Some((x, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn symbols_become_words() {
        assert_eq!(
            Words::new("CPI under $3 and CTR >= 2%").low,
            [
                "cpi", "under", "currency", "3", "and", "ctr", "gte", "2", "percent"
            ]
        );
        assert_eq!(
            Words::new("more than 1,000 installs").low,
            ["more", "than", "1000", "installs"]
        );
        assert_eq!(Words::new("non-organic").low, ["non", "organic"]);
        assert_eq!(Words::new("ROAS above 2.5x").low, ["roas", "above", "2.5x"]);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("10k"), Some((10_000.0, false)));
        assert_eq!(quantity("2.5x"), Some((2.5, true)));
        assert_eq!(quantity("q3"), None);
        assert_eq!(quantity("30"), Some((30.0, false)));
    }
}
