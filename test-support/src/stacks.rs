//! Reading the stacks of a profile the agent recorded.

use brasa_profile::Profile;

/// One sample's stack as names, root first, split into user and kernel
/// parts, with its pid and count.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The `pid` label.
    pub pid: i64,
    /// User frames, root first.
    pub user: Vec<String>,
    /// Kernel frames, root first.
    pub kernel: Vec<String>,
    /// The sample's first value.
    pub count: i64,
}

/// The stacks of a profile from the agent.
pub fn stacks(profile: &Profile) -> Vec<Stack> {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let kernel_mapping = profile
        .mapping
        .iter()
        .find(|m| string(m.filename) == "[kernel.kallsyms]")
        .map(|m| m.id);
    profile
        .sample
        .iter()
        .map(|sample| {
            let mut user = Vec::new();
            let mut kernel = Vec::new();
            // Leaf first in pprof; innermost line first in a location.
            for id in sample.location_id.iter().rev() {
                let location = &profile.location[*id as usize - 1];
                let names: Vec<String> = if location.line.is_empty() {
                    vec![format!("{:#x}", location.address)]
                } else {
                    location
                        .line
                        .iter()
                        .rev()
                        .map(|line| string(profile.function[line.function_id as usize - 1].name))
                        .collect()
                };
                if Some(location.mapping_id) == kernel_mapping {
                    kernel.extend(names);
                } else {
                    user.extend(names);
                }
            }
            let pid = sample
                .label
                .iter()
                .find(|l| string(l.key) == "pid")
                .map_or(0, |l| l.num);
            Stack {
                pid,
                user,
                kernel,
                count: sample.value[0],
            }
        })
        .collect()
}

/// The user stacks of `pid` with one name per address, root first: the
/// function the address is in, not the ones inlined into it (as perf
/// shows with `--no-inline`).
pub fn physical_stacks(profile: &Profile, pid: i64) -> Vec<(Vec<String>, u64)> {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let label = |sample: &brasa_profile::pprof::Sample, key: &str| {
        sample
            .label
            .iter()
            .find(|l| string(l.key) == key)
            .map(|l| l.num)
    };
    profile
        .sample
        .iter()
        .filter(|sample| label(sample, "pid") == Some(pid))
        .map(|sample| {
            let frames = sample
                .location_id
                .iter()
                .rev()
                .map(|id| &profile.location[*id as usize - 1])
                .filter(|location| {
                    // Mapping ids start at 1; 0 is no mapping.
                    let mapping = (location.mapping_id as usize)
                        .checked_sub(1)
                        .and_then(|i| profile.mapping.get(i));
                    mapping.is_none_or(|m| string(m.filename) != "[kernel.kallsyms]")
                })
                .map(|location| match location.line.last() {
                    // The last line is the function the others are inlined into.
                    Some(line) => string(profile.function[line.function_id as usize - 1].name),
                    None => format!("{:#x}", location.address),
                })
                .collect();
            (frames, sample.value[0] as u64)
        })
        .collect()
}

/// Whether `chain` appears in `frames` as a contiguous run.
pub fn contains_chain(frames: &[String], chain: &[&str]) -> bool {
    frames
        .windows(chain.len())
        .any(|w| w.iter().zip(chain).all(|(a, b)| a == b))
}

/// What a recording of the `cpu` mode shows.
#[derive(Debug)]
pub struct Split {
    /// Samples in total.
    pub total: i64,
    /// Samples whose user stack holds main -> run -> hot/cold -> leaf.
    pub full_chain: i64,
    /// Of those, samples under the hot branch.
    pub hot: i64,
}

impl Split {
    /// Share of the samples that hold the whole chain.
    pub fn full_chain_fraction(&self) -> f64 {
        self.full_chain as f64 / self.total.max(1) as f64
    }
    /// Share of the whole-chain samples under the hot branch.
    pub fn hot_fraction(&self) -> f64 {
        self.hot as f64 / self.full_chain.max(1) as f64
    }
}

/// Counts the chains `[main, run, hot, leaf]` and `[main, run, cold, leaf]`.
pub fn split(stacks: &[Stack], main: &str, run: &str, hot: &str, cold: &str, leaf: &str) -> Split {
    let mut split = Split {
        total: 0,
        full_chain: 0,
        hot: 0,
    };
    for stack in stacks {
        split.total += stack.count;
        if contains_chain(&stack.user, &[main, run, hot, leaf]) {
            split.full_chain += stack.count;
            split.hot += stack.count;
        } else if contains_chain(&stack.user, &[main, run, cold, leaf]) {
            split.full_chain += stack.count;
        }
    }
    split
}
