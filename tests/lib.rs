//! End-to-end tests that drive the real `quarry` binary as a user would. The
//! tests live in `e2e/`; this library is empty on purpose.
