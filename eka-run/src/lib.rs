//! eka-run: an unprivileged sandbox for evaluating atoms, and a `/nix/store` shebang wrapper.
//!
//! No root, no setuid helper, no daemon: Linux user and mount namespaces plus Landlock.
//!
//! - [`run`]: run a program where the user's store appears at `/nix/store` ([`store`] says
//!   where that is), also as a script interpreter ([`shebang`]).
//! - [`cmd`]: the subcommands, one module each. `eval` evaluates an atom with atom-nix through
//!   `nix-instantiate` in the evaluation [`jail`], a sandbox that sees nothing but the atom;
//!   `build`, `run` and `plan` build an atom's derivation and run its main program, or say what
//!   would be built; through the [`backend`] traits (Nix first), the [`config`] normalised to
//!   [`canonical`] JSON, the evaluation's [`identity`] and the evaluation [`cache`].
//! - [`nix`]: every `nix-*` process, built in one place with typed settings and an environment
//!   and Nix settings eka-run owns.
//! - [`record`]: plan records (`docs/plan-record.md`), which `build`, `run` and `plan` read from
//!   binary caches ([`cmd::planned`]) to run a built atom without evaluating it, and `build
//!   --to` writes.
//! - [`closure`]: the atom (a directory, or an atom URI fetched into the atom cache) and its
//!   locked dependencies, checked and exported on the host before the sandbox starts; the only
//!   module that uses atom-lib.
//! - [`sandbox`]: the namespaces, mounts and Landlock rules both modes are built from.
//! - [`cli`]: the command line, calling [`cmd`]; [`exit`]: eka-run's own exit codes.

mod atom_nix;
pub mod backend;
pub mod cache;
pub mod canonical;
pub mod cli;
pub mod closure;
pub mod cmd;
pub mod config;
pub mod exit;
pub mod identity;
pub mod jail;
pub mod limits;
pub mod nix;
pub mod record;
pub mod run;
pub mod sandbox;
pub mod shebang;
pub mod store;
