//! The `aftersight` command line: parses arguments, calls the library, prints
//! results and maps outcomes to exit codes (0 success, 1 failure, 2 usage,
//! 3 rejected input: too many bad rows, nothing published).

mod cli_charts;
mod cli_models;
mod cli_run;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use aftersight::generate::export::ExportFormat;
use aftersight::generate::{self, GenerateConfig};
use aftersight::ingest::source::{CHUNK_BYTES, Encoding};
use aftersight::ingest::{self, DEFAULT_MAX_BAD_FRACTION, IngestConfig, IngestError, IngestReport};
use aftersight::report::{self, ReportConfig, ReportError};
use aftersight::sql::output::{self, ResultFormat};
use aftersight::sql::{self as sqlmod, SessionSettings, library};

/// Used-car after-sales market intelligence: synthetic data, a validated
/// Parquet warehouse, KPIs, models, charts and reports, in one binary.
#[derive(Parser)]
#[command(name = "aftersight", version, propagate_version = true)]
#[command(
    after_long_help = "Exit codes: 0 success, 1 the work failed (bad input, I/O), 2 usage error."
)]
struct Cli {
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job: every stage, on the bundled sample unless told otherwise.
    Run(cli_run::RunArgs),
    /// Write a commented aftersight.toml with every setting and its default.
    Init(cli_run::InitArgs),
    /// Validate raw CSV / NDJSON exports into the Parquet warehouse; bad rows go to quarantine.
    #[command(
        after_long_help = "Files are matched to tables by name (repair_orders.csv, repair_orders_2026-10.ndjson, ...).
Headers are matched by name. Each rejected row is kept in WAREHOUSE/quarantine with its file, line,
column, rule and raw bytes; for every file, read = published + quarantined. Files already ingested
(same BLAKE3 content hash) are skipped, so re-running is safe. The warehouse manifest is replaced atomically:
readers see the old or the new warehouse, never a mix.

Examples:
  aftersight ingest --from exports/2026-10 --warehouse wh
  aftersight ingest --from legacy/customers.csv --warehouse wh --encoding gbk
  aftersight ingest --from exports --warehouse wh --max-bad-fraction 0.05 --format json"
    )]
    Ingest {
        /// Export directories or files.
        #[arg(long = "from", required = true, num_args = 1..)]
        from: Vec<PathBuf>,
        /// Warehouse directory (created if absent).
        #[arg(long)]
        warehouse: PathBuf,
        /// Text encoding of the inputs.
        #[arg(long, value_enum, default_value_t = Encoding::Auto)]
        encoding: Encoding,
        /// Largest share of bad rows in the batch before it fails and publishes nothing.
        #[arg(long, default_value_t = DEFAULT_MAX_BAD_FRACTION)]
        max_bad_fraction: f64,
        /// How to print the summary.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
    /// Run SQL over the warehouse: ad hoc, from a file, or a named query of the KPI library.
    #[command(
        after_long_help = "Tables: stations, customers, vehicles, transactions, repair_orders, warranty_claims,
surveys (only the files the warehouse manifest lists), and the predictions of `aftersight predict`
when present (failure_predictions, churn_predictions, segments_predictions). Statements are read-only: CREATE,
COPY, INSERT and SET are refused. Parameters are bound as typed values ($name in the SQL),
never spliced into the text; library queries declare their types, ad-hoc values are typed
by their form (whole number, number, YYYY-MM-DD date, else text).

Examples:
  aftersight sql \"SELECT job_type, count(*) FROM repair_orders GROUP BY 1\"
  aftersight sql --query effective_labour_rate --param start=2026-01-01 --format csv
  aftersight sql -f my.sql --param make=BYD --format parquet --output out.parquet
  aftersight sql --query comeback_rate --explain"
    )]
    Sql {
        /// The statement (or use --file / --query).
        statement: Option<String>,
        /// Read the statement from a file.
        #[arg(short = 'f', long, conflicts_with_all = ["statement", "query"])]
        file: Option<PathBuf>,
        /// Run a named query of the library.
        #[arg(long, conflicts_with = "statement")]
        query: Option<String>,
        /// Warehouse directory.
        #[arg(long, default_value = "aftersight-out/warehouse")]
        warehouse: PathBuf,
        /// Predictions of `aftersight predict`, queryable as failure_predictions, churn_predictions, segments_predictions.
        #[arg(long, default_value = "aftersight-out/predictions")]
        predictions: PathBuf,
        /// The query library.
        #[arg(long, default_value = "queries")]
        queries: PathBuf,
        /// A parameter, `name=value` (repeatable).
        #[arg(long = "param", value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        /// Write to this file instead of standard output (required for parquet).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Show the query plan instead of running it.
        #[arg(long)]
        explain: bool,
    },
    /// Write a report (HTML, Markdown, CSV) for one period from a spec in queries/reports/.
    #[command(
        after_long_help = "Outputs go to OUT/reports/NAME/period=YYYY-MM/ (report.html, report.md, one CSV per
section, manifest.json), staged and renamed into place: re-running a period replaces only that
period. A lock keeps overlapping runs of one report apart. Without --period the report covers
the month the data is valid through.

Exit codes: 0 written, 4 no data for the period (nothing written), 1 failure.

Examples:
  aftersight report monthly --period 2026-10
  aftersight report monthly --dry-run                 # check the spec and plan every query
  aftersight report monthly --period 2026-09 --format json"
    )]
    Report {
        /// Report name: the spec queries/reports/NAME.toml.
        name: String,
        /// Period, YYYY-MM.
        #[arg(long)]
        period: Option<String>,
        /// Warehouse directory.
        #[arg(long, default_value = "aftersight-out/warehouse")]
        warehouse: PathBuf,
        /// Output root.
        #[arg(long, default_value = "aftersight-out")]
        out: PathBuf,
        /// Query library with its reports/ folder (default: ./queries if present, else the built-in copy).
        #[arg(long)]
        queries: Option<PathBuf>,
        /// Validate the spec and plan every query; run nothing, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// With `due`: the time to judge by (RFC 3339; default now).
        #[arg(long)]
        now: Option<String>,
        /// With `due`: also write every missing period, oldest first.
        #[arg(long = "run")]
        run_due: bool,
        /// How to print the summary.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
    /// Generate a synthetic dealer-management-system export with planted ground truth.
    #[command(
        after_long_help = "Scale 1 is about 100,000 vehicles and 1,000,000 repair orders; other tables follow.
The same seed and scale give byte-identical files. DIR/truth.json holds the planted
failure laws, emerging issue, recall, churn probabilities, segments and every faulty row.

Examples:
  aftersight generate --scale 1 --seed 7 --out data/raw
  aftersight generate --scale 0.05 --seed 1 --out /tmp/dirty --dirt 0.01 --format ndjson"
    )]
    Generate {
        /// Size (1.0: about 100,000 vehicles).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output directory (replaced atomically if it holds an earlier export).
        #[arg(long)]
        out: PathBuf,
        /// Export file format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Fraction of rows followed by a planted faulty row.
        #[arg(long, default_value_t = 0.0)]
        dirt: f64,
        /// How to print the summary.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        summary: SummaryFormat,
    },
    /// Weibull fits with censoring, Kaplan-Meier and MCF: of the fleet, or of any table of lives.
    Reliability(cli_models::ReliabilityCommand),
    /// Train a failure or churn model, evaluate it on a later window and save it.
    Train(cli_models::TrainCommand),
    /// Grid search with stratified cross-validation.
    Tune(cli_models::TuneCommand),
    /// Segment customers with k-means and describe the segments.
    Segment(cli_models::SegmentCommand),
    /// List saved models or mark a champion.
    Models(cli_models::ModelsCommand),
    /// Score the fleet or customers with a saved model into a Parquet dataset.
    Predict(cli_models::PredictCommand),
    /// Draw one chart (PNG or SVG) from a library query, SQL or a CSV/Parquet file.
    Chart(cli_charts::ChartCommand),
    /// Write the one-page executive summary (HTML, charts inline) for a month.
    Summary(cli_charts::SummaryCommand),
}

/// How a command prints its summary.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SummaryFormat {
    /// Aligned text for people.
    Table,
    /// JSON for schedulers and scripts.
    Json,
}

/// Exit code for rejected input (too many bad rows).
const EXIT_REJECTED: u8 = 3;
/// Exit code for a report period without data.
const EXIT_NO_DATA: u8 = 4;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A reader that stops early (`| head`) is not a failure.
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            let rejected = err
                .chain()
                .any(|e| matches!(e.downcast_ref(), Some(IngestError::TooManyBad { .. })));
            let no_data = err
                .chain()
                .any(|e| matches!(e.downcast_ref(), Some(ReportError::NoData { .. })));
            ExitCode::from(if rejected {
                EXIT_REJECTED
            } else if no_data {
                EXIT_NO_DATA
            } else {
                1
            })
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Reliability(cmd) => cli_models::reliability(cmd).await?,
        Command::Train(cmd) => cli_models::train(cmd).await?,
        Command::Tune(cmd) => cli_models::tune(cmd).await?,
        Command::Segment(cmd) => cli_models::segment(cmd).await?,
        Command::Models(cmd) => cli_models::models(cmd)?,
        Command::Predict(cmd) => cli_models::predict(cmd).await?,
        Command::Chart(cmd) => cli_charts::chart(cmd).await?,
        Command::Summary(cmd) => cli_charts::summary(cmd).await?,
        Command::Ingest {
            from,
            warehouse,
            encoding,
            max_bad_fraction,
            format,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&max_bad_fraction),
                "--max-bad-fraction must be between 0 and 1, got {max_bad_fraction}"
            );
            let config = IngestConfig {
                inputs: from,
                warehouse,
                encoding,
                max_bad_fraction,
                progress,
                chunk_bytes: CHUNK_BYTES,
                memory_budget: ingest::layout::MEMORY_BUDGET,
            };
            match ingest::ingest(&config).await {
                Ok(report) => print_ingest(&report, format)?,
                Err(err) => {
                    if let IngestError::TooManyBad { report, .. } = &err {
                        print_ingest(report, format)?;
                    }
                    return Err(err.into());
                }
            }
        }
        Command::Sql {
            statement,
            file,
            query,
            warehouse,
            predictions,
            queries,
            params,
            format,
            output,
            explain,
        } => {
            let (sql, bound) = match (statement, file, query) {
                (Some(sql), None, None) => (sql, sqlmod::bind_untyped(&params)),
                (None, Some(path), None) => {
                    let sql = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading `{}`", path.display()))?;
                    (sql, sqlmod::bind_untyped(&params))
                }
                (None, None, Some(name)) => {
                    let q = library::find(&queries, &name)?;
                    let bound = q.bind(&params)?;
                    (q.sql, bound)
                }
                _ => anyhow::bail!("give a statement, --file FILE or --query NAME"),
            };
            let ctx = sqlmod::open(&warehouse, &SessionSettings::default()).await?;
            sqlmod::register_predictions(&ctx, &predictions).await?;
            let df = sqlmod::plan(&ctx, &sql, bound).await?;
            if explain {
                let plan = df.explain(false, false)?.collect().await?;
                output::write_text(&mut std::io::stdout().lock(), &plan, ResultFormat::Table)?;
                return Ok(());
            }
            let batches = df.collect().await?;
            match (format, output) {
                (ResultFormat::Parquet, Some(path)) => output::write_parquet(&path, &batches)?,
                (ResultFormat::Parquet, None) => {
                    anyhow::bail!("--format parquet needs --output FILE")
                }
                (f, Some(path)) => {
                    let mut file = std::fs::File::create(&path)
                        .with_context(|| format!("creating `{}`", path.display()))?;
                    output::write_text(&mut file, &batches, f)?;
                }
                (f, None) => output::write_text(&mut std::io::stdout().lock(), &batches, f)?,
            }
        }
        Command::Report {
            name,
            period,
            warehouse,
            out,
            queries,
            dry_run,
            now,
            run_due,
            format,
        } => {
            let queries = queries.or_else(|| {
                std::path::Path::new("queries")
                    .is_dir()
                    .then(|| PathBuf::from("queries"))
            });
            if name == "due" {
                let now = match now {
                    Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
                        .with_context(|| {
                            format!(
                                "--now `{t}`: expected RFC 3339, e.g. 2026-11-03T08:00:00+08:00"
                            )
                        })?
                        .with_timezone(&chrono::Utc),
                    None => chrono::Utc::now(),
                };
                let list = report::due(queries.as_deref(), &out, now)?;
                match format {
                    SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                    SummaryFormat::Table => {
                        for d in &list {
                            let owed = if d.missing_periods.is_empty() {
                                "up to date".to_owned()
                            } else {
                                format!("missing {}", d.missing_periods.join(", "))
                            };
                            println!(
                                "{:<16} {:<28} {owed}; next run {}",
                                d.report, d.schedule, d.next_run
                            );
                        }
                    }
                }
                if run_due {
                    for d in &list {
                        for p in d.missing_periods.iter().rev() {
                            let m = report::run(&ReportConfig {
                                name: d.report.clone(),
                                period: Some(p.clone()),
                                warehouse: warehouse.clone(),
                                queries: queries.clone(),
                                out: out.clone(),
                                dry_run: false,
                                settings: SessionSettings::default(),
                            })
                            .await;
                            match m {
                                Ok(m) => eprintln!(
                                    "wrote {} for {} in {}",
                                    m.report,
                                    m.period,
                                    m.directory.display()
                                ),
                                Err(ReportError::NoData { period, .. }) => {
                                    eprintln!("skipped {} for {period}: no data", d.report)
                                }
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                }
                return Ok(());
            }
            let m = report::run(&ReportConfig {
                name,
                period,
                warehouse,
                queries,
                out,
                dry_run,
                settings: SessionSettings::default(),
            })
            .await?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&m)?),
                SummaryFormat::Table => {
                    let verb = if m.dry_run { "checked" } else { "wrote" };
                    println!(
                        "{verb} report `{}` for {} (data valid through {})",
                        m.report, m.period, m.data_valid_through
                    );
                    for s in &m.sections {
                        println!("  {:<28} {:>8} rows  {}", s.query, s.rows, s.title);
                    }
                    if !m.dry_run {
                        println!("in {}", m.directory.display());
                    }
                }
            }
        }
        Command::Run(args) => cli_run::run(args, cli.quiet).await?,
        Command::Init(args) => cli_run::init(args)?,
        Command::Generate {
            scale,
            seed,
            out,
            format,
            dirt,
            summary,
        } => {
            let m = generate::generate(&GenerateConfig {
                scale,
                seed,
                format,
                dirt,
                out: out.clone(),
                progress,
            })
            .with_context(|| format!("generating into `{}`", out.display()))?;
            match summary {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&m)?),
                SummaryFormat::Table => {
                    println!(
                        "generated {} in {:.1} s (scale {scale}, seed {seed})",
                        out.display(),
                        m.elapsed_seconds
                    );
                    print_tables(
                        m.files
                            .iter()
                            .map(|f| (f.table, f.rows, f.faulty_rows, f.bytes)),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Parses `name=value`.
/// `name=value` of a `--param`.
pub(crate) fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected name=value, got `{s}`"))?;
    Ok((k.trim().to_owned(), v.to_owned()))
}

fn print_ingest(report: &IngestReport, format: SummaryFormat) -> anyhow::Result<()> {
    if let SummaryFormat::Json = format {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "{:<40} {:<16} {:>10} {:>10} {:>8}  top reasons",
        "file", "table", "read", "published", "bad"
    );
    for f in &report.files {
        let name = f.path.file_name().map_or_else(
            || f.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let reasons: Vec<String> = f
            .top_reasons
            .iter()
            .take(3)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let status = if f.status == "unchanged" {
            " (unchanged, skipped)"
        } else {
            ""
        };
        println!(
            "{:<40} {:<16} {:>10} {:>10} {:>8}  {}{status}",
            name,
            f.table,
            f.rows_read,
            f.rows_published,
            f.rows_quarantined,
            reasons.join(", ")
        );
        for note in &f.notes {
            if f.status != "unchanged" {
                println!("    note: {note}");
            }
        }
    }
    if report.published {
        println!(
            "\npublished batch {} to {}",
            report.batch,
            report.warehouse.display()
        );
    } else {
        println!("\nnothing new to publish in {}", report.warehouse.display());
    }
    println!("{:<16} {:>12} {:>12}", "table", "added", "total");
    for t in &report.tables {
        println!("{:<16} {:>12} {:>12}", t.table, t.rows_added, t.rows_total);
    }
    if report.rows_quarantined > 0 {
        println!(
            "{} rows quarantined (see {}/quarantine)",
            report.rows_quarantined,
            report.warehouse.display()
        );
    }
    if report.leftovers_removed > 0 {
        println!(
            "removed {} leftover files of an interrupted run",
            report.leftovers_removed
        );
    }
    Ok(())
}

pub(crate) fn print_tables<'a>(rows: impl Iterator<Item = (&'a str, u64, u64, u64)>) {
    println!(
        "{:<16} {:>12} {:>8} {:>10}",
        "table", "rows", "faulty", "MB"
    );
    for (table, rows, faulty, bytes) in rows {
        println!(
            "{table:<16} {rows:>12} {faulty:>8} {:>10.2}",
            bytes as f64 / 1e6
        );
    }
}
