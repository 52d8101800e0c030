//! Benjamini–Hochberg control of the false discovery rate.

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

#[cfg(test)]
mod tests {
    use super::*;

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
