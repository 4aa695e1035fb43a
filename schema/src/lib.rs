//! Quarry's semantic layer: the YAML model that maps a warehouse to business
//! terms, its validation, the `SemanticQuery` plan, and the compiler that turns
//! a plan into SQL. Nothing outside this crate knows a table name: the rest of
//! Quarry speaks in metrics and dimensions.

mod ast;
pub mod compile;
pub mod diagnostics;
pub mod loader;
pub mod model;
pub mod query;
pub mod time;

pub use compile::{
    CompileContext, CompileError, CompiledQuery, OutputColumn, OutputRole, compile,
    distinct_values_sql,
};
pub use diagnostics::{Diagnostic, LoadErrors};
pub use loader::{load_dir, load_str};
pub use model::SemanticModel;
pub use query::SemanticQuery;

/// The sqlparser that DataFusion uses, so that compiled statements can be
/// handed to DataFusion's planner as they are.
pub use datafusion::sql::sqlparser;

/// The demo warehouse's model, built into the binary so the demo works from
/// any directory.
pub mod demo_model {
    pub const FILES: [(&str, &str); 6] = [
        (
            "schema/models/demo/model.yaml",
            include_str!("../models/demo/model.yaml"),
        ),
        (
            "schema/models/demo/entities.yaml",
            include_str!("../models/demo/entities.yaml"),
        ),
        (
            "schema/models/demo/dimensions.yaml",
            include_str!("../models/demo/dimensions.yaml"),
        ),
        (
            "schema/models/demo/metrics.yaml",
            include_str!("../models/demo/metrics.yaml"),
        ),
        (
            "schema/models/demo/glossary.yaml",
            include_str!("../models/demo/glossary.yaml"),
        ),
        (
            "schema/models/demo/verified_queries.yaml",
            include_str!("../models/demo/verified_queries.yaml"),
        ),
    ];

    /// The demo's ML folder: feature tables, views and training specs. The
    /// server parses them; they live here because their SQL names tables.
    pub const ML_FILES: [(&str, &str); 5] = [
        (
            "schema/models/demo/ml/features.yaml",
            include_str!("../models/demo/ml/features.yaml"),
        ),
        (
            "schema/models/demo/ml/churn.yaml",
            include_str!("../models/demo/ml/churn.yaml"),
        ),
        (
            "schema/models/demo/ml/fraud.yaml",
            include_str!("../models/demo/ml/fraud.yaml"),
        ),
        (
            "schema/models/demo/ml/ltv.yaml",
            include_str!("../models/demo/ml/ltv.yaml"),
        ),
        (
            "schema/models/demo/ml/ltv_bgnbd.yaml",
            include_str!("../models/demo/ml/ltv_bgnbd.yaml"),
        ),
    ];

    pub fn load() -> Result<crate::SemanticModel, crate::LoadErrors> {
        crate::loader::load_files(&FILES)
    }
}
