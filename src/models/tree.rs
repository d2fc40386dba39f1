//! A decision tree grown by linfa-trees, turned into a probability tree.
//!
//! linfa's tree predicts a class only, and prunes every subtree whose leaves
//! all predict the same class, which with rare events (1-2 % failures) leaves
//! a single leaf. So the tree is grown on class-balanced sample weights
//! (scikit-learn's `class_weight="balanced"`), and then the training rows are
//! sent down it once more so that every leaf keeps its true share of
//! positives (with a one-row prior at the base rate): the model ranks and
//! calibrates like `predict_proba`.

use linfa::prelude::*;
use linfa_trees::{DecisionTree, DecisionTreeParams, SplitQuality, TreeNode};
use ndarray::{Array1, Array2, ArrayView1};
use serde::{Deserialize, Serialize};

/// Hyperparameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct TreeParams {
    /// Deepest level of the tree.
    pub max_depth: usize,
    /// Fewest training rows in a leaf.
    pub min_leaf: usize,
}

impl Default for TreeParams {
    fn default() -> TreeParams {
        TreeParams {
            max_depth: 6,
            min_leaf: 50,
        }
    }
}

/// One node of a fitted tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Node {
    /// Go `left` when `feature < threshold`, else `right` (indices into the node list).
    Split {
        /// Feature index.
        feature: usize,
        /// Threshold.
        threshold: f64,
        /// Node for values below the threshold.
        left: usize,
        /// Node for the rest.
        right: usize,
    },
    /// A leaf with its probability of the positive class.
    Leaf {
        /// Smoothed share of positives among the training rows that reached the leaf.
        probability: f64,
    },
}

/// A fitted probability tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TreeModel {
    /// Nodes; the root is the first.
    pub nodes: Vec<Node>,
}

impl TreeModel {
    fn leaf_of(&self, row: ArrayView1<'_, f64>) -> usize {
        let mut at = 0;
        while let Node::Split {
            feature,
            threshold,
            left,
            right,
        } = self.nodes[at]
        {
            at = if row[feature] < threshold {
                left
            } else {
                right
            };
        }
        at
    }

    /// Probability of the positive class for one row.
    pub fn probability(&self, row: ArrayView1<'_, f64>) -> f64 {
        match self.nodes[self.leaf_of(row)] {
            Node::Leaf { probability } => probability,
            Node::Split { .. } => unreachable!("leaf_of stops at a leaf"),
        }
    }
}

fn flatten(node: &TreeNode<f64, bool>, nodes: &mut Vec<Node>) -> usize {
    let at = nodes.len();
    nodes.push(Node::Leaf { probability: 0.0 });
    let children = node.children();
    if let (false, [Some(left), Some(right)]) = (node.is_leaf(), children.as_slice()) {
        let (feature, threshold, _) = node.split();
        let left = flatten(left, nodes);
        let right = flatten(right, nodes);
        nodes[at] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
    }
    at
}

impl Fit<Array2<f64>, Array1<bool>, linfa::Error> for TreeParams {
    type Object = TreeModel;

    fn fit(
        &self,
        data: &DatasetBase<Array2<f64>, Array1<bool>>,
    ) -> Result<TreeModel, linfa::Error> {
        // Whole-number weights: linfa-trees sums weights in f32 and subtracts them
        // row by row, so fractional weights drift below zero on large data (and
        // trip its assertion); integers stay exact up to 16 million.
        let positives = data.targets().iter().filter(|&&l| l).count().max(1);
        let negatives = (data.nsamples() - positives.min(data.nsamples())).max(1);
        let positive_weight = (negatives as f64 / positives as f64).round().max(1.0) as f32;
        let weights = data
            .targets()
            .mapv(|l| if l { positive_weight } else { 1.0 });
        let per_row = weights.sum() / data.nsamples() as f32;
        let balanced =
            DatasetBase::new(data.records().clone(), data.targets().clone()).with_weights(weights);
        let tree: DecisionTree<f64, bool> = DecisionTreeParams::new()
            .split_quality(SplitQuality::Gini)
            .max_depth(Some(self.max_depth))
            .min_weight_leaf(self.min_leaf as f32 * per_row)
            .min_weight_split(2.0 * self.min_leaf as f32 * per_row)
            .min_impurity_decrease(1e-9)
            .fit(&balanced)
            .map_err(|e| linfa::Error::Parameters(e.to_string()))?;
        let mut nodes = Vec::new();
        flatten(tree.root_node(), &mut nodes);
        let mut model = TreeModel { nodes };
        let mut counts = vec![(0.0_f64, 0.0_f64); model.nodes.len()];
        for (row, &label) in data.records().rows().into_iter().zip(data.targets()) {
            let leaf = model.leaf_of(row);
            counts[leaf].0 += f64::from(u8::from(label));
            counts[leaf].1 += 1.0;
        }
        let base = data.targets().iter().filter(|&&l| l).count() as f64 / data.nsamples() as f64;
        for (node, (pos, n)) in model.nodes.iter_mut().zip(counts) {
            if let Node::Leaf { probability } = node {
                // One pseudo-row at the base rate keeps empty or tiny leaves sensible.
                *probability = (pos + base) / (n + 1.0);
            }
        }
        Ok(model)
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for TreeModel {
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
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rare_positives_still_split_and_rank() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let x = Array2::from_shape_fn((n, 2), |_| rng.random_range(0.0..1.0));
        let y = Array1::from_shape_fn(n, |i| {
            rng.random_bool(if x[[i, 0]] > 0.8 { 0.06 } else { 0.005 })
        });
        let model = TreeParams::default()
            .fit(&DatasetBase::new(x.clone(), y.clone()))
            .unwrap();
        assert!(model.nodes.len() > 1, "the tree split");
        let p = model.predict(&x).to_vec();
        let auc = crate::models::metrics::roc_auc(&y.to_vec(), &p);
        assert!(auc > 0.75, "{auc}");
    }
}
