//! Time phrases: the words of a question that say when ("last month", "Q3",
//! "since June 1", "the last 2 weeks by day", "week over week"), turned into
//! periods, grains and comparisons of the `SemanticQuery`. Relative phrases
//! stay relative (`last month` is `previous month`, resolved by the compiler
//! against the warehouse's as-of date); named calendar periods become dates,
//! picking the latest one that is not in the future ("October" in November
//! 2026 is October 2026, in September it is October 2025).

use chrono::{Datelike, NaiveDate};
use quarry_schema::query::{CalendarUnit, Comparison, TimeGrain, TimeRange};

/// What a run of words says about time.
#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    Range(TimeRange),
    Grain(TimeGrain),
    /// "trend", "over time": a time breakdown whose grain fits the period.
    Trend,
    Compare(Comparison),
    /// "week over week", "MoM": each period against the one before, by
    /// this unit.
    OverPeriod(TimeGrain),
    /// "vs", "compared to": joins two periods or two segments.
    Versus,
    /// "grew", "dropped", "change": a question about a difference.
    Change,
    /// A period after the as-of date ("next month", "tomorrow").
    Future,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Token span, end exclusive.
    pub span: (usize, usize),
    pub cue: Cue,
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

fn month(w: &str) -> Option<u32> {
    MONTHS
        .iter()
        .find(|(k, _)| *k == w)
        .or_else(|| {
            // "Octobr", "Febuary": one slip in a long month name.
            (w.len() >= 5)
                .then(|| {
                    MONTHS
                        .iter()
                        .find(|(k, _)| k.len() >= 5 && strsim::damerau_levenshtein(k, w) == 1)
                })
                .flatten()
        })
        .map(|(_, m)| *m)
}

fn unit(w: &str) -> Option<CalendarUnit> {
    Some(match w {
        "week" | "weeks" | "wk" | "wks" => CalendarUnit::Week,
        "month" | "months" | "mo" | "mos" => CalendarUnit::Month,
        "quarter" | "quarters" | "qtr" => CalendarUnit::Quarter,
        "year" | "years" | "yr" | "yrs" => CalendarUnit::Year,
        _ => return None,
    })
}

fn is_day(w: &str) -> bool {
    matches!(w, "day" | "days" | "d")
}

fn grain_word(w: &str) -> Option<TimeGrain> {
    Some(match w {
        "daily" | "day" | "days" | "dayly" => TimeGrain::Day,
        "weekly" | "week" | "weeks" => TimeGrain::Week,
        "monthly" | "month" | "months" => TimeGrain::Month,
        "quarterly" | "quarter" | "quarters" => TimeGrain::Quarter,
        "yearly" | "annual" | "annually" | "year" | "years" => TimeGrain::Year,
        _ => return None,
    })
}

const LAST: &[&str] = &[
    "last",
    "past",
    "previous",
    "prior",
    "trailing",
    "preceding",
    "recent",
    "latest",
];

/// A small number written as digits or a word.
pub fn number(w: &str) -> Option<u32> {
    if let Ok(n) = w.parse::<u32>() {
        return Some(n);
    }
    Some(match w {
        "one" | "a" | "an" => 1,
        "two" | "couple" => 2,
        "three" | "few" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        "sixty" => 60,
        "ninety" => 90,
        _ => return None,
    })
}

/// Writes ISO (`2026-10-05`) and slashed (`10/5/2026`) dates as one token,
/// `d20261005`, before the question is split into words (which would cut
/// them at the dashes).
pub fn mark_dates(question: &str) -> String {
    let chars: Vec<char> = question.chars().collect();
    let mut out = String::with_capacity(question.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let mut j = i;
            let mut parts: Vec<String> = vec![String::new()];
            let mut seps = Vec::new();
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    if let Some(p) = parts.last_mut() {
                        p.push(c);
                    }
                } else if (c == '-' || c == '/' || c == '.')
                    && parts.len() < 3
                    && j + 1 < chars.len()
                    && chars[j + 1].is_ascii_digit()
                {
                    seps.push(c);
                    parts.push(String::new());
                } else {
                    break;
                }
                j += 1;
            }
            let boundary = j >= chars.len() || !chars[j].is_alphanumeric();
            if parts.len() == 3 && boundary && seps[0] == seps[1] {
                let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
                let date = if n.len() == 3 && parts[0].len() == 4 {
                    NaiveDate::from_ymd_opt(n[0] as i32, n[1], n[2])
                } else if n.len() == 3 && parts[2].len() == 4 && seps[0] == '/' {
                    // Month first, as written in the US, unless it cannot be.
                    NaiveDate::from_ymd_opt(n[2] as i32, n[0], n[1])
                        .or_else(|| NaiveDate::from_ymd_opt(n[2] as i32, n[1], n[0]))
                } else if n.len() == 3 && parts[2].len() == 4 {
                    NaiveDate::from_ymd_opt(n[2] as i32, n[1], n[0])
                } else {
                    None
                };
                if let Some(d) = date {
                    out.push_str(&format!(" d{} ", d.format("%Y%m%d")));
                    i = j;
                    continue;
                }
            }
            out.extend(&chars[i..j.max(i + 1)]);
            i = j.max(i + 1);
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn marked_date(w: &str) -> Option<NaiveDate> {
    let digits = w.strip_prefix('d')?;
    if digits.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

fn year(w: &str) -> Option<i32> {
    let y: i32 = w.parse().ok()?;
    (1990..=2100).contains(&y).then_some(y)
}

fn ordinal_day(w: &str) -> Option<u32> {
    let d = w
        .strip_suffix("st")
        .or_else(|| w.strip_suffix("nd"))
        .or_else(|| w.strip_suffix("rd"))
        .or_else(|| w.strip_suffix("th"))
        .unwrap_or(w);
    let d: u32 = d.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn last_day(y: i32, m: u32) -> Option<NaiveDate> {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

/// The latest year in which month `m` has started by `as_of`.
fn year_for_month(m: u32, as_of: NaiveDate) -> i32 {
    if m <= as_of.month() {
        as_of.year()
    } else {
        as_of.year() - 1
    }
}

struct Scan<'a> {
    w: &'a [String],
    free: &'a [bool],
    as_of: NaiveDate,
}

impl Scan<'_> {
    fn at(&self, i: usize) -> &str {
        if self.free.get(i).copied().unwrap_or(false) {
            self.w.get(i).map_or("", String::as_str)
        } else {
            ""
        }
    }

    /// A date written as `d20261005`, `Oct 5`, `October 5th 2026`,
    /// `5 October` or `the 5th of October`: the date and the tokens used.
    fn date(&self, i: usize) -> Option<(NaiveDate, usize)> {
        if let Some(d) = marked_date(self.at(i)) {
            return Some((d, 1));
        }
        let mut j = i;
        if self.at(j) == "the" {
            j += 1;
        }
        if let Some(m) = month(self.at(j))
            && let Some(d) = ordinal_day(self.at(j + 1))
        {
            let (y, used) = match year(self.at(j + 2)) {
                Some(y) => (y, 3),
                None => (year_for_month(m, self.as_of), 2),
            };
            return NaiveDate::from_ymd_opt(y, m, d).map(|x| (x, j - i + used));
        }
        if let Some(d) = ordinal_day(self.at(j)) {
            let k = if self.at(j + 1) == "of" { j + 2 } else { j + 1 };
            if let Some(m) = month(self.at(k)) {
                let (y, used) = match year(self.at(k + 1)) {
                    Some(y) => (y, k + 2 - i),
                    None => (year_for_month(m, self.as_of), k + 1 - i),
                };
                return NaiveDate::from_ymd_opt(y, m, d).map(|x| (x, used));
            }
        }
        None
    }

    /// A whole month (`October`, `Oct 2026`, `October of 2025`), only when
    /// the word cannot be something else ("may" needs a year or a
    /// preposition before it).
    fn month_period(&self, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
        let w = self.at(i);
        let m = month(w)?;
        let prev = if i > 0 { self.at(i - 1) } else { "" };
        let (y, used) = if let Some(y) = year(self.at(i + 1)) {
            (y, 2)
        } else if self.at(i + 1) == "of"
            && let Some(y) = year(self.at(i + 2))
        {
            (y, 3)
        } else {
            if w == "may"
                && !matches!(
                    prev,
                    "in" | "during" | "for" | "of" | "since" | "from" | "through" | "to" | "and"
                )
            {
                return None;
            }
            (year_for_month(m, self.as_of), 1)
        };
        let start = NaiveDate::from_ymd_opt(y, m, 1)?;
        Some((start, last_day(y, m)?, used))
    }

    fn quarter_period(&self, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
        let w = self.at(i);
        let (q, mut used) = match w {
            "q1" | "q2" | "q3" | "q4" => (w[1..].parse::<u32>().ok()?, 1),
            "first" | "1st" | "second" | "2nd" | "third" | "3rd" | "fourth" | "4th"
                if self.at(i + 1) == "quarter" =>
            {
                let q = match w {
                    "first" | "1st" => 1,
                    "second" | "2nd" => 2,
                    "third" | "3rd" => 3,
                    _ => 4,
                };
                (q, 2)
            }
            _ => return None,
        };
        let first_month = (q - 1) * 3 + 1;
        let y = if let Some(y) = year(self.at(i + used)) {
            used += 1;
            y
        } else if self.at(i + used) == "of"
            && let Some(y) = year(self.at(i + used + 1))
        {
            used += 2;
            y
        } else {
            year_for_month(first_month, self.as_of)
        };
        let start = NaiveDate::from_ymd_opt(y, first_month, 1)?;
        Some((start, last_day(y, first_month + 2)?, used))
    }

    fn half_period(&self, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
        let (first_month, mut used) = match self.at(i) {
            "h1" => (1, 1),
            "h2" => (7, 1),
            "first" if self.at(i + 1) == "half" => (1, 2),
            "second" if self.at(i + 1) == "half" => (7, 2),
            _ => return None,
        };
        let y = if let Some(y) = year(self.at(i + used)) {
            used += 1;
            y
        } else {
            year_for_month(first_month, self.as_of)
        };
        let start = NaiveDate::from_ymd_opt(y, first_month, 1)?;
        Some((start, last_day(y, first_month + 5)?, used))
    }

    /// Any named period: a date, a month, a quarter, a half, a year.
    fn period(&self, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
        if let Some((d, n)) = self.date(i) {
            return Some((d, d, n));
        }
        if let Some(p) = self.quarter_period(i) {
            return Some(p);
        }
        if let Some(p) = self.half_period(i) {
            return Some(p);
        }
        if let Some(p) = self.month_period(i) {
            return Some(p);
        }
        let y = year(self.at(i))?;
        let prev = if i > 0 { self.at(i - 1) } else { "" };
        // A bare number is a year only after a word that introduces a period.
        if !matches!(
            prev,
            "in" | "during" | "for" | "of" | "since" | "from" | "through" | "to" | "and" | "year"
        ) {
            return None;
        }
        Some((
            NaiveDate::from_ymd_opt(y, 1, 1)?,
            NaiveDate::from_ymd_opt(y, 12, 31)?,
            1,
        ))
    }
}

fn range(start: NaiveDate, end: NaiveDate) -> Cue {
    Cue::Range(TimeRange::Between { start, end })
}

/// Every time phrase among the free words (`free[i]` is false for words
/// another part of the question already claimed, such as "lifetime" in
/// "lifetime value"), in order.
pub fn find(words: &[String], free: &[bool], as_of: NaiveDate) -> Vec<Found> {
    let s = Scan {
        w: words,
        free,
        as_of,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (cue, used) = match phrase(&s, i) {
            Some(x) => x,
            None => {
                i += 1;
                continue;
            }
        };
        out.push(Found {
            span: (i, i + used),
            cue,
        });
        i += used.max(1);
    }
    out
}

fn phrase(s: &Scan, i: usize) -> Option<(Cue, usize)> {
    let w = s.at(i);
    if w.is_empty() {
        return None;
    }
    let w1 = s.at(i + 1);
    let w2 = s.at(i + 2);
    let w3 = s.at(i + 3);
    // Comparisons of periods.
    if (w1 == "over" || w1 == "on")
        && let Some(g) = grain_word(w).filter(|_| w2 == w)
    {
        let cue = if g == TimeGrain::Year {
            Cue::Compare(Comparison::SamePeriodLastYear)
        } else {
            Cue::OverPeriod(g)
        };
        return Some((cue, 3));
    }
    match (w, w1, w2) {
        ("same", "period", "last") if w3 == "year" => {
            return Some((Cue::Compare(Comparison::SamePeriodLastYear), 4));
        }
        ("the", "same", "period") if w3 == "last" && s.at(i + 4) == "year" => {
            return Some((Cue::Compare(Comparison::SamePeriodLastYear), 5));
        }
        _ => {}
    }
    match w {
        "wow" => return Some((Cue::OverPeriod(TimeGrain::Week), 1)),
        "mom" => return Some((Cue::OverPeriod(TimeGrain::Month), 1)),
        "qoq" => return Some((Cue::OverPeriod(TimeGrain::Quarter), 1)),
        "dod" => return Some((Cue::OverPeriod(TimeGrain::Day), 1)),
        "yoy" => return Some((Cue::Compare(Comparison::SamePeriodLastYear), 1)),
        _ => {}
    }
    // "the previous period", "the period before", "the prior period",
    // "the week before" (after vs): the period just before.
    {
        let j = if w == "the" { i + 1 } else { i };
        let a = s.at(j);
        let b = s.at(j + 1);
        if matches!(a, "previous" | "prior" | "preceding" | "last")
            && matches!(b, "period" | "periods")
        {
            return Some((Cue::Compare(Comparison::PreviousPeriod), j + 2 - i));
        }
        if j > i && (a == "period" || a == "one" || unit(a).is_some() || is_day(a)) && b == "before"
        {
            return Some((Cue::Compare(Comparison::PreviousPeriod), j + 2 - i));
        }
    }
    if matches!(w, "vs" | "versus" | "v") {
        return Some((Cue::Versus, 1));
    }
    if matches!(w, "compared" | "comparing" | "compare" | "compares")
        && matches!(w1, "to" | "with" | "against")
    {
        return Some((Cue::Versus, 2));
    }
    if w == "against" || (w == "relative" && w1 == "to") {
        return Some((Cue::Versus, if w == "against" { 1 } else { 2 }));
    }
    if matches!(
        w,
        "change"
            | "changed"
            | "changes"
            | "grew"
            | "grow"
            | "growth"
            | "increase"
            | "increased"
            | "decrease"
            | "decreased"
            | "drop"
            | "dropped"
            | "declined"
            | "decline"
            | "fell"
            | "rose"
            | "delta"
            | "difference"
    ) {
        return Some((Cue::Change, 1));
    }
    if matches!(w, "up" | "down") && matches!(w1, "or" | "vs") && matches!(w2, "down" | "up") {
        return Some((Cue::Change, 3));
    }

    // Single days.
    match w {
        "today" | "tday" => return Some((Cue::Range(TimeRange::Day { offset: 0 }), 1)),
        "yesterday" | "yday" | "yesterdays" => {
            return Some((Cue::Range(TimeRange::Day { offset: 1 }), 1));
        }
        "tomorrow" => return Some((Cue::Future, 1)),
        _ => {}
    }
    if w == "day" && w1 == "before" && w2 == "yesterday" {
        return Some((Cue::Range(TimeRange::Day { offset: 2 }), 3));
    }
    if w == "next" && (unit(w1).is_some() || is_day(w1) || number(w1).is_some()) {
        let used = if number(w1).is_some() { 3 } else { 2 };
        return Some((Cue::Future, used));
    }
    if matches!(w, "forecast" | "forecasted" | "projected" | "projection") {
        return Some((Cue::Future, 1));
    }
    // "3 days ago".
    if let Some(n) = number(w)
        && is_day(w1)
        && w2 == "ago"
    {
        return Some((Cue::Range(TimeRange::Day { offset: n }), 3));
    }

    // "last 30 days", "past 2 weeks", "the last quarter", "last month".
    {
        let mut j = i;
        if w == "the" || w == "over" || w == "in" || w == "for" || w == "during" {
            j += 1;
            if s.at(j) == "the" {
                j += 1;
            }
        }
        if LAST.contains(&s.at(j)) {
            let a = s.at(j + 1);
            if let Some(n) = number(a).filter(|_| a != "a" && a != "an") {
                // "the last 3 full months": whole calendar units.
                let full = matches!(s.at(j + 2), "full" | "complete" | "whole" | "calendar");
                let b = s.at(j + 2 + usize::from(full));
                let used = j + 3 + usize::from(full) - i;
                let n = n.max(1);
                if is_day(b) {
                    return Some((Cue::Range(TimeRange::LastNDays { n }), used));
                }
                // "the last 2 weeks" is read as the last 14 days, the way
                // it is said; full weeks, months and longer are calendar units.
                match unit(b) {
                    Some(CalendarUnit::Week) if !full => {
                        return Some((Cue::Range(TimeRange::LastNDays { n: 7 * n }), used));
                    }
                    Some(u) => return Some((Cue::Range(TimeRange::Previous { unit: u, n }), used)),
                    None => {}
                }
            }
            if let Some(u) = unit(a) {
                return Some((Cue::Range(TimeRange::Previous { unit: u, n: 1 }), j + 2 - i));
            }
            if is_day(a) {
                return Some((Cue::Range(TimeRange::Day { offset: 1 }), j + 2 - i));
            }
        }
        // "30 days", "in the 7 days to ..." without "last" (after "in" or "over").
        if j > i
            && let Some(n) = number(s.at(j))
            && is_day(s.at(j + 1))
        {
            return Some((Cue::Range(TimeRange::LastNDays { n: n.max(1) }), j + 2 - i));
        }
    }
    // "L30D", "last30", "30d".
    if let Some(rest) = w.strip_prefix('l')
        && let Some(n) = rest.strip_suffix('d').and_then(|x| x.parse::<u32>().ok())
    {
        return Some((Cue::Range(TimeRange::LastNDays { n: n.max(1) }), 1));
    }
    if let Some(n) = w
        .strip_suffix('d')
        .and_then(|x| x.parse::<u32>().ok())
        .filter(|n| *n > 1)
        && i > 0
        && LAST.contains(&s.at(i - 1))
    {
        return Some((Cue::Range(TimeRange::LastNDays { n }), 1));
    }

    // "this month", "current quarter", "so far this year", "month to date".
    if matches!(w, "this" | "current" | "thi")
        && let Some(u) = unit(w1)
    {
        return Some((Cue::Range(TimeRange::Current { unit: u }), 2));
    }
    if let Some(u) = unit(w)
        && w1 == "to"
        && w2 == "date"
    {
        return Some((Cue::Range(TimeRange::Current { unit: u }), 3));
    }
    let to_date = match w {
        "wtd" => Some(CalendarUnit::Week),
        "mtd" => Some(CalendarUnit::Month),
        "qtd" => Some(CalendarUnit::Quarter),
        "ytd" => Some(CalendarUnit::Year),
        _ => None,
    };
    if let Some(unit) = to_date {
        return Some((Cue::Range(TimeRange::Current { unit }), 1));
    }
    // "all time", "ever", "since launch", "to date".
    if (w == "all" && matches!(w1, "time" | "history"))
        || (w == "since" && matches!(w1, "launch" | "inception" | "start" | "beginning"))
    {
        return Some((Cue::Range(TimeRange::All), 2));
    }
    if matches!(w, "ever" | "alltime") || (w == "to" && w1 == "date") {
        return Some((Cue::Range(TimeRange::All), if w == "to" { 2 } else { 1 }));
    }
    if w == "since"
        && w1 == "the"
        && matches!(w2, "start" | "beginning")
        && w3 == "of"
        && let Some(u) = unit(s.at(i + 4)).or_else(|| {
            (matches!(s.at(i + 4), "the" | "this") && unit(s.at(i + 5)).is_some())
                .then(|| unit(s.at(i + 5)))
                .flatten()
        })
    {
        let used = if unit(s.at(i + 4)).is_some() { 5 } else { 6 };
        return Some((Cue::Range(TimeRange::Current { unit: u }), used));
    }

    // "since the start of September", "since the beginning of Q3".
    if w == "since"
        && w1 == "the"
        && matches!(w2, "start" | "beginning")
        && w3 == "of"
        && let Some((start, _, n)) = s.period(i + 4)
    {
        return Some((Cue::Range(TimeRange::Since { start }), n + 4));
    }
    // "since June 1", "since 2026-06-01", "since June", "from August on".
    if matches!(w, "since" | "after") {
        if let Some((d, n)) = s.date(i + 1) {
            let start = if w == "after" { d.succ_opt()? } else { d };
            return Some((Cue::Range(TimeRange::Since { start }), n + 1));
        }
        if let Some((start, end, n)) = s.period(i + 1) {
            let start = if w == "after" { end.succ_opt()? } else { start };
            return Some((Cue::Range(TimeRange::Since { start }), n + 1));
        }
    }
    // "from X to Y", "between X and Y", "X - Y", "X through Y".
    {
        let j = if matches!(w, "from" | "between") {
            i + 1
        } else {
            i
        };
        if let Some((a_start, a_end, n)) = s.period(j) {
            let k = j + n;
            if matches!(
                s.at(k),
                "to" | "and" | "through" | "thru" | "until" | "till" | "til"
            ) && (j > i || s.at(k) != "and")
                && let Some((b_start, b_end, m)) = s.period(k + 1).or_else(|| {
                    // "November 1 and 5": the second day in the first's month.
                    let d = ordinal_day(s.at(k + 1))?;
                    let x = NaiveDate::from_ymd_opt(a_start.year(), a_start.month(), d)?;
                    (a_start == a_end).then_some((x, x, 1))
                })
            {
                return Some((range(a_start.min(b_start), a_end.max(b_end)), k + 1 + m - i));
            }
            if j > i && w == "from" {
                // "from August": from then on.
                return Some((Cue::Range(TimeRange::Since { start: a_start }), n + 1));
            }
            return Some((range(a_start, a_end), j + n - i));
        }
    }
    // "this year" handled above; "last year" by LAST; a year after "in".
    // Grains and trends.
    // "by week", "per month", "each day", "day by day".
    if matches!(w, "by" | "per" | "each" | "every")
        && let Some(g) = grain_word(w1)
    {
        return Some((Cue::Grain(g), 2));
    }
    if w1 == "by"
        && w2 == w
        && let Some(g) = grain_word(w)
    {
        return Some((Cue::Grain(g), 3));
    }
    if matches!(
        w,
        "daily" | "weekly" | "monthly" | "quarterly" | "yearly" | "annually" | "dayly"
    ) {
        return Some((Cue::Grain(grain_word(w)?), 1));
    }
    if matches!(w, "trend" | "trends" | "trending" | "trended" | "timeline") {
        return Some((Cue::Trend, 1));
    }
    if (w == "over" && w1 == "time") || (w == "time" && w1 == "series") {
        return Some((Cue::Trend, 2));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use quarry_retrieval::lexical::tokens;

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 18).unwrap()
    }

    fn cues(q: &str) -> Vec<Cue> {
        let marked = mark_dates(q);
        let w: Vec<String> = tokens(&marked).iter().map(|t| t.to_lowercase()).collect();
        let free = vec![true; w.len()];
        find(&w, &free, as_of())
            .into_iter()
            .map(|f| f.cue)
            .collect()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn between(a: NaiveDate, b: NaiveDate) -> Cue {
        Cue::Range(TimeRange::Between { start: a, end: b })
    }

    #[test]
    fn relative_periods() {
        use CalendarUnit::*;
        assert_eq!(
            cues("spend last month"),
            [Cue::Range(TimeRange::Previous { unit: Month, n: 1 })]
        );
        assert_eq!(
            cues("installs over the past 30 days"),
            [Cue::Range(TimeRange::LastNDays { n: 30 })]
        );
        assert_eq!(
            cues("the last 2 weeks by day"),
            [
                Cue::Range(TimeRange::LastNDays { n: 14 }),
                Cue::Grain(TimeGrain::Day)
            ]
        );
        assert_eq!(
            cues("revenue this quarter"),
            [Cue::Range(TimeRange::Current { unit: Quarter })]
        );
        assert_eq!(
            cues("spend month to date"),
            [Cue::Range(TimeRange::Current { unit: Month })]
        );
        assert_eq!(
            cues("yesterday"),
            [Cue::Range(TimeRange::Day { offset: 1 })]
        );
        assert_eq!(
            cues("installs 3 days ago"),
            [Cue::Range(TimeRange::Day { offset: 3 })]
        );
        assert_eq!(cues("revenue next month"), [Cue::Future]);
        assert_eq!(
            cues("Weekly CPI since the start of September"),
            [
                Cue::Grain(TimeGrain::Week),
                Cue::Range(TimeRange::Since {
                    start: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
                })
            ]
        );
    }

    #[test]
    fn named_periods_pick_the_latest_that_has_begun() {
        assert_eq!(
            cues("in October"),
            [between(d(2026, 10, 1), d(2026, 10, 31))]
        );
        assert_eq!(
            cues("in December"),
            [between(d(2025, 12, 1), d(2025, 12, 31))]
        );
        assert_eq!(cues("Q3"), [between(d(2026, 7, 1), d(2026, 9, 30))]);
        assert_eq!(
            cues("third quarter of 2026"),
            [between(d(2026, 7, 1), d(2026, 9, 30))]
        );
        assert_eq!(
            cues("September 2026"),
            [between(d(2026, 9, 1), d(2026, 9, 30))]
        );
        assert_eq!(
            cues("since June 1"),
            [Cue::Range(TimeRange::Since {
                start: d(2026, 6, 1)
            })]
        );
        assert_eq!(
            cues("since 2026-06-15"),
            [Cue::Range(TimeRange::Since {
                start: d(2026, 6, 15)
            })]
        );
        assert_eq!(
            cues("from Oct 5 to Oct 12"),
            [between(d(2026, 10, 5), d(2026, 10, 12))]
        );
        assert_eq!(
            cues("between 2026-09-01 and 2026-09-14"),
            [between(d(2026, 9, 1), d(2026, 9, 14))]
        );
        assert_eq!(
            cues("from August to October"),
            [between(d(2026, 8, 1), d(2026, 10, 31))]
        );
        assert_eq!(
            cues("on 10/5/2026"),
            [between(d(2026, 10, 5), d(2026, 10, 5))]
        );
        // "may" is a month only where it cannot be a verb.
        assert_eq!(cues("what may have changed"), [Cue::Change]);
        assert_eq!(cues("in May"), [between(d(2026, 5, 1), d(2026, 5, 31))]);
    }

    #[test]
    fn comparisons_and_grains() {
        use CalendarUnit::*;
        assert_eq!(
            cues("this month vs last month"),
            [
                Cue::Range(TimeRange::Current { unit: Month }),
                Cue::Versus,
                Cue::Range(TimeRange::Previous { unit: Month, n: 1 })
            ]
        );
        assert_eq!(
            cues("spend week over week"),
            [Cue::OverPeriod(TimeGrain::Week)]
        );
        assert_eq!(
            cues("compared to the previous period"),
            [Cue::Versus, Cue::Compare(Comparison::PreviousPeriod)]
        );
        assert_eq!(
            cues("weekly revenue trend"),
            [Cue::Grain(TimeGrain::Week), Cue::Trend]
        );
        assert_eq!(cues("installs by day"), [Cue::Grain(TimeGrain::Day)]);
        assert_eq!(cues("spend over time"), [Cue::Trend]);
    }

    #[test]
    fn dates_are_marked_before_splitting() {
        assert_eq!(mark_dates("since 2026-06-01!"), "since  d20260601 !");
        assert_eq!(mark_dates("top 5 by roas"), "top 5 by roas");
        assert_eq!(mark_dates("2026-13-45"), "2026-13-45");
        assert_eq!(mark_dates("3.5x"), "3.5x");
    }
}
