//! Reads of another process's memory through `/proc/PID/mem`.

use std::{fs::File, os::unix::fs::FileExt};

/// An open `/proc/PID/mem`; every read may fail, as the process runs on.
#[derive(Debug)]
pub struct ProcessMemory {
    file: File,
}

impl ProcessMemory {
    /// Opens the memory of `pid`.
    pub fn open(pid: u32) -> std::io::Result<Self> {
        Ok(Self {
            file: File::open(format!("/proc/{pid}/mem"))?,
        })
    }

    /// Fills `buf` from `address`; `None` unless all of it was read.
    pub fn read(&self, address: u64, buf: &mut [u8]) -> Option<()> {
        (self.file.read_at(buf, address).ok()? == buf.len()).then_some(())
    }

    /// The little-endian 64-bit word at `address`.
    pub fn u64(&self, address: u64) -> Option<u64> {
        let mut word = [0; 8];
        self.read(address, &mut word)?;
        Some(u64::from_le_bytes(word))
    }

    /// The little-endian 32-bit word at `address`.
    pub fn u32(&self, address: u64) -> Option<u32> {
        let mut word = [0; 4];
        self.read(address, &mut word)?;
        Some(u32::from_le_bytes(word))
    }

    /// The byte at `address`.
    pub fn u8(&self, address: u64) -> Option<u8> {
        let mut byte = [0];
        self.read(address, &mut byte)?;
        Some(byte[0])
    }
}
