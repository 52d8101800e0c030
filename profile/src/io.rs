//! Profiles from and to files: format detection on input, format by file
//! extension on output.

use std::path::{Path, PathBuf};

use brasa_proto::pprof::Profile;

use crate::{
    codec::{self, DecodeOptions},
    folded::{looks_folded, Folded},
    merge::Merger,
    render::{count_name, flamegraph_svg, FlameGraphOptions},
    sample_type::{sample_type_index, sample_type_names},
    Error, Result,
};

/// Reads a profile from bytes in any supported format: pprof (gzip or raw),
/// or folded stacks (plain or gzip).
pub fn load(bytes: &[u8], options: &DecodeOptions) -> Result<Profile> {
    if bytes.is_empty() {
        return Err(Error::UnknownFormat("the input is empty".to_owned()));
    }
    let raw = codec::maybe_gunzip(bytes, options.max_decompressed_bytes)?;
    if let Ok(text) = std::str::from_utf8(&raw) {
        if looks_folded(text) {
            return Ok(Folded::parse(text)?.to_profile());
        }
    }
    codec::decode_raw(&raw).map_err(|e| match e {
        Error::Protobuf(e) => Error::UnknownFormat(e.to_string()),
        other => other,
    })
}

/// Reads a profile file in any supported format.
pub fn load_path(path: &Path) -> Result<Profile> {
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    load(&bytes, &DecodeOptions::default()).map_err(|e| file_error(path, e))
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// `error`, found in the content of the file at `path`.
fn file_error(path: &Path, error: Error) -> Error {
    Error::File {
        path: path.to_owned(),
        source: Box::new(error),
    }
}

/// Checks that `path` can be written (its folder exists and lets this
/// process create or append to it), without changing an existing file, so
/// a long recording does not fail only at its end.
pub fn check_writable(path: &Path) -> Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| io_error(path, source))?;
    if !existed {
        std::fs::remove_file(path).map_err(|source| io_error(path, source))?;
    }
    Ok(())
}

/// Output formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// gzip pprof: `.pb.gz`, `.pb`, `.pprof`.
    Pprof,
    /// Folded stacks: `.folded`.
    Folded,
    /// SVG flame graph: `.svg`.
    Svg,
}

/// Every output format and the file name endings that ask for it.
const EXTENSIONS: [(OutputFormat, &[&str]); 3] = [
    (OutputFormat::Pprof, &[".pb.gz", ".pb", ".pprof"]),
    (OutputFormat::Folded, &[".folded"]),
    (OutputFormat::Svg, &[".svg"]),
];

impl OutputFormat {
    /// Every output format.
    pub const ALL: [Self; 3] = [Self::Pprof, Self::Folded, Self::Svg];

    /// The format a file name asks for, from all formats.
    pub fn from_path(path: &Path) -> Result<Self> {
        Self::from_path_among(path, &Self::ALL)
    }

    /// The format a file name asks for, which must be one of `allowed`:
    /// an unknown ending, or one naming a format this output cannot take,
    /// is an error listing the endings that work.
    pub fn from_path_among(path: &Path, allowed: &[Self]) -> Result<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let found = EXTENSIONS.iter().find_map(|(format, endings)| {
            endings
                .iter()
                .find(|ending| name.ends_with(*ending))
                .map(|ending| (*format, *ending))
        });
        let known = allowed
            .iter()
            .map(|format| format.describe())
            .collect::<Vec<_>>()
            .join(", ");
        match found {
            Some((format, _)) if allowed.contains(&format) => Ok(format),
            Some((format, ending)) => Err(Error::MismatchedOutputFormat {
                path: path.to_owned(),
                ending: ending.to_owned(),
                named: format.name(),
                known,
            }),
            None => Err(Error::UnknownOutputFormat {
                path: path.to_owned(),
                known,
            }),
        }
    }

    /// What the format is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pprof => "pprof",
            Self::Folded => "folded stacks",
            Self::Svg => "an SVG flame graph",
        }
    }

    /// `.svg (an SVG flame graph)`: the endings and the name.
    fn describe(self) -> String {
        let endings = EXTENSIONS
            .iter()
            .find(|(format, _)| *format == self)
            .map_or(&[][..], |(_, endings)| *endings);
        format!("{} ({})", endings.join(" or "), self.name())
    }
}

/// What to write when the output is not pprof.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Sample type for folded and SVG output (`cpu` or `cpu/nanoseconds`);
    /// default: the profile's default sample type.
    pub sample_type: Option<String>,
    /// Flame graph settings for SVG output.
    pub flamegraph: FlameGraphOptions,
}

/// Serializes `profile` in `format`.
pub fn render(profile: &Profile, format: OutputFormat, options: &WriteOptions) -> Result<Vec<u8>> {
    if format == OutputFormat::Pprof {
        return Ok(codec::encode(profile));
    }
    let index = sample_type_index(profile, options.sample_type.as_deref())?;
    let folded = Folded::from_profile(profile, index);
    match format {
        OutputFormat::Folded => Ok(folded.to_text().into_bytes()),
        _ => {
            let mut flamegraph = options.flamegraph.clone();
            if flamegraph.count_name == FlameGraphOptions::default().count_name {
                // Tooltips say "30 samples" or "1200000 nanoseconds".
                flamegraph.count_name = count_name(&sample_type_names(profile)[index]);
            }
            flamegraph_svg(&folded, &flamegraph)
        }
    }
}

/// Writes `profile` to `path` in the format its extension names. The file is
/// written next to its final name and renamed, so a failure never leaves a
/// half-written output behind.
pub fn write_path(profile: &Profile, path: &Path, options: &WriteOptions) -> Result<()> {
    let format = OutputFormat::from_path(path)?;
    let bytes = render(profile, format, options)?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = PathBuf::from(path);
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    tmp.set_file_name(name);
    std::fs::write(&tmp, bytes).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

/// Merges profile files, decoding them on all available cores. With
/// `sample_type`, each profile is cut to that type first
/// ([`crate::sample_type::only`]), so files with different sets of types
/// merge on the one they share; without it, their types must be equal.
///
/// Each thread merges a contiguous share of `paths`; the partial results are
/// merged at the end. Merging is associative, so the result has the same
/// stacks and values as a sequential merge. Errors name the offending file.
pub fn merge_paths(paths: &[PathBuf], sample_type: Option<&str>) -> Result<Profile> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let chunk = paths.len().div_ceil(threads).max(1);
    let partials: Vec<Result<Option<Profile>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|share| scope.spawn(move || merge_sequentially(share, sample_type)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("merge worker does not panic"))
            .collect()
    });
    let mut merger = Merger::new();
    for partial in partials {
        if let Some(profile) = partial? {
            merger.add(&profile)?;
        }
    }
    merger
        .finish()
        .ok_or_else(|| Error::Request("nothing to merge: no input profiles".to_owned()))
}

fn merge_sequentially(paths: &[PathBuf], sample_type: Option<&str>) -> Result<Option<Profile>> {
    let mut merger = Merger::new();
    for path in paths {
        let mut profile = load_path(path)?;
        if let Some(wanted) = sample_type {
            let index =
                sample_type_index(&profile, Some(wanted)).map_err(|e| file_error(path, e))?;
            profile = crate::sample_type::only(&profile, index);
        }
        merger.add(&profile).map_err(|e| file_error(path, e))?;
    }
    Ok(merger.finish())
}
