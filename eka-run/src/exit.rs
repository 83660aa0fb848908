//! eka-run's exit codes. A program eka-run runs (run mode, `run`, `sandbox`) and a Nix program
//! that fails (`eval`, `build`, `plan`) exit with their own status, which eka-run passes on;
//! these are eka-run's own, as `env`, `timeout` and `docker run` use them.

/// eka-run itself failed (the sandbox, the store, the atom, the command line).
pub const FAILURE: u8 = 125;

/// The program was found but cannot be executed.
pub const CANNOT_EXECUTE: u8 = 126;

/// The program was not found.
pub const NOT_FOUND: u8 = 127;
