//! Holds the project-wide tests under `tests/` (see `architecture.rs`); no library code.
