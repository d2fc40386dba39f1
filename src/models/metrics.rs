//! Evaluation as data scientists know it from scikit-learn: ROC AUC, average
//! precision (PR AUC), log loss, Brier score, a calibration table, a confusion
//! matrix, lift and gains by decile, stratified k-fold splits and permutation
//! importance.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Area under the ROC curve; tied scores count one half (Mann-Whitney U).
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += mid_rank * order[i..j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Average precision, scikit-learn's PR AUC: Σ (Rₙ − Rₙ₋₁) Pₙ over score thresholds.
pub fn average_precision(labels: &[bool], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    if positives == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut seen, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            tp += f64::from(u8::from(labels[order[j]]));
            seen += 1.0;
            j += 1;
        }
        let recall = tp / positives;
        ap += (recall - last_recall) * tp / seen;
        last_recall = recall;
        i = j;
    }
    ap
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(labels: &[bool], probabilities: &[f64]) -> f64 {
    let sum: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&y, &p)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -if y { p.ln() } else { (1.0 - p).ln() }
        })
        .sum();
    sum / labels.len().max(1) as f64
}

/// Mean squared error of the probabilities.
pub fn brier(labels: &[bool], probabilities: &[f64]) -> f64 {
    let sum: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&y, &p)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    sum / labels.len().max(1) as f64
}

/// One bin of a calibration table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CalibrationBin {
    /// Lower edge of predicted probability.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Rows in the bin.
    pub rows: usize,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Observed share of positives.
    pub observed: f64,
}

/// Calibration in ten equal-width bins of predicted probability (empty bins omitted).
pub fn calibration(labels: &[bool], probabilities: &[f64]) -> Vec<CalibrationBin> {
    let mut sums = [(0usize, 0.0, 0.0); 10];
    for (&y, &p) in labels.iter().zip(probabilities) {
        let bin = ((p * 10.0) as usize).min(9);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += f64::from(u8::from(y));
    }
    sums.iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(b, &(rows, p, y))| CalibrationBin {
            from: b as f64 / 10.0,
            to: (b + 1) as f64 / 10.0,
            rows,
            predicted: p / rows as f64,
            observed: y / rows as f64,
        })
        .collect()
}

/// Counts at a decision threshold (score ≥ threshold is positive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Confusion {
    /// The threshold.
    pub threshold: f64,
    /// Positives predicted positive.
    pub true_positive: usize,
    /// Negatives predicted positive.
    pub false_positive: usize,
    /// Negatives predicted negative.
    pub true_negative: usize,
    /// Positives predicted negative.
    pub false_negative: usize,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
}

/// The confusion matrix at `threshold`.
pub fn confusion(labels: &[bool], scores: &[f64], threshold: f64) -> Confusion {
    let mut c = [0usize; 4];
    for (&y, &s) in labels.iter().zip(scores) {
        c[usize::from(y) * 2 + usize::from(s >= threshold)] += 1;
    }
    let [tn, fp, fn_, tp] = c;
    Confusion {
        threshold,
        true_positive: tp,
        false_positive: fp,
        true_negative: tn,
        false_negative: fn_,
        precision: tp as f64 / (tp + fp).max(1) as f64,
        recall: tp as f64 / (tp + fn_).max(1) as f64,
    }
}

/// One decile of a lift table, highest scores first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Decile {
    /// 1 = the tenth with the highest scores.
    pub decile: usize,
    /// Rows in the decile.
    pub rows: usize,
    /// Share of positives in the decile.
    pub rate: f64,
    /// Rate over the overall rate.
    pub lift: f64,
    /// Share of all positives captured by this and the higher deciles.
    pub cumulative_gain: f64,
}

/// Lift and cumulative gains by decile of score.
pub fn lift_table(labels: &[bool], scores: &[f64]) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n = order.len();
    let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let overall = positives / n.max(1) as f64;
    let mut captured = 0.0;
    (0..10)
        .filter_map(|d| {
            let (from, to) = (d * n / 10, (d + 1) * n / 10);
            if from == to {
                return None;
            }
            let hits = order[from..to].iter().filter(|&&i| labels[i]).count() as f64;
            captured += hits;
            let rate = hits / (to - from) as f64;
            Some(Decile {
                decile: d + 1,
                rows: to - from,
                rate,
                lift: rate / overall,
                cumulative_gain: captured / positives,
            })
        })
        .collect()
}

/// The headline metrics of a scored set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    /// Rows scored.
    pub rows: usize,
    /// Share of positives.
    pub positive_rate: f64,
    /// ROC AUC.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Log loss.
    pub log_loss: f64,
    /// Brier score.
    pub brier: f64,
    /// Confusion matrix at the threshold that flags as many rows as there are positives.
    pub confusion: Confusion,
    /// Calibration table.
    pub calibration: Vec<CalibrationBin>,
    /// Lift and gains by decile.
    pub lift: Vec<Decile>,
}

/// Every metric at once. The confusion matrix uses the score of the k-th
/// highest row, k = number of positives, so it reads as "if we called as many
/// customers as will churn".
pub fn evaluate(labels: &[bool], probabilities: &[f64]) -> Evaluation {
    let positives = labels.iter().filter(|&&l| l).count();
    let mut sorted = probabilities.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let threshold = sorted
        .get(positives.saturating_sub(1))
        .copied()
        .unwrap_or(0.5);
    Evaluation {
        rows: labels.len(),
        positive_rate: positives as f64 / labels.len().max(1) as f64,
        roc_auc: roc_auc(labels, probabilities),
        pr_auc: average_precision(labels, probabilities),
        log_loss: log_loss(labels, probabilities),
        brier: brier(labels, probabilities),
        confusion: confusion(labels, probabilities, threshold),
        calibration: calibration(labels, probabilities),
        lift: lift_table(labels, probabilities),
    }
}

/// Stratified k-fold: the positives and the negatives are each shuffled
/// (seeded) and dealt round-robin, so every fold keeps the class balance.
/// Returns the fold of every row.
pub fn stratified_folds(labels: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        for (n, i) in rows.into_iter().enumerate() {
            fold[i] = n % k;
        }
    }
    fold
}

/// Stratified k-fold over groups: every row of a group (one vehicle's
/// components, say) lands in the same fold, so no entity sits on both sides
/// of a split. Groups with a positive row and groups without are each
/// shuffled (seeded) and dealt round-robin. Returns the fold of every row.
pub fn grouped_stratified_folds(
    labels: &[bool],
    groups: &[String],
    k: usize,
    seed: u64,
) -> Vec<usize> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut positive: Vec<bool> = Vec::new();
    let group_of: Vec<usize> = groups
        .iter()
        .zip(labels)
        .map(|(g, &y)| {
            let at = *index.entry(g.as_str()).or_insert_with(|| {
                positive.push(false);
                positive.len() - 1
            });
            positive[at] |= y;
            at
        })
        .collect();
    let group_fold = stratified_folds(&positive, k, seed);
    group_of.into_iter().map(|g| group_fold[g]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_folds_keep_a_groups_rows_together_and_spread_positives() {
        let groups: Vec<String> = (0..60).map(|i| format!("v{}", i / 3)).collect();
        let labels: Vec<bool> = (0..60).map(|i| i % 3 == 0 && i < 30).collect();
        let folds = grouped_stratified_folds(&labels, &groups, 5, 7);
        for rows in folds.chunks(3) {
            assert!(rows.iter().all(|&f| f == rows[0]), "{folds:?}");
        }
        // Ten groups with a positive, two in each fold.
        for f in 0..5 {
            let positives = (0..60).filter(|&i| labels[i] && folds[i] == f).count();
            assert_eq!(positives, 2, "{folds:?}");
        }
    }

    #[test]
    fn scikit_learn_reference_values() {
        // sklearn.metrics on y = [0,0,1,1,1,0,1,0], s = [.1,.4,.35,.8,.7,.2,.9,.6]:
        // roc_auc_score 0.875, average_precision_score 0.9166666666666666,
        // log_loss 0.4363276947527035, brier_score_loss 0.1415625
        let y = [false, false, true, true, true, false, true, false];
        let s = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.6];
        assert!((roc_auc(&y, &s) - 0.875).abs() < 1e-12);
        assert!((average_precision(&y, &s) - 0.916_666_666_666_666_6).abs() < 1e-12);
        assert!((log_loss(&y, &s) - 0.436_327_694_752_703_5).abs() < 1e-12);
        assert!((brier(&y, &s) - 0.141_562_5).abs() < 1e-12);
    }

    #[test]
    fn ties_count_half_and_folds_keep_the_balance() {
        assert!((roc_auc(&[true, false], &[0.5, 0.5]) - 0.5).abs() < 1e-12);
        let labels: Vec<bool> = (0..100).map(|i| i % 4 == 0).collect();
        let folds = stratified_folds(&labels, 5, 1);
        for f in 0..5 {
            let pos = (0..100).filter(|&i| folds[i] == f && labels[i]).count();
            assert_eq!(pos, 5);
        }
        let gains = lift_table(
            &labels,
            &(0..100)
                .map(|i| f64::from(u8::from(i % 4 == 0)))
                .collect::<Vec<_>>(),
        );
        assert!((gains[2].cumulative_gain - 1.0).abs() < 1e-12);
    }
}
