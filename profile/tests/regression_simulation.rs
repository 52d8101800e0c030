//! Validates the statistics of `brasa check` by simulation.
//!
//! Profiles are drawn from a model of a real program: a call tree whose
//! leaves hold shares from 20% down to 0.3%, with run-to-run variation (each
//! stack's weight jitters by a log-normal factor every run, as cache,
//! scheduling and input effects do) on top of the multinomial sampling noise
//! of 5,000 samples per run. The seed is fixed, so the rates are
//! deterministic; run with `--nocapture` to see them.

use brasa_profile::{
    folded::Folded,
    regression::{check_shares, CheckOptions, Method, RunShares},
};
use rand::{rngs::SmallRng, SeedableRng};
use rand_distr::{Binomial, Distribution, Normal};

/// Leaf stacks and their base weights (shares; they sum to 1).
const MODEL: &[(&str, f64)] = &[
    ("main;serve;parse;lex", 0.20),
    ("main;serve;parse;tree", 0.12),
    ("main;serve;eval;lookup", 0.15),
    ("main;serve;eval;hash", 0.10),
    ("main;serve;eval;compress", 0.04),
    ("main;serve;eval;alloc", 0.08),
    ("main;serve;render;format", 0.09),
    ("main;serve;render;write", 0.06),
    ("main;serve;log", 0.03),
    ("main;serve;metrics", 0.02),
    ("main;gc;mark", 0.05),
    ("main;gc;sweep", 0.025),
    ("main;idle", 0.015),
    ("main;signal", 0.008),
    ("main;serve;eval;cache_miss", 0.005),
    ("main;timer", 0.004),
    ("main;serve;render;escape", 0.003),
];
/// The function that the power test slows down; it holds 4% of the time.
const SLOWED: &str = "main;serve;eval;compress";
/// Relative spread of a stack's weight between runs.
const RUN_TO_RUN_SIGMA: f64 = 0.10;
const SAMPLES_PER_RUN: u64 = 5_000;
const RUNS_PER_SIDE: usize = 10;
const AA_TRIALS: usize = 1_000;
const POWER_TRIALS: usize = 200;
const POOLED_TRIALS: usize = 200;
const SEED: u64 = 0x0062_7261_7361;

fn weights(growth_of_slowed: f64) -> Vec<(&'static str, f64)> {
    MODEL
        .iter()
        .map(|&(stack, w)| {
            let w = if stack == SLOWED {
                w * growth_of_slowed
            } else {
                w
            };
            (stack, w)
        })
        .collect()
}

/// One run: jitter the weights, then draw a multinomial sample of them
/// through conditional binomials.
fn run_folded(model: &[(&str, f64)], rng: &mut SmallRng) -> Folded {
    let jitter = Normal::new(0.0, RUN_TO_RUN_SIGMA).unwrap();
    let jittered: Vec<f64> = model
        .iter()
        .map(|&(_, w)| w * jitter.sample(rng).exp())
        .collect();
    let mut mass: f64 = jittered.iter().sum();
    let mut left = SAMPLES_PER_RUN;
    let mut folded = Folded::default();
    for (&(stack, _), &w) in model.iter().zip(&jittered) {
        let p = (w / mass).clamp(0.0, 1.0);
        let count = Binomial::new(left, p).unwrap().sample(rng);
        folded.add(stack, count as i64);
        left -= count;
        mass -= w;
    }
    folded
}

fn run(model: &[(&str, f64)], rng: &mut SmallRng) -> RunShares {
    // Straight from folded stacks: building a pprof profile per run would
    // only slow the simulation (tests check both paths give equal shares).
    RunShares::from_folded(&run_folded(model, rng)).unwrap()
}

/// All runs of a side summed into one profile, as if recorded in one go.
fn pooled_side(model: &[(&str, f64)], rng: &mut SmallRng) -> Vec<RunShares> {
    let mut pooled = Folded::default();
    for _ in 0..RUNS_PER_SIDE {
        for (stack, count) in run_folded(model, rng).stacks {
            pooled.add(&stack, count);
        }
    }
    vec![RunShares::from_folded(&pooled).unwrap()]
}

fn side(model: &[(&str, f64)], rng: &mut SmallRng) -> Vec<RunShares> {
    (0..RUNS_PER_SIDE).map(|_| run(model, rng)).collect()
}

/// Fraction of trials in which the check fails, and in which it names the
/// slowed function as a self-time regression.
fn failure_rates(growth: f64, trials: usize, seed: u64) -> (f64, f64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let base_model = weights(1.0);
    let head_model = weights(growth);
    let leaf = SLOWED.rsplit(';').next().unwrap();
    let (mut failed, mut named) = (0usize, 0usize);
    for _ in 0..trials {
        let base = side(&base_model, &mut rng);
        let head = side(&head_model, &mut rng);
        let report = check_shares(
            &base,
            &head,
            "samples/count".to_owned(),
            &CheckOptions::default(),
        );
        if growth > 1.0 && !report.failed() {
            eprintln!("missed: {report:?}");
        }
        failed += usize::from(report.failed());
        named += usize::from(
            report
                .regressions
                .iter()
                .any(|f| f.function == leaf && f.metric.name() == "self"),
        );
    }
    (failed as f64 / trials as f64, named as f64 / trials as f64)
}

#[test]
fn a_a_comparisons_pass_at_least_99_percent_of_the_time() {
    let (failed, _) = failure_rates(1.0, AA_TRIALS, SEED);
    let pass = 1.0 - failed;
    eprintln!(
        "A/A: {AA_TRIALS} comparisons of {RUNS_PER_SIDE} vs {RUNS_PER_SIDE} runs of {SAMPLES_PER_RUN} samples, \
         run-to-run sigma {RUN_TO_RUN_SIGMA}: pass rate {:.1}%",
        pass * 100.0
    );
    assert!(pass >= 0.99, "A/A pass rate {pass}");
}

#[test]
fn a_50_percent_growth_of_a_4_percent_function_is_caught_95_percent_of_the_time() {
    let (failed, named) = failure_rates(1.5, POWER_TRIALS, SEED + 1);
    eprintln!(
        "power: {POWER_TRIALS} comparisons, a 4% function grown by 50%, {RUNS_PER_SIDE} runs of {SAMPLES_PER_RUN} \
         samples per side: check failed {:.1}%, named the function {:.1}%",
        failed * 100.0,
        named * 100.0
    );
    assert!(named >= 0.95, "detection rate {named}");
}

#[test]
fn ignoring_run_to_run_variation_would_fail_a_a_comparisons() {
    // The same A/A comparisons with each side's runs pooled into one
    // profile: only the count test is possible, and it mistakes run-to-run
    // variation for real change. This is why the Welch test on per-run
    // shares is used whenever there are several profiles per side.
    let mut rng = SmallRng::seed_from_u64(SEED + 2);
    let model = weights(1.0);
    let mut failed = 0usize;
    for _ in 0..POOLED_TRIALS {
        let base = pooled_side(&model, &mut rng);
        let head = pooled_side(&model, &mut rng);
        let report = check_shares(
            &base,
            &head,
            "samples/count".to_owned(),
            &CheckOptions::default(),
        );
        assert_eq!(report.method, Method::CountsZ);
        failed += usize::from(report.failed());
    }
    let pass = 1.0 - failed as f64 / POOLED_TRIALS as f64;
    eprintln!(
        "A/A with each side pooled into one profile (count test): pass rate {:.1}%",
        pass * 100.0
    );
    // Far from the 99% the per-run test reaches on the same model.
    assert!(pass < 0.99, "pooled A/A pass rate {pass}");
}
