//! Differential flame graph data and the table of biggest changes.

use brasa_profile::{
    diff::{biggest_changes, changes_table, folded_pair, FoldedDiff},
    folded::Folded,
    render::FlameGraphOptions,
    Profile,
};

use brasa_test_support::golden;

fn folded(text: &str) -> Folded {
    Folded::parse(text).unwrap()
}

fn profile(text: &str) -> Profile {
    folded(text).to_profile()
}

const BASE: &str = "main;parse 30\nmain;eval 60\nmain;gc 10\n";
/// Twice as long a recording: eval's share fell, parse's rose, gc is gone
/// and jit is new.
const HEAD: &str = "main;parse 100\nmain;eval 70\nmain;jit 30\n";

#[test]
fn both_sides_are_normalized_to_the_larger_total() {
    let diff = FoldedDiff::new(&folded(BASE), &folded(HEAD)).unwrap();
    assert_eq!((diff.base_total, diff.head_total), (100, 200));
    assert_eq!(
        diff.lines(),
        [
            "main;eval 120 70",
            "main;gc 20 0",
            "main;jit 0 30",
            "main;parse 60 100",
        ]
    );
    let base_sum: u64 = diff.stacks.iter().map(|s| s.base).sum();
    let head_sum: u64 = diff.stacks.iter().map(|s| s.head).sum();
    assert_eq!(base_sum, head_sum);
}

#[test]
fn a_side_without_samples_is_an_error() {
    assert!(FoldedDiff::new(&Folded::default(), &folded(HEAD)).is_err());
    assert!(FoldedDiff::new(&folded(BASE), &Folded::default()).is_err());
}

#[test]
fn the_svg_is_a_differential_flame_graph() {
    let diff = FoldedDiff::new(&folded(BASE), &folded(HEAD)).unwrap();
    let svg = String::from_utf8(diff.to_svg(&FlameGraphOptions::default()).unwrap()).unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100]);
    for frame in ["parse", "eval", "jit"] {
        assert!(
            svg.contains(&format!("<title>{frame} (")),
            "no frame {frame}"
        );
    }
    // inferno writes the change of a frame into its tooltip.
    assert!(
        svg.contains("<title>parse (100 samples, 50.00%; +20.00%)</title>"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>eval (70 samples, 35.00%; -25.00%)</title>"),
        "{svg}"
    );
    let again = diff.to_svg(&FlameGraphOptions::default()).unwrap();
    assert_eq!(svg.as_bytes(), again, "rendering is deterministic");
}

#[test]
fn biggest_changes_are_ordered_by_share_moved() {
    let changes = biggest_changes(&profile(BASE), &profile(HEAD), None, 10).unwrap();
    let names: Vec<&str> = changes.iter().map(|c| c.function.as_str()).collect();
    // eval -25 points, parse +20, jit +15, gc -10; main has no self time.
    assert_eq!(names, ["eval", "parse", "jit", "gc"]);
    assert_eq!(changes[2].relative_change, None);
    assert_eq!(changes[3].relative_change, Some(-1.0));
    let top2 = biggest_changes(&profile(BASE), &profile(HEAD), None, 2).unwrap();
    assert_eq!(top2.len(), 2);
    golden!("diff_table.txt", &changes_table(&changes));
}

#[test]
fn folded_pair_rejects_different_sample_types() {
    let mut other = brasa_profile::ProfileBuilder::new(&[("cpu", "nanoseconds")]);
    other.add_sample(&[], &[1], &[]);
    let err = folded_pair(&profile(BASE), &other.build(), None).unwrap_err();
    assert!(err.to_string().contains("sample types differ"), "{err}");
}
