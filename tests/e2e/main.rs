//! The `quarry` binary end to end: generate a warehouse, query it with SQL
//! and with plans, and get clear errors for bad input.

#![allow(clippy::panic, clippy::unwrap_used)]

mod cli;
