//! Scalar UDFs that score rows with the promoted version of a registry
//! model, inside any query. One file per function; the machinery they share
//! (reading Arrow arguments into feature columns, choosing the model
//! version, turning bad input into execution errors) is in `scorer`.
//!
//! All are `Volatile`: the promoted version can change between two queries,
//! so DataFusion must neither fold nor cache their results.

mod churn_reasons;
mod churn_risk;
mod fraud_reasons;
mod fraud_score;
mod ltv_predict;
mod model_reasons;
mod predict;
mod scorer;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

pub use churn_reasons::ChurnReasons;
pub use churn_risk::ChurnRisk;
pub use fraud_reasons::FraudReasons;
pub use fraud_score::FraudScore;
pub use ltv_predict::LtvPredict;
pub use model_reasons::ModelReasons;
pub use predict::Predict;
pub use scorer::Scorer;

use crate::ml::registry::Registry;

/// The SQL names of the scoring UDFs, for the guard's list of functions.
pub fn names() -> &'static [&'static str] {
    &[
        "fraud_score",
        "fraud_reasons",
        "churn_risk",
        "churn_reasons",
        "ltv_predict",
        "predict",
        "model_reasons",
    ]
}

/// Registers every scoring UDF on `ctx`, reading models from `registry`.
pub fn register_all(ctx: &SessionContext, registry: &Registry) {
    let fraud = Scorer::shared(registry, "fraud");
    let churn = Scorer::shared(registry, "churn");
    let ltv = Scorer::shared(registry, "ltv");
    ctx.register_udf(ScalarUDF::new_from_impl(FraudScore::new(fraud.clone())));
    ctx.register_udf(ScalarUDF::new_from_impl(FraudReasons::new(fraud)));
    ctx.register_udf(ScalarUDF::new_from_impl(ChurnRisk::new(churn.clone())));
    ctx.register_udf(ScalarUDF::new_from_impl(ChurnReasons::new(churn)));
    ctx.register_udf(ScalarUDF::new_from_impl(LtvPredict::new(ltv)));
    ctx.register_udf(ScalarUDF::new_from_impl(Predict::new(scorer::ByName::new(
        registry.clone(),
    ))));
    ctx.register_udf(ScalarUDF::new_from_impl(ModelReasons::new(
        scorer::ByName::new(registry.clone()),
    )));
}
