//! End-to-end tests: the real `git` running our binaries, against real repositories and real
//! servers on loopback. One test binary declaring every module.

mod format;
mod ls;
mod man;
mod publish;
mod remote_helper;
mod remote_nix;
mod remote_transport;
mod remote_uri;
mod verify;
