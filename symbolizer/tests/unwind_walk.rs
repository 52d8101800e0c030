//! The tables unwind real stacks: a C program built without frame pointers,
//! caught inside a `qsort` callback in Debian's libc, and this very test
//! process, both walked with the reference walker up to their outermost
//! frame.

mod unwind_common;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use brasa_symbolizer::addr::AbsAddr;
use brasa_symbolizer::hex::parse_hex_u64;
use brasa_symbolizer::unwind::{walk, Registers, Stop};
use unwind_common::{build_c_chain, function_at, run, Loaded, LIBC};

/// Enough for any stack these tests walk; deeper means a loop.
const MAX_FRAMES: usize = 128;

/// A stack captured by `chain dump`.
struct Dump {
    registers: Registers,
    stack: Vec<u8>,
    maps: String,
}

impl Dump {
    fn parse(bytes: &[u8]) -> Dump {
        let newline = bytes.iter().position(|&byte| byte == b'\n').unwrap();
        let header = std::str::from_utf8(&bytes[..newline]).unwrap();
        let fields: Vec<u64> = header
            .split_whitespace()
            .map(|field| parse_hex_u64(field).unwrap())
            .collect();
        let [pc, sp, fp, len] = fields[..] else {
            panic!("bad header {header:?}")
        };
        let stack = &bytes[newline + 1..][..len as usize];
        Dump {
            registers: Registers {
                pc: AbsAddr(pc),
                sp,
                fp,
            },
            stack: stack.to_vec(),
            maps: String::from_utf8_lossy(&bytes[newline + 1 + len as usize..]).into_owned(),
        }
    }

    fn read(&self, address: u64) -> Option<u64> {
        let start = usize::try_from(address.checked_sub(self.registers.sp)?).ok()?;
        let word = self.stack.get(start..start + 8)?;
        Some(u64::from_le_bytes(word.try_into().ok()?))
    }
}

#[test]
fn c_stack_without_frame_pointers_unwinds_through_libc_qsort_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_c_chain(dir.path(), "chain", &[]);
    let dump_path = dir.path().join("stack.dump");
    run(Command::new(&binary).arg("dump").arg(&dump_path));
    let dump = Dump::parse(&std::fs::read(&dump_path).unwrap());
    let loaded = Loaded::from_maps(&dump.maps);

    let walk = walk(&loaded.tables(), dump.registers, MAX_FRAMES, |address| {
        dump.read(address)
    });
    assert_eq!(walk.stop, Stop::EndOfStack, "{:x?}", walk.frames);

    let binary_path = binary.canonicalize().unwrap();
    let mut names = Vec::new();
    let mut libc_frames_in_qsort = 0;
    for (index, &pc) in walk.frames.iter().enumerate() {
        // Return addresses point after the call.
        let pc = if index == 0 { pc } else { pc.minus(1) };
        let (path, address) = loaded.locate(pc).expect("every frame is in a file");
        if Path::new(path) == binary_path {
            names.push(function_at(&binary_path, address).unwrap_or_default());
        } else {
            assert_eq!(
                Path::new(path).canonicalize().unwrap(),
                Path::new(LIBC).canonicalize().unwrap()
            );
            if names.last().is_some_and(|name| name == "compare") {
                libc_frames_in_qsort += 1;
            }
        }
    }
    assert_eq!(
        names,
        ["capture", "compare", "level_b", "level_a", "main", "_start"],
        "{:x?}",
        walk.frames
    );
    assert!(libc_frames_in_qsort >= 1, "qsort's own frames are walked");
}

/// The registers at this point of the function that expands it (a macro,
/// not a function: the walk must start in a frame that is still live).
macro_rules! registers_here {
    () => {{
        let (pc, sp, fp): (u64, u64, u64);
        // SAFETY: copies RIP, RSP and RBP into registers, touching no memory.
        unsafe {
            std::arch::asm!(
                "lea {pc}, [rip]",
                "mov {sp}, rsp",
                "mov {fp}, rbp",
                pc = out(reg) pc,
                sp = out(reg) sp,
                fp = out(reg) fp,
                options(nomem, nostack, preserves_flags),
            );
        }
        Registers {
            pc: AbsAddr(pc),
            sp,
            fp,
        }
    }};
}

#[inline(never)]
fn walk_from_here(loaded: &Loaded) -> (brasa_symbolizer::unwind::Walk, AbsAddr) {
    let registers = registers_here!();
    let memory = std::fs::File::open("/proc/self/mem").unwrap();
    let read = |address: u64| {
        let mut word = [0; 8];
        memory.read_exact_at(&mut word, address).ok()?;
        Some(u64::from_le_bytes(word))
    };
    let walk = walk(&loaded.tables(), registers, MAX_FRAMES, read);
    (std::hint::black_box(walk), registers.pc)
}

#[inline(never)]
fn middle_frame(loaded: &Loaded) -> (brasa_symbolizer::unwind::Walk, AbsAddr) {
    let result = walk_from_here(std::hint::black_box(loaded));
    std::hint::black_box(result)
}

/// A frame of known name under `middle_frame`: the test function itself
/// may be inlined into the harness's closure in optimised builds.
#[inline(never)]
fn outer_frame(loaded: &Loaded) -> (brasa_symbolizer::unwind::Walk, AbsAddr) {
    let result = middle_frame(std::hint::black_box(loaded));
    std::hint::black_box(result)
}

#[test]
fn this_test_thread_unwinds_to_its_thread_start() {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let loaded = Loaded::from_maps(&maps);
    let (walk, start_pc) = outer_frame(&loaded);
    assert_eq!(walk.frames[0], start_pc);
    assert_eq!(walk.stop, Stop::EndOfStack, "{:x?}", walk.frames);

    let exe = std::env::current_exe().unwrap();
    let names: Vec<String> = walk.frames[..3]
        .iter()
        .enumerate()
        .map(|(index, &pc)| {
            let pc = if index == 0 { pc } else { pc.minus(1) };
            let (path, address) = loaded.locate(pc).unwrap();
            assert_eq!(Path::new(path), exe, "frame {index}");
            function_at(&exe, address).unwrap_or_default()
        })
        .collect();
    assert!(names[0].contains("walk_from_here"), "{names:?}");
    assert!(names[1].contains("middle_frame"), "{names:?}");
    assert!(names[2].contains("outer_frame"), "{names:?}");
    // The outermost frame is libc's thread start (`clone3`), past std's
    // thread entry.
    let (outermost, _) = loaded.locate(walk.frames.last().unwrap().minus(1)).unwrap();
    assert_eq!(
        Path::new(outermost).canonicalize().unwrap(),
        Path::new(LIBC).canonicalize().unwrap()
    );
}
