//! Integration tests of the quarry library, one binary for all of them.
#![allow(clippy::panic, clippy::unwrap_used)]

mod ask;
mod bgnbd_cdnow;
mod compile_snapshots;
mod every_plan_runs;
mod guard;
mod init;
mod llm;
mod loader_errors;
mod ml;
mod no_demo_names;
mod no_fanout;
mod retrieval;
mod serve;
mod slt;
mod support;
