//! `churn_risk(...)`: the probability, from 0 to 1, that a user has no
//! session in the next 30 days, by the promoted version of the `churn`
//! model. A user is at risk at 0.7 or more.
//!
//! Arguments, in order (the `churn` spec's features; `user_metrics.churn_risk`
//! passes them for you): `tenure_days`, `days_since_last_session`,
//! `sessions_7d`, `sessions_prev_7d`, `sessions_30d`, `sessions_total`,
//! `session_seconds_7d`, `revenue_to_date`, `revenue_30d`, `payments`,
//! `subscription_payments`, `platform`, `country`, `network`, `acquisition`.
//! Nulls are missing values; a row whose inputs are all null scores null.

use super::scorer::model_udf;

model_udf!(
    ChurnRisk,
    "churn_risk",
    std::sync::Arc<super::Scorer>,
    score,
    datafusion::arrow::datatypes::DataType::Float64
);
