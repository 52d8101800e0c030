//! The vDSO's image: every process maps the same one of the running
//! kernel, so its table is built from this process's copy.

use std::{
    io::{Read, Seek, SeekFrom},
    path::Path,
};

use brasa_symbolizer::process::parse_maps;

use crate::{Error, Result};

/// The bytes of this process's vDSO.
pub(crate) fn own_vdso() -> Result<Vec<u8>> {
    let io = |e| Error::os("reading this process's vDSO", e);
    let maps_path = Path::new("/proc/self/maps");
    let text = std::fs::read_to_string(maps_path).map_err(io)?;
    let lines =
        parse_maps(&text, maps_path).map_err(|_| io(std::io::ErrorKind::InvalidData.into()))?;
    let vdso = lines
        .iter()
        .find(|line| line.path == "[vdso]")
        .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let mut memory = std::fs::File::open("/proc/self/mem").map_err(io)?;
    let (start, end) = (vdso.range.start.0, vdso.range.end.0);
    memory.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut image = vec![0; usize::try_from(end - start).unwrap_or(0)];
    memory.read_exact(&mut image).map_err(io)?;
    Ok(image)
}
