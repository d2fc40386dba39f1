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
use crate::ingest::source::{Encoding, MIN_SPLIT_BYTES};
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
    /// The KPI library; `None` uses `queries/` when present, else the embedded copy.
    pub queries: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
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
    /// `ran`, `skipped` (inputs unchanged) or `reused` (bundled data).
    pub outcome: &'static str,
    /// What it did, in a sentence.
    pub detail: String,
    /// Wall time, seconds.
    pub seconds: f64,
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
    /// The raw export used.
    pub raw_export: PathBuf,
    /// Last day covered by the data.
    pub data_valid_through: String,
    /// Stages in order.
    pub stages: Vec<StageReport>,
    /// Tables of the raw export.
    pub tables: Vec<TableCount>,
    /// The ingest stage's report.
    pub ingest: IngestReport,
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

/// Runs every stage and writes `OUT/run.json`.
pub async fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let (raw, mut raw_stage) = raw_stage(config)?;
    let manifest = read_export_manifest(&raw)?;
    raw_stage.seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let warehouse = config.out.join("warehouse");
    let ingest = ingest::ingest(&IngestConfig {
        inputs: vec![raw.clone()],
        warehouse: warehouse.clone(),
        encoding: Encoding::Auto,
        max_bad_fraction: DEFAULT_MAX_BAD_FRACTION,
        progress: config.progress,
        split_bytes: MIN_SPLIT_BYTES,
    })
    .await?;
    let read: u64 = ingest.files.iter().map(|f| f.rows_read).sum();
    let ingest_stage = StageReport {
        stage: "ingest",
        outcome: if ingest.published { "ran" } else { "skipped" },
        detail: if ingest.published {
            format!(
                "{read} rows read into {}: {} published, {} quarantined",
                warehouse.display(),
                read - ingest.rows_quarantined,
                ingest.rows_quarantined
            )
        } else {
            format!("no new input files; {} is up to date", warehouse.display())
        },
        seconds: started.elapsed().as_secs_f64(),
    };
    let started = Instant::now();
    let kpis = run_kpis(config, &warehouse).await?;
    let kpi_stage = StageReport {
        stage: "kpis",
        outcome: "ran",
        detail: format!(
            "{} queries, {} rows, written to {}",
            kpis.queries.len(),
            kpis.queries.iter().map(|q| q.rows).sum::<usize>(),
            config.out.join("kpis").display()
        ),
        seconds: started.elapsed().as_secs_f64(),
    };
    let started = Instant::now();
    let queries = config.queries.clone().or_else(|| {
        Path::new("queries")
            .is_dir()
            .then(|| PathBuf::from("queries"))
    });
    let queries_dir = queries.clone();
    let report = crate::report::run(&crate::report::ReportConfig {
        name: "monthly".into(),
        period: None,
        warehouse: warehouse.clone(),
        queries,
        out: config.out.clone(),
        dry_run: false,
    })
    .await?;
    let report_stage = StageReport {
        stage: "report",
        outcome: "ran",
        detail: format!(
            "monthly report for {} ({} sections) in {}",
            report.period,
            report.sections.len(),
            report.directory.display()
        ),
        seconds: started.elapsed().as_secs_f64(),
    };
    let (reliability_stage, models_stage) =
        run_models(config, &raw, &warehouse, queries_dir.clone()).await?;
    let started = Instant::now();
    let mut pages = Vec::new();
    for lang in [crate::charts::Lang::En, crate::charts::Lang::Zh] {
        let summary = crate::executive::write(&crate::executive::SummaryConfig {
            warehouse: warehouse.clone(),
            out: config.out.clone(),
            queries: queries_dir.clone(),
            period: None,
            lang,
        })
        .await
        .map_err(RunError::Summary)?;
        pages.push(summary.file.display().to_string());
    }
    let summary_stage = StageReport {
        stage: "summary",
        outcome: "ran",
        detail: format!("executive summary in {}", pages.join(" and ")),
        seconds: started.elapsed().as_secs_f64(),
    };
    let stages = vec![
        raw_stage,
        ingest_stage,
        kpi_stage,
        report_stage,
        reliability_stage,
        models_stage,
        summary_stage,
    ];
    let report = RunReport {
        version: env!("CARGO_PKG_VERSION"),
        raw_export: raw,
        data_valid_through: manifest.data_valid_through,
        stages,
        tables: manifest.files,
        ingest,
        executive_summary: pages,
    };
    let path = config.out.join("run.json");
    crate::fsutil::write_atomically(
        &path,
        &serde_json::to_vec_pretty(&report).expect("report serialises"),
    )
    .map_err(|source| RunError::Manifest { path, source })?;
    Ok(report)
}

/// The reliability and models stages.
async fn run_models(
    config: &RunConfig,
    raw: &Path,
    warehouse: &Path,
    queries: Option<PathBuf>,
) -> Result<(StageReport, StageReport), RunError> {
    use crate::models::classifier::Target;
    use crate::models::jobs::{self, ModelName, ModelPaths};
    let started = Instant::now();
    let fail = |stage| move |source| RunError::Models { stage, source };
    let ctx = crate::sql::open(warehouse, &crate::sql::SessionSettings::default())
        .await
        .map_err(|e| fail("reliability")(e.into()))?;
    let paths = ModelPaths {
        queries: crate::models::features::default_dir(queries.as_deref()),
        models: config.out.join("models"),
        predictions: config.out.join("predictions"),
    };
    let as_of = jobs::data_valid_through(&ctx)
        .await
        .map_err(fail("reliability"))?;
    let fleet = crate::models::life::fleet(
        &ctx,
        paths.queries.as_deref(),
        &crate::dates::format_date(as_of),
        10,
    )
    .await
    .map_err(fail("reliability"))?;
    let reliability_dir = config.out.join("reliability");
    crate::models::life::write_fleet(&reliability_dir, &fleet).map_err(fail("reliability"))?;
    let reliability = StageReport {
        stage: "reliability",
        outcome: "ran",
        detail: format!(
            "{} Weibull fits, {} Kaplan-Meier curves, MCF over {} repair times, in {}",
            fleet.fits.len(),
            fleet.kaplan_meier.len(),
            fleet.mcf.len(),
            reliability_dir.display()
        ),
        seconds: started.elapsed().as_secs_f64(),
    };

    let started = Instant::now();
    let truth = raw.join("truth.json");
    let truth = truth.is_file().then_some(truth.as_path());
    const SEED: u64 = 42;
    let mut notes = Vec::new();
    for target in [Target::Failure, Target::Churn] {
        let (version, report) = jobs::train_classifier(&ctx, &paths, target, None, SEED, truth)
            .await
            .map_err(fail("models"))?;
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
    let (version, _, report) = jobs::train_segments(&ctx, &paths, None, None, SEED, truth)
        .await
        .map_err(fail("models"))?;
    notes.push(format!(
        "segments {version} (k = {}{})",
        report.k,
        report
            .adjusted_rand_index
            .map(|a| format!(", ARI {a:.3} vs planted"))
            .unwrap_or_default()
    ));
    for name in [ModelName::Failure, ModelName::Churn, ModelName::Segments] {
        jobs::predict(&ctx, &paths, name, None)
            .await
            .map_err(fail("models"))?;
    }
    let models = StageReport {
        stage: "models",
        outcome: "ran",
        detail: format!(
            "{}; predictions in {}",
            notes.join("; "),
            paths.predictions.display()
        ),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((reliability, models))
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
    let ctx = crate::sql::open(warehouse, &crate::sql::SessionSettings::default()).await?;
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
