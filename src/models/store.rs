//! Saved models: `models/NAME/vN/` holds `model.json` (the fitted model) and
//! `manifest.json` (its metadata: features, training window,
//! hyperparameters, metrics, seed, aftersight version). `models/NAME/champion`
//! names the version that scoring uses.

use super::{ModelError, ResultTable};
use crate::fsutil::{self, Staging};
use datafusion::arrow::record_batch::RecordBatch;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Manifest kind of a saved model version.
pub const MODEL_KIND: &str = "aftersight-model";
/// Manifest kind of a predictions dataset.
pub const PREDICTIONS_KIND: &str = "aftersight-predictions";

/// Metadata saved beside every model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Always [`MODEL_KIND`].
    pub kind: String,
    /// Model name (`failure`, `churn`, `segments`).
    pub name: String,
    /// Version folder, `v1`, `v2`, ...
    pub version: String,
    /// When it was trained (UTC).
    pub created_at: String,
    /// aftersight version that trained it.
    pub aftersight_version: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Feature names in model order.
    pub features: Vec<String>,
    /// Training window, e.g. `features to 2025-10-31, labels to 2026-10-31`.
    pub training_window: String,
    /// Algorithm and hyperparameters, in words.
    pub hyperparameters: String,
    /// The headline metric, in words.
    pub headline: String,
    /// The full training report.
    pub report: serde_json::Value,
}

/// Saves a model as the next version of `name` and returns the version. The
/// first version of a name becomes its champion.
pub fn save<M: Serialize>(
    root: &Path,
    model: &M,
    mut manifest: ModelManifest,
) -> Result<String, ModelError> {
    let dir = root.join(&manifest.name);
    std::fs::create_dir_all(&dir).map_err(ModelError::io(&dir))?;
    let next = versions(&dir)?.last().map_or(1, |(n, _)| n + 1);
    let version = format!("v{next}");
    manifest.kind = MODEL_KIND.into();
    manifest.version = version.clone();
    let staging = Staging::new(&dir.join(&version)).map_err(ModelError::from)?;
    let write = |file: &str, bytes: Vec<u8>| {
        let path = staging.path().join(file);
        std::fs::write(&path, bytes).map_err(ModelError::io(&path))
    };
    write(
        "model.json",
        serde_json::to_vec(model).expect("models serialise"),
    )?;
    write(
        fsutil::MANIFEST_FILE,
        serde_json::to_vec_pretty(&manifest).expect("manifests serialise"),
    )?;
    staging.publish(MODEL_KIND).map_err(ModelError::from)?;
    if champion(&dir)?.is_none() {
        set_champion(root, &manifest.name, &version)?;
    }
    Ok(version)
}

fn versions(dir: &Path) -> Result<Vec<(u32, PathBuf)>, ModelError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(ModelError::io(dir)(e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix('v').and_then(|n| n.parse::<u32>().ok())
            && entry.path().join(fsutil::MANIFEST_FILE).is_file()
        {
            out.push((n, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The manifest of one saved version folder.
fn read_manifest(version_dir: &Path) -> Result<ModelManifest, ModelError> {
    let file = version_dir.join(fsutil::MANIFEST_FILE);
    let bytes = std::fs::read(&file).map_err(ModelError::io(&file))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ModelError::Input(format!("{}: unreadable manifest: {e}", file.display())))
}

fn champion(dir: &Path) -> Result<Option<String>, ModelError> {
    let path = dir.join("champion");
    match std::fs::read_to_string(&path) {
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ModelError::io(&path)(e)),
    }
}

/// Marks `version` of `name` as the champion.
pub fn set_champion(root: &Path, name: &str, version: &str) -> Result<(), ModelError> {
    let dir = root.join(name);
    if !dir.join(version).join(fsutil::MANIFEST_FILE).is_file() {
        let known: Vec<String> = versions(&dir)?
            .iter()
            .map(|(n, _)| format!("v{n}"))
            .collect();
        return Err(ModelError::Input(format!(
            "no version `{version}` of model `{name}` in {} (have: {})",
            root.display(),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    }
    let path = dir.join("champion");
    fsutil::write_atomically(&path, format!("{version}\n").as_bytes())
        .map_err(ModelError::io(&path))
}

/// A metric a champion can be chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// ROC AUC, higher is better.
    RocAuc,
    /// Average precision, higher is better.
    PrAuc,
    /// Log loss, lower is better.
    LogLoss,
    /// Brier score, lower is better.
    Brier,
}

impl Metric {
    /// The field name in a training report's evaluation.
    pub fn name(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::PrAuc => "pr_auc",
            Metric::LogLoss => "log_loss",
            Metric::Brier => "brier",
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Metric::RocAuc | Metric::PrAuc)
    }
}

/// Every version of a classifier with its metric on the later window (the
/// time split of its training run: fitted on the earlier snapshot, scored on
/// data it never saw), best first, and marks the best as the champion.
/// Versions whose report has no such evaluation are left out.
pub fn promote_by(
    root: &Path,
    name: &str,
    metric: Metric,
) -> Result<Vec<(String, f64)>, ModelError> {
    let dir = root.join(name);
    let mut scored = Vec::new();
    for (_, path) in versions(&dir)? {
        let m = read_manifest(&path)?;
        let chosen = &m.report["algorithm"];
        let value = m.report["time_split"].as_array().and_then(|candidates| {
            candidates
                .iter()
                .find(|c| &c["algorithm"] == chosen)
                .and_then(|c| c["evaluation"][metric.name()].as_f64())
        });
        if let Some(value) = value {
            scored.push((m.version, value));
        }
    }
    scored.sort_by(|a, b| {
        let order = a.1.total_cmp(&b.1);
        if metric.higher_is_better() {
            order.reverse()
        } else {
            order
        }
    });
    let Some((best, _)) = scored.first() else {
        return Err(ModelError::Input(format!(
            "no version of `{name}` has a {} on its later window to compare",
            metric.name()
        )));
    };
    set_champion(root, name, best)?;
    Ok(scored)
}

/// Loads the champion of `name` (or the latest version if none is marked).
pub fn load<M: DeserializeOwned>(
    root: &Path,
    name: &str,
) -> Result<(M, ModelManifest), ModelError> {
    let dir = root.join(name);
    let version = match champion(&dir)? {
        Some(v) => v,
        None => versions(&dir)?
            .last()
            .map(|(n, _)| format!("v{n}"))
            .ok_or_else(|| {
                ModelError::Input(format!(
                    "no trained `{name}` model in {}; train one first (`aftersight train {name}`)",
                    root.display()
                ))
            })?,
    };
    let read = |file: &str| {
        let path = dir.join(&version).join(file);
        std::fs::read(&path).map_err(ModelError::io(&path))
    };
    let model = serde_json::from_slice(&read("model.json")?)
        .map_err(|e| ModelError::Input(format!("{name} {version}: unreadable model: {e}")))?;
    let manifest = serde_json::from_slice(&read(fsutil::MANIFEST_FILE)?)
        .map_err(|e| ModelError::Input(format!("{name} {version}: unreadable manifest: {e}")))?;
    Ok((model, manifest))
}

/// Every saved version of every model, as a table.
pub fn list(root: &Path) -> Result<ResultTable, ModelError> {
    let mut rows: Vec<(ModelManifest, bool)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root) {
        let mut names: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        names.sort();
        for dir in names {
            let champ = champion(&dir)?;
            for (_, path) in versions(&dir)? {
                let m = read_manifest(&path)?;
                let is_champion = champ.as_deref() == Some(m.version.as_str());
                rows.push((m, is_champion));
            }
        }
    }
    Ok(ResultTable::new()
        .text("model", rows.iter().map(|(m, _)| m.name.clone()))
        .text("version", rows.iter().map(|(m, _)| m.version.clone()))
        .flag("champion", rows.iter().map(|(_, c)| *c))
        .text("created_at", rows.iter().map(|(m, _)| m.created_at.clone()))
        .text(
            "hyperparameters",
            rows.iter().map(|(m, _)| m.hyperparameters.clone()),
        )
        .text(
            "training_window",
            rows.iter().map(|(m, _)| m.training_window.clone()),
        )
        .text("headline", rows.iter().map(|(m, _)| m.headline.clone())))
}

/// Manifest of a predictions dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictionsManifest {
    /// Always [`PREDICTIONS_KIND`].
    pub kind: String,
    /// Model name.
    pub model: String,
    /// Model version used.
    pub version: String,
    /// Cutoff of the features scored.
    pub cutoff: String,
    /// Rows scored.
    pub rows: usize,
    /// The data file.
    pub file: String,
}

/// Publishes predictions atomically as `dest/predictions.parquet` with a manifest.
pub fn publish_predictions(
    dest: &Path,
    batch: &RecordBatch,
    mut manifest: PredictionsManifest,
) -> Result<(), ModelError> {
    let staging = Staging::new(dest).map_err(ModelError::from)?;
    manifest.kind = PREDICTIONS_KIND.into();
    manifest.file = "predictions.parquet".into();
    manifest.rows = batch.num_rows();
    crate::sql::output::write_parquet(
        &staging.path().join(&manifest.file),
        std::slice::from_ref(batch),
    )?;
    let path = staging.path().join(fsutil::MANIFEST_FILE);
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&manifest).expect("manifests serialise"),
    )
    .map_err(ModelError::io(&path))?;
    staging.publish(PREDICTIONS_KIND).map_err(ModelError::from)
}
