//! Golden tests of the three report formats. Expected outputs live in
//! `tests/golden/`; run with `BRASA_BLESS=1` to rewrite them after an
//! intended change, then review the diff.

use brasa_profile::{
    folded::Folded,
    regression::{check, render, CheckOptions, Format, Report},
    Profile,
};

use brasa_test_support::golden;

fn profile(text: &str) -> Profile {
    Folded::parse(text).unwrap().to_profile()
}

/// Three runs per side; `parse` and `escape` double (so `render` grows
/// inclusive, not self), `hash<K|V>` (a name that needs escaping in
/// markdown) grows by about 30%, `jit` is new.
fn runs() -> (Vec<Profile>, Vec<Profile>) {
    let base = [
        "main;serve;parse 400\nmain;serve;eval 4000\nmain;serve;hash<K|V> 1000\nmain;gc 600\nmain;serve;render 300\nmain;serve;render;escape 200\n",
        "main;serve;parse 410\nmain;serve;eval 3950\nmain;serve;hash<K|V> 1020\nmain;gc 620\nmain;serve;render 310\nmain;serve;render;escape 190\n",
        "main;serve;parse 390\nmain;serve;eval 4050\nmain;serve;hash<K|V> 990\nmain;gc 580\nmain;serve;render 290\nmain;serve;render;escape 210\n",
    ];
    let head = [
        "main;serve;parse 800\nmain;serve;eval 3600\nmain;serve;hash<K|V> 1300\nmain;gc 600\nmain;jit 100\nmain;serve;render 300\nmain;serve;render;escape 400\n",
        "main;serve;parse 820\nmain;serve;eval 3580\nmain;serve;hash<K|V> 1310\nmain;gc 610\nmain;jit 110\nmain;serve;render 290\nmain;serve;render;escape 410\n",
        "main;serve;parse 790\nmain;serve;eval 3620\nmain;serve;hash<K|V> 1290\nmain;gc 590\nmain;jit 90\nmain;serve;render 310\nmain;serve;render;escape 390\n",
    ];
    (
        base.iter().map(|t| profile(t)).collect(),
        head.iter().map(|t| profile(t)).collect(),
    )
}

fn several() -> Report {
    let (base, head) = runs();
    check(&base, &head, &CheckOptions::default()).unwrap()
}

#[test]
fn text_report() {
    golden!("check_several.txt", &render(&several(), Format::Text));
}

#[test]
fn markdown_report() {
    golden!("check_several.md", &render(&several(), Format::Markdown));
}

#[test]
fn json_report() {
    let json = render(&several(), Format::Json);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = &value["regressions"][0];
    for key in [
        "function",
        "base_share",
        "head_share",
        "relative_change",
        "p_value",
        "q_value",
    ] {
        assert!(!first[key].is_null(), "finding without {key}: {json}");
    }
    assert_eq!(value["verdict"], "regression");
    assert_eq!(value["method"], "welch_per_run");
    assert_eq!(value["new_functions"][0]["function"], "jit");
    golden!("check_several.json", &json);
}

#[test]
fn single_profiles_say_they_test_counts() {
    let (base, head) = runs();
    let report = check(&base[..1], &head[..1], &CheckOptions::default()).unwrap();
    let text = render(&report, Format::Text);
    assert!(
        text.contains("run-to-run variation is NOT accounted for"),
        "{text}"
    );
    golden!("check_single.txt", &text);
}

#[test]
fn passing_report() {
    let (base, _) = runs();
    let report = check(&base[..2], &base[1..], &CheckOptions::default()).unwrap();
    assert!(!report.failed());
    golden!("check_pass.txt", &render(&report, Format::Text));
    golden!("check_pass.md", &render(&report, Format::Markdown));
}
