//! The planner's word lists: the general words of analytics questions that
//! carry no item ("show me", "how are"), ranking and negation words,
//! follow-up cues, write verbs, and nouns for data no warehouse of this
//! kind holds; the model adds the nouns of its own business. Anything a
//! question says that is neither here nor in the semantic model counts as
//! not understood, and lowers the planner's confidence: a word it cannot
//! place may change the meaning.

use std::collections::HashSet;
use std::sync::OnceLock;

use quarry_schema::query::TimeGrain;

use super::read::Rank;
use super::words::Words;

const FILLER: &str = "\
    a about across actually all also am amount an and any anything are as at average avg be been \
    being between both breakdown break broken but by can compare comparison could count data day \
    days did do does doing done down during each every everything figure figures for from get \
    give go going got grouped group had has have having hello here hey hi how i in into is it \
    its just kindly know let lets like list look looking looked looks many me mean much my need \
    now number numbers of on one ones only or our ours out over overall per please pull quick \
    quickly rank ranked ranking rate see segment segmented share show so some sort sorted split \
    stats statistics sum summary tell than thanks thank that the their them then there these \
    they this those through to total totals up us value values vs want was we were what whats \
    when where which while who whole why will with within would you your yours s t ve ll d re m \
    isn aren don didn doesn wasn weren haven hasn whom whose ok okay yes yeah sure cool great \
    nice pls plz thx quarry display fetch find report view check able currently current far come \
    came bring brought generate generated make made making drive drove driven deliver delivered \
    produce produced return returned earn earned spent spend spending paid acquired acquire gain \
    gained win won running ran run active live separately respectively result results exactly \
    roughly approximately around breakdowns broke chart graph plot table visualize visualise \
    again same instead rather too well more less among compared versus period periods time times \
    date dates top bottom either neither other others else etc level levels wise basis side \
    things thing stuff info information detail details kpi kpis metric metrics dimension \
    dimensions happen happened happening trend trends we've i'd id ive im we're weve hows wheres \
    whos coming highest lowest most least best worst biggest smallest largest leading strongest \
    weakest mostly really very pretty quite still yet already ever even probably maybe perhaps \
    should must might may shall inside outside under above below after before since until till \
    upon via using use used against throughout toward towards off onto summed sums add added \
    plus minus combined together altogether individually everyone anyone someone somebody \
    everybody people team company business app apps performance performing perform performed \
    went status update overview recap snapshot summarize summarise analysis analyze analyse \
    insight insights understand explain interested curious wondering wonder question answer \
    brief short long full complete entire net gross absolute relative actual actuals real raw \
    order ordered descending ascending asc desc first last latest recent new old main key \
    important notable significant good bad better worse high low higher lower big small large \
    major minor sources month months week weeks year years quarter quarters daily weekly monthly \
    respective corresponding given specific particular certain various different separate \
    individual segments cut slice sliced filter filtered filtering including include included \
    includes counting counted alone once twice ago how's what's goes gone seeing shown showing \
    shows comparing difference change changes changed trending pacing tracking track trended \
    mind telling told tells basically essentially literally simply hoping hope appreciate \
    wondered grateful cheers greetings morning afternoon evening hiya ";

pub fn is_filler(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| FILLER.split_whitespace().collect());
    set.contains(w)
        || set.contains(quarry_retrieval::lexical::stem(w).as_str())
        || w.chars().all(|c| !c.is_alphanumeric())
}

/// A short word in capitals ("US", "IT", "CA") names something, a code or
/// an abbreviation, even when the same word in lower case is an everyday
/// one: it is never skipped as filler.
pub fn is_code(raw: &str) -> bool {
    let n = raw.chars().count();
    (2..=4).contains(&n)
        && raw.chars().all(|c| c.is_ascii_uppercase())
        && !matches!(
            raw,
            "OK" | "PLS" | "PLZ" | "THX" | "HI" | "HEY" | "ASAP" | "FYI" | "AM" | "PM" | "TY"
        )
}

/// Words of periods, beside those of [`FILLER`].
const TIME_WORDS: &str = "\
    yesterday today tomorrow weekend fortnight january february march april june july \
    august september october november december monday tuesday wednesday thursday friday \
    saturday sunday previous past since until";

/// The everyday English word a misspelt one stands for ("waht", "teh",
/// "yestrday", "avrage"): one edit away (a swap of two letters counts as
/// one), two for long words, keeping the first letter. Only for words that
/// neither the model nor these lists know, and only when exactly one word
/// is that close.
pub fn correction(word: &str) -> Option<&'static str> {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        FILLER
            .split_whitespace()
            .chain(TIME_WORDS.split_whitespace())
            .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .collect()
    });
    let n = word.chars().count();
    if n < 3 || !word.chars().all(|c| c.is_ascii_alphabetic()) || words.contains(&word) {
        return None;
    }
    let max = if n >= 8 { 2 } else { 1 };
    let first = word.chars().next();
    let mut best: Option<(&'static str, usize)> = None;
    let mut ties = false;
    for &c in words.iter() {
        if c.chars().next() != first || c.len().abs_diff(n) > max {
            continue;
        }
        let d = strsim::damerau_levenshtein(word, c);
        // Three-letter words only by a swap ("teh").
        if d > max || (n == 3 && !(d == 1 && c.len() == 3 && sorted(c) == sorted(word))) {
            continue;
        }
        match best {
            Some((_, b)) if d > b => {}
            Some((_, b)) if d == b => ties = true,
            _ => {
                best = Some((c, d));
                ties = false;
            }
        }
    }
    best.filter(|_| !ties).map(|(c, _)| c)
}

fn sorted(w: &str) -> Vec<char> {
    let mut v: Vec<char> = w.chars().collect();
    v.sort_unstable();
    v
}

/// Nouns for data no business warehouse of this kind holds: a question
/// about them is refused, not answered with something else. The model adds
/// its own (`model.out_of_scope`), and a word the model itself uses is
/// never here, since the reader only looks up words it could not place.
pub const OUTSIDE: &[&str] = &[
    "forecast",
    "weather",
    "temperature",
    "rain",
    "gdp",
    "inflation",
    "election",
    "crypto",
    "bitcoin",
    "password",
    "passwords",
    "ssn",
    "office",
    "rent",
    "lunch",
    "meeting",
    "meetings",
    "calendar",
    "recipe",
    "football",
    "score_of_the_game",
    "news",
    "horoscope",
    "joke",
    "poem",
    "song",
];

/// Whether a word names data the warehouse does not hold.
pub fn is_outside(w: &str, model_nouns: &[String]) -> bool {
    let stem = quarry_retrieval::lexical::stem(w);
    let hit = |x: &str| x == w || x == stem;
    OUTSIDE.iter().any(|x| hit(x)) || model_nouns.iter().any(|x| hit(x))
}

pub fn rank(w: &str) -> Option<Rank> {
    Some(match w {
        "top" | "highest" | "most" | "biggest" | "largest" | "leading" | "max" | "maximum"
        | "greatest" | "heaviest" => Rank::High,
        "bottom" | "lowest" | "least" | "fewest" | "smallest" | "min" | "minimum" | "lightest" => {
            Rank::Low
        }
        "best" | "strongest" | "winning" | "winners" | "outperforming" | "star" => Rank::Best,
        "worst" | "weakest" | "poorest" | "losing" | "losers" | "underperforming"
        | "underperformers" | "laggards" => Rank::Worst,
        _ => return None,
    })
}

/// Time units named as things to rank ("which day", "the best week").
pub fn grain_noun(w: &str) -> Option<TimeGrain> {
    Some(match w {
        "day" | "days" | "date" => TimeGrain::Day,
        "week" | "weeks" => TimeGrain::Week,
        "month" | "months" => TimeGrain::Month,
        "quarter" | "quarters" => TimeGrain::Quarter,
        _ => return None,
    })
}

/// Whether the word at `i` negates what follows.
pub fn is_negation(w: &Words, i: usize) -> bool {
    match w.at(i) {
        "excluding" | "exclude" | "excluded" | "except" | "without" | "non" | "minus"
        | "ignoring" | "ignore" | "omitting" | "omit" | "sans" | "excl" | "ex" => true,
        "not" => !matches!(w.at(i + 1), "more" | "less"),
        "other" => w.at(i + 1) == "than",
        "apart" | "aside" => w.at(i + 1) == "from",
        "but" => i > 0 && matches!(w.at(i - 1), "all" | "everything" | "everyone" | "anything"),
        "leave" | "leaving" => w.at(i + 1) == "out",
        "outside" => true,
        "no" => !matches!(w.at(i + 1), "more" | "less"),
        _ => false,
    }
}

/// Words that only make sense after an earlier question.
pub const FOLLOWUP: &[&str] = &[
    "instead", "those", "these", "them", "that", "same", "it", "their", "its", "they", "ones",
];
pub const FOLLOWUP_START: &[&str] = &["and", "but", "also", "now", "ok", "okay", "then", "so"];

pub const WRITE_VERBS: &[&str] = &[
    "delete",
    "remove",
    "drop",
    "truncate",
    "insert",
    "update",
    "alter",
    "create",
    "set",
    "pause",
    "stop",
    "resume",
    "launch",
    "rename",
    "edit",
    "modify",
    "cancel",
    "disable",
    "enable",
    "change",
    "increase",
    "decrease",
    "raise",
    "lower",
    "reduce",
    "boost",
    "upload",
    "import",
    "overwrite",
    "reset",
    "wipe",
    "purge",
    "erase",
    "kill",
    "allocate",
    "reallocate",
    "shift",
    "move",
    "cut",
    "double",
    "halve",
    "turn",
    "archive",
    "restore",
    "replace",
    "fix",
    "correct",
    "write",
    "save",
    "store",
    "add",
    "block",
    "blacklist",
    "ban",
    "refund",
    "email",
    "send",
    "notify",
    "mark",
    "unmark",
    "flag",
    "unflag",
    "label",
    "relabel",
    "tag",
    "approve",
    "reject",
    "whitelist",
    "assign",
];

/// Things any warehouse holds that a request can ask to change; the model
/// adds its entities and the nouns it lists under `model.actionable`.
pub const WRITE_OBJECTS: &[&str] = &[
    "table",
    "tables",
    "data",
    "row",
    "rows",
    "record",
    "records",
    "it",
    "them",
    "database",
    "warehouse",
    "everything",
    "account",
    "accounts",
];
