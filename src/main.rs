//! The `aftersight` command line: parses arguments, calls the library, prints
//! results and maps outcomes to exit codes (0 success, 1 failure, 2 usage).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use aftersight::generate::export::ExportFormat;
use aftersight::generate::{self, GenerateConfig};
use aftersight::pipeline::{self, RunConfig};

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
    #[command(after_long_help = "Examples:
  aftersight run                       # bundled sample, outputs under ./aftersight-out
  aftersight run --raw exports/2026-10 --out /srv/aftersight
  aftersight run --format json         # machine-readable summary for schedulers")]
    Run {
        /// Output root.
        #[arg(long, default_value = "aftersight-out")]
        out: PathBuf,
        /// A raw export directory to start from (default: the bundled sample).
        #[arg(long)]
        raw: Option<PathBuf>,
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
}

/// How a command prints its summary.
#[derive(Clone, Copy, ValueEnum)]
enum SummaryFormat {
    /// Aligned text for people.
    Table,
    /// JSON for schedulers and scripts.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let progress = !cli.quiet;
    match cli.command {
        Command::Run { out, raw, format } => {
            let report = pipeline::run(&RunConfig {
                out: out.clone(),
                raw,
                progress,
            })?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                SummaryFormat::Table => {
                    for s in &report.stages {
                        println!(
                            "[{:<7}] {:<8} {} ({:.1} s)",
                            s.outcome, s.stage, s.detail, s.seconds
                        );
                    }
                    println!(
                        "\nraw export {} (data valid through {})",
                        report.raw_export.display(),
                        report.data_valid_through
                    );
                    print_tables(
                        report
                            .tables
                            .iter()
                            .map(|t| (t.table.as_str(), t.rows, t.faulty_rows, t.bytes)),
                    );
                    println!("\nrun manifest: {}", out.join("run.json").display());
                }
            }
        }
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

fn print_tables<'a>(rows: impl Iterator<Item = (&'a str, u64, u64, u64)>) {
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
