//! `predict('name', ...)`: scores rows with the promoted version of any
//! registry model, such as one trained on your own data. The first argument
//! is the model's name as a text literal; the rest are its inputs in the
//! order `quarry models show name` lists. Returns Float64: a probability for
//! a classifier, a value for a regression, an anomaly score for an isolation
//! forest.

use super::scorer::model_udf;

model_udf!(
    Predict,
    "predict",
    super::scorer::ByName,
    score,
    datafusion::arrow::datatypes::DataType::Float64
);
