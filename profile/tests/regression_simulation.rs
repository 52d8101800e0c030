//! Validates the statistics of `brasa check` by simulation.
//!
//! Profiles are drawn from a model of a real program: a call tree whose
//! leaves hold shares from 20% down to 0.3%, with run-to-run variation (each
//! stack's weight jitters by a log-normal factor every run, as cache,
//! scheduling and input effects do) on top of the multinomial sampling noise
//! of 5,000 samples per run. Agent-rate data is simulated too: profiles of
//! 10 s at 19 Hz (190 samples of one busy CPU) from 3 hosts per side, each
//! host with a weight jitter of its own that it keeps before and after the
//! change (the same machines, another version). The seed is fixed, so the
//! rates are deterministic; run with `--nocapture` to see them.

use brasa_profile::{
    folded::Folded,
    regression::{check_shares, CheckOptions, Method, Report, RunShares, DEFAULT_ALPHA},
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
/// The function the agent-rate test slows down; it holds 5% of the time.
const SLOWED_AT_AGENT_RATE: &str = "main;gc;mark";
/// A stack absent from the base that takes 35% of the head.
const APPEARED: &str = "main;serve;eval;regressed";
/// Relative spread of a stack's weight between runs.
const RUN_TO_RUN_SIGMA: f64 = 0.10;
const SAMPLES_PER_RUN: u64 = 5_000;
/// 19 Hz for 10 s on one busy CPU.
const AGENT_SAMPLES: u64 = 190;
const AGENT_HOSTS: usize = 3;
/// Five minutes of 10 s profiles per host.
const AGENT_PROFILES_PER_HOST: usize = 30;
const RUNS_PER_SIDE: usize = 10;
const AA_TRIALS: usize = 1_000;
const POWER_TRIALS: usize = 200;
const POOLED_TRIALS: usize = 200;
const SEED: u64 = 0x0062_7261_7361;

fn weights(growth_of_slowed: f64) -> Vec<(&'static str, f64)> {
    grown(SLOWED, growth_of_slowed)
}

/// The model with `slowed`'s weight multiplied by `growth`.
fn grown(slowed: &str, growth: f64) -> Vec<(&'static str, f64)> {
    MODEL
        .iter()
        .map(|&(stack, w)| (stack, if stack == slowed { w * growth } else { w }))
        .collect()
}

/// One run: jitter the weights, then draw a multinomial sample of them
/// through conditional binomials.
fn run_folded(model: &[(&str, f64)], rng: &mut SmallRng) -> Folded {
    draw(model, SAMPLES_PER_RUN, rng)
}

/// `samples` samples of the jittered weights of `model`.
fn draw(model: &[(&str, f64)], samples: u64, rng: &mut SmallRng) -> Folded {
    let jitter = Normal::new(0.0, RUN_TO_RUN_SIGMA).unwrap();
    let jittered: Vec<f64> = model
        .iter()
        .map(|&(_, w)| w * jitter.sample(rng).exp())
        .collect();
    let mut mass: f64 = jittered.iter().sum();
    let mut left = samples;
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
fn a_a_false_alarms_stay_under_alpha() {
    let (failed, _) = failure_rates(1.0, AA_TRIALS, SEED);
    eprintln!(
        "A/A: {AA_TRIALS} comparisons of {RUNS_PER_SIDE} vs {RUNS_PER_SIDE} runs of {SAMPLES_PER_RUN} samples, \
         run-to-run sigma {RUN_TO_RUN_SIGMA}: false alarms {:.1}% (alpha {:.0}%)",
        failed * 100.0,
        DEFAULT_ALPHA * 100.0
    );
    assert!(failed <= DEFAULT_ALPHA, "A/A false alarm rate {failed}");
}

#[test]
fn a_40_percent_growth_of_a_4_percent_function_is_caught_95_percent_of_the_time() {
    let (failed, named) = failure_rates(1.4, POWER_TRIALS, SEED + 1);
    eprintln!(
        "power: {POWER_TRIALS} comparisons, a 4% function grown by 40%, {RUNS_PER_SIDE} runs of {SAMPLES_PER_RUN} \
         samples per side: check failed {:.1}%, named the function {:.1}%",
        failed * 100.0,
        named * 100.0
    );
    assert!(named >= 0.95, "detection rate {named}");
}

/// One side of agent-rate data: every host's 10 s profiles, each host's
/// weights jittered once by `hosts` (the same machines on both sides).
fn agent_side(model: &[(&str, f64)], hosts: &[Vec<f64>], rng: &mut SmallRng) -> Vec<RunShares> {
    let mut runs = Vec::new();
    for host in hosts {
        let on_host: Vec<(&str, f64)> = model
            .iter()
            .map(|&(stack, w)| (stack, w * host_factor(host, stack)))
            .collect();
        for _ in 0..AGENT_PROFILES_PER_HOST {
            runs.push(RunShares::from_folded(&draw(&on_host, AGENT_SAMPLES, rng)).unwrap());
        }
    }
    runs
}

/// A host's weight factor for `stack` (1 for a stack outside the model).
fn host_factor(host: &[f64], stack: &str) -> f64 {
    MODEL
        .iter()
        .position(|&(s, _)| s == stack)
        .map_or(1.0, |i| host[i])
}

fn agent_hosts(rng: &mut SmallRng) -> Vec<Vec<f64>> {
    let jitter = Normal::new(0.0, RUN_TO_RUN_SIGMA).unwrap();
    (0..AGENT_HOSTS)
        .map(|_| MODEL.iter().map(|_| jitter.sample(rng).exp()).collect())
        .collect()
}

/// Fraction of agent-rate comparisons of `base` and `head` models that fail,
/// and that name `function` (a leaf name) as a regression.
fn agent_rates(
    base: &[(&str, f64)],
    head: &[(&str, f64)],
    function: &str,
    trials: usize,
    seed: u64,
) -> (f64, f64, Vec<Report>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut failed, mut named, mut reports) = (0usize, 0usize, Vec::new());
    for _ in 0..trials {
        let hosts = agent_hosts(&mut rng);
        let base_runs = agent_side(base, &hosts, &mut rng);
        let head_runs = agent_side(head, &hosts, &mut rng);
        let report = check_shares(
            &base_runs,
            &head_runs,
            "samples/count".to_owned(),
            &CheckOptions::default(),
        );
        failed += usize::from(report.failed());
        named += usize::from(report.regressions.iter().any(|f| f.function == function));
        reports.push(report);
    }
    (
        failed as f64 / trials as f64,
        named as f64 / trials as f64,
        reports,
    )
}

#[test]
fn at_agent_rate_a_a_passes_and_a_50_percent_growth_of_a_5_percent_function_is_caught() {
    let model = weights(1.0);
    let (false_alarms, _, reports) = agent_rates(&model, &model, "", AA_TRIALS, SEED + 3);
    let growth = reports[0].power.detectable_growth.unwrap();
    eprintln!(
        "agent rate A/A: {AA_TRIALS} comparisons of {AGENT_HOSTS} hosts x {AGENT_PROFILES_PER_HOST} profiles of \
         {AGENT_SAMPLES} samples per side: false alarms {:.1}%; stated power: +{:.1}% of a 5% function at 80%",
        false_alarms * 100.0,
        growth * 100.0
    );
    assert!(false_alarms <= DEFAULT_ALPHA, "false alarms {false_alarms}");

    let slowed = grown(SLOWED_AT_AGENT_RATE, 1.5);
    let (_, caught, _) = agent_rates(&model, &slowed, "mark", POWER_TRIALS, SEED + 4);
    eprintln!(
        "agent rate power: a 5% function grown by 50%, {POWER_TRIALS} comparisons: named {:.1}%",
        caught * 100.0
    );
    assert!(caught >= 0.95, "detection rate {caught}");
    // The stated power is for exactly such a function: it must not promise
    // more than the simulation delivers.
    assert!(growth <= 0.5, "stated detectable growth {growth}");
}

#[test]
fn at_agent_rate_a_function_from_nothing_to_35_percent_always_fails() {
    let base = weights(1.0);
    let mut head = base.clone();
    // 0.35 / 0.65 of the rest: 35% of the head.
    head.push((APPEARED, 0.35 / 0.65));
    let (failed, named, reports) = agent_rates(&base, &head, "regressed", POWER_TRIALS, SEED + 5);
    eprintln!(
        "agent rate, a function absent from the base at 35% of the head: failed {:.1}%, named {:.1}%",
        failed * 100.0,
        named * 100.0
    );
    assert_eq!(named, 1.0, "{:?}", reports.iter().find(|r| !r.failed()));
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
