//! Reading one generation of the program's maps: sample counts with their
//! stacks, as [`RawSample`]s, then clearing them for reuse.

use std::{
    collections::HashMap,
    mem::{offset_of, size_of},
};

use libbpf_rs::{MapCore, MapFlags, MapMut};

use crate::{
    pod::decode,
    raw::{RawPythonFrame, RawSample},
    skel::types,
    Error, Result,
};

/// Deepest stack recorded: the room of `struct unwound_stack`, which is
/// also the value size of the stack-trace maps (`MAX_STACK_DEPTH`).
pub(crate) const MAX_STACK_DEPTH: usize =
    (size_of::<types::unwound_stack>() - offset_of!(types::unwound_stack, pcs)) / size_of::<u64>();

/// The maps of one generation.
pub(crate) struct Generation<'a, 'obj> {
    pub counts: &'a MapMut<'obj>,
    pub stacks: &'a MapMut<'obj>,
    pub unwound: &'a MapMut<'obj>,
    pub python_stacks: &'a MapMut<'obj>,
}

impl Generation<'_, '_> {
    /// Reads every count with its stacks, then clears the generation.
    pub fn drain(&self) -> Result<Vec<RawSample>> {
        let keys: Vec<Vec<u8>> = self.counts.keys().collect();
        let mut stacks = StackReader::new(self);
        let mut samples = Vec::with_capacity(keys.len());
        for key_bytes in &keys {
            let value = self
                .counts
                .lookup_and_delete(key_bytes)
                .map_err(|e| Error::bpf("draining sample counts", e))?;
            let (Some(key), Some(count)) = (
                decode::<types::sample_key>(key_bytes),
                value.and_then(|v| decode::<u64>(&v)),
            ) else {
                continue;
            };
            let kernel = stacks.trace(key.kernel_stack_id)?;
            let user = if key.unwound_stack != 0 {
                stacks.unwound(key.unwound_stack)?
            } else {
                stacks.trace(key.user_stack_id)?
            };
            let python = if key.python_stack != 0 {
                stacks.python(key.python_stack)?
            } else {
                Vec::new()
            };
            samples.push(RawSample {
                pid: key.tgid,
                tid: key.tid,
                comm: comm_string(&key.comm),
                user,
                kernel,
                python,
                count,
            });
        }
        clear(self.stacks, "clearing stack traces")?;
        clear(self.unwound, "clearing unwound stacks")?;
        clear(self.python_stacks, "clearing Python stacks")?;
        Ok(samples)
    }
}

/// Stacks of one generation, each read once however many samples share it.
struct StackReader<'g, 'a, 'obj> {
    generation: &'g Generation<'a, 'obj>,
    traces: HashMap<i32, Vec<u64>>,
    unwound: HashMap<u64, Vec<u64>>,
    python: HashMap<u64, Vec<RawPythonFrame>>,
}

impl<'g, 'a, 'obj> StackReader<'g, 'a, 'obj> {
    fn new(generation: &'g Generation<'a, 'obj>) -> Self {
        Self {
            generation,
            traces: HashMap::new(),
            unwound: HashMap::new(),
            python: HashMap::new(),
        }
    }

    /// A stack of the stack-trace map; a negative id is no stack.
    fn trace(&mut self, id: i32) -> Result<Vec<u64>> {
        if id < 0 {
            return Ok(Vec::new());
        }
        let map = self.generation.stacks;
        cached(&mut self.traces, id, || {
            read_stack(
                map,
                &id.to_ne_bytes(),
                "reading a stack trace",
                stack_addresses,
            )
        })
    }

    /// A thread's Python frames; none if they are gone.
    fn python(&mut self, key: u64) -> Result<Vec<RawPythonFrame>> {
        let map = self.generation.python_stacks;
        cached(&mut self.python, key, || {
            let bytes = map
                .lookup(&key.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| Error::bpf("reading a Python stack", e))?
                .unwrap_or_default();
            Ok(python_frames(&bytes))
        })
    }

    /// A stack walked with unwind tables.
    fn unwound(&mut self, key: u64) -> Result<Vec<u64>> {
        let map = self.generation.unwound;
        cached(&mut self.unwound, key, || {
            read_stack(
                map,
                &key.to_ne_bytes(),
                "reading an unwound stack",
                unwound_addresses,
            )
        })
    }
}

/// The value of `key` in `cache`, read with `read` the first time.
fn cached<K: std::hash::Hash + Eq, T: Clone>(
    cache: &mut HashMap<K, Vec<T>>,
    key: K,
    read: impl FnOnce() -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    if let Some(addrs) = cache.get(&key) {
        return Ok(addrs.clone());
    }
    let addrs = read()?;
    cache.insert(key, addrs.clone());
    Ok(addrs)
}

/// The addresses of one stack of a stack map; none if it is gone.
fn read_stack(
    map: &MapMut<'_>,
    key: &[u8],
    action: &str,
    addresses: fn(&[u8]) -> Vec<u64>,
) -> Result<Vec<u64>> {
    let bytes = map
        .lookup(key, MapFlags::ANY)
        .map_err(|e| Error::bpf(action, e))?
        .unwrap_or_default();
    Ok(addresses(&bytes))
}

/// Deletes every key of a map that only the drain empties.
fn clear(map: &MapMut<'_>, action: &str) -> Result<()> {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    for key in keys {
        match map.delete(&key) {
            Ok(()) => {}
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::bpf(action, e)),
        }
    }
    Ok(())
}

/// The addresses of a `struct unwound_stack`: `len` of them, leaf first.
fn unwound_addresses(bytes: &[u8]) -> Vec<u64> {
    let Some(stack) = decode::<types::unwound_stack>(bytes) else {
        return Vec::new();
    };
    let len = (stack.len as usize).min(MAX_STACK_DEPTH);
    stack.pcs[..len].to_vec()
}

/// The frames of a `struct python_stack`: `len` of them, innermost first.
fn python_frames(bytes: &[u8]) -> Vec<RawPythonFrame> {
    let Some(stack) = decode::<types::python_stack>(bytes) else {
        return Vec::new();
    };
    let entry = types::python_frame_flag::PYTHON_FRAME_ENTRY.0;
    let len = (stack.len as usize).min(stack.frames.len());
    stack.frames[..len]
        .iter()
        .map(|f| RawPythonFrame {
            code: f.code,
            prev_instr: f.prev_instr,
            entry: u32::from(f.flags) & entry != 0,
            owner: f.owner,
        })
        .collect()
}

/// The addresses of a stack-trace map value: leaf first, up to the first zero.
fn stack_addresses(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(size_of::<u64>())
        .take(MAX_STACK_DEPTH)
        .map(|chunk| u64::from_ne_bytes(chunk.try_into().expect("chunks of 8")))
        .take_while(|&addr| addr != 0)
        .collect()
}

/// A `comm` as the kernel keeps it: up to the first NUL.
fn comm_string(comm: &[i8]) -> String {
    let bytes: Vec<u8> = comm
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::bytes_of;

    #[test]
    fn stack_addresses_stop_at_the_first_zero() {
        let mut bytes = Vec::new();
        for addr in [0x10u64, 0x20, 0, 0x30] {
            bytes.extend_from_slice(&addr.to_ne_bytes());
        }
        assert_eq!(stack_addresses(&bytes), vec![0x10, 0x20]);
        assert!(stack_addresses(&[]).is_empty());
    }

    #[test]
    fn unwound_stacks_hold_len_addresses() {
        let mut stack = types::unwound_stack {
            len: 2,
            ..Default::default()
        };
        stack.pcs[..3].copy_from_slice(&[0x10, 0x20, 0x30]);
        assert_eq!(unwound_addresses(bytes_of(&stack)), vec![0x10, 0x20]);
        stack.len = u32::MAX;
        assert_eq!(unwound_addresses(bytes_of(&stack)).len(), MAX_STACK_DEPTH);
        assert!(unwound_addresses(&[1]).is_empty());
    }

    #[test]
    fn the_deepest_stack_is_the_programs() {
        assert_eq!(MAX_STACK_DEPTH, 127);
    }

    #[test]
    fn comm_is_cut_at_nul() {
        let mut comm = [0i8; 16];
        for (slot, b) in comm.iter_mut().zip(b"worker") {
            *slot = *b as i8;
        }
        assert_eq!(comm_string(&comm), "worker");
    }
}
