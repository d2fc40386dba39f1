//! `aftersight run`: the main job, every stage that exists, in order.
//!
//! Stages so far:
//! 1. **raw**: use the bundled sample in `datasets/sample/` when it is there
//!    and intact; otherwise generate the same sample (the embedded default,
//!    [`SAMPLE`]) into `OUT/raw/`, unless an earlier run already did.
//! 2. **ingest**: validate the raw export into the warehouse `OUT/warehouse/`,
//!    quarantining bad rows. Files already ingested are skipped, so a rerun
//!    does nothing here.
//! 3. **kpis**: run every query of the KPI library (`queries/`, or the copy
//!    compiled into the binary) with its default parameters and publish one
//!    spreadsheet-safe CSV per query to `OUT/kpis/`.
//! 4. **reliability**: Weibull fits, Kaplan-Meier curves and the MCF of the
//!    fleet, to `OUT/reliability/`.
//! 5. **warranty**: the emerging-issue alarms standing on the last day of
//!    data (`OUT/warranty/alarms.parquet`), and the warranty outlook: the
//!    months-in-service triangle, claims forecast, reserve and parts demand
//!    as of that day (`OUT/warranty/outlook/`), as of the end of the month
//!    before (`previous/`) and six months before (`backtest/`).
//! 6. **report**: write the monthly report (HTML, Markdown, CSV) for the
//!    month the data is valid through, to `OUT/reports/monthly/period=…/`;
//!    its warranty sections read the outlook.
//! 7. **models**: train the failure, churn and segment models (saved under
//!    `OUT/models/`) and score the current fleet and customers into
//!    `OUT/predictions/NAME/`. When the export carries the generator's
//!    `truth.json`, failure and churn are compared with their oracles and the
//!    segments with the planted ones.
//! 8. **summary**: the executive summary for the month the data is valid
//!    through, in English and Chinese, to `OUT/executive/period=…/`.
//!
//! The run ends with a summary of what was produced, also written to
//! `OUT/run.json`.

use std::path::PathBuf;
use std::time::Instant;

use crate::fsutil::MANIFEST_FILE;
use crate::generate::GenerateError;
use crate::ingest::source::{CHUNK_BYTES, Encoding};
use crate::ingest::{self, DEFAULT_MAX_BAD_FRACTION, IngestConfig, IngestError};

mod downstream;
mod kpis;
mod raw;
mod record;
mod stage;

pub use self::kpis::{KpiError, KpiFile, KpiManifest};
pub use self::raw::{SAMPLE, SAMPLE_DIR, SampleSpec, TableCount};
pub use self::record::RunReport;
pub use self::stage::{Outcome, Stage, StageReport};

use self::downstream::Stages;
use self::raw::{raw_stage, read_export_manifest};
use self::record::{PreviousRun, fingerprint};
use self::stage::StageLog;

/// The model seed when none is configured.
pub const DEFAULT_SEED: u64 = 42;

/// How a skipped stage's detail starts; the rest is what its last run did.
const SKIPPED: &str = "inputs unchanged, outputs kept: ";

/// Configuration of a run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Output root (`./aftersight-out` by default).
    pub out: PathBuf,
    /// Raw export to start from; `None` uses the bundled sample or the embedded default.
    pub raw: Option<PathBuf>,
    /// The warehouse; `None` is `OUT/warehouse`.
    pub warehouse: Option<PathBuf>,
    /// The KPI library; `None` uses `queries/` when present, else the embedded copy.
    pub queries: Option<PathBuf>,
    /// Show progress (bars on a terminal, log lines otherwise); false is `--quiet`.
    pub progress: bool,
    /// Log lines even on a terminal (`-v`).
    pub verbose: bool,
    /// Rerun every stage, even when its inputs have not changed.
    pub force: bool,
    /// See the data as of this day (days since the epoch).
    pub as_of: Option<i32>,
    /// Seed of every random choice in the models.
    pub seed: u64,
    /// Reports to write.
    pub reports: Vec<String>,
    /// Languages of the executive summary.
    pub languages: Vec<crate::charts::Lang>,
    /// Header row of the KPI and report CSVs.
    pub csv_headers: crate::sql::output::CsvHeaders,
    /// DataFusion settings (memory, threads); `as_of` is copied into them.
    pub settings: crate::sql::SessionSettings,
}

impl RunConfig {
    /// The embedded default: the bundled sample, outputs under `out`.
    pub fn new(out: PathBuf) -> RunConfig {
        RunConfig {
            out,
            raw: None,
            warehouse: None,
            queries: None,
            progress: false,
            verbose: false,
            force: false,
            as_of: None,
            seed: DEFAULT_SEED,
            reports: vec!["monthly".into()],
            languages: vec![crate::charts::Lang::En, crate::charts::Lang::Zh],
            csv_headers: Default::default(),
            settings: crate::sql::SessionSettings::default(),
        }
    }
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The raw stage failed to generate data.
    #[error("stage `raw` failed")]
    Generate(#[from] GenerateError),
    /// An input export is missing or unreadable.
    #[error("stage `raw`: `{path}` is not a readable aftersight export ({reason})")]
    BadExport {
        /// The export directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The ingest stage failed.
    #[error("stage `ingest` failed")]
    Ingest(#[from] IngestError),
    /// The report stage failed.
    #[error("stage `report` failed")]
    Report(#[from] crate::report::ReportError),
    /// The KPI stage failed.
    #[error("stage `kpis` failed")]
    Kpis(#[from] KpiError),
    /// The reliability or models stage failed.
    #[error("stage `{stage}` failed")]
    Models {
        /// The stage.
        stage: Stage,
        /// The cause.
        #[source]
        source: crate::models::ModelError,
    },
    /// The warranty stage failed.
    #[error("stage `warranty` failed")]
    Warranty(#[source] crate::warranty::WarrantyError),
    /// The executive summary failed.
    #[error("stage `summary` failed")]
    Summary(#[source] crate::report::ReportError),
    /// Writing the run manifest failed.
    #[error("cannot write the run manifest `{path}`")]
    Manifest {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs every stage and writes `OUT/run.json` after each one.
///
/// A stage after ingest is skipped when its fingerprint (the warehouse
/// manifest, the query library, the version, the as-of date, the seed and the
/// languages) equals the one the last run recorded for it and its outputs are
/// still there; `force` reruns everything. A failed stage is recorded in
/// `run.json` with its error, and the run stops: every output is published
/// atomically, so the last good outputs stay in place.
pub async fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    let previous = PreviousRun::load(&config.out.join("run.json"));
    let mut report = RunReport::start(config);
    let log = StageLog::new(config.progress, config.verbose);
    let raw = run_raw(config, &log, &mut report)?;
    let warehouse = config
        .warehouse
        .clone()
        .unwrap_or_else(|| config.out.join("warehouse"));
    run_ingest(config, &log, &mut report, &raw, &warehouse).await?;

    let queries = crate::settings::query_library(config.queries.as_deref());
    let fingerprint =
        fingerprint(config, &warehouse, queries.as_deref()).map_err(|e| RunError::Manifest {
            path: warehouse.join(MANIFEST_FILE),
            source: e,
        })?;
    let stages = Stages {
        config,
        raw: &raw,
        warehouse: &warehouse,
        queries,
    };
    for stage in Stage::DOWNSTREAM {
        log.start(stage);
        let started = Instant::now();
        let print = format!("{fingerprint}:{stage}");
        if !config.force
            && let Some(last) = previous.as_ref().and_then(|p| p.unchanged(stage, &print))
            && stages.outputs_exist(stage, previous.as_ref())
        {
            if stage == Stage::Summary {
                report.executive_summary = previous
                    .as_ref()
                    .map(|p| p.executive_summary.clone())
                    .unwrap_or_default();
            }
            let detail = format!(
                "{SKIPPED}{}",
                last.detail.strip_prefix(SKIPPED).unwrap_or(&last.detail)
            );
            let mut skipped = StageReport::new(stage, Outcome::Skipped, detail);
            skipped.seconds = started.elapsed().as_secs_f64();
            skipped.rows = last.rows;
            skipped.fingerprint = Some(print);
            report.record(config, &log, skipped)?;
            continue;
        }
        let result = stages.run(stage).await;
        let (mut done, pages) = report.check(config, stage, started, result)?;
        if stage == Stage::Summary {
            report.executive_summary = pages;
        }
        done.seconds = started.elapsed().as_secs_f64();
        done.fingerprint = Some(print);
        report.record(config, &log, done)?;
    }
    report.complete = true;
    report.write(config)?;
    Ok(report)
}

/// The raw stage: records the export's tables and the date the data is valid through.
fn run_raw(
    config: &RunConfig,
    log: &StageLog,
    report: &mut RunReport,
) -> Result<PathBuf, RunError> {
    log.start(Stage::Raw);
    let started = Instant::now();
    let raw_result =
        raw_stage(config).and_then(|(raw, stage)| Ok((read_export_manifest(&raw)?, raw, stage)));
    let (manifest, raw, mut raw_report) = report.check(config, Stage::Raw, started, raw_result)?;
    raw_report.seconds = started.elapsed().as_secs_f64();
    report.raw_export = raw.clone();
    report.data_valid_through = match config.as_of {
        Some(day) => manifest
            .data_valid_through
            .clone()
            .min(crate::dates::format_date(day)),
        None => manifest.data_valid_through.clone(),
    };
    report.tables = manifest.files.clone();
    report.record(config, log, raw_report)?;
    Ok(raw)
}

/// The ingest stage: validates the export into the warehouse.
async fn run_ingest(
    config: &RunConfig,
    log: &StageLog,
    report: &mut RunReport,
    raw: &std::path::Path,
    warehouse: &std::path::Path,
) -> Result<(), RunError> {
    log.start(Stage::Ingest);
    let started = Instant::now();
    let ingested = ingest::ingest(&IngestConfig {
        inputs: vec![raw.to_path_buf()],
        warehouse: warehouse.to_path_buf(),
        encoding: Encoding::Auto,
        max_bad_fraction: DEFAULT_MAX_BAD_FRACTION,
        progress: config.progress,
        chunk_bytes: CHUNK_BYTES,
        memory_budget: ingest::DEFAULT_MEMORY_BUDGET,
    })
    .await
    .map_err(RunError::from);
    let ingested = report.check(config, Stage::Ingest, started, ingested)?;
    let read: u64 = ingested.files.iter().map(|f| f.rows_read).sum();
    let (outcome, detail) = if ingested.published {
        let detail = format!(
            "{read} rows read into {}: {} published, {} quarantined",
            warehouse.display(),
            read - ingested.rows_quarantined,
            ingested.rows_quarantined
        );
        (Outcome::Ran, detail)
    } else {
        let detail = format!("no new input files; {} is up to date", warehouse.display());
        (Outcome::Skipped, detail)
    };
    let mut stage = StageReport::new(Stage::Ingest, outcome, detail).with_rows(read);
    stage.seconds = started.elapsed().as_secs_f64();
    report.ingest = Some(ingested);
    report.record(config, log, stage)
}
