//! `ltv_predict(...)`: the revenue in USD a user will bring in the next 90
//! days, by the promoted version of the `ltv` model.
//!
//! Arguments, in order (the `ltv` spec's features;
//! `user_metrics.predicted_ltv` passes them for you): `tenure_days`,
//! `days_since_last_session`, `sessions_7d`, `sessions_30d`,
//! `sessions_week1`, `revenue_week1`, `revenue_to_date`, `revenue_30d`,
//! `payments`, `subscription_payments`, `platform`, `country`, `network`,
//! `age_group`. Nulls are missing values; a row whose inputs are all null
//! gives null. `model_reasons('ltv', ...)` names what drives a prediction.

use super::scorer::model_udf;

model_udf!(
    LtvPredict,
    "ltv_predict",
    std::sync::Arc<super::Scorer>,
    score,
    datafusion::arrow::datatypes::DataType::Float64
);
