//! A CPU workload with a known call tree; see ../README.md.

use std::{hint::black_box, process::exit, time::Duration};

/// Iterations of the leaf loop in one unit of work: about a millisecond.
const UNIT_ITERATIONS: u64 = 400_000;

/// `struct timespec`.
#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time of the process: the workload does the same work on a busy machine.
fn cpu_time() -> Duration {
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[inline(never)]
fn spin_leaf(units: u64) {
    let mut x: u64 = black_box(1);
    for _ in 0..units * UNIT_ITERATIONS {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
    }
    black_box(x);
}

#[inline(never)]
fn hot_branch() {
    spin_leaf(black_box(3));
    black_box(());
}

#[inline(never)]
fn cold_branch() {
    spin_leaf(black_box(1));
    black_box(());
}

#[inline(never)]
fn run_workload(duration: Duration) {
    let end = cpu_time() + duration;
    while cpu_time() < end {
        hot_branch();
        cold_branch();
    }
}

/// `write(2)` as a raw system call: libc's wrapper has no frame pointer,
/// which would hide `syscall_leaf` from a frame-pointer unwinder.
#[cfg(target_arch = "x86_64")]
fn raw_write(fd: i32, byte: &u8) -> isize {
    const SYS_WRITE: isize = 1;
    let ret: isize;
    // SAFETY: write(2) reads one byte from a valid reference.
    unsafe {
        std::arch::asm!("syscall", inlateout("rax") SYS_WRITE => ret, in("rdi") fd as isize,
            in("rsi") byte as *const u8, in("rdx") 1isize, lateout("rcx") _, lateout("r11") _,
            options(nostack));
    }
    ret
}

#[inline(never)]
fn syscall_leaf(devnull: &std::fs::File) {
    use std::os::fd::AsRawFd;
    for _ in 0..1000 {
        if raw_write(devnull.as_raw_fd(), &0) < 0 {
            exit(1);
        }
    }
}

#[inline(never)]
fn run_syscalls(duration: Duration) {
    let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap_or_else(|_| exit(1));
    let end = cpu_time() + duration;
    while cpu_time() < end {
        syscall_leaf(&devnull);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(Ok(ms))) = (args.get(1), args.get(2).map(|a| a.parse::<u64>())) else {
        eprintln!("usage: workload cpu|syscall MILLISECONDS");
        exit(2);
    };
    let duration = Duration::from_millis(ms);
    match mode.as_str() {
        "cpu" => run_workload(duration),
        "syscall" => run_syscalls(duration),
        _ => {
            eprintln!("unknown mode {mode}");
            exit(2);
        }
    }
}
