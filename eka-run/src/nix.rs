//! Nix, as eka-run runs it: [`command`] builds every `nix-*` process (the program, its
//! arguments from typed settings, its sealed environment), [`env`](mod@env) holds the environment and
//! the `nix.conf` files they get, [`expr`] the expressions eka-run writes for `nix-instantiate`,
//! [`machines`] which systems this machine and Nix's `builders` build for.

pub mod command;
pub mod env;
pub mod expr;
pub mod machines;
