//! eka-run's integration tests: one binary, every module declared here.

mod build;
mod cache;
mod cli;
mod escape;
mod man;
mod private_dir;
mod run_mode;
mod support;
