//! Behaviour of the regression gate on hand-made profiles: what counts as a
//! regression, what is an error, and which options change the verdict.

use brasa_profile::{
    builder::{FunctionInfo, ProfileBuilder},
    folded::Folded,
    pprof::Line,
    regression::{check, CheckOptions, Method, Metric, RunShares},
    Error, Profile,
};
use proptest::prelude::*;

fn folded(text: &str) -> Profile {
    Folded::parse(text).unwrap().to_profile()
}

/// A `cpu/nanoseconds` profile sampled every `period` ns, one stack per
/// (leaf, samples) pair under `main`.
fn cpu_profile(stacks: &[(&str, i64)], period: i64) -> Profile {
    let mut b = ProfileBuilder::new(&[("cpu", "nanoseconds")]);
    b.set_period("cpu", "nanoseconds", period);
    let main = b.function(FunctionInfo {
        name: "main",
        ..FunctionInfo::default()
    });
    let main_loc = b.location(
        0,
        0,
        &[Line {
            function_id: main,
            ..Line::default()
        }],
    );
    for &(leaf, samples) in stacks {
        let f = b.function(FunctionInfo {
            name: leaf,
            ..FunctionInfo::default()
        });
        let loc = b.location(
            0,
            0,
            &[Line {
                function_id: f,
                ..Line::default()
            }],
        );
        b.add_sample(&[loc, main_loc], &[samples * period], &[]);
    }
    b.build()
}

fn one(p: &Profile) -> &[Profile] {
    std::slice::from_ref(p)
}

fn options(threshold: f64, min_share: f64) -> CheckOptions {
    let mut o = CheckOptions::default();
    o.threshold = threshold;
    o.min_share = min_share;
    o
}

#[test]
fn a_real_change_under_the_threshold_passes_and_fails_a_lower_threshold() {
    // work: 10% → 10.3% of a million samples: +3%, far beyond sampling noise.
    let base = folded("main;work 100000\nmain;rest 900000\n");
    let head = folded("main;work 103000\nmain;rest 897000\n");
    let five = check(one(&base), one(&head), &options(0.05, 0.0)).unwrap();
    assert!(!five.failed(), "{five:?}");
    let one = check(&[base], &[head], &options(0.01, 0.0)).unwrap();
    assert!(one.failed());
    assert_eq!(one.regressions[0].function, "work");
    assert!((one.regressions[0].relative_change.unwrap() - 0.03).abs() < 1e-9);
}

#[test]
fn shrinking_and_unchanged_functions_never_regress() {
    let base = folded("main;a 500\nmain;b 500\n");
    let head = folded("main;a 100\nmain;b 500\n");
    let report = check(one(&base), &[head], &options(0.0, 0.0)).unwrap();
    // b's share grew from 50% to 83%: that one is a regression, a is not.
    let names: Vec<&str> = report
        .regressions
        .iter()
        .map(|f| f.function.as_str())
        .collect();
    assert_eq!(names, ["b"]);
    let same = check(one(&base), one(&base), &options(0.0, 0.0)).unwrap();
    assert!(!same.failed());
}

#[test]
fn inclusive_growth_of_a_caller_is_reported_as_inclusive() {
    let base = folded("main;caller 1000\nmain;caller;callee 1000\nmain;other 8000\n");
    let head = folded("main;caller 1000\nmain;caller;callee 3000\nmain;other 6000\n");
    let report = check(&[base], &[head], &CheckOptions::default()).unwrap();
    let found: Vec<(&str, Metric)> = report
        .regressions
        .iter()
        .map(|f| (f.function.as_str(), f.metric))
        .collect();
    assert!(found.contains(&("callee", Metric::SelfTime)), "{found:?}");
    assert!(found.contains(&("caller", Metric::Inclusive)), "{found:?}");
    assert!(!found.contains(&("caller", Metric::SelfTime)), "{found:?}");
    // callee is always a leaf: its inclusive share is not tested twice.
    assert!(!found.contains(&("callee", Metric::Inclusive)), "{found:?}");
}

#[test]
fn the_method_depends_on_the_number_of_profiles() {
    let p = folded("main;a 10\nmain;b 10\n");
    let one = check(one(&p), &[p.clone(), p.clone()], &CheckOptions::default()).unwrap();
    assert_eq!(one.method, Method::CountsZ);
    let two = check(
        &[p.clone(), p.clone()],
        &[p.clone(), p],
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(two.method, Method::WelchPerRun);
}

#[test]
fn new_functions_are_reported_above_min_share_only() {
    let base = folded("main;old 1000\n");
    let head = folded("main;old 1000\nmain;small_new 30\nmain;tiny_new 1\n");
    let report = check(one(&base), one(&head), &options(0.05, 0.01)).unwrap();
    let names: Vec<&str> = report
        .new_functions
        .iter()
        .map(|n| n.function.as_str())
        .collect();
    assert_eq!(names, ["small_new"]);
    assert!(
        !report.failed(),
        "a new function under the threshold (3% of the head) does not fail the check"
    );
    let all = check(&[base], &[head], &options(0.05, 0.0)).unwrap();
    assert_eq!(all.new_functions.len(), 2);
}

#[test]
fn a_function_absent_from_the_base_that_takes_35_percent_of_the_head_fails() {
    // Agent-rate profiles: a few hundred samples, the function never
    // sampled in the base.
    let base: Vec<Profile> = (0..3).map(|_| folded("main;work 190\n")).collect();
    let head: Vec<Profile> = (0..3)
        .map(|_| folded("main;work 124\nmain;hot_new 66\n"))
        .collect();
    let report = check(&base, &head, &CheckOptions::default()).unwrap();
    assert!(report.failed(), "{report:?}");
    let finding = &report.regressions[0];
    assert_eq!(finding.function, "hot_new");
    assert_eq!(finding.base_share, 0.0);
    assert_eq!(finding.relative_change, None);
    assert!((finding.head_share - 66.0 / 190.0).abs() < 1e-9);
    // The same with one profile a side (the count test).
    let single = check(&base[..1], &head[..1], &CheckOptions::default()).unwrap();
    assert!(single.failed(), "{single:?}");
}

#[test]
fn functions_under_min_share_are_not_tested() {
    // small doubles, but stays under a 1% minimum share.
    let base = folded("main;small 20000\nmain;rest 4980000\n");
    let head = folded("main;small 40000\nmain;rest 4960000\n");
    assert!(check(one(&base), one(&head), &options(0.05, 0.0))
        .unwrap()
        .failed());
    let report = check(&[base], &[head], &options(0.05, 0.01)).unwrap();
    assert!(!report.failed());
    assert!(report.tested < 4);
}

#[test]
fn mismatched_sample_types_are_an_error() {
    let counts = folded("main;a 10\n");
    let cpu = cpu_profile(&[("a", 10)], 10_000_000);
    let err = check(&[counts], &[cpu], &CheckOptions::default()).unwrap_err();
    assert!(matches!(err, Error::SampleTypeMismatch { .. }), "{err}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let p = folded("main;a 10\n");
    assert!(check(&[], one(&p), &CheckOptions::default()).is_err());
    assert!(check(one(&p), &[], &CheckOptions::default()).is_err());
    let empty = ProfileBuilder::new(&[("samples", "count")]).build();
    assert!(check(one(&p), &[empty], &CheckOptions::default()).is_err());
    for (threshold, alpha, min_share) in [
        (-0.1, 0.05, 0.0),
        (f64::NAN, 0.05, 0.0),
        (0.05, 0.0, 0.0),
        (0.05, 1.0, 0.0),
        (0.05, 0.05, 1.5),
    ] {
        let mut o = options(threshold, min_share);
        o.alpha = alpha;
        assert!(check(one(&p), one(&p), &o).is_err());
    }
    let mut o = CheckOptions::default();
    o.sample_type = Some("wall".to_owned());
    assert!(matches!(
        check(one(&p), one(&p), &o).unwrap_err(),
        Error::NoSuchSampleType { .. }
    ));
}

#[test]
fn cpu_time_is_converted_to_samples_by_the_period() {
    let p = cpu_profile(&[("a", 30), ("b", 70)], 10_000_000);
    let shares = RunShares::from_profile(&p, 0).unwrap();
    assert_eq!(shares.samples, 100.0);
    assert!((shares.share("a", Metric::SelfTime) - 0.3).abs() < 1e-12);
    assert_eq!(shares.share("main", Metric::Inclusive), 1.0);
    assert_eq!(shares.share("main", Metric::SelfTime), 0.0);
}

#[test]
fn the_count_test_needs_samples_not_nanoseconds() {
    // 30 vs 40 samples of 100 is not significant; read as nanoseconds
    // (3e8 vs 4e8 "samples") it would be.
    let base = cpu_profile(&[("a", 30), ("b", 70)], 10_000_000);
    let head = cpu_profile(&[("a", 40), ("b", 60)], 10_000_000);
    assert!(!check(&[base], &[head], &CheckOptions::default())
        .unwrap()
        .failed());
}

fn stack() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 1..5)
        .prop_map(|frames| frames.join(";"))
}

proptest! {
    #[test]
    fn shares_of_folded_equal_shares_of_its_profile(
        stacks in prop::collection::btree_map(stack(), 1i64..1000, 1..12)
    ) {
        let mut f = Folded::default();
        for (s, c) in &stacks {
            f.add(s, *c);
        }
        let direct = RunShares::from_folded(&f).unwrap();
        let via_profile = RunShares::from_profile(&f.to_profile(), 0).unwrap();
        prop_assert_eq!(direct.samples, via_profile.samples);
        prop_assert_eq!(direct.functions.len(), via_profile.functions.len());
        for (name, share) in &direct.functions {
            let other = via_profile.functions[name];
            prop_assert!((share.self_share - other.self_share).abs() < 1e-12);
            prop_assert!((share.inclusive - other.inclusive).abs() < 1e-12);
        }
    }
}
