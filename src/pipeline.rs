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
//! 4. **report**: write the monthly report (HTML, Markdown, CSV) for the
//!    month the data is valid through, to `OUT/reports/monthly/period=…/`.
//! 5. **reliability**: Weibull fits, Kaplan-Meier curves and the MCF of the
//!    fleet, to `OUT/reliability/`.
//! 6. **models**: train the failure, churn and segment models (saved under
//!    `OUT/models/`) and score the current fleet and customers into
//!    `OUT/predictions/NAME/`. When the export carries the generator's
//!    `truth.json`, churn is compared with its oracle and the segments with
//!    the planted ones.
//! 7. **summary**: the executive summary for the month the data is valid
//!    through, in English and Chinese, to `OUT/executive/period=…/`.
//!
//! The run ends with a summary of what was produced, also written to
//! `OUT/run.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::fsutil::MANIFEST_FILE;
use crate::generate::export::ExportFormat;
use crate::generate::{self, EXPORT_KIND, GenerateConfig, GenerateError};
use crate::ingest::source::{CHUNK_BYTES, Encoding};
use crate::ingest::{self, DEFAULT_MAX_BAD_FRACTION, IngestConfig, IngestError, IngestReport};

/// Parameters of the bundled sample (and of the embedded default).
pub struct SampleSpec {
    /// Scale.
    pub scale: f64,
    /// Seed.
    pub seed: u64,
    /// Dirt rate.
    pub dirt: f64,
}

/// The bundled sample: about 2,000 vehicles and 20,000 repair orders, with a little dirt.
pub const SAMPLE: SampleSpec = SampleSpec {
    scale: 0.02,
    seed: 42,
    dirt: 0.005,
};

/// Where the bundled sample lives, relative to the repository root.
pub const SAMPLE_DIR: &str = "datasets/sample";

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
        stage: &'static str,
        /// The cause.
        #[source]
        source: crate::models::ModelError,
    },
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

/// One stage's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// Stage name.
    pub stage: &'static str,
    /// `ran`, `skipped` (inputs unchanged), `reused` (bundled data) or `failed`.
    pub outcome: &'static str,
    /// What it did, in a sentence.
    pub detail: String,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Rows the stage read or wrote (ingest: rows read; kpis: result rows;
    /// reliability: fits; models: rows scored), when it counts rows.
    pub rows: Option<u64>,
    /// Hash of the stage's inputs; the next run skips the stage when it matches.
    pub fingerprint: Option<String>,
    /// Why the stage failed.
    pub error: Option<String>,
    /// Peak resident memory during the stage, MiB (Linux: the kernel's
    /// high-water mark, reset when the stage starts).
    pub peak_rss_mib: Option<f64>,
}

/// Resets the process's peak-RSS mark (Linux `clear_refs`), so the next
/// reading covers one stage. Elsewhere this does nothing.
fn reset_peak_rss() {
    // Best effort: without /proc the stages simply report no peak.
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last reset, MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Rows of one table in the raw export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableCount {
    /// Table.
    pub table: String,
    /// File.
    pub file: String,
    /// Data rows.
    pub rows: u64,
    /// Planted faulty rows.
    pub faulty_rows: u64,
    /// Bytes.
    pub bytes: u64,
}

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

#[derive(Deserialize)]
struct ExportManifestView {
    kind: String,
    data_valid_through: String,
    files: Vec<TableCount>,
}

fn read_export_manifest(dir: &Path) -> Result<ExportManifestView, RunError> {
    let bad = |reason: String| RunError::BadExport {
        path: dir.to_path_buf(),
        reason,
    };
    let bytes =
        fs::read(dir.join(MANIFEST_FILE)).map_err(|e| bad(format!("{MANIFEST_FILE}: {e}")))?;
    let m: ExportManifestView =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{MANIFEST_FILE}: {e}")))?;
    if m.kind != EXPORT_KIND {
        return Err(bad(format!(
            "manifest kind is `{}`, expected `{EXPORT_KIND}`",
            m.kind
        )));
    }
    for f in &m.files {
        let len = fs::metadata(dir.join(&f.file))
            .map_err(|e| bad(format!("{}: {e}", f.file)))?
            .len();
        if len != f.bytes {
            return Err(bad(format!(
                "{} has {len} bytes, the manifest says {}",
                f.file, f.bytes
            )));
        }
    }
    Ok(m)
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
    let mut report = RunReport {
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
    };
    let log = StageLog::new(config);

    log.start("raw");
    let started = Instant::now();
    let raw_result =
        raw_stage(config).and_then(|(raw, stage)| Ok((read_export_manifest(&raw)?, raw, stage)));
    let (manifest, raw, mut raw_report) = report.check(config, "raw", started, raw_result)?;
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
    report.record(config, &log, raw_report)?;

    log.start("ingest");
    let started = Instant::now();
    let warehouse = config
        .warehouse
        .clone()
        .unwrap_or_else(|| config.out.join("warehouse"));
    let ingested = ingest::ingest(&IngestConfig {
        inputs: vec![raw.clone()],
        warehouse: warehouse.clone(),
        encoding: Encoding::Auto,
        max_bad_fraction: DEFAULT_MAX_BAD_FRACTION,
        progress: config.progress,
        chunk_bytes: CHUNK_BYTES,
        memory_budget: ingest::layout::MEMORY_BUDGET,
    })
    .await
    .map_err(RunError::from);
    let ingested = report.check(config, "ingest", started, ingested)?;
    let read: u64 = ingested.files.iter().map(|f| f.rows_read).sum();
    let ingest_stage = StageReport {
        stage: "ingest",
        outcome: if ingested.published { "ran" } else { "skipped" },
        detail: if ingested.published {
            format!(
                "{read} rows read into {}: {} published, {} quarantined",
                warehouse.display(),
                read - ingested.rows_quarantined,
                ingested.rows_quarantined
            )
        } else {
            format!("no new input files; {} is up to date", warehouse.display())
        },
        seconds: started.elapsed().as_secs_f64(),
        rows: Some(read),
        fingerprint: None,
        error: None,
        peak_rss_mib: None,
    };
    report.ingest = Some(ingested);
    report.record(config, &log, ingest_stage)?;

    let queries = config.queries.clone().or_else(|| {
        Path::new("queries")
            .is_dir()
            .then(|| PathBuf::from("queries"))
    });
    let fingerprint =
        fingerprint(config, &warehouse, queries.as_deref()).map_err(|e| RunError::Manifest {
            path: warehouse.join(MANIFEST_FILE),
            source: e,
        })?;
    let stages = Stages {
        config,
        raw: &raw,
        warehouse: &warehouse,
        queries: queries.clone(),
    };
    for stage in DOWNSTREAM {
        log.start(stage);
        let started = Instant::now();
        let print = format!("{fingerprint}:{stage}");
        if !config.force
            && let Some(last) = previous.as_ref().and_then(|p| p.unchanged(stage, &print))
            && stages.outputs_exist(stage, previous.as_ref())
        {
            if stage == "summary" {
                report.executive_summary = previous
                    .as_ref()
                    .map(|p| p.executive_summary.clone())
                    .unwrap_or_default();
            }
            let skipped = StageReport {
                stage,
                outcome: "skipped",
                detail: format!(
                    "{SKIPPED}{}",
                    last.detail.strip_prefix(SKIPPED).unwrap_or(&last.detail)
                ),
                seconds: started.elapsed().as_secs_f64(),
                rows: last.rows,
                fingerprint: Some(print),
                error: None,
                peak_rss_mib: None,
            };
            report.record(config, &log, skipped)?;
            continue;
        }
        let result = stages.run(stage).await;
        let (mut done, pages) = report.check(config, stage, started, result)?;
        if stage == "summary" {
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

/// The stages after ingest, in order.
pub const DOWNSTREAM: [&str; 5] = ["kpis", "report", "reliability", "models", "summary"];

/// How a skipped stage's detail starts; the rest is what its last run did.
const SKIPPED: &str = "inputs unchanged, outputs kept: ";

/// The model seed when none is configured.
pub const DEFAULT_SEED: u64 = 42;

impl RunReport {
    /// Records a finished stage and writes `run.json`, so an interrupted run
    /// keeps what it finished.
    fn record(
        &mut self,
        config: &RunConfig,
        log: &StageLog,
        stage: StageReport,
    ) -> Result<(), RunError> {
        let mut stage = stage;
        stage.peak_rss_mib = peak_rss_mib();
        log.finish(&stage);
        self.stages.push(stage);
        self.write(config)
    }

    /// Passes a stage's success through; records its failure and stops.
    fn check<T>(
        &mut self,
        config: &RunConfig,
        stage: &'static str,
        started: Instant,
        result: Result<T, RunError>,
    ) -> Result<T, RunError> {
        result.inspect_err(|err| {
            let mut message = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            self.stages.push(StageReport {
                stage,
                outcome: "failed",
                detail: "the stage failed; the outputs of the last good run are unchanged".into(),
                seconds: started.elapsed().as_secs_f64(),
                rows: None,
                fingerprint: None,
                error: Some(message),
                peak_rss_mib: peak_rss_mib(),
            });
            // The run is failing already; a manifest that cannot be written adds nothing to report.
            let _ = self.write(config);
        })
    }

    fn write(&self, config: &RunConfig) -> Result<(), RunError> {
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
struct PreviousRun {
    stages: Vec<PreviousStage>,
    #[serde(default)]
    executive_summary: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PreviousStage {
    stage: String,
    outcome: String,
    detail: String,
    rows: Option<u64>,
    fingerprint: Option<String>,
}

impl PreviousRun {
    fn load(path: &Path) -> Option<PreviousRun> {
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }

    /// The stage's last record when it succeeded with this fingerprint.
    fn unchanged(&self, stage: &str, fingerprint: &str) -> Option<&PreviousStage> {
        self.stages.iter().find(|s| {
            s.stage == stage
                && matches!(s.outcome.as_str(), "ran" | "skipped")
                && s.fingerprint.as_deref() == Some(fingerprint)
        })
    }
}

/// A hash of everything the stages after ingest read: the warehouse manifest
/// (which lists every data file), the query library (SQL, features, report
/// specs), the version and the run's settings.
fn fingerprint(
    config: &RunConfig,
    warehouse: &Path,
    queries: Option<&Path>,
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update(fs::read(warehouse.join(MANIFEST_FILE))?);
    let settings = format!(
        "as_of={:?} seed={} langs={:?} reports={:?}",
        config.as_of, config.seed, config.languages, config.reports
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

/// Stage progress: a spinner on a terminal, log lines otherwise (or with
/// `verbose`), nothing with `quiet`.
struct StageLog {
    spinner: Option<indicatif::ProgressBar>,
    lines: bool,
}

impl StageLog {
    fn new(config: &RunConfig) -> StageLog {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        StageLog {
            spinner: (config.progress && terminal && !config.verbose).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            }),
            lines: config.progress && (!terminal || config.verbose),
        }
    }

    fn start(&self, stage: &str) {
        reset_peak_rss();
        if let Some(bar) = &self.spinner {
            bar.set_message(format!("stage {stage}…"));
        }
        if self.lines {
            eprintln!("[aftersight] stage {stage}: started");
        }
    }

    fn finish(&self, stage: &StageReport) {
        if self.lines {
            eprintln!(
                "[aftersight] stage {}: {} in {:.1} s",
                stage.stage, stage.outcome, stage.seconds
            );
        }
    }
}

impl Drop for StageLog {
    fn drop(&mut self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}

/// Runs the stages after ingest.
struct Stages<'a> {
    config: &'a RunConfig,
    raw: &'a Path,
    warehouse: &'a Path,
    queries: Option<PathBuf>,
}

impl Stages<'_> {
    /// Whether the outputs a skipped stage would leave are still on disk.
    fn outputs_exist(&self, stage: &str, previous: Option<&PreviousRun>) -> bool {
        let out = &self.config.out;
        match stage {
            "kpis" => out.join("kpis").join(MANIFEST_FILE).is_file(),
            "report" => self
                .config
                .reports
                .iter()
                .all(|r| out.join("reports").join(r).is_dir()),
            "reliability" => out.join("reliability/weibull.parquet").is_file(),
            "models" => ["failure", "churn", "segments"].iter().all(|m| {
                out.join("predictions")
                    .join(m)
                    .join("predictions.parquet")
                    .is_file()
            }),
            "summary" => previous.is_some_and(|p| {
                !p.executive_summary.is_empty()
                    && p.executive_summary.iter().all(|f| Path::new(f).is_file())
            }),
            _ => false,
        }
    }

    /// Runs one stage; the summary also returns its pages.
    async fn run(&self, stage: &'static str) -> Result<(StageReport, Vec<String>), RunError> {
        let ran = |detail: String, rows: Option<u64>| StageReport {
            stage,
            outcome: "ran",
            detail,
            seconds: 0.0,
            rows,
            fingerprint: None,
            error: None,
            peak_rss_mib: None,
        };
        let config = self.config;
        match stage {
            "kpis" => {
                let kpis = run_kpis(config, self.warehouse).await?;
                let rows = kpis.queries.iter().map(|q| q.rows).sum::<usize>();
                let detail = format!(
                    "{} queries, {rows} rows, written to {}",
                    kpis.queries.len(),
                    config.out.join("kpis").display()
                );
                Ok((ran(detail, Some(rows as u64)), Vec::new()))
            }
            "report" => {
                let mut notes = Vec::new();
                for name in &config.reports {
                    let report = crate::report::run(&crate::report::ReportConfig {
                        name: name.clone(),
                        period: None,
                        warehouse: self.warehouse.to_path_buf(),
                        queries: self.queries.clone(),
                        out: config.out.clone(),
                        dry_run: false,
                        settings: config.settings.clone(),
                    })
                    .await?;
                    notes.push(format!(
                        "{name} report for {} ({} sections) in {}",
                        report.period,
                        report.sections.len(),
                        report.directory.display()
                    ));
                }
                Ok((ran(notes.join("; "), None), Vec::new()))
            }
            "reliability" => Ok((self.reliability().await?, Vec::new())),
            "models" => Ok((self.models().await?, Vec::new())),
            _ => {
                let summary_config = crate::executive::SummaryConfig {
                    warehouse: self.warehouse.to_path_buf(),
                    out: config.out.clone(),
                    queries: self.queries.clone(),
                    period: None,
                    lang: crate::charts::Lang::En,
                    settings: config.settings.clone(),
                };
                let pages: Vec<String> =
                    crate::executive::write_languages(&summary_config, &config.languages)
                        .await
                        .map_err(RunError::Summary)?
                        .iter()
                        .map(|page| page.file.display().to_string())
                        .collect();
                Ok((
                    ran(
                        format!("executive summary in {}", pages.join(" and ")),
                        None,
                    ),
                    pages,
                ))
            }
        }
    }

    async fn session(
        &self,
        stage: &'static str,
    ) -> Result<datafusion::prelude::SessionContext, RunError> {
        crate::sql::open(self.warehouse, &self.config.settings)
            .await
            .map_err(|e| RunError::Models {
                stage,
                source: e.into(),
            })
    }

    fn paths(&self) -> crate::models::jobs::ModelPaths {
        crate::models::jobs::ModelPaths {
            queries: crate::models::features::default_dir(self.queries.as_deref()),
            models: self.config.out.join("models"),
            predictions: self.config.out.join("predictions"),
        }
    }

    async fn reliability(&self) -> Result<StageReport, RunError> {
        let fail = |source| RunError::Models {
            stage: "reliability",
            source,
        };
        let ctx = self.session("reliability").await?;
        let paths = self.paths();
        let as_of = crate::models::jobs::data_valid_through(&ctx)
            .await
            .map_err(fail)?;
        let fleet = crate::models::life::fleet(
            &ctx,
            paths.queries.as_deref(),
            &crate::dates::format_date(as_of),
            10,
        )
        .await
        .map_err(fail)?;
        let dir = self.config.out.join("reliability");
        crate::models::life::write_fleet(&dir, &fleet).map_err(fail)?;
        Ok(StageReport {
            stage: "reliability",
            outcome: "ran",
            detail: format!(
                "{} Weibull fits, {} Kaplan-Meier curves, MCF over {} repair times, in {}",
                fleet.fits.len(),
                fleet.kaplan_meier.len(),
                fleet.mcf.len(),
                dir.display()
            ),
            seconds: 0.0,
            rows: Some(fleet.fits.len() as u64),
            fingerprint: None,
            error: None,
            peak_rss_mib: None,
        })
    }

    async fn models(&self) -> Result<StageReport, RunError> {
        use crate::models::classifier::Target;
        use crate::models::jobs::{self, ModelName};
        let fail = |source| RunError::Models {
            stage: "models",
            source,
        };
        let ctx = self.session("models").await?;
        let paths = self.paths();
        let truth = self.raw.join("truth.json");
        let truth = truth.is_file().then_some(truth.as_path());
        let seed = self.config.seed;
        let mut notes = Vec::new();
        for target in [Target::Failure, Target::Churn] {
            let (version, report) = jobs::train_classifier(&ctx, &paths, target, None, seed, truth)
                .await
                .map_err(fail)?;
            let oracle = report
                .oracle
                .as_ref()
                .map(|o| format!(", oracle {:.3}", o.roc_auc))
                .unwrap_or_default();
            notes.push(format!(
                "{} {version} ({}, CV ROC AUC {:.3}{oracle})",
                target.name(),
                report.algorithm.describe(),
                report.cross_validation.roc_auc
            ));
        }
        let (version, _, report) = jobs::train_segments(&ctx, &paths, None, None, seed, truth)
            .await
            .map_err(fail)?;
        notes.push(format!(
            "segments {version} (k = {}{})",
            report.k,
            report
                .adjusted_rand_index
                .map(|a| format!(", ARI {a:.3} vs planted"))
                .unwrap_or_default()
        ));
        let mut scored = 0;
        for name in [ModelName::Failure, ModelName::Churn, ModelName::Segments] {
            scored += jobs::predict(&ctx, &paths, name, None)
                .await
                .map_err(fail)?
                .rows;
        }
        Ok(StageReport {
            stage: "models",
            outcome: "ran",
            detail: format!(
                "{}; predictions in {}",
                notes.join("; "),
                paths.predictions.display()
            ),
            seconds: 0.0,
            rows: Some(scored as u64),
            fingerprint: None,
            error: None,
            peak_rss_mib: None,
        })
    }
}

fn raw_stage(config: &RunConfig) -> Result<(PathBuf, StageReport), RunError> {
    if let Some(raw) = &config.raw {
        read_export_manifest(raw)?;
        return Ok((
            raw.clone(),
            StageReport {
                stage: "raw",
                outcome: "reused",
                detail: format!("using the export in {}", raw.display()),
                seconds: 0.0,
                rows: None,
                fingerprint: None,
                error: None,
                peak_rss_mib: None,
            },
        ));
    }
    let bundled = PathBuf::from(SAMPLE_DIR);
    if read_export_manifest(&bundled).is_ok() {
        return Ok((
            bundled,
            StageReport {
                stage: "raw",
                outcome: "reused",
                detail: format!("using the bundled sample in {SAMPLE_DIR}"),
                seconds: 0.0,
                rows: None,
                fingerprint: None,
                error: None,
                peak_rss_mib: None,
            },
        ));
    }
    let generated = config.out.join("raw");
    if read_export_manifest(&generated).is_ok() {
        return Ok((
            generated.clone(),
            StageReport {
                stage: "raw",
                outcome: "skipped",
                detail: format!(
                    "the embedded sample was already generated in {}",
                    generated.display()
                ),
                seconds: 0.0,
                rows: None,
                fingerprint: None,
                error: None,
                peak_rss_mib: None,
            },
        ));
    }
    let m = generate::generate(&GenerateConfig {
        scale: SAMPLE.scale,
        seed: SAMPLE.seed,
        format: ExportFormat::Csv,
        dirt: SAMPLE.dirt,
        out: generated.clone(),
        progress: config.progress,
    })?;
    Ok((
        generated.clone(),
        StageReport {
            stage: "raw",
            outcome: "ran",
            detail: format!(
                "no bundled sample found; generated the embedded default (scale {}, seed {}) into {}",
                m.scale,
                m.seed,
                generated.display()
            ),
            seconds: m.elapsed_seconds,
            rows: None,
            fingerprint: None,
            error: None,
            peak_rss_mib: None,
        },
    ))
}

/// Errors of the KPI stage.
#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    /// A query failed.
    #[error("query `{name}` failed")]
    Query {
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: crate::sql::SqlError,
    },
    /// The library or warehouse could not be opened.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// Writing the outputs failed.
    #[error("cannot write `{path}`")]
    Write {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Publishing the outputs failed.
    #[error(transparent)]
    Publish(#[from] crate::fsutil::PublishError),
}

/// One query's output in `OUT/kpis/manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct KpiFile {
    /// Query name.
    pub name: String,
    /// English title.
    pub title: String,
    /// Chinese title.
    pub title_zh: String,
    /// CSV file name.
    pub file: String,
    /// Rows.
    pub rows: usize,
}

/// The manifest of `OUT/kpis/`.
#[derive(Debug, Clone, Serialize)]
pub struct KpiManifest {
    /// Always `aftersight-kpis`.
    pub kind: &'static str,
    /// Warehouse batch the KPIs were computed from.
    pub warehouse_batch: u64,
    /// Outputs.
    pub queries: Vec<KpiFile>,
}

const KPI_KIND: &str = "aftersight-kpis";

async fn run_kpis(config: &RunConfig, warehouse: &Path) -> Result<KpiManifest, KpiError> {
    let library = match &config.queries {
        Some(dir) => crate::sql::library::load(dir)?,
        None if Path::new("queries").is_dir() => crate::sql::library::load(Path::new("queries"))?,
        None => crate::sql::library::embedded()?,
    };
    let ctx = crate::sql::open(warehouse, &config.settings).await?;
    let dest = config.out.join("kpis");
    let staging = crate::fsutil::Staging::new(&dest)?;
    let mut manifest = KpiManifest {
        kind: KPI_KIND,
        warehouse_batch: crate::warehouse::Manifest::load(warehouse)
            .map_err(crate::sql::SqlError::from)?
            .batch,
        queries: Vec::new(),
    };
    for q in library {
        let params = q.bind(&[])?;
        let batches = crate::sql::query(&ctx, &q.sql, params)
            .await
            .map_err(|source| KpiError::Query {
                name: q.name.clone(),
                source,
            })?;
        let file = format!("{}.csv", q.name);
        let path = staging.path().join(&file);
        let write_err = |e: Box<dyn std::error::Error + Send + Sync>| KpiError::Write {
            path: path.clone(),
            source: e,
        };
        let mut out =
            std::io::BufWriter::new(fs::File::create(&path).map_err(|e| write_err(Box::new(e)))?);
        crate::sql::output::write_safe_csv(&mut out, &batches)
            .map_err(|e| write_err(Box::new(e)))?;
        std::io::Write::flush(&mut out).map_err(|e| write_err(Box::new(e)))?;
        manifest.queries.push(KpiFile {
            name: q.name,
            title: q.title,
            title_zh: q.title_zh,
            file,
            rows: batches.iter().map(|b| b.num_rows()).sum(),
        });
    }
    let path = staging.path().join(MANIFEST_FILE);
    fs::write(
        &path,
        serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )
    .map_err(|e| KpiError::Write {
        path: path.clone(),
        source: Box::new(e),
    })?;
    staging.publish(KPI_KIND)?;
    Ok(manifest)
}
