//! `fraud_reasons(...)`: the signals that push an install's fraud score up
//! the most, as text, for example `click-to-install 0.4 s (typical 5-600 s);
//! installs on this IP in 7 days 31 (typical 1-2)`. Takes the same
//! arguments as `fraud_score`; empty when nothing raises the score.

use super::scorer::model_udf;

model_udf!(
    FraudReasons,
    "fraud_reasons",
    std::sync::Arc<super::Scorer>,
    reasons,
    datafusion::arrow::datatypes::DataType::Utf8
);
