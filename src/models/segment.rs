//! Customer segmentation: k-means on standardised behaviour features, k by
//! silhouette, every segment described in plain words, and agreement with
//! the planted segments when the truth is known.

use super::ModelError;
use super::features::{self, FeatureTable};
use super::kmeans::{KMeansModel, KMeansParams, adjusted_rand_index, silhouette};
use super::linear::column_moments;
use crate::dates::format_date;
use datafusion::prelude::SessionContext;
use linfa::prelude::*;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// k-means++ starts per k. One start (scikit-learn's default) stops in a
/// local minimum with 50 % more inertia on the sample's segments; ten find
/// the planted structure.
pub const KMEANS_RUNS: usize = 10;

/// Rows the silhouette is computed on (a seeded sample above this).
pub const SILHOUETTE_SAMPLE: usize = 3_000;

/// A fitted segmentation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentModel {
    /// Feature names.
    pub features: Vec<String>,
    /// Means used to standardise.
    pub mean: Vec<f64>,
    /// Standard deviations used to standardise.
    pub scale: Vec<f64>,
    /// The clustering on standardised features.
    pub kmeans: KMeansModel,
    /// One description per segment.
    pub segments: Vec<SegmentProfile>,
}

/// What a segment looks like.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentProfile {
    /// Segment number.
    pub segment: usize,
    /// Customers in it.
    pub customers: usize,
    /// Mean of every feature, in feature units.
    pub means: Vec<f64>,
    /// Its traits against the average customer, with the numbers.
    pub description: String,
    /// A name a service manager understands, with the typical mileage: "very
    /// high mileage, low spend (about 180 km a day)".
    #[serde(default)]
    pub name: String,
    /// The same in Chinese.
    #[serde(default)]
    pub name_zh: String,
}

impl SegmentModel {
    /// Standardises a feature matrix with the training moments.
    pub fn standardise(&self, x: &Array2<f64>) -> Array2<f64> {
        let mut z = x.clone();
        for mut row in z.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        z
    }

    /// Segment of every row.
    pub fn assign(&self, x: &Array2<f64>) -> Vec<usize> {
        self.kmeans.predict(&self.standardise(x)).to_vec()
    }
}

/// The outcome of a segmentation run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentReport {
    /// Cutoff of the features.
    pub cutoff: String,
    /// Customers segmented.
    pub customers: usize,
    /// Seed.
    pub seed: u64,
    /// Silhouette for every k tried.
    pub silhouette_by_k: Vec<(usize, f64)>,
    /// The k used.
    pub k: usize,
    /// Adjusted Rand index against the planted segments, when the truth was given.
    pub adjusted_rand_index: Option<f64>,
    /// For each segment, the planted segment most of its customers belong to.
    pub planted_majority: Vec<Option<String>>,
}

/// Query parameters for a snapshot at `cutoff`.
pub fn params(cutoff: i32) -> Vec<(String, String)> {
    vec![
        ("cutoff".to_string(), format_date(cutoff)),
        (
            "window_start".to_string(),
            format_date(cutoff - crate::models::features::HISTORY_DAYS + 1),
        ),
    ]
}

/// Builds the segmentation features at `cutoff`.
pub async fn snapshot(
    ctx: &SessionContext,
    queries: Option<&Path>,
    cutoff: i32,
) -> Result<FeatureTable, ModelError> {
    let query = features::load(queries, "segments")?;
    let batches = features::run(ctx, &query, &params(cutoff)).await?;
    Ok(FeatureTable::from_batches("segments", &batches)?)
}

/// Fits k-means for `k` (or every k in 2..=8, keeping the best silhouette).
pub fn fit(
    table: &FeatureTable,
    k: Option<usize>,
    seed: u64,
) -> Result<(SegmentModel, Vec<(usize, f64)>), ModelError> {
    let (mean, scale) = column_moments(&table.x);
    let mut model = SegmentModel {
        features: table.names.clone(),
        mean,
        scale,
        kmeans: KMeansModel {
            centroids: Array2::zeros((0, 0)),
            inertia: 0.0,
            iterations: 0,
        },
        segments: Vec::new(),
    };
    let z = model.standardise(&table.x);
    let data = DatasetBase::from(z.clone());
    let tries: Vec<usize> = match k {
        Some(k) => vec![k],
        None => (2..=8).collect(),
    };
    let mut scores = Vec::new();
    let mut best: Option<(f64, KMeansModel)> = None;
    for k in tries {
        let fitted = KMeansParams {
            runs: KMEANS_RUNS,
            ..KMeansParams::new(k, seed)
        }
        .fit(&data)?;
        let labels = fitted.predict(&z).to_vec();
        let score = silhouette(&z, &labels, k, SILHOUETTE_SAMPLE, seed);
        scores.push((k, score));
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, fitted));
        }
    }
    model.kmeans = best.expect("at least one k").1;
    model.segments = describe(&model, &table.x);
    Ok((model, scores))
}

/// Plain-words traits: the features where a segment's mean is furthest from
/// the overall mean, in standard deviations.
fn describe(model: &SegmentModel, x: &Array2<f64>) -> Vec<SegmentProfile> {
    let labels = model.assign(x);
    let k = model.kmeans.centroids.nrows();
    (0..k)
        .map(|s| {
            let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == s).collect();
            let means: Vec<f64> = (0..x.ncols())
                .map(|c| rows.iter().map(|&i| x[[i, c]]).sum::<f64>() / rows.len().max(1) as f64)
                .collect();
            let mut traits: Vec<(f64, String)> = means
                .iter()
                .enumerate()
                .map(|(c, m)| {
                    let z = (m - model.mean[c]) / model.scale[c];
                    let word = match z {
                        z if z > 1.0 => "much higher",
                        z if z > 0.3 => "higher",
                        z if z < -1.0 => "much lower",
                        z if z < -0.3 => "lower",
                        _ => "average",
                    };
                    (
                        z.abs(),
                        trait_words(&model.features[c], word, *m, model.mean[c]),
                    )
                })
                .collect();
            traits.sort_by(|a, b| b.0.total_cmp(&a.0));
            let description = traits
                .iter()
                .take(3)
                .filter(|(z, _)| *z > 0.3)
                .map(|(_, t)| t.clone())
                .collect::<Vec<_>>();
            let (name, name_zh) = segment_names(&model.features, &means);
            SegmentProfile {
                segment: s,
                customers: rows.len(),
                name,
                name_zh,
                means,
                description: if description.is_empty() {
                    "close to the average customer on every feature".into()
                } else {
                    description.join("; ")
                },
            }
        })
        .collect()
}

/// A segment's name in English and Chinese from its mean daily mileage and
/// spend index (the parts it buys against its make's average, in log units),
/// or its traits when the features are others.
fn segment_names(features: &[String], means: &[f64]) -> (String, String) {
    let mean_of = |name: &str| features.iter().position(|f| f == name).map(|i| means[i]);
    let (Some(log_km), Some(spend)) = (mean_of("log_km_per_day"), mean_of("spend_index")) else {
        return ("–".into(), "–".into());
    };
    let km = log_km.exp_m1();
    let (mileage, mileage_zh) = match km {
        k if k < 35.0 => ("short daily drives", "日常短途"),
        k if k < 70.0 => ("average mileage", "里程一般"),
        k if k < 130.0 => ("high mileage", "高里程"),
        _ => (
            "very high mileage, ride-hailing-like",
            "超高里程（类似网约车）",
        ),
    };
    let (spending, spending_zh) = match spend {
        s if s < -0.3 => ("low spend", "消费低"),
        s if s > 0.3 => ("high spend", "消费高"),
        _ => ("average spend", "消费一般"),
    };
    (
        format!("{mileage}, {spending} (about {km:.0} km a day)"),
        format!("{mileage_zh}、{spending_zh}（约{km:.0}公里/天）"),
    )
}

/// "km_per_day much higher (180 vs 48)": features named `log_x` (ln(1 + x))
/// are shown back in their own units.
fn trait_words(feature: &str, word: &str, segment_mean: f64, overall_mean: f64) -> String {
    match feature.strip_prefix("log_") {
        Some(plain) => format!(
            "{plain} {word} ({:.0} vs {:.0})",
            segment_mean.exp_m1(),
            overall_mean.exp_m1()
        ),
        None => format!("{feature} {word} ({segment_mean:.2} vs {overall_mean:.2})"),
    }
}

#[derive(Deserialize)]
struct TruthFile {
    customers: Vec<TruthCustomer>,
}

#[derive(Deserialize)]
struct TruthCustomer {
    customer_id: String,
    segment: String,
}

/// Compares segments with the planted ones: the adjusted Rand index and,
/// per segment, the planted segment of most of its customers.
pub fn compare_with_truth(
    path: &Path,
    ids: &[String],
    labels: &[usize],
    k: usize,
) -> Result<(f64, Vec<Option<String>>), ModelError> {
    let text = std::fs::read_to_string(path).map_err(ModelError::io(path))?;
    let truth: TruthFile = serde_json::from_str(&text)
        .map_err(|e| ModelError::Input(format!("{}: not a truth file: {e}", path.display())))?;
    let planted: HashMap<&str, &str> = truth
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c.segment.as_str()))
        .collect();
    let mut names: Vec<&str> = Vec::new();
    let mut truth_labels = Vec::with_capacity(ids.len());
    for id in ids {
        let s = planted
            .get(id.as_str())
            .ok_or_else(|| ModelError::Input(format!("customer {id} is not in the truth file")))?;
        let at = names.iter().position(|n| n == s).unwrap_or_else(|| {
            names.push(s);
            names.len() - 1
        });
        truth_labels.push(at);
    }
    let majority = (0..k)
        .map(|s| {
            let mut counts = vec![0usize; names.len()];
            for (l, t) in labels.iter().zip(&truth_labels) {
                if *l == s {
                    counts[*t] += 1;
                }
            }
            counts
                .iter()
                .enumerate()
                .max_by_key(|(_, c)| **c)
                .filter(|(_, c)| **c > 0)
                .map(|(i, _)| names[i].to_string())
        })
        .collect();
    Ok((adjusted_rand_index(labels, &truth_labels), majority))
}
