//! Seccomp: the syscalls Landlock and the namespaces leave open, denied.

use std::io;

use super::error::Error;

/// The audit architecture of the syscalls [`deny_syscalls`] filters (others are refused).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

/// A seccomp filter for what Landlock and the namespaces leave open:
///
/// - `socket(AF_UNIX, ...)` fails with `EACCES`: no connection to a unix socket that is
///   reachable by path (a socket file in the atom is the host's listener), nor an abstract one;
/// - `unshare` and `clone` with `CLONE_NEWUSER` fail with `EPERM`: no nested user namespace
///   (and the kernel attack surface that comes with one); `clone3`, whose flags a filter cannot
///   read, fails with `ENOSYS`, so the C library falls back to `clone`;
/// - `io_uring_setup` fails with `ENOSYS`: io_uring would run these operations without the
///   syscalls the filter sees;
/// - syscalls of another architecture (32-bit compatibility, x32) fail with `ENOSYS`.
///
/// Needs `no_new_privs`; inherited by everything the process executes.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn deny_syscalls() -> Result<(), Error> {
    use libc::{sock_filter, sock_fprog};
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // Offsets in `struct seccomp_data`: nr, arch, then the arguments (the low half of the
    // first, little-endian).
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0: u32 = 16;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let stmt = |code: u16, k: u32| sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| sock_filter { code, jt, jf, k };
    let errno = |e: i32| stmt(RET, libc::SECCOMP_RET_ERRNO | (e as u32 & 0xffff));
    let nr = |n: libc::c_long| n as u32;

    let mut filter = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ, AUDIT_ARCH, 1, 0),
        errno(libc::ENOSYS),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        errno(libc::ENOSYS),
        // socket(AF_UNIX, ...)
        jump(JEQ, nr(libc::SYS_socket), 0, 3),
        stmt(LD_W_ABS, ARG0),
        jump(JEQ, libc::AF_UNIX as u32, 0, 1),
        errno(libc::EACCES),
    ];
    for call in [libc::SYS_unshare, libc::SYS_clone] {
        filter.extend([
            stmt(LD_W_ABS, NR),
            jump(JEQ, nr(call), 0, 3),
            stmt(LD_W_ABS, ARG0),
            jump(JSET, libc::CLONE_NEWUSER as u32, 0, 1),
            errno(libc::EPERM),
        ]);
    }
    for call in [libc::SYS_clone3, libc::SYS_io_uring_setup] {
        filter.extend([
            stmt(LD_W_ABS, NR),
            jump(JEQ, nr(call), 0, 1),
            errno(libc::ENOSYS),
        ]);
    }
    filter.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
    let program = sock_fprog {
        len: u16::try_from(filter.len()).expect("a short filter"),
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `program` points to `filter`, which outlives the call; the kernel copies it.
    // The process has set no_new_privs, as an unprivileged seccomp filter requires.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &program as *const sock_fprog,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Error::Process {
            what: "install the seccomp filter",
            source: io::Error::last_os_error(),
        })
    }
}
