//! Quarry: conversational analytics for marketing teams. This crate holds the
//! `quarry` binary's library: configuration, the query engine, the demo
//! warehouse generator, the bridge to retrieval and the command-line front end.

pub mod answer;
pub mod ask;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod guard;
pub mod init;
pub mod knowledge;
pub mod ml;
pub mod semantic;
pub mod serve;
pub mod udf;
