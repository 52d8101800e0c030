//! Parses `readelf --debug-dump=frames-interp`: binutils' own evaluation
//! of the CFI, the oracle the tables are checked against.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use brasa_symbolizer::hex::parse_hex_u64;

/// readelf prints row addresses of 64-bit files with 16 hex digits (other
/// lines, like `ZERO terminator`, start with 8).
const LOC_DIGITS: usize = 16;

/// One row as readelf prints it: the CFA and two register columns.
#[derive(Debug, Clone)]
pub struct Row {
    /// First address of the row.
    pub loc: u64,
    /// `rsp+8`, `rbp+16`, `exp`...
    pub cfa: String,
    /// The `rbp` column, `None` when the FDE never mentions RBP.
    pub rbp: Option<String>,
    /// The `ra` column.
    pub ra: Option<String>,
}

/// One FDE with its rows (the CIE's initial row when it has no program).
#[derive(Debug, Clone)]
pub struct Fde {
    /// `.eh_frame` or `.debug_frame`.
    pub section: String,
    /// First address covered.
    pub start: u64,
    /// One past the last address covered.
    pub end: u64,
    /// Rows, by increasing `loc`.
    pub rows: Vec<Row>,
}

enum Owner {
    Nobody,
    Cie((String, u64)),
    Fde(usize),
}

/// The FDEs of every CFI section of `path`.
pub fn frames(path: &Path) -> Vec<Fde> {
    // readelf exits with 1 on some distribution libraries (a missing
    // separate debug file) after printing everything: judge by the output.
    let output = Command::new("readelf")
        .arg("--debug-dump=frames-interp")
        .arg(path)
        .output()
        .expect("run readelf (binutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("Contents of the"),
        "readelf shows no CFI for {}",
        path.display()
    );
    parse(&text)
}

/// Parses readelf's text.
pub fn parse(text: &str) -> Vec<Fde> {
    let mut section = String::new();
    let mut cie_rows: HashMap<(String, u64), Vec<Row>> = HashMap::new();
    let mut fde_cies = Vec::new();
    let mut fdes: Vec<Fde> = Vec::new();
    let mut owner = Owner::Nobody;
    let mut columns: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Contents of the ") {
            section = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            owner = Owner::Nobody;
            continue;
        }
        // A register rule prints as `r9 (r9)`: keep it one token.
        let line = line.replace(" (", "(");
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.get(3).copied() {
            Some("CIE") => {
                let key = (
                    section.clone(),
                    parse_hex_u64(tokens[0]).expect("CIE offset"),
                );
                cie_rows.insert(key.clone(), Vec::new());
                owner = Owner::Cie(key);
                continue;
            }
            Some("FDE") => {
                let field = |prefix: &str| {
                    tokens
                        .iter()
                        .find_map(|token| token.strip_prefix(prefix))
                        .expect(prefix)
                };
                let (start, end) = field("pc=").split_once("..").expect("pc range");
                fde_cies.push((section.clone(), parse_hex_u64(field("cie=")).expect("cie")));
                fdes.push(Fde {
                    section: section.clone(),
                    start: parse_hex_u64(start).expect("start"),
                    end: parse_hex_u64(end).expect("end"),
                    rows: Vec::new(),
                });
                owner = Owner::Fde(fdes.len() - 1);
                continue;
            }
            _ => {}
        }
        if tokens.first() == Some(&"LOC") {
            columns = tokens.iter().map(|token| token.to_string()).collect();
            continue;
        }
        if tokens.len() != columns.len() || tokens.len() < 2 || tokens[0].len() != LOC_DIGITS {
            continue;
        }
        let Some(loc) = parse_hex_u64(tokens[0]) else {
            continue;
        };
        let column = |name: &str| {
            let index = columns.iter().position(|column| column == name)?;
            Some(tokens[index].to_owned())
        };
        let row = Row {
            loc,
            cfa: tokens[1].to_owned(),
            rbp: column("rbp"),
            ra: column("ra"),
        };
        match &owner {
            Owner::Cie(key) => cie_rows.get_mut(key).expect("CIE").push(row),
            Owner::Fde(index) => fdes[*index].rows.push(row),
            Owner::Nobody => {}
        }
    }
    for (fde, cie) in fdes.iter_mut().zip(&fde_cies) {
        if fde.rows.is_empty() {
            if let Some(initial) = cie_rows.get(cie).and_then(|rows| rows.last()) {
                fde.rows.push(Row {
                    loc: fde.start,
                    ..initial.clone()
                });
            }
        }
    }
    fdes
}
