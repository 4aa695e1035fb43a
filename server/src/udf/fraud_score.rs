//! `fraud_score(...)`: the probability, from 0 to 1, that an install is
//! fraudulent, by the promoted version of the `fraud` model. An install is
//! flagged at 0.5 or more.
//!
//! Arguments, in order (the `fraud` spec's features; `installs.fraud_score`
//! passes them for you): `is_paid`, `ctit_seconds` (click to install),
//! `is_vpn`, `is_wifi`, `device_age_days`, `install_hour` (UTC),
//! `ip_installs_7d`, `ip_installs_day`, `publisher_fast_click_share`,
//! `publisher_shared_ip_share`, `sessions_day1`, `session_seconds_day1`,
//! `events_day1`, `revenue_day1`, `rule_click_injection`,
//! `rule_install_farm`, `rule_vpn`, `platform`, `country`, `device_model`.
//! Numbers and booleans may be null (missing); text values the model has not
//! seen count as missing. A row whose inputs are all null scores null.

use super::scorer::model_udf;

model_udf!(
    FraudScore,
    "fraud_score",
    std::sync::Arc<super::Scorer>,
    score,
    datafusion::arrow::datatypes::DataType::Float64
);
