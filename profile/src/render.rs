//! SVG flame graphs from folded stacks, rendered by inferno.

use crate::{folded::Folded, Error, Result};

/// How to draw a flame graph.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FlameGraphOptions {
    /// Title at the top of the image. Default: `"Flame Graph"`.
    pub title: String,
    /// What the counts are, shown in tooltips (e.g. `samples`,
    /// `nanoseconds`). Default: `"samples"`.
    pub count_name: String,
    /// Draw an icicle graph (roots at the top). Default: `false`.
    pub inverted: bool,
    /// Frames narrower than this many pixels are left out. Default: `0.1`.
    pub min_width: f64,
}

impl Default for FlameGraphOptions {
    fn default() -> Self {
        Self {
            title: "Flame Graph".to_owned(),
            count_name: "samples".to_owned(),
            inverted: false,
            min_width: 0.1,
        }
    }
}

impl FlameGraphOptions {
    fn inferno(&self) -> inferno::flamegraph::Options<'static> {
        let mut options = inferno::flamegraph::Options::default();
        options.title = self.title.clone();
        options.count_name = self.count_name.clone();
        if self.inverted {
            options.direction = inferno::flamegraph::Direction::Inverted;
        }
        options.min_width = self.min_width;
        // Colors derived from names, not a random generator: the same input
        // always renders the same bytes.
        options.deterministic = true;
        options.hash = true;
        options
    }
}

/// What tooltips call the values of a `type/unit` sample type: the unit
/// (`cpu/nanoseconds` → `nanoseconds`), or the type when the unit only says
/// they are counted (`samples/count` → `samples`).
pub fn count_name(sample_type: &str) -> String {
    match sample_type.split_once('/') {
        Some((kind, "count")) => kind.to_owned(),
        Some((_, unit)) => unit.to_owned(),
        None => sample_type.to_owned(),
    }
}

/// Renders `folded` as an SVG flame graph.
pub fn flamegraph_svg(folded: &Folded, options: &FlameGraphOptions) -> Result<Vec<u8>> {
    if folded.is_empty() {
        return Err(Error::Render(
            "the profile has no samples to draw".to_owned(),
        ));
    }
    let lines: Vec<String> = folded.lines().collect();
    render_lines(lines.iter().map(String::as_str), options)
}

/// Renders pre-formatted folded lines (`stack count`, or `stack base head`
/// for a differential graph).
pub fn render_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    options: &FlameGraphOptions,
) -> Result<Vec<u8>> {
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options.inferno(), lines, &mut svg)
        .map_err(|e| Error::Render(e.to_string()))?;
    Ok(svg)
}
