//! `OUT/run.json`: what a run did, stage by stage, and what the last run
//! recorded so unchanged stages can be skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::raw::TableCount;
use super::stage::{Outcome, Stage, StageLog, StageReport, peak_rss_mib};
use super::{RunConfig, RunError};
use crate::fsutil::MANIFEST_FILE;
use crate::ingest::IngestReport;

/// The run manifest, `OUT/run.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// aftersight version.
    pub version: &'static str,
    /// Whether every stage finished (false while running, or after a failure).
    pub complete: bool,
    /// As-of date of a historical run.
    pub as_of: Option<String>,
    /// Model seed.
    pub seed: u64,
    /// Query partitions.
    pub threads: usize,
    /// DataFusion memory limit.
    pub memory_limit_bytes: usize,
    /// The raw export used.
    pub raw_export: PathBuf,
    /// Last day covered by the data.
    pub data_valid_through: String,
    /// Stages in order.
    pub stages: Vec<StageReport>,
    /// Tables of the raw export.
    pub tables: Vec<TableCount>,
    /// The ingest stage's report.
    pub ingest: Option<IngestReport>,
    /// The executive summary pages (English, Chinese): where to look first.
    pub executive_summary: Vec<String>,
}

impl RunReport {
    /// An empty record of a run that is starting.
    pub(crate) fn start(config: &RunConfig) -> RunReport {
        RunReport {
            version: env!("CARGO_PKG_VERSION"),
            complete: false,
            raw_export: PathBuf::new(),
            data_valid_through: String::new(),
            as_of: config.as_of.map(crate::dates::format_date),
            seed: config.seed,
            threads: config.settings.threads,
            memory_limit_bytes: config.settings.memory_limit,
            stages: Vec::new(),
            tables: Vec::new(),
            ingest: None,
            executive_summary: Vec::new(),
        }
    }

    /// Records a finished stage and writes `run.json`, so an interrupted run
    /// keeps what it finished.
    pub(crate) fn record(
        &mut self,
        config: &RunConfig,
        log: &StageLog,
        mut stage: StageReport,
    ) -> Result<(), RunError> {
        stage.peak_rss_mib = peak_rss_mib();
        log.finish(&stage);
        self.stages.push(stage);
        self.write(config)
    }

    /// Passes a stage's success through; records its failure and stops.
    pub(crate) fn check<T>(
        &mut self,
        config: &RunConfig,
        stage: Stage,
        started: Instant,
        result: Result<T, RunError>,
    ) -> Result<T, RunError> {
        result.inspect_err(|err| {
            let message = crate::error::chain_message(err);
            let mut failed = StageReport::new(
                stage,
                Outcome::Failed,
                "the stage failed; the outputs of the last good run are unchanged".into(),
            );
            failed.seconds = started.elapsed().as_secs_f64();
            failed.error = Some(message);
            failed.peak_rss_mib = peak_rss_mib();
            self.stages.push(failed);
            // The run is failing already; a manifest that cannot be written adds nothing to report.
            let _ = self.write(config);
        })
    }

    pub(crate) fn write(&self, config: &RunConfig) -> Result<(), RunError> {
        let path = config.out.join("run.json");
        crate::fsutil::write_atomically(
            &path,
            &serde_json::to_vec_pretty(self).expect("report serialises"),
        )
        .map_err(|source| RunError::Manifest { path, source })
    }
}

/// What the last run recorded, for skipping unchanged stages.
#[derive(Debug, Deserialize)]
pub(crate) struct PreviousRun {
    stages: Vec<PreviousStage>,
    #[serde(default)]
    pub(crate) executive_summary: Vec<String>,
}

/// One stage of the last run. A stage name this version does not know (an
/// older or newer `run.json`) simply never matches.
#[derive(Debug, Deserialize)]
pub(crate) struct PreviousStage {
    stage: serde_json::Value,
    outcome: serde_json::Value,
    pub(crate) detail: String,
    pub(crate) rows: Option<u64>,
    fingerprint: Option<String>,
}

impl PreviousRun {
    pub(crate) fn load(path: &Path) -> Option<PreviousRun> {
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }

    /// The stage's last record when it succeeded with this fingerprint.
    pub(crate) fn unchanged(&self, stage: Stage, fingerprint: &str) -> Option<&PreviousStage> {
        self.stages.iter().find(|s| {
            serde_json::from_value::<Stage>(s.stage.clone()).ok() == Some(stage)
                && serde_json::from_value::<Outcome>(s.outcome.clone())
                    .is_ok_and(Outcome::succeeded)
                && s.fingerprint.as_deref() == Some(fingerprint)
        })
    }
}

/// A hash of everything the stages after ingest read: the warehouse manifest
/// (which lists every data file), the query library (SQL, features, report
/// specs), the version and the run's settings.
pub(crate) fn fingerprint(
    config: &RunConfig,
    warehouse: &Path,
    queries: Option<&Path>,
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update(fs::read(warehouse.join(MANIFEST_FILE))?);
    let settings = format!(
        "as_of={:?} seed={} langs={:?} reports={:?} csv_headers={:?}",
        config.as_of, config.seed, config.languages, config.reports, config.csv_headers
    );
    hash.update(settings);
    match queries {
        Some(dir) => {
            let mut files = Vec::new();
            let mut folders = vec![dir.to_path_buf()];
            while let Some(folder) = folders.pop() {
                for entry in fs::read_dir(&folder)? {
                    let path = entry?.path();
                    if path.is_dir() {
                        folders.push(path);
                    } else if path.extension().is_some_and(|e| e == "sql" || e == "toml") {
                        files.push(path);
                    }
                }
            }
            files.sort();
            for file in files {
                hash.update(file.to_string_lossy().as_bytes());
                hash.update(fs::read(&file)?);
            }
        }
        None => {
            let embedded = crate::sql::library::EMBEDDED
                .iter()
                .chain(crate::models::features::EMBEDDED)
                .chain(crate::report::EMBEDDED);
            for (name, text) in embedded {
                hash.update(name);
                hash.update(text);
            }
        }
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
