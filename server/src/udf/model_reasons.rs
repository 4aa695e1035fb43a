//! `model_reasons('name', ...)`: the inputs that raise a row's score the most
//! under the promoted version of any registry model, as text. Arguments as
//! for `predict`. For a BG/NBD model it states the expected payments, their
//! value and the probability that the customer is still active.

use super::scorer::model_udf;

model_udf!(
    ModelReasons,
    "model_reasons",
    super::scorer::ByName,
    reasons,
    datafusion::arrow::datatypes::DataType::Utf8
);
