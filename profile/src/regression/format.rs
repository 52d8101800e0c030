//! A [`Report`] as text for people, markdown for a pull-request comment, or
//! JSON for machines.

use std::{collections::BTreeSet, fmt::Write, str::FromStr};

use super::report::{Finding, NewFunction, Report, Verdict};
use crate::{Error, Result};

/// P-values below this are printed as `<` it: more digits mean nothing.
const SMALLEST_PRINTED_P: f64 = 1e-4;

/// Output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned plain text.
    #[default]
    Text,
    /// GitHub-flavoured markdown.
    Markdown,
    /// Pretty-printed JSON.
    Json,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(Self::Text),
            "markdown" | "md" => Ok(Self::Markdown),
            "json" => Ok(Self::Json),
            other => Err(Error::Request(format!(
                "unknown report format {other:?}: use text, markdown or json"
            ))),
        }
    }
}

/// Renders `report` in `format`, ending with a line break.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Markdown => markdown(report),
        Format::Json => json(report),
    }
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    method_description: &'static str,
}

fn json(report: &Report) -> String {
    let wrapped = JsonReport {
        report,
        method_description: report.method.description(),
    };
    // Serializing plain structs of strings and finite numbers cannot fail;
    // NaN or infinite values become null rather than an error.
    let mut out = serde_json::to_string_pretty(&wrapped).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot serialize report: {e}") }).to_string()
    });
    out.push('\n');
    out
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn change(relative: f64) -> String {
    format!("{:+.1}%", relative * 100.0)
}

fn p_value(p: f64) -> String {
    if p < SMALLEST_PRINTED_P {
        format!("<{SMALLEST_PRINTED_P}")
    } else {
        format!("{p:.4}")
    }
}

fn finding_cells(f: &Finding) -> Vec<String> {
    vec![
        f.function.clone(),
        f.metric.name().to_owned(),
        percent(f.base_share),
        percent(f.head_share),
        f.relative_change.map_or_else(|| "new".to_owned(), change),
        p_value(f.p_value),
        p_value(f.q_value),
    ]
}

fn new_cells(n: &NewFunction) -> Vec<String> {
    vec![
        n.function.clone(),
        percent(n.self_share),
        percent(n.inclusive_share),
    ]
}

const FINDING_HEADER: [&str; 7] = [
    "function", "metric", "base", "head", "change", "p-value", "q-value",
];
/// The leading columns of the findings table that hold words, not numbers.
const FINDING_TEXT_COLUMNS: usize = 2;
const NEW_HEADER: [&str; 3] = ["function", "self", "inclusive"];
const NEW_TEXT_COLUMNS: usize = 1;
/// Space between columns of the text tables.
const COLUMN_GAP: &str = "  ";

fn headline(report: &Report) -> String {
    let functions: BTreeSet<&str> = report
        .regressions
        .iter()
        .map(|f| f.function.as_str())
        .collect();
    match report.verdict {
        Verdict::Pass => "PASS: no function regressed".to_owned(),
        Verdict::Regression => format!(
            "REGRESSION: {} function{} got slower",
            functions.len(),
            if functions.len() == 1 { "" } else { "s" }
        ),
    }
}

fn settings(report: &Report) -> String {
    format!(
        "{} base vs {} head profiles of {}; threshold {}, alpha {} (Benjamini-Hochberg), min share {}; {} shares tested",
        report.base_profiles,
        report.head_profiles,
        report.sample_type,
        change(report.threshold),
        report.alpha,
        percent(report.min_share),
        report.tested
    )
}

/// What the check could detect, and a warning when that is too little.
fn power(report: &Report) -> (String, Option<String>) {
    let p = &report.power;
    let detect = match p.detectable_growth {
        Some(growth) => format!(
            "with these samples, a growth of {} of a function at {} of the time would be detected with {:.0}% probability",
            change(growth),
            percent(p.reference_share),
            p.probability * 100.0
        ),
        None => format!(
            "with these samples, not even a 20-fold growth of a function at {} of the time would be detected with {:.0}% probability",
            percent(p.reference_share),
            p.probability * 100.0
        ),
    };
    let warning = p.thin.then(|| {
        "these inputs are too thin to gate on: record more samples (longer or more runs, a higher frequency) per side".to_owned()
    });
    (detect, warning)
}

fn text(report: &Report) -> String {
    let mut out = format!("brasa check: {}\n", headline(report));
    let _ = writeln!(out, "test: {}", report.method.description());
    let _ = writeln!(out, "{}", settings(report));
    let (detect, warning) = power(report);
    let _ = writeln!(out, "power: {detect}");
    if let Some(warning) = warning {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !report.regressions.is_empty() {
        out.push_str("\nregressions:\n");
        let rows: Vec<Vec<String>> = report.regressions.iter().map(finding_cells).collect();
        aligned(&mut out, &FINDING_HEADER, FINDING_TEXT_COLUMNS, &rows);
    }
    if !report.new_functions.is_empty() {
        out.push_str("\nnew functions (only in head):\n");
        let rows: Vec<Vec<String>> = report.new_functions.iter().map(new_cells).collect();
        aligned(&mut out, &NEW_HEADER, NEW_TEXT_COLUMNS, &rows);
    }
    out
}

/// A table indented by two spaces; the first `text_columns` columns are
/// left-aligned, the numbers right-aligned.
pub(crate) fn aligned(
    out: &mut String,
    header: &[&str],
    text_columns: usize,
    rows: &[Vec<String>],
) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            line.push_str(COLUMN_GAP);
            if i < text_columns {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn markdown(report: &Report) -> String {
    let icon = match report.verdict {
        Verdict::Pass => ":white_check_mark:",
        Verdict::Regression => ":x:",
    };
    let mut out = format!("### {icon} brasa check: {}\n\n", headline(report));
    let _ = writeln!(out, "Test: {}.\n", report.method.description());
    let _ = writeln!(out, "{}.", settings(report));
    let (detect, warning) = power(report);
    let _ = writeln!(out, "\nPower: {detect}.");
    if let Some(warning) = warning {
        let _ = writeln!(out, "\n:warning: {}.", capitalized(&warning));
    }
    if !report.regressions.is_empty() {
        out.push_str("\n#### Regressions\n\n");
        let rows: Vec<Vec<String>> = report.regressions.iter().map(finding_cells).collect();
        markdown_table(&mut out, &FINDING_HEADER, FINDING_TEXT_COLUMNS, &rows);
    }
    if !report.new_functions.is_empty() {
        out.push_str("\n#### New functions (only in head)\n\n");
        let rows: Vec<Vec<String>> = report.new_functions.iter().map(new_cells).collect();
        markdown_table(&mut out, &NEW_HEADER, NEW_TEXT_COLUMNS, &rows);
    }
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn markdown_table(out: &mut String, header: &[&str], text_columns: usize, rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let rule: Vec<&str> = (0..header.len())
        .map(|i| if i < text_columns { "---" } else { "--:" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("<code>{}</code>", html_escape(c))
                } else {
                    c.clone()
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// Function names may hold `<`, `&` or `|` (C++ templates, operators):
/// escaped so they neither become HTML nor split a table cell.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            c => out.push(c),
        }
    }
    out
}
