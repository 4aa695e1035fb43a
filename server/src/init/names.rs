//! Naming and quoting: snake_case names for the model, SQL identifiers that
//! keep a column's case, YAML scalars that read back as the same string, and
//! the word lists the drafter guesses with.

use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;

/// `MonthlyCharges` -> `monthly_charges`, `customerID` -> `customer_id`,
/// `HTTPStatus` -> `http_status`, `Order Date` -> `order_date`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary =
                prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower);
            if boundary && !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        None => "column".to_string(),
        Some(c) if c.is_ascii_digit() => format!("c_{out}"),
        Some(_) => out,
    }
}

/// Lower case letters and digits only: `CustomerID`, `customer_id` and
/// `customerid` all read `customerid`.
pub fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A rough English singular of a snake_case name's last word:
/// `orders` -> `order`, `categories` -> `category`, `order_items` -> `order_item`.
pub fn singular(name: &str) -> String {
    let (head, last) = match name.rsplit_once('_') {
        Some((h, l)) => (format!("{h}_"), l),
        None => (String::new(), name),
    };
    let one = if let Some(stem) = last.strip_suffix("ies").filter(|s| s.len() > 1) {
        format!("{stem}y")
    } else if last.ends_with("sses") || last.ends_with("xes") || last.ends_with("ches") {
        last[..last.len() - 2].to_string()
    } else if last.ends_with("ss") || last.ends_with("us") || last.ends_with("is") {
        last.to_string()
    } else if let Some(stem) = last.strip_suffix('s').filter(|s| s.len() > 1) {
        stem.to_string()
    } else {
        last.to_string()
    };
    format!("{head}{one}")
}

/// Whether a name can stand unquoted in SQL and keep its meaning: lower
/// case, and read back by the parser as that very identifier (`status`
/// is a keyword but still a column name; `date` and `order` are not).
fn is_plain(name: &str) -> bool {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let lower = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !(first_ok && lower) {
        return false;
    }
    // A keyword is quoted: whether a dialect reads it as a name varies.
    !ALL_KEYWORDS.contains(&name.to_ascii_uppercase().as_str())
}

/// A column or entity name as SQL: bare when that is safe, else in double
/// quotes (`"MonthlyCharges"`), so SQL does not fold it to lower case.
pub fn sql_ident(name: &str) -> String {
    if is_plain(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `entity.column` with each part quoted as needed.
pub fn sql_qualified(entity: &str, column: &str) -> String {
    format!("{}.{}", sql_ident(entity), sql_ident(column))
}

/// A string as a YAML scalar that reads back as exactly that string: plain
/// when unambiguous, else single-quoted.
pub fn yaml_str(s: &str) -> String {
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-' | '/'))
        && !s.ends_with(' ')
        && !reserved.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// "a" or "an" before a word.
pub fn article(word: &str) -> &'static str {
    match word.chars().next() {
        // "a user", "an order": u is left out on purpose.
        Some('a' | 'e' | 'i' | 'o' | 'A' | 'E' | 'I' | 'O') => "an",
        _ => "a",
    }
}

/// Words of a text in lines of at most `width` characters (a longer word
/// stays whole on its own line).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One line of comment text: no line breaks.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a snake_case column name looks like an identifier.
pub fn is_id_like(snake: &str) -> bool {
    matches!(
        snake.rsplit('_').next(),
        Some("id" | "key" | "code" | "uuid" | "guid")
    )
}

/// Key names that say nothing of what they identify: `id`, `key`, `code`.
pub fn is_generic_key(normalized: &str) -> bool {
    matches!(normalized, "id" | "key" | "code" | "uuid" | "guid")
}

fn has_word(snake: &str, words: &[&str]) -> bool {
    snake
        .split('_')
        .any(|w| words.contains(&w) || words.contains(&singular(w).as_str()))
}

/// Money paid out: spend, cost, fees.
pub fn is_cost(snake: &str) -> bool {
    has_word(
        snake,
        &["cost", "spend", "spent", "fee", "expense", "cpc", "cpm"],
    )
}

/// Money of any kind, so that its amount per row is worth a ratio.
pub fn is_money(snake: &str) -> bool {
    is_cost(snake)
        || has_word(
            snake,
            &[
                "revenue", "amount", "charge", "sale", "price", "value", "total", "income",
                "payment", "paid", "discount", "margin", "profit", "gmv", "arpu",
            ],
        )
}

/// Numbers whose sum means little (rates, prices, ages, scores): averaged.
pub fn is_non_additive(snake: &str) -> bool {
    has_word(
        snake,
        &[
            "pct",
            "percent",
            "percentage",
            "rate",
            "ratio",
            "score",
            "price",
            "age",
            "year",
            "unit",
            "per",
            "tenure",
            "lat",
            "lon",
            "lng",
            "latitude",
            "longitude",
            "rank",
            "rating",
            "probability",
            "prob",
            "avg",
            "average",
            "mean",
            "median",
        ],
    )
}

/// Counts of things that a cost can be "per": clicks, installs, orders.
pub fn counted_noun(snake: &str) -> Option<String> {
    const NOUNS: [&str; 20] = [
        "click",
        "install",
        "impression",
        "conversion",
        "lead",
        "signup",
        "download",
        "view",
        "session",
        "visit",
        "order",
        "sale",
        "user",
        "customer",
        "subscriber",
        "purchase",
        "transaction",
        "acquisition",
        "registration",
        "trial",
    ];
    let last = singular(snake.rsplit('_').next().unwrap_or(snake));
    NOUNS.contains(&last.as_str()).then_some(last)
}

/// Time column names that date when a row began (a signup), not an event.
pub fn is_start_time(snake: &str) -> bool {
    has_word(
        snake,
        &[
            "signup",
            "signed",
            "created",
            "registered",
            "registration",
            "joined",
            "install",
            "start",
            "started",
            "first",
            "acquired",
            "opened",
        ],
    )
}

/// How much a column's name says "this is the row's time": higher is better.
pub fn time_score(snake: &str) -> i32 {
    let mut s = 0;
    if snake == "created_at" || snake == "created" {
        s += 4;
    }
    if has_word(snake, &["date", "time", "timestamp", "day", "ts", "at"]) {
        s += 2;
    }
    if has_word(
        snake,
        &[
            "end",
            "ended",
            "updated",
            "modified",
            "deleted",
            "expires",
            "expiry",
            "cancelled",
            "churned",
            "last",
        ],
    ) {
        s -= 3;
    }
    s
}

/// Values that usually mean "none": candidates for `unattributed:`.
pub fn looks_unattributed(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "unknown"
            | "none"
            | "n/a"
            | "na"
            | "null"
            | "other"
            | "organic"
            | "unattributed"
            | "(not set)"
            | "not set"
            | "-"
            | ""
            | "direct"
            | "(none)"
            | "unassigned"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_warehouse_names() {
        assert_eq!(snake_case("MonthlyCharges"), "monthly_charges");
        assert_eq!(snake_case("customerID"), "customer_id");
        assert_eq!(snake_case("CustomerID"), "customer_id");
        assert_eq!(snake_case("HTTPStatus"), "http_status");
        assert_eq!(snake_case("order date"), "order_date");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("2fa"), "c_2fa");
        assert_eq!(snake_case("SeniorCitizen"), "senior_citizen");
    }

    #[test]
    fn singulars() {
        assert_eq!(singular("orders"), "order");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("order_items"), "order_item");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("marketing_spend"), "marketing_spend");
        assert_eq!(singular("status"), "status");
    }

    #[test]
    fn quoting() {
        assert_eq!(sql_ident("spend"), "spend");
        assert_eq!(sql_ident("MonthlyCharges"), "\"MonthlyCharges\"");
        assert_eq!(sql_ident("date"), "\"date\"");
        assert_eq!(sql_ident("order"), "\"order\"");
        assert_eq!(sql_ident("select"), "\"select\"");
        assert_eq!(sql_ident("status"), "\"status\"");
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(yaml_str("\"MonthlyCharges\""), "'\"MonthlyCharges\"'");
        assert_eq!(yaml_str("Fiber optic"), "Fiber optic");
        assert_eq!(yaml_str("Yes"), "'Yes'");
        assert_eq!(yaml_str("it's"), "'it''s'");
        assert_eq!(yaml_str("2024"), "'2024'");
        assert_eq!(
            yaml_str("Bank transfer (automatic)"),
            "'Bank transfer (automatic)'"
        );
    }

    #[test]
    fn guesses() {
        assert!(is_id_like("customer_id"));
        assert!(is_id_like("region_code"));
        assert!(!is_id_like("paid"));
        assert!(is_cost("shipping_fee"));
        assert!(is_cost("spend"));
        assert!(!is_cost("monthly_charges"));
        assert!(is_money("monthly_charges"));
        assert!(is_non_additive("discount_pct"));
        assert_eq!(counted_noun("clicks").as_deref(), Some("click"));
        assert_eq!(counted_noun("spend"), None);
        assert!(time_score("created_at") > time_score("end_date"));
    }
}
