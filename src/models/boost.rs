//! Gradient-boosted trees on histograms: the learner data scientists reach
//! for on tabular data (scikit-learn's `HistGradientBoostingClassifier`,
//! LightGBM), behind linfa's `Fit` and `PredictInplace` traits.
//!
//! Each feature is cut into at most [`MAX_BINS`] bins at its quantiles, so a
//! split search reads a histogram of gradient and hessian sums per bin
//! instead of sorting rows. Trees grow level by level to `max_depth` on the
//! logistic loss's Newton step (gain G²/(H + λ)); a child's histogram is its
//! parent's minus its sibling's, so only the smaller child is counted.

use linfa::prelude::*;
use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

/// Most bins per feature (values fit a byte).
pub const MAX_BINS: usize = 255;

/// Rows sampled to place the bin edges.
const EDGE_SAMPLE: usize = 200_000;

/// Hyperparameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct BoostParams {
    /// Trees.
    pub iterations: usize,
    /// Shrinkage of each tree's leaves.
    pub learning_rate: f64,
    /// Deepest level of a tree.
    pub max_depth: usize,
    /// Fewest training rows in a leaf.
    pub min_leaf: usize,
    /// L2 penalty on leaf values (λ).
    pub l2: f64,
}

impl Default for BoostParams {
    fn default() -> BoostParams {
        BoostParams {
            iterations: 100,
            learning_rate: 0.1,
            max_depth: 5,
            min_leaf: 50,
            l2: 1.0,
        }
    }
}

/// One node of a boosted tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum BoostNode {
    /// Go `left` when `feature < threshold`, else `right`.
    Split {
        /// Feature index.
        feature: usize,
        /// Threshold (a bin edge).
        threshold: f64,
        /// Node for values below the threshold.
        left: usize,
        /// Node for the rest.
        right: usize,
    },
    /// A leaf with its contribution to the log-odds.
    Leaf {
        /// Added to the raw score.
        value: f64,
    },
}

/// A fitted ensemble: the log-odds are `base` plus each tree's leaf value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoostModel {
    /// Log-odds of the training base rate.
    pub base: f64,
    /// Trees, each a node list with its root first.
    pub trees: Vec<Vec<BoostNode>>,
}

impl BoostModel {
    /// Probability of the positive class for one row.
    pub fn probability(&self, row: ArrayView1<'_, f64>) -> f64 {
        let mut score = self.base;
        for tree in &self.trees {
            let mut at = 0;
            loop {
                match tree[at] {
                    BoostNode::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        at = if row[feature] < threshold {
                            left
                        } else {
                            right
                        }
                    }
                    BoostNode::Leaf { value } => {
                        score += value;
                        break;
                    }
                }
            }
        }
        1.0 / (1.0 + (-score).exp())
    }
}

/// Bin edges per feature: a value `v` falls in bin `edges.partition_point(|e| *e <= v)`.
fn bin_edges(x: &Array2<f64>) -> Vec<Vec<f64>> {
    let step = (x.nrows() / EDGE_SAMPLE).max(1);
    x.axis_iter(Axis(1))
        .map(|column| {
            let mut values: Vec<f64> = column.iter().step_by(step).copied().collect();
            values.sort_by(f64::total_cmp);
            values.dedup();
            if values.len() <= MAX_BINS {
                // One bin per distinct value: edges between neighbours.
                return values.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
            }
            let mut edges: Vec<f64> = (1..MAX_BINS)
                .map(|b| values[b * values.len() / MAX_BINS])
                .collect();
            edges.dedup();
            edges
        })
        .collect()
}

/// A row's gradient and hessian of the logistic loss, kept side by side.
#[derive(Debug, Clone, Copy, Default)]
struct Gradient {
    gradient: f64,
    hessian: f64,
}

/// Gradient and hessian sums and the row count of one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    gradient: f64,
    hessian: f64,
    rows: u32,
}

/// The training rows cut into bins, row by row: row `r`'s bins are
/// `bins[r * features..(r + 1) * features]`, so counting a node's histograms
/// reads each of its rows once, with its gradient, in one place.
struct Binned {
    bins: Vec<u8>,
    features: usize,
}

impl Binned {
    fn new(x: &Array2<f64>, edges: &[Vec<f64>]) -> Binned {
        let features = x.ncols();
        let mut bins = Vec::with_capacity(x.nrows() * features);
        for row in x.rows() {
            bins.extend(
                row.iter()
                    .zip(edges)
                    .map(|(v, e)| e.partition_point(|edge| *edge <= *v) as u8),
            );
        }
        Binned { bins, features }
    }

    fn bin(&self, row: u32, feature: usize) -> usize {
        self.bins[row as usize * self.features + feature] as usize
    }
}

/// Rows per part of a node's histograms. The parts are counted on the
/// machine's cores and added in order, so the sums (and the trees) do not
/// depend on how many cores there are.
const PART_ROWS: usize = 32_768;

/// Histograms of every feature for a set of rows.
fn histogram(data: &Binned, rows: &[u32], gradients: &[Gradient]) -> Vec<[Bin; MAX_BINS]> {
    let count = |rows: &[u32]| {
        let mut hists = vec![[Bin::default(); MAX_BINS]; data.features];
        for &r in rows {
            let Gradient { gradient, hessian } = gradients[r as usize];
            let at = r as usize * data.features;
            for (hist, &b) in hists.iter_mut().zip(&data.bins[at..at + data.features]) {
                let bin = &mut hist[b as usize];
                bin.gradient += gradient;
                bin.hessian += hessian;
                bin.rows += 1;
            }
        }
        hists
    };
    let parts: Vec<&[u32]> = rows.chunks(PART_ROWS).collect();
    if parts.len() == 1 {
        return count(rows);
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(parts.len());
    let mut counted: Vec<(usize, Vec<[Bin; MAX_BINS]>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let parts = &parts;
                scope.spawn(move || {
                    (t..parts.len())
                        .step_by(threads)
                        .map(|i| (i, count(parts[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a histogram thread does not panic"))
            .collect()
    });
    counted.sort_by_key(|(i, _)| *i);
    let mut counted = counted.into_iter().map(|(_, hists)| hists);
    let mut total = counted.next().expect("two parts or more");
    for part in counted {
        for (t, p) in total.iter_mut().flatten().zip(part.iter().flatten()) {
            t.gradient += p.gradient;
            t.hessian += p.hessian;
            t.rows += p.rows;
        }
    }
    total
}

/// The best split of a node: `(gain, feature, bin)`; left takes bins ≤ `bin`.
fn best_split(hists: &[[Bin; MAX_BINS]], params: &BoostParams) -> Option<(f64, usize, usize)> {
    let mut best: Option<(f64, usize, usize)> = None;
    for (feature, hist) in hists.iter().enumerate() {
        let total = hist.iter().fold(Bin::default(), |a, b| Bin {
            gradient: a.gradient + b.gradient,
            hessian: a.hessian + b.hessian,
            rows: a.rows + b.rows,
        });
        let parent = total.gradient * total.gradient / (total.hessian + params.l2);
        let mut left = Bin::default();
        for (bin, b) in hist.iter().enumerate().take(MAX_BINS - 1) {
            left.gradient += b.gradient;
            left.hessian += b.hessian;
            left.rows += b.rows;
            let right_rows = total.rows - left.rows;
            if (left.rows as usize) < params.min_leaf {
                continue;
            }
            if (right_rows as usize) < params.min_leaf {
                break;
            }
            let (rg, rh) = (total.gradient - left.gradient, total.hessian - left.hessian);
            let gain = left.gradient * left.gradient / (left.hessian + params.l2)
                + rg * rg / (rh + params.l2)
                - parent;
            if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, feature, bin));
            }
        }
    }
    best
}

/// A node waiting to be split: its rows and their histograms.
struct Open {
    node: usize,
    rows: Vec<u32>,
    hists: Vec<[Bin; MAX_BINS]>,
}

/// Grows one tree on the gradients and returns it, with each row's leaf value added to `score`.
fn grow(
    data: &Binned,
    edges: &[Vec<f64>],
    gradients: &[Gradient],
    params: &BoostParams,
    score: &mut [f64],
) -> Vec<BoostNode> {
    let all: Vec<u32> = (0..gradients.len() as u32).collect();
    let hists = histogram(data, &all, gradients);
    let mut nodes = vec![BoostNode::Leaf { value: 0.0 }];
    let mut level = vec![Open {
        node: 0,
        rows: all,
        hists,
    }];
    for depth in 0..=params.max_depth {
        let mut next = Vec::new();
        for open in level {
            let split = if depth < params.max_depth {
                best_split(&open.hists, params)
            } else {
                None
            };
            let Some((_, feature, bin)) = split else {
                let (gs, hs) = open.rows.iter().fold((0.0, 0.0), |(a, b), &r| {
                    let row = gradients[r as usize];
                    (a + row.gradient, b + row.hessian)
                });
                let value = -params.learning_rate * gs / (hs + params.l2);
                for &r in &open.rows {
                    score[r as usize] += value;
                }
                nodes[open.node] = BoostNode::Leaf { value };
                continue;
            };
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = open
                .rows
                .iter()
                .partition(|&&r| data.bin(r, feature) <= bin);
            // Count the smaller child; the other is the parent minus it.
            let left_first = left_rows.len() <= right_rows.len();
            let small = if left_first { &left_rows } else { &right_rows };
            let small_hists = histogram(data, small, gradients);
            let large_hists: Vec<[Bin; MAX_BINS]> = open
                .hists
                .iter()
                .zip(&small_hists)
                .map(|(parent, child)| {
                    let mut out = *parent;
                    for (o, c) in out.iter_mut().zip(child) {
                        o.gradient -= c.gradient;
                        o.hessian -= c.hessian;
                        o.rows -= c.rows;
                    }
                    out
                })
                .collect();
            let (left_hists, right_hists) = if left_first {
                (small_hists, large_hists)
            } else {
                (large_hists, small_hists)
            };
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes.push(BoostNode::Leaf { value: 0.0 });
            nodes.push(BoostNode::Leaf { value: 0.0 });
            nodes[open.node] = BoostNode::Split {
                feature,
                threshold: edges[feature][bin],
                left,
                right,
            };
            next.push(Open {
                node: left,
                rows: left_rows,
                hists: left_hists,
            });
            next.push(Open {
                node: right,
                rows: right_rows,
                hists: right_hists,
            });
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    nodes
}

impl Fit<Array2<f64>, Array1<bool>, linfa::Error> for BoostParams {
    type Object = BoostModel;

    fn fit(
        &self,
        data: &DatasetBase<Array2<f64>, Array1<bool>>,
    ) -> Result<BoostModel, linfa::Error> {
        let (x, y) = (data.records(), data.targets());
        let n = x.nrows();
        if n == 0 {
            return Err(linfa::Error::NotEnoughSamples);
        }
        if self.iterations == 0
            || !(self.learning_rate > 0.0 && self.learning_rate <= 1.0)
            || self.min_leaf == 0
            || self.l2 < 0.0
        {
            return Err(linfa::Error::Parameters(format!(
                "boosted trees need iterations ≥ 1, 0 < learning_rate ≤ 1, min_leaf ≥ 1 and l2 ≥ 0; got {self:?}"
            )));
        }
        let edges = bin_edges(x);
        let data = Binned::new(x, &edges);
        let labels: Vec<f64> = y.iter().map(|&l| f64::from(u8::from(l))).collect();
        let rate = (labels.iter().sum::<f64>() / n as f64).clamp(1e-6, 1.0 - 1e-6);
        let base = (rate / (1.0 - rate)).ln();
        let mut score = vec![base; n];
        let mut gradients = vec![Gradient::default(); n];
        let mut trees = Vec::with_capacity(self.iterations);
        // Each row's gradient is its own (no sums), so the cores share the rows.
        let part = n.div_ceil(std::thread::available_parallelism().map_or(1, |c| c.get()));
        for _ in 0..self.iterations {
            std::thread::scope(|scope| {
                let parts = gradients
                    .chunks_mut(part)
                    .zip(score.chunks(part))
                    .zip(labels.chunks(part));
                for ((gradients, score), labels) in parts {
                    scope.spawn(move || {
                        for ((row, &s), &label) in gradients.iter_mut().zip(score).zip(labels) {
                            let p = 1.0 / (1.0 + (-s).exp());
                            row.gradient = p - label;
                            row.hessian = (p * (1.0 - p)).max(1e-12);
                        }
                    });
                }
            });
            trees.push(grow(&data, &edges, &gradients, self, &mut score));
        }
        Ok(BoostModel { base, trees })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for BoostModel {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        for (row, out) in x.rows().into_iter().zip(y.iter_mut()) {
            *out = self.probability(row);
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boosted_trees_learn_an_interaction_a_linear_model_cannot() {
        // y = (a > 0.5) XOR (b > 0.5), with a third, useless feature.
        let n = 4000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            let u = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0;
            if j == 2 { (i % 13) as f64 } else { u }
        });
        let y: Array1<bool> = x
            .rows()
            .into_iter()
            .map(|r| (r[0] > 0.5) != (r[1] > 0.5))
            .collect();
        let model = BoostParams::default()
            .fit(&DatasetBase::new(x.clone(), y.clone()))
            .unwrap();
        let p = model.predict(&x);
        let correct = p.iter().zip(&y).filter(|(p, y)| (**p > 0.5) == **y).count();
        assert!(correct as f64 / n as f64 > 0.97, "{correct} of {n}");
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn bin_edges_separate_every_distinct_value_when_few() {
        let x = ndarray::array![[1.0], [3.0], [3.0], [7.0]];
        assert_eq!(bin_edges(&x), vec![vec![2.0, 5.0]]);
    }
}
