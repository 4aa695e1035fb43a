//! Machine learning inside Quarry: the models behind the scoring UDFs and
//! their fitting. `bgnbd` holds the probabilistic lifetime-value models
//! (BG/NBD for the number of future purchases, Gamma-Gamma for their value).

pub mod bgnbd;
pub mod registry;
