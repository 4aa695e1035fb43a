//! Turning a result into an answer people read: the chart (a Vega-Lite spec
//! chosen by the result's shape), the narration (a few sentences worded by a
//! template from facts computed here) and the suggested follow-up questions.
//! Everything here reads the compiled plan, the semantic model and the rows;
//! nothing runs a query.

pub mod chart;
pub mod narrate;
mod shape;
pub mod suggest;
mod words;

#[cfg(test)]
mod fixtures;

pub use chart::{Chart, ChartKind, VEGA_LITE_SCHEMA, choose};
pub use narrate::{narrate, narration_facts};
pub use suggest::suggest;

#[derive(Debug, thiserror::Error)]
pub enum NarrateError {
    /// The narration template failed to parse or render: a bug in
    /// `prompts/narration.md.j2`, never a problem with the data.
    #[error("the narration template failed: {0}")]
    Template(#[from] minijinja::Error),
}
