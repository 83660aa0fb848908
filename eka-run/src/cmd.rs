//! eka-run's subcommands, one module each, holding its arguments and its `run`: [`eval`],
//! [`sandbox`], [`build`], [`run`] and [`plan`]; [`target`] is what the evaluating ones take, [`planned`] the plan records
//! `build`, `run` and `plan` read.
//! Run mode (no subcommand) is [`crate::run`].

pub mod build;
pub mod eval;
pub mod plan;
pub mod planned;
pub mod run;
pub mod sandbox;
pub mod target;
