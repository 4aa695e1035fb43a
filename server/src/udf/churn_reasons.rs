//! `churn_reasons(...)`: what raises a user's churn risk the most, as text
//! (`days since the last session 12 days (typical 0.3-6 days); ...`). Takes
//! the same arguments as `churn_risk`.

use super::scorer::model_udf;

model_udf!(
    ChurnReasons,
    "churn_reasons",
    std::sync::Arc<super::Scorer>,
    reasons,
    datafusion::arrow::datatypes::DataType::Utf8
);
