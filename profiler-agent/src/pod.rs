//! The skeleton's generated types as the bytes the kernel hands over and
//! takes: the one place that reinterprets memory.

use crate::skel::types;

/// Plain-old-data types shared with the BPF program: `#[repr(C)]`, made of
/// integers (and integer newtypes) only, without padding (the program's
/// `_Static_assert`s check the sizes), so every bit pattern is valid.
pub(crate) trait Pod: Copy {}
impl Pod for u64 {}
impl Pod for types::sample_key {}
impl Pod for types::process_event {}
impl Pod for types::unwind_process {}
impl Pod for types::unwound_stack {}
impl Pod for types::python_process {}
impl Pod for types::python_thread {}
impl Pod for types::python_stack {}

/// Reads a `T` from the kernel's bytes; `None` when the size is wrong.
pub(crate) fn decode<T: Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: the length matches, the read is unaligned-safe, and any bit
    // pattern is a valid `Pod`.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of a `T`, for a map update.
pub(crate) fn bytes_of<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: a `Pod` has no padding, so all its bytes are initialized.
    unsafe {
        std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_wrong_sizes() {
        assert_eq!(decode::<u64>(&7u64.to_ne_bytes()), Some(7));
        assert_eq!(decode::<u64>(&[1, 2, 3]), None);
    }

    #[test]
    fn bytes_round_trip() {
        let event = types::process_event {
            tgid: 7,
            parent_tgid: 3,
            kind: types::process_event_kind::PROCESS_FORKED,
            tid: 0,
        };
        let back: types::process_event = decode(bytes_of(&event)).unwrap();
        assert_eq!((back.tgid, back.parent_tgid, back.kind), (7, 3, event.kind));
    }
}
