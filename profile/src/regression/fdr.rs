//! Benjamini–Hochberg control of the false discovery rate, with the
//! conditional calibration for conservative nulls of Zhao, Small and Su
//! ("Multiple testing when many p-values are uniformly conservative", JASA
//! 2019).

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`.
///
/// Rejecting every hypothesis with `q <= alpha` keeps the expected fraction
/// of false discoveries among the rejections at most `alpha` (for
/// independent or positively dependent tests). NaN p-values count as 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean = |x: f64| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut q = vec![1.0; m];
    let mut running_min = 1.0f64;
    for (rank, &index) in order.iter().enumerate().rev() {
        let adjusted = clean(p[index]) * m as f64 / (rank + 1) as f64;
        running_min = running_min.min(adjusted);
        q[index] = running_min;
    }
    q
}

/// Only p-values at most this take part in [`conditional_benjamini_hochberg`].
pub const CONDITIONAL_LAMBDA: f64 = 0.5;

/// Benjamini–Hochberg over the p-values at most [`CONDITIONAL_LAMBDA`],
/// each divided by it; the others get q = 1.
///
/// The margin tests of a check have composite one-sided nulls ("grew by at
/// most the threshold"): a function that did not grow, or shrank, has a
/// p-value that is stochastically larger than uniform (conservative), and
/// most functions of a real comparison are such. Counting them all in the
/// family only dilutes the tests that matter; conditioning on `p <= λ` and
/// rescaling keeps the false discovery rate at the level for uniformly
/// conservative nulls, as Zhao, Small and Su show.
pub fn conditional_benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let kept: Vec<usize> = (0..p.len())
        .filter(|&i| p[i] <= CONDITIONAL_LAMBDA)
        .collect();
    let scaled: Vec<f64> = kept.iter().map(|&i| p[i] / CONDITIONAL_LAMBDA).collect();
    let mut q = vec![1.0; p.len()];
    for (&i, adjusted) in kept.iter().zip(benjamini_hochberg(&scaled)) {
        q[i] = adjusted;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_adjustment_leaves_out_large_p_values() {
        // 0.01 and 0.2 are kept (as 0.02 and 0.4, m = 2); 0.7 is not.
        let q = conditional_benjamini_hochberg(&[0.01, 0.7, 0.2]);
        let expected = [0.04, 1.0, 0.4];
        for (a, b) in q.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn matches_hand_computed_adjustment() {
        // Sorted p: 0.01, 0.02, 0.03, 0.5 with m = 4:
        // raw 0.04, 0.04, 0.04, 0.5 → monotone from the top.
        let q = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.02]);
        let expected = [0.04, 0.5, 0.04, 0.04];
        for (a, b) in q.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn adjusted_values_never_exceed_one_and_nan_counts_as_one() {
        let q = benjamini_hochberg(&[0.9, f64::NAN, 0.95]);
        assert_eq!(q, vec![1.0, 1.0, 1.0]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
