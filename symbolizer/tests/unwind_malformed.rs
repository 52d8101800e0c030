//! Bad input to the table builder gives a typed error, never a panic:
//! empty, random, truncated and corrupted files, and other architectures.

mod unwind_common;

use std::path::Path;
use std::sync::OnceLock;

use brasa_symbolizer::unwind::{build_from_bytes, build_from_path};
use brasa_symbolizer::Error;
use object::{Object, ObjectSection};
use proptest::prelude::*;
use unwind_common::build_c_chain;

/// `e_machine` of the ELF header, and the value of AArch64.
const E_MACHINE_OFFSET: usize = 18;
const EM_AARCH64: u16 = 183;

/// The C workload's bytes and the file range of its `.eh_frame`, built once.
fn sample() -> &'static (Vec<u8>, std::ops::Range<usize>) {
    static SAMPLE: OnceLock<(Vec<u8>, std::ops::Range<usize>)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(build_c_chain(dir.path(), "chain", &[])).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let (offset, size) = file
            .section_by_name(".eh_frame")
            .unwrap()
            .file_range()
            .unwrap();
        let range = offset as usize..(offset + size) as usize;
        (bytes, range)
    })
}

fn name() -> &'static Path {
    Path::new("sample")
}

#[test]
fn empty_file_is_not_elf() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(build_from_path(&empty), Err(Error::NotElf { .. })));
    assert!(matches!(
        build_from_bytes(b"", name()),
        Err(Error::NotElf { .. })
    ));
}

#[test]
fn missing_file_is_an_io_error() {
    let missing = Path::new("/nonexistent/brasa/binary");
    assert!(matches!(build_from_path(missing), Err(Error::Io { .. })));
}

#[test]
fn other_architectures_are_refused_by_name() {
    let mut bytes = sample().0.clone();
    bytes[E_MACHINE_OFFSET..E_MACHINE_OFFSET + 2].copy_from_slice(&EM_AARCH64.to_le_bytes());
    let error = build_from_bytes(&bytes, name()).unwrap_err();
    assert!(
        matches!(&error, Error::UnsupportedArch { arch, .. } if arch.contains("Aarch64")),
        "{error}"
    );
}

#[test]
fn the_untouched_sample_builds() {
    let built = build_from_bytes(&sample().0, name()).unwrap();
    assert!(built.table.rows().len() > 10);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_not_elf(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let not_elf = matches!(build_from_bytes(&bytes, name()), Err(Error::NotElf { .. }));
        prop_assert!(not_elf);
    }

    #[test]
    fn truncated_files_are_errors(fraction in 0.0f64..1.0) {
        let bytes = &sample().0;
        let len = (bytes.len() as f64 * fraction) as usize;
        // The section headers are at the end of the file: any cut loses them.
        prop_assert!(build_from_bytes(&bytes[..len], name()).is_err());
    }

    #[test]
    fn corrupt_eh_frame_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)
    ) {
        let (bytes, range) = sample();
        let mut bytes = bytes.clone();
        for (index, value) in edits {
            bytes[range.start + index.index(range.len())] = value;
        }
        match build_from_bytes(&bytes, name()) {
            Ok(built) => {
                let pcs: Vec<u32> = built.table.rows().iter().map(|row| row.pc).collect();
                prop_assert!(pcs.windows(2).all(|pair| pair[0] < pair[1]), "sorted: {pcs:x?}");
            }
            Err(error) => {
                let typed = matches!(error, Error::BadCfi { .. } | Error::AddressTooHigh { .. });
                prop_assert!(typed, "{}", error);
            }
        }
    }
}
