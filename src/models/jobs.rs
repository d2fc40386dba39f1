//! The model commands end to end: train and save, tune, and score into a
//! predictions dataset. Shared by the CLI and `aftersight run`.

use super::classifier::{self, Algorithm, Target, Trained, TrainingReport};
use super::metrics;
use super::segment::{self, SegmentModel, SegmentReport};
use super::store::{self, ModelManifest, PredictionsManifest};
use super::{ModelError, ResultTable};
use crate::dates::format_date;
use datafusion::prelude::SessionContext;
use std::path::{Path, PathBuf};

/// Where models read features and write results.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// Feature query folder, or `None` for the compiled-in queries.
    pub queries: Option<PathBuf>,
    /// The model store.
    pub models: PathBuf,
    /// Where predictions datasets go (`PREDICTIONS/NAME/`).
    pub predictions: PathBuf,
}

/// The last day with data in the warehouse (days since epoch).
pub async fn data_valid_through(ctx: &SessionContext) -> Result<i32, ModelError> {
    crate::sql::data_valid_through(ctx)
        .await?
        .ok_or_else(|| ModelError::Input("the warehouse has no repair orders".into()))
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Trains a classifier, saves it and returns its version and report.
pub async fn train_classifier(
    ctx: &SessionContext,
    paths: &ModelPaths,
    target: Target,
    cutoff: Option<i32>,
    seed: u64,
    truth: Option<&Path>,
) -> Result<(String, TrainingReport), ModelError> {
    let cutoff = match cutoff {
        Some(c) => c,
        None => target.latest_labelled_cutoff(data_valid_through(ctx).await?),
    };
    let (model, report) = classifier::train(
        ctx,
        paths.queries.as_deref(),
        target,
        cutoff,
        &classifier::default_candidates(),
        seed,
        truth,
    )
    .await?;
    let manifest = ModelManifest {
        kind: String::new(),
        name: target.name().into(),
        version: String::new(),
        created_at: now(),
        aftersight_version: env!("CARGO_PKG_VERSION").into(),
        seed,
        features: report.features.clone(),
        training_window: format!(
            "features to {}, labels to {} (time split: trained on features to {})",
            report.train_cutoff, report.label_end, report.earlier_cutoff
        ),
        hyperparameters: report.algorithm.describe(),
        headline: format!(
            "ROC AUC {:.3} (5-fold CV), {:.3} on the later window",
            report.cross_validation.roc_auc,
            report
                .time_split
                .iter()
                .find(|c| c.algorithm == report.algorithm)
                .map_or(f64::NAN, |c| c.evaluation.roc_auc)
        ),
        report: serde_json::to_value(&report).expect("reports serialise"),
    };
    let version = store::save(&paths.models, &model, manifest)?;
    Ok((version, report))
}

/// Fits the segmentation, saves it and returns its version and report.
pub async fn train_segments(
    ctx: &SessionContext,
    paths: &ModelPaths,
    cutoff: Option<i32>,
    k: Option<usize>,
    seed: u64,
    truth: Option<&Path>,
) -> Result<(String, SegmentModel, SegmentReport), ModelError> {
    let cutoff = match cutoff {
        Some(c) => c,
        None => data_valid_through(ctx).await?,
    };
    let table = segment::snapshot(ctx, paths.queries.as_deref(), cutoff).await?;
    let (model, silhouette_by_k) = segment::fit(&table, k, seed)?;
    let k = model.segments.len();
    let (ari, majority) = match truth {
        Some(path) => {
            let ids = table
                .id("customer_id")
                .ok_or_else(|| ModelError::Input("segment features have no customer_id".into()))?;
            let (ari, majority) =
                segment::compare_with_truth(path, ids, &model.assign(&table.x), k)?;
            (Some(ari), majority)
        }
        None => (None, vec![None; k]),
    };
    let report = SegmentReport {
        cutoff: format_date(cutoff),
        customers: table.len(),
        seed,
        silhouette_by_k,
        k,
        adjusted_rand_index: ari,
        planted_majority: majority,
    };
    let silhouette = report
        .silhouette_by_k
        .iter()
        .find(|(n, _)| *n == k)
        .map_or(f64::NAN, |(_, s)| *s);
    let manifest = ModelManifest {
        kind: String::new(),
        name: "segments".into(),
        version: String::new(),
        created_at: now(),
        aftersight_version: env!("CARGO_PKG_VERSION").into(),
        seed,
        features: model.features.clone(),
        training_window: format!(
            "visits from {} to {}",
            segment::params(cutoff)[1].1,
            report.cutoff
        ),
        hyperparameters: format!("k-means k={k} (k-means++, {} runs)", segment::KMEANS_RUNS),
        headline: match ari {
            Some(a) => format!("silhouette {silhouette:.3}, adjusted Rand index {a:.3} vs planted"),
            None => format!("silhouette {silhouette:.3}"),
        },
        report: serde_json::to_value(&report).expect("reports serialise"),
    };
    let version = store::save(&paths.models, &model, manifest)?;
    Ok((version, model, report))
}

/// One row of a tuning run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TuneRow {
    /// Settings.
    pub algorithm: Algorithm,
    /// Mean ROC AUC over the folds.
    pub mean_auc: f64,
    /// Standard deviation of the fold AUCs.
    pub std_auc: f64,
    /// Log loss of the out-of-fold probabilities.
    pub log_loss: f64,
}

/// Grid search with stratified k-fold cross-validation (folds grouped by
/// vehicle or customer) on the latest labelled snapshot.
pub async fn tune(
    ctx: &SessionContext,
    paths: &ModelPaths,
    target: Target,
    grid: &[Algorithm],
    folds: usize,
    cutoff: Option<i32>,
    seed: u64,
) -> Result<Vec<TuneRow>, ModelError> {
    let cutoff = match cutoff {
        Some(c) => c,
        None => target.latest_labelled_cutoff(data_valid_through(ctx).await?),
    };
    let table = classifier::snapshot(ctx, paths.queries.as_deref(), target, cutoff).await?;
    let y = table.labels.clone().expect("labels");
    let fold_of = classifier::folds(&table, folds, seed);
    let mut rows = Vec::new();
    for algorithm in grid {
        let (oof, _) = classifier::cross_validate(algorithm, &table.x, &y, &fold_of, 0, seed)?;
        let aucs: Vec<f64> = (0..folds)
            .map(|f| {
                let idx: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] == f).collect();
                metrics::roc_auc(
                    &idx.iter().map(|&i| y[i]).collect::<Vec<_>>(),
                    &idx.iter().map(|&i| oof[i]).collect::<Vec<_>>(),
                )
            })
            .collect();
        let mean = aucs.iter().sum::<f64>() / folds as f64;
        let var = aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / folds as f64;
        rows.push(TuneRow {
            algorithm: *algorithm,
            mean_auc: mean,
            std_auc: var.sqrt(),
            log_loss: metrics::log_loss(&y, &oof),
        });
    }
    rows.sort_by(|a, b| b.mean_auc.total_cmp(&a.mean_auc));
    Ok(rows)
}

/// A tuning run as a table, best first.
pub fn tune_table(rows: &[TuneRow]) -> ResultTable {
    ResultTable::new()
        .text("settings", rows.iter().map(|r| r.algorithm.describe()))
        .float("mean_roc_auc", rows.iter().map(|r| r.mean_auc))
        .float("std_roc_auc", rows.iter().map(|r| r.std_auc))
        .float("log_loss", rows.iter().map(|r| r.log_loss))
}

/// Which saved model to score with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelName {
    /// Failure in the next 90 days, per vehicle and component.
    Failure,
    /// No visit in the next 12 months, per customer.
    Churn,
    /// Customer segments.
    Segments,
}

impl ModelName {
    /// The folder name in the store.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::Failure => "failure",
            ModelName::Churn => "churn",
            ModelName::Segments => "segments",
        }
    }
}

/// At most this many drivers per customer in the churn predictions.
const CHURN_DRIVERS: usize = 3;

/// Scores the current fleet or customer base (features at `cutoff`, by
/// default the last day of data) with the champion model and publishes
/// `PREDICTIONS/NAME/predictions.parquet` (churn with each customer's
/// `drivers`). Returns the manifest.
pub async fn predict(
    ctx: &SessionContext,
    paths: &ModelPaths,
    name: ModelName,
    cutoff: Option<i32>,
) -> Result<PredictionsManifest, ModelError> {
    let cutoff = match cutoff {
        Some(c) => c,
        None => data_valid_through(ctx).await?,
    };
    let (batch, version) = match name {
        ModelName::Segments => {
            let (model, manifest): (SegmentModel, _) = store::load(&paths.models, "segments")?;
            let table = segment::snapshot(ctx, paths.queries.as_deref(), cutoff).await?;
            check_features(&manifest.features, &table.names)?;
            let labels = model.assign(&table.x);
            let mut out = ResultTable::new();
            for (n, v) in table.id_names.iter().zip(&table.ids) {
                out = out.text(n, v.iter().cloned());
            }
            let batch = out
                .int("segment", labels.iter().map(|&l| l as i64))
                .text(
                    "segment_description",
                    labels
                        .iter()
                        .map(|&l| model.segments[l].description.clone()),
                )
                .text(
                    "segment_name",
                    labels.iter().map(|&l| model.segments[l].name.clone()),
                )
                .text(
                    "segment_name_zh",
                    labels.iter().map(|&l| model.segments[l].name_zh.clone()),
                )
                .batch();
            (batch, manifest.version)
        }
        ModelName::Failure | ModelName::Churn => {
            let target = if name == ModelName::Failure {
                Target::Failure
            } else {
                Target::Churn
            };
            let (model, manifest): (Trained, _) = store::load(&paths.models, target.name())?;
            let table = classifier::snapshot(ctx, paths.queries.as_deref(), target, cutoff).await?;
            check_features(&manifest.features, &table.names)?;
            let p = model.predict(&table.x);
            // Highest risk first; the rank is the row's position.
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            let mut out = ResultTable::new();
            for (n, v) in table.id_names.iter().zip(&table.ids) {
                out = out.text(n, order.iter().map(|&i| v[i].clone()));
            }
            out = out
                .float("probability", order.iter().map(|&i| p[i]))
                .int("risk_rank", 1..=p.len() as i64);
            // A churn score comes with the reasons an advisor can call about.
            if target == Target::Churn {
                let drivers = model.drivers(&table.x, &table.names, CHURN_DRIVERS, 0.01);
                out = out.text("drivers", order.iter().map(|&i| drivers[i].join(";")));
            }
            let batch = out.batch();
            (batch, manifest.version)
        }
    };
    let manifest = PredictionsManifest {
        kind: String::new(),
        model: name.name().into(),
        version,
        cutoff: format_date(cutoff),
        rows: 0,
        file: String::new(),
    };
    let dest = paths.predictions.join(name.name());
    store::publish_predictions(&dest, &batch, manifest.clone())?;
    let path = dest.join(crate::fsutil::MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(ModelError::io(&path))?;
    let written: PredictionsManifest =
        serde_json::from_slice(&bytes).map_err(|source| ModelError::Manifest { path, source })?;
    Ok(written)
}

fn check_features(trained: &[String], now: &[String]) -> Result<(), ModelError> {
    if trained != now {
        return Err(ModelError::Input(format!(
            "the feature query now yields [{}] but the model was trained on [{}]; retrain the model",
            now.join(", "),
            trained.join(", ")
        )));
    }
    Ok(())
}
