//! The version of the store's on-disk format, recorded in the data
//! directory and checked before anything else is read.
//!
//! The version is the decimal number in the file `FORMAT` (with a
//! newline), beside sled's own files rather than inside them: it can be
//! read without opening sled, so a directory of another format, even one
//! written through another sled, is refused before it is touched.
//!
//! A directory without `FORMAT` but with sled's data was written before
//! Brasa recorded its format. Such a directory counts as format 1, and
//! honestly so: the key layout and record encodings have stayed the same
//! from the store's first version until format 1 was named, and
//! `tests/format_golden.rs` pins those bytes. It gets its `FORMAT` file
//! the first time it is opened. An empty or missing directory is new and
//! gets the current format.
//!
//! An entry that earlier builds of the same format ignore, and that later
//! ones do without, is not a change of format: the commit count in `meta`
//! (`crate::commits`) came that way, and a directory written before it
//! opens as ever.

use std::{io::ErrorKind, path::Path};

use crate::{Error, Result};

/// The store format this build reads and writes. It changes with every
/// change of the key layout (`keys`) or of a record's encoding
/// (`records`, `blob`), so that data of one format is never misread as
/// another.
pub const FORMAT_VERSION: u32 = 2;

/// The format of a data directory written before the version was
/// recorded (see the module docs).
pub(crate) const UNVERSIONED_FORMAT: u32 = 1;

/// The file, in the data directory, that holds the version.
pub(crate) const FORMAT_FILE: &str = "FORMAT";

/// sled's data file: its presence means the directory holds data.
const SLED_DB_FILE: &str = "db";

/// Checks that the data directory `dir` holds [`FORMAT_VERSION`], writing
/// the version when the directory is new or predates the version file.
pub(crate) fn check(dir: &Path) -> Result<()> {
    let file = dir.join(FORMAT_FILE);
    let found = match std::fs::read_to_string(&file) {
        Ok(text) => parse(&text).ok_or_else(|| Error::FormatUnreadable { path: file.clone() })?,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let format = if dir.join(SLED_DB_FILE).exists() {
                UNVERSIONED_FORMAT
            } else {
                FORMAT_VERSION
            };
            if format == FORMAT_VERSION {
                write(dir, format).map_err(|source| Error::FormatFile {
                    path: file.clone(),
                    source,
                })?;
            }
            format
        }
        Err(source) => return Err(Error::FormatFile { path: file, source }),
    };
    if found != FORMAT_VERSION {
        return Err(Error::FormatMismatch {
            path: dir.to_owned(),
            found,
            expected: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// The version in the text of a `FORMAT` file.
pub(crate) fn parse(text: &str) -> Option<u32> {
    text.strip_suffix('\n')?.parse().ok()
}

/// Writes `FORMAT` whole or not at all: a crash leaves either no file
/// (then the directory is read as unversioned) or the complete one.
fn write(dir: &Path, format: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!("{FORMAT_FILE}.{}.tmp", std::process::id()));
    let file = std::fs::File::create(&temporary)?;
    std::io::Write::write_all(&mut &file, format!("{format}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, dir.join(FORMAT_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_one_number_and_a_newline() {
        assert_eq!(parse("1\n"), Some(1));
        assert_eq!(parse("12\n"), Some(12));
        for bad in ["", "1", " 1\n", "1\n\n", "one\n", "-1\n"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_new_directory_gets_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("brasa-data");
        check(&data).unwrap();
        let text = std::fs::read_to_string(data.join(FORMAT_FILE)).unwrap();
        assert_eq!(text, format!("{FORMAT_VERSION}\n"));
        check(&data).unwrap();
        let entries = std::fs::read_dir(&data).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left behind");
    }
}
