//! Golden files shared by the rendering tests: expected outputs live in
//! `tests/golden/`; `BRASA_BLESS=1` rewrites them after an intended change.

use std::path::PathBuf;

/// Environment variable that rewrites the golden files instead of comparing.
const BLESS: &str = "BRASA_BLESS";

/// Compares `actual` with `tests/golden/NAME`, or rewrites it when blessing.
pub fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os(BLESS).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with {BLESS}=1 to create it", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs; if the change is intended, re-run with {BLESS}=1",
        path.display()
    );
}
