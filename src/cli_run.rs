//! `aftersight run` and `aftersight init`: the main job, configured from the
//! command line, `AFTERSIGHT_*` environment variables and `aftersight.toml`.

use std::path::{Path, PathBuf};

use aftersight::charts::Lang;
use aftersight::config::{self, ConfigError, ConfigFile};
use aftersight::pipeline::{self, RunConfig};
use aftersight::sql::SessionSettings;
use clap::Args;

use crate::SummaryFormat;

/// `aftersight run`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Stages: raw, ingest, kpis, report, reliability, models, summary. A stage whose inputs
have not changed since the last run (same warehouse files, queries, version and settings) is
skipped and says so; --force reruns it. OUT/run.json records every stage as it finishes (timing,
rows, fingerprint, outcome, the error of a failed stage), so an interrupted run can simply be
started again.

Settings come from the command line, then AFTERSIGHT_* variables, then aftersight.toml (see
`aftersight init`), then the defaults.

Examples:
  aftersight run                       # bundled sample, outputs under ./aftersight-out
  aftersight run --raw exports/2026-10 --out /srv/aftersight
  aftersight run --as-of 2026-06-30    # the data as it was at the end of June, reproducibly
  aftersight run --force -v            # rerun everything, with a log line per stage
  aftersight run --format json         # machine-readable summary for schedulers"
)]
pub struct RunArgs {
    /// Output root [default: aftersight-out].
    #[arg(long, env = "AFTERSIGHT_OUT")]
    out: Option<PathBuf>,
    /// The Parquet warehouse [default: OUT/warehouse].
    #[arg(long, env = "AFTERSIGHT_WAREHOUSE")]
    warehouse: Option<PathBuf>,
    /// A raw export directory to start from [default: the bundled sample].
    #[arg(long, env = "AFTERSIGHT_RAW")]
    raw: Option<PathBuf>,
    /// The query library [default: ./queries if present, else the copy built into the binary].
    #[arg(long, env = "AFTERSIGHT_QUERIES")]
    queries: Option<PathBuf>,
    /// See the data as it was at the end of this day (YYYY-MM-DD).
    #[arg(long, env = "AFTERSIGHT_AS_OF")]
    as_of: Option<String>,
    /// Seed of every random choice in the models [default: 42].
    #[arg(long, env = "AFTERSIGHT_SEED")]
    seed: Option<u64>,
    /// Query partitions, one per core [default: 2].
    #[arg(long, env = "AFTERSIGHT_THREADS")]
    threads: Option<usize>,
    /// Memory before DataFusion spills, e.g. 4GiB [default: 4GiB].
    #[arg(long, env = "AFTERSIGHT_MEMORY_LIMIT")]
    memory_limit: Option<String>,
    /// Settings file [default: $AFTERSIGHT_CONFIG, else ./aftersight.toml if present].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rerun every stage, even when its inputs have not changed.
    #[arg(long)]
    force: bool,
    /// A log line per stage, also on a terminal.
    #[arg(long, short)]
    verbose: bool,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    format: SummaryFormat,
}

/// `aftersight init`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Writes a commented aftersight.toml with every setting and its default.

Examples:
  aftersight init
  aftersight init --path /etc/aftersight/aftersight.toml --force"
)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(long, default_value = config::FILE_NAME)]
    path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Writes the starter configuration.
pub fn init(args: InitArgs) -> anyhow::Result<()> {
    config::init(&args.path, args.force)?;
    eprintln!(
        "wrote {}; edit it, then run `aftersight run`",
        args.path.display()
    );
    Ok(())
}

fn value_error(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        setting: setting.into(),
        message: message.into(),
    }
}

/// Merges the layers: command line (with the environment, through clap), then the file, then the defaults.
fn resolve(args: &RunArgs, quiet: bool) -> Result<RunConfig, ConfigError> {
    let file = match config::locate(args.config.as_deref()) {
        Some(path) => config::load(&path)?,
        None => ConfigFile::default(),
    };
    let engine = file.engine.clone().unwrap_or_default();
    let mut run = RunConfig::new(
        args.out
            .clone()
            .or(file.out.clone())
            .unwrap_or_else(|| PathBuf::from("aftersight-out")),
    );
    run.raw = args.raw.clone().or(file.raw.clone());
    run.warehouse = args.warehouse.clone().or(file.warehouse.clone());
    run.queries = args.queries.clone().or(file.queries.clone());
    run.progress = !quiet;
    run.verbose = args.verbose;
    run.force = args.force;
    run.seed = args.seed.or(file.seed).unwrap_or(pipeline::DEFAULT_SEED);
    if let Some(date) = args.as_of.as_ref().or(file.as_of.as_ref()) {
        let day = aftersight::dates::parse_date(date)
            .ok_or_else(|| value_error("as_of", format!("`{date}` is not a date (YYYY-MM-DD)")))?;
        run.as_of = Some(day);
    }
    if let Some(reports) = &file.reports {
        run.reports = reports.clone();
    }
    if let Some(languages) = &file.languages {
        run.languages = languages
            .iter()
            .map(|l| l.parse::<Lang>().map_err(|e| value_error("languages", e)))
            .collect::<Result<_, _>>()?;
    }
    let mut settings = SessionSettings::default();
    if let Some(threads) = args.threads.or(engine.threads) {
        if !(1..=256).contains(&threads) {
            return Err(value_error(
                "threads",
                format!("{threads} is not between 1 and 256"),
            ));
        }
        settings.threads = threads;
    }
    if let Some(limit) = args.memory_limit.as_ref().or(engine.memory_limit.as_ref()) {
        settings.memory_limit =
            config::parse_bytes(limit).map_err(|m| value_error("memory_limit", m))?;
    }
    settings.as_of = run.as_of;
    run.settings = settings;
    Ok(run)
}

/// Runs the main job and prints where to look.
pub async fn run(args: RunArgs, quiet: bool) -> anyhow::Result<()> {
    let config = resolve(&args, quiet)?;
    let report = pipeline::run(&config).await?;
    match args.format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        SummaryFormat::Table => {
            for s in &report.stages {
                println!(
                    "[{:<7}] {:<11} {} ({:.1} s)",
                    s.outcome, s.stage, s.detail, s.seconds
                );
            }
            let as_of = report
                .as_of
                .as_ref()
                .map(|d| format!(", as of {d}"))
                .unwrap_or_default();
            println!(
                "\nraw export {} (data valid through {}{as_of})",
                report.raw_export.display(),
                report.data_valid_through
            );
            crate::print_tables(
                report
                    .tables
                    .iter()
                    .map(|t| (t.table.as_str(), t.rows, t.faulty_rows, t.bytes)),
            );
            if let Some(ingest) = &report.ingest {
                println!(
                    "\nwarehouse {} (batch {})",
                    ingest.warehouse.display(),
                    ingest.batch
                );
            }
            println!(
                "run manifest: {}",
                Path::new(&config.out).join("run.json").display()
            );
            if let Some(page) = report.executive_summary.first() {
                println!("\nstart here: {page}");
            }
        }
    }
    Ok(())
}
