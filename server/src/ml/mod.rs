//! Machine learning inside Quarry: the models behind the scoring UDFs and
//! their fitting. `bgnbd` holds the probabilistic lifetime-value models
//! (BG/NBD for the number of future purchases, Gamma-Gamma for their value);
//! `gbdt` the gradient-boosted trees; `logistic` logistic regression;
//! `iforest` the isolation forest; `metrics` the evaluation measures.

pub mod bgnbd;
pub mod features;
pub mod gbdt;
pub mod iforest;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod scored;
pub mod spec;
pub mod train;
