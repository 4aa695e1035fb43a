//! Integration tests of the quarry library, one binary for all of them.
#![allow(clippy::panic, clippy::unwrap_used)]

mod bgnbd_cdnow;
mod compile_snapshots;
mod every_plan_runs;
mod loader_errors;
mod ml;
mod no_fanout;
mod retrieval;
mod slt;
mod support;
