//! Reading single cells of Arrow arrays for JSON output and for tables meant
//! for people.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::scalar::ScalarValue;
use quarry_schema::model::Format;

/// One cell as JSON: numbers as numbers, dates and timestamps as ISO text.
pub fn cell_to_json(array: &ArrayRef, row: usize) -> serde_json::Value {
    use serde_json::Value as J;
    if array.is_null(row) {
        return J::Null;
    }
    let Ok(v) = ScalarValue::try_from_array(array, row) else {
        return J::Null;
    };
    match v {
        ScalarValue::Boolean(Some(b)) => J::Bool(b),
        ScalarValue::Int8(Some(x)) => J::from(x),
        ScalarValue::Int16(Some(x)) => J::from(x),
        ScalarValue::Int32(Some(x)) => J::from(x),
        ScalarValue::Int64(Some(x)) => J::from(x),
        ScalarValue::UInt8(Some(x)) => J::from(x),
        ScalarValue::UInt16(Some(x)) => J::from(x),
        ScalarValue::UInt32(Some(x)) => J::from(x),
        ScalarValue::UInt64(Some(x)) => J::from(x),
        ScalarValue::Float32(Some(x)) => float(f64::from(x)),
        ScalarValue::Float64(Some(x)) => float(x),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => J::String(s),
        _ => {
            let opts = FormatOptions::default();
            match ArrayFormatter::try_new(array.as_ref(), &opts) {
                Ok(f) => J::String(f.value(row).to_string()),
                Err(_) => J::Null,
            }
        }
    }
}

fn float(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The symbol written before amounts of money: the model's currency. One
/// process answers over one model; opening it sets this ([`use_currency`]).
static CURRENCY_SYMBOL: std::sync::RwLock<String> = std::sync::RwLock::new(String::new());

/// Makes amounts read in this model's currency from now on.
pub fn use_currency(currency: Option<&quarry_schema::model::Currency>) {
    let symbol = currency.map(|c| c.symbol.clone()).unwrap_or_default();
    if let Ok(mut s) = CURRENCY_SYMBOL.write()
        && *s != symbol
    {
        *s = symbol;
    }
}

fn currency_symbol() -> String {
    CURRENCY_SYMBOL
        .read()
        .map(|s| s.clone())
        .unwrap_or_default()
}

/// One cell for a person: thousands separators, currency and percent signs.
pub fn format_cell(value: &serde_json::Value, format: Option<Format>) -> String {
    use serde_json::Value as J;
    match value {
        J::Null => "–".to_string(),
        J::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            match format {
                Some(Format::Currency) => {
                    let s = group(x.abs(), 2);
                    let c = currency_symbol();
                    if x < 0.0 {
                        format!("-{c}{s}")
                    } else {
                        format!("{c}{s}")
                    }
                }
                Some(Format::Percent) => format!("{:.1}%", x * 100.0),
                Some(Format::Ratio) => format!("{x:.2}x"),
                Some(Format::Integer) => group(x, 0),
                _ if n.is_i64() || n.is_u64() => group(x, 0),
                _ => group(x, 2),
            }
        }
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `1234567.891` -> `1,234,567.89`.
fn group(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn people_friendly_numbers() {
        use_currency(Some(&quarry_schema::model::Currency {
            code: "EUR".into(),
            symbol: "€".into(),
            words: vec!["euro".into()],
        }));
        assert_eq!(
            format_cell(&json!(1234567.891), Some(Format::Currency)),
            "€1,234,567.89"
        );
        assert_eq!(
            format_cell(&json!(-12.5), Some(Format::Currency)),
            "-€12.50"
        );
        assert_eq!(format_cell(&json!(0.1234), Some(Format::Percent)), "12.3%");
        assert_eq!(format_cell(&json!(3.456), Some(Format::Ratio)), "3.46x");
        assert_eq!(format_cell(&json!(1000), None), "1,000");
        assert_eq!(format_cell(&json!(-999), Some(Format::Integer)), "-999");
        assert_eq!(format_cell(&json!(null), None), "–");
    }
}
