//! One `PERF_COUNT_SW_CPU_CLOCK` event per online CPU, the clock that
//! drives the sampler. A software clock works in VMs without a PMU.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::{Error, Result};

/// `PERF_TYPE_SOFTWARE`.
const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_CPU_CLOCK`.
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `perf_event_attr.disabled`: libbpf enables the event once the program is
/// attached, so no tick fires before there is something to run.
const ATTR_DISABLED: u64 = 1 << 0;
/// `perf_event_attr.freq`: `sample_freq` is in Hz, not a period.
const ATTR_FREQ: u64 = 1 << 10;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
/// Where the kernel lists the online CPUs.
const ONLINE_CPUS_PATH: &str = "/sys/devices/system/cpu/online";

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5`: every field this
/// sampler sets, and nothing newer so old kernels accept it.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_freq: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

/// `PERF_ATTR_SIZE_VER5`.
const PERF_ATTR_SIZE: u32 = 112;
const _: () = assert!(std::mem::size_of::<PerfEventAttr>() == PERF_ATTR_SIZE as usize);

/// Opens the CPU clock of `cpu` at `frequency` Hz, for all processes.
pub(crate) fn open_cpu_clock(cpu: u32, frequency: u64) -> Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_SOFTWARE,
        size: PERF_ATTR_SIZE,
        config: PERF_COUNT_SW_CPU_CLOCK,
        sample_freq: frequency,
        flags: ATTR_DISABLED | ATTR_FREQ,
        ..PerfEventAttr::default()
    };
    // SAFETY: `attr` is a valid perf_event_attr of the size it declares and
    // outlives the call; the other arguments are plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::os(
            format!("opening the CPU clock perf event on CPU {cpu}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: the kernel just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// The online CPUs.
pub(crate) fn online_cpus() -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(ONLINE_CPUS_PATH).map_err(|source| Error::Read {
        path: ONLINE_CPUS_PATH.into(),
        source,
    })?;
    parse_cpu_list(&text).ok_or_else(|| Error::Io {
        action: format!("parsing {ONLINE_CPUS_PATH}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_owned()),
    })
}

/// Parses the kernel's CPU list format, e.g. `0-3,8,10-11`.
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (u32, u32) = (first.parse().ok()?, last.parse().ok()?);
                if first > last {
                    return None;
                }
                cpus.extend(first..=last);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(parse_cpu_list("3"), Some(vec![3]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("4-2"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
