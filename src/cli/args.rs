//! Every clap type of the command line: one `…Args` per subcommand. The
//! library knows nothing of clap; the value enums here map onto its types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use aftersight::charts::{ChartKind, Lang};
use aftersight::ingest::DEFAULT_MAX_BAD_FRACTION;

/// Used-car after-sales market intelligence: synthetic data, a validated
/// Parquet warehouse, KPIs, models, charts and reports, in one binary.
#[derive(Parser)]
#[command(name = "aftersight", version, propagate_version = true)]
#[command(
    after_long_help = "Settings, highest precedence first: the command line, then the
environment (AFTERSIGHT_OUT, AFTERSIGHT_WAREHOUSE, AFTERSIGHT_RAW, AFTERSIGHT_QUERIES,
AFTERSIGHT_AS_OF, AFTERSIGHT_SEED, AFTERSIGHT_THREADS, AFTERSIGHT_MEMORY_LIMIT, AFTERSIGHT_ENGINE,
AFTERSIGHT_ENGINE_URL, AFTERSIGHT_CONFIG),
then aftersight.toml (see `aftersight init`), then the defaults. Every command reads them.

Exit codes:
  0  success
  1  the work failed (bad data or settings, a failed query, I/O, an internal error)
  2  usage error (an unknown flag, a bad flag value or combination)
  3  input rejected (too many bad rows; nothing was published)
  4  no data for the requested period (nothing was written)

Examples:
  aftersight run                                  # the main job on the bundled sample
  aftersight sql --query comeback_rate --format csv
  aftersight report due --run                     # for cron: write every report that is owed
  aftersight run --engine ballista --engine-url df://sched.internal:50050   # queries on a cluster"
)]
pub struct Cli {
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares.
#[derive(Args, Debug, Clone)]
pub struct SettingsArgs {
    /// Settings file [default: $AFTERSIGHT_CONFIG, else ./aftersight.toml if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The Parquet warehouse [default: OUT/warehouse].
    #[arg(long, global = true, value_name = "DIR")]
    pub warehouse: Option<PathBuf>,
    /// The query library [default: ./queries if present, else the copy built into the binary].
    #[arg(long, global = true, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Query partitions, one per core [default: 2].
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Memory before DataFusion spills, e.g. 4GiB [default: 4GiB].
    #[arg(long, global = true, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Header row of the CSVs (KPIs, reports, `sql --format csv`): keys, en or zh [default: keys].
    #[arg(long, global = true, value_name = "keys|en|zh")]
    pub csv_headers: Option<String>,
    /// Where queries run: local (this process), ballista (the cluster at --engine-url) or
    /// standalone (Ballista inside this process) [default: local].
    #[arg(long, global = true, value_name = "local|ballista|standalone")]
    pub engine: Option<String>,
    /// The Ballista scheduler; alone it selects --engine ballista [default: df://localhost:50050].
    #[arg(long, global = true, value_name = "df://HOST:PORT")]
    pub engine_url: Option<String>,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the main job: every stage, on the bundled sample unless told otherwise.
    Run(RunArgs),
    /// Write a commented aftersight.toml with every setting and its default.
    Init(InitArgs),
    /// Validate raw CSV / NDJSON exports into the Parquet warehouse; bad rows go to quarantine.
    Ingest(IngestArgs),
    /// Run SQL over the warehouse: ad hoc, from a file, or a named query of the KPI library.
    Sql(SqlArgs),
    /// Write a report (HTML, Markdown, CSV) for one period from a spec in queries/reports/.
    Report(ReportArgs),
    /// Generate a synthetic dealer-management-system export with planted ground truth.
    Generate(GenerateArgs),
    /// Weibull fits with censoring, Kaplan-Meier and MCF: of the fleet, or of any table of lives.
    Reliability(ReliabilityArgs),
    /// Train a failure or churn model, evaluate it on a later window and save it.
    Train(TrainArgs),
    /// Grid search with stratified cross-validation.
    Tune(TuneArgs),
    /// Export the feature table a failure or churn model trains on (CSV or Parquet).
    Features(FeaturesArgs),
    /// Segment customers with k-means and describe the segments.
    Segment(SegmentArgs),
    /// List saved models or mark a champion.
    Models(ModelsArgs),
    /// Score the fleet or customers with a saved model into a Parquet dataset.
    Predict(PredictArgs),
    /// Draw one chart (PNG or SVG) from a library query, SQL or a CSV/Parquet file.
    Chart(ChartArgs),
    /// Write the one-page executive summary (HTML, charts inline) for a month.
    Summary(SummaryArgs),
    /// Warranty intelligence: emerging-issue alarms.
    Warranty(WarrantyArgs),
    /// Start a Ballista scheduler: the cluster's planner, which `--engine ballista` connects to.
    Scheduler(SchedulerArgs),
    /// Start a Ballista executor: a cluster worker that registers with a scheduler.
    Executor(ExecutorArgs),
}

/// `aftersight scheduler`: Ballista's scheduler with Ballista's own flags.
#[derive(Args)]
#[command(
    after_long_help = "Runs until stopped (Ctrl-C or SIGTERM). Clients connect with
`--engine ballista --engine-url df://HOST:PORT`; every executor must see the warehouse (and the
output folder) at the same path as the client, on a shared file system.

Examples:
  aftersight scheduler --bind-host 0.0.0.0 --bind-port 50050
  aftersight scheduler --bind-host 127.0.0.1 --bind-port 50050 --log-dir /var/log/aftersight"
)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub ballista: ballista_scheduler::config::Config,
}

/// `aftersight executor`: Ballista's executor with Ballista's own flags.
#[derive(Args)]
#[command(
    after_long_help = "Runs until stopped (Ctrl-C or SIGTERM). The executor reads the
warehouse's Parquet files at the paths the plans name, so mount the warehouse at the same path
as on the machine that runs aftersight; --work-dir holds its shuffle files.

Examples:
  aftersight executor --scheduler-host sched.internal --scheduler-port 50050 \\
      --bind-host 0.0.0.0 --external-host worker1.internal --work-dir /var/lib/aftersight/work
  aftersight executor --scheduler-host 127.0.0.1 --bind-host 127.0.0.1 --bind-port 50051 \\
      --bind-grpc-port 50052 --bind-health-port 50053 --vcores 2 --memory-pool-size 4294967296"
)]
pub struct ExecutorArgs {
    #[command(flatten)]
    pub ballista: ballista_executor::config::Config,
}

/// How a command prints its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Aligned text for people.
    Table,
    /// JSON for schedulers and scripts.
    Json,
}

/// How a command prints result rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultFormatArg {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// Parquet (to `--output FILE`).
    Parquet,
}

impl From<ResultFormatArg> for aftersight::sql::output::ResultFormat {
    fn from(arg: ResultFormatArg) -> Self {
        use aftersight::sql::output::ResultFormat;
        match arg {
            ResultFormatArg::Table => ResultFormat::Table,
            ResultFormatArg::Csv => ResultFormat::Csv,
            ResultFormatArg::Json => ResultFormat::Json,
            ResultFormatArg::Parquet => ResultFormat::Parquet,
        }
    }
}

/// `aftersight run`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Stages: raw, ingest, kpis, reliability, warranty, report, models, summary. A stage whose inputs
have not changed since the last run (same warehouse files, queries, version and settings) is
skipped and says so; --force reruns it. OUT/run.json records every stage as it finishes (timing,
rows, fingerprint, outcome, the error of a failed stage), so an interrupted run can simply be
started again.

Examples:
  aftersight run                       # bundled sample, outputs under ./aftersight-out
  aftersight run --raw exports/2026-10 --out /srv/aftersight
  aftersight run --as-of 2026-06-30    # the data as it was at the end of June, reproducibly
  aftersight run --force -v            # rerun everything, with a log line per stage
  aftersight run --format json         # machine-readable summary for schedulers"
)]
pub struct RunArgs {
    /// Output root [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A raw export directory to start from [default: the bundled sample].
    #[arg(long, value_name = "DIR")]
    pub raw: Option<PathBuf>,
    /// See the data as it was at the end of this day (YYYY-MM-DD).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Seed of every random choice in the models [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Rerun every stage, even when its inputs have not changed.
    #[arg(long)]
    pub force: bool,
    /// A log line per stage, also on a terminal.
    #[arg(long, short)]
    pub verbose: bool,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
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
    #[arg(long, default_value = aftersight::config::FILE_NAME)]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Text encoding of the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// Decide per file: UTF-8 unless most non-ASCII records only decode as GBK.
    Auto,
    /// UTF-8, with or without BOM.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK / GB18030, common in Chinese systems.
    #[value(alias = "gb18030")]
    Gbk,
}

impl From<EncodingArg> for aftersight::ingest::source::Encoding {
    fn from(arg: EncodingArg) -> Self {
        use aftersight::ingest::source::Encoding;
        match arg {
            EncodingArg::Auto => Encoding::Auto,
            EncodingArg::Utf8 => Encoding::Utf8,
            EncodingArg::Gbk => Encoding::Gbk,
        }
    }
}

/// `aftersight ingest`.
#[derive(Args, Debug)]
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
pub struct IngestArgs {
    /// Export directories or files.
    #[arg(long = "from", required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Text encoding of the inputs.
    #[arg(long, value_enum, default_value_t = EncodingArg::Auto)]
    pub encoding: EncodingArg,
    /// Largest share of bad rows in the batch before it fails and publishes nothing (0 to 1).
    #[arg(long, default_value_t = DEFAULT_MAX_BAD_FRACTION, value_parser = parse_fraction)]
    pub max_bad_fraction: f64,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// `aftersight sql`.
#[derive(Args, Debug)]
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
  aftersight sql --query comeback_rate --explain
  aftersight sql --query rfm_scores --timing --output /dev/null   # where the time goes"
)]
pub struct SqlArgs {
    /// The statement (or use --file / --query).
    pub statement: Option<String>,
    /// Read the statement from a file.
    #[arg(short = 'f', long, conflicts_with_all = ["statement", "query"])]
    pub file: Option<PathBuf>,
    /// Run a named query of the library.
    #[arg(long, conflicts_with = "statement")]
    pub query: Option<String>,
    /// Predictions of `aftersight predict` [default: OUT/predictions].
    #[arg(long, value_name = "DIR")]
    pub predictions: Option<PathBuf>,
    /// A parameter, `name=value` (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
    /// Write to this file instead of standard output (required for parquet).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Show the query plan instead of running it.
    #[arg(long)]
    pub explain: bool,
    /// Print on standard error how long opening the warehouse, planning and
    /// running took.
    #[arg(long)]
    pub timing: bool,
}

/// `aftersight report`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_long_help = "Outputs go to OUT/reports/NAME/period=YYYY-MM/ (report.html, report.md, one CSV per
section, manifest.json), staged and renamed into place: re-running a period replaces only that
period. A lock keeps overlapping runs of one report apart. Without --period the report covers
the month the data is valid through.

Exit codes: 0 written, 4 no data for the period (nothing written), 1 failure.

Examples:
  aftersight report monthly --period 2026-10
  aftersight report monthly --dry-run                 # check the spec and plan every query
  aftersight report monthly --period 2026-09 --format json
  aftersight report due --run                         # cron: write every period that is owed"
)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub due: Option<ReportAction>,
    /// Report name: the spec queries/reports/NAME.toml.
    #[arg(required = true)]
    pub name: Option<String>,
    /// Period, YYYY-MM.
    #[arg(long)]
    pub period: Option<String>,
    /// Output root [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Validate the spec and plan every query; run nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// `aftersight report due`.
#[derive(Subcommand, Debug)]
pub enum ReportAction {
    /// List the reports whose schedule owes a period, and with --run write them.
    Due(DueArgs),
}

/// `aftersight report due`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  aftersight report due
  aftersight report due --run                          # in cron, after `aftersight run`
  aftersight report due --now 2026-11-03T08:00:00+08:00 --format json")]
pub struct DueArgs {
    /// The time to judge by (RFC 3339) [default: now].
    #[arg(long)]
    pub now: Option<String>,
    /// Also write every missing period, oldest first.
    #[arg(long = "run")]
    pub run: bool,
    /// Output root [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How to print the list.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// Comma-separated values with a header line.
    Csv,
    /// Newline-delimited JSON objects.
    Ndjson,
}

impl From<ExportFormatArg> for aftersight::generate::export::ExportFormat {
    fn from(arg: ExportFormatArg) -> Self {
        use aftersight::generate::export::ExportFormat;
        match arg {
            ExportFormatArg::Csv => ExportFormat::Csv,
            ExportFormatArg::Ndjson => ExportFormat::Ndjson,
        }
    }
}

/// `aftersight generate`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Scale 1 is about 100,000 vehicles and 1,000,000 repair orders; other tables follow.
The same seed and scale give byte-identical files. DIR/truth.json holds the planted
failure laws, emerging issue, recall, churn probabilities, segments and every faulty row.

Examples:
  aftersight generate --scale 1 --seed 7 --out data/raw
  aftersight generate --scale 0.05 --seed 1 --out /tmp/dirty --dirt 0.01 --format ndjson
  aftersight generate --scale 1 --seed 3 --out /tmp/quiet --no-emerging-issue
  aftersight generate --scale 1 --out /tmp/weak --emerging-onset 2026-01 --emerging-strength 0.5"
)]
pub struct GenerateArgs {
    /// Size (1.0: about 100,000 vehicles).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (replaced atomically if it holds an earlier export).
    #[arg(long)]
    pub out: PathBuf,
    /// Export file format.
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Csv)]
    pub format: ExportFormatArg,
    /// Fraction of rows followed by a planted faulty row.
    #[arg(long, default_value_t = 0.0)]
    pub dirt: f64,
    /// Plant no emerging quality issue (to measure false alarms).
    #[arg(long, conflicts_with_all = ["emerging_onset", "emerging_strength"])]
    pub no_emerging_issue: bool,
    /// First month of the planted emerging issue, YYYY-MM [default: 2025-05].
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_period)]
    pub emerging_onset: Option<aftersight::dates::Period>,
    /// Strength of the planted emerging issue, relative to the default of 0.02 extra failures per vehicle-month.
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        allow_hyphen_values = true
    )]
    pub emerging_strength: f64,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub summary: SummaryFormat,
}

/// The model store, for the model commands.
#[derive(Args, Debug, Clone)]
pub struct ModelStoreArgs {
    /// Model store [default: OUT/models].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// `aftersight reliability`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = "Without a subcommand: Weibull fits of the fleet in the warehouse, per component and per
component and powertrain, make, or make/model/model year, in months in service and in thousand km; the time to each vehicle's first
failure of a component is a failure, vehicles without one are suspensions at --as-of. Failures
are known to the day, so the fits in months treat each one as happening within its day
(grouped data). With
--out DIR it also writes weibull, kaplan_meier and mcf (repairs per vehicle) as Parquet.

Examples:
  aftersight reliability --as-of 2025-10-31
  aftersight reliability --format csv > weibull.csv
  aftersight reliability fit --input bench_test.csv --time hours --event failed --group supplier --plot weibull.png
  aftersight reliability mcf --input repairs.parquet --unit vin --time months --event repair --plot mcf.svg"
)]
pub struct ReliabilityArgs {
    #[command(subcommand)]
    pub action: Option<ReliabilityAction>,
    /// Judge the fleet as of this date (default: the last day of data).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Fewest failures for a powertrain, make or make/model/model-year fit.
    #[arg(long, default_value_t = 10)]
    pub min_failures: usize,
    /// Also write weibull.parquet, kaplan_meier.parquet and mcf.parquet here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
}

/// The subcommands of `aftersight reliability`.
#[derive(Subcommand, Debug)]
pub enum ReliabilityAction {
    /// Fit a Weibull law to any CSV or Parquet table of lives (failures and suspensions).
    Fit(FitArgs),
    /// Mean cumulative function of repairs per unit from any table of events.
    Mcf(McfArgs),
}

/// `aftersight reliability fit`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "The table has one row per unit: its life in --time (a finite number above 0) and
in --event 1 or true for a failure, 0 or false for a suspension (any case; nothing else). A fit
needs failures at 2 or more distinct times. Every rejected value is named by file, line (the
header is line 1; a Parquet file's rows count the same way) and column.

Exit codes: 0 every requested fit was made (with --group, at least one group was fitted; the
others are reported on standard error and in the `note` column), 1 the file cannot be read,
3 the table was rejected.

Examples:
  aftersight reliability fit --input bench_test.csv --time hours --event failed
  aftersight reliability fit --input lives.parquet --time km --event failed --group supplier --plot weibull.png"
)]
pub struct FitArgs {
    /// The table (CSV with a header, or .parquet), one row per unit.
    #[arg(long)]
    pub input: PathBuf,
    /// Column with the life: a finite number above 0, in any unit.
    #[arg(long)]
    pub time: String,
    /// Column with the event: exactly 1 or true (failure), 0 or false (suspension), in any case.
    #[arg(long)]
    pub event: String,
    /// Text column to fit separately by; groups that cannot be fitted are reported and the rest fitted.
    #[arg(long)]
    pub group: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
    /// Also draw a Weibull probability plot (with fits and 95 % bounds) to this .png or .svg.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `aftersight reliability mcf`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "The table has a row per repair (--event 1 or true) and one row per unit at its end of
observation (--event 0 or false), with the unit's age in --time (a finite number of at least 0).
A repair after its unit's end, a second end row, and a unit without one (unless
--end-at-last-event) are rejected, naming the file, line (the header is line 1) and column.

Exit codes: 0 the MCF was computed, 1 the file cannot be read, 3 the table was rejected.

Examples:
  aftersight reliability mcf --input repairs.csv --unit vin --time months --event repair
  aftersight reliability mcf --input repairs.csv --unit vin --time km --event repair --end-at-last-event --plot mcf.svg"
)]
pub struct McfArgs {
    /// The table (CSV with a header, or .parquet): a row per repair, plus one row per unit with its end of observation.
    #[arg(long)]
    pub input: PathBuf,
    /// Text column identifying the unit.
    #[arg(long)]
    pub unit: String,
    /// Column with the age at the repair or at the end: a finite number of at least 0; no repair after its unit's end.
    #[arg(long)]
    pub time: String,
    /// Column with the event: exactly 1 or true (a repair), 0 or false (the end of observation), in any case.
    #[arg(long)]
    pub event: String,
    /// A unit without an end row ends at its last repair (without this flag, such a unit is an error).
    #[arg(long)]
    pub end_at_last_event: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
    /// Also draw the MCF with its 95 % bounds to this .png or .svg.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// What a classifier predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// A component fails in the next 90 days (per vehicle and component).
    Failure,
    /// A customer makes no visit in the next 12 months.
    Churn,
}

impl From<TargetArg> for aftersight::models::classifier::Target {
    fn from(arg: TargetArg) -> Self {
        use aftersight::models::classifier::Target;
        match arg {
            TargetArg::Failure => Target::Failure,
            TargetArg::Churn => Target::Churn,
        }
    }
}

/// A saved model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelNameArg {
    /// Failure in the next 90 days, per vehicle and component.
    Failure,
    /// No visit in the next 12 months, per customer.
    Churn,
    /// Customer segments.
    Segments,
}

impl From<ModelNameArg> for aftersight::models::jobs::ModelName {
    fn from(arg: ModelNameArg) -> Self {
        use aftersight::models::jobs::ModelName;
        match arg {
            ModelNameArg::Failure => ModelName::Failure,
            ModelNameArg::Churn => ModelName::Churn,
            ModelNameArg::Segments => ModelName::Segments,
        }
    }
}

/// `aftersight train`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Builds features with queries/features/TARGET.sql at two cutoffs one label window apart,
trains logistic regression, a decision tree and gradient-boosted trees on the earlier one, keeps the
best on the later window (ROC AUC), cross-validates it (stratified 5-fold, folds grouped by vehicle or
customer), refits it on the later snapshot and saves it as the next version under MODELS/TARGET/.
The first version becomes the champion (`models champion` chooses another).

Examples:
  aftersight train churn --truth datasets/sample/truth.json   # also reports the oracle AUC
  aftersight train failure --truth datasets/sample/truth.json # the failure laws' oracle
  aftersight train failure --cutoff 2026-07-31 --seed 7
  aftersight train churn --format json"
)]
pub struct TrainArgs {
    /// What to predict.
    #[arg(value_enum)]
    pub target: TargetArg,
    #[command(flatten)]
    pub store: ModelStoreArgs,
    /// Cutoff of the later snapshot (default: the last day whose label window is in the data).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Seed of every random choice [default: the configured seed, else 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// The generator's truth.json, to report the oracle: the best ROC AUC the planted truth allows.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// `aftersight tune`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Grid search with stratified k-fold cross-validation on the latest labelled snapshot.
Logistic regression takes `c` (inverse regularisation, as in scikit-learn); the decision tree
takes `max_depth` and `min_leaf`; boosted trees take `iterations`, `learning_rate`, `max_depth` and
`min_leaf`. Results are sorted best first.

Examples:
  aftersight tune churn --grid \"c=0.01,0.1,1,10\"
  aftersight tune failure --grid \"max_depth=4,6,8 min_leaf=20,100\" --format csv"
)]
pub struct TuneArgs {
    /// What to predict.
    #[arg(value_enum)]
    pub target: TargetArg,
    /// The grid, e.g. `c=0.1,1,10` or `max_depth=4,6 min_leaf=20,50`.
    #[arg(long)]
    pub grid: String,
    /// Folds (at least 2).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..))]
    pub folds: u64,
    #[command(flatten)]
    pub store: ModelStoreArgs,
    /// Cutoff of the snapshot (default: the last day whose label window is in the data).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Seed of the folds [default: the configured seed, else 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
}

/// `aftersight segment`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "k-means on the standardised features of queries/features/segments.sql (customers with a
visit in the two years to the cutoff). Without --k, k runs from 2 to 8 and the best silhouette
wins. Each segment is described by the features where it differs most from the average.

Examples:
  aftersight segment
  aftersight segment --k 5 --truth datasets/sample/truth.json   # adjusted Rand index vs planted"
)]
pub struct SegmentArgs {
    #[command(flatten)]
    pub store: ModelStoreArgs,
    /// Number of segments (default: chosen by silhouette).
    #[arg(long)]
    pub k: Option<usize>,
    /// Cutoff of the features (default: the last day of data).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Seed [default: the configured seed, else 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// The generator's truth.json, to compare with the planted segments.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// `aftersight models`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  aftersight models list
  aftersight models champion churn v3
  aftersight models champion failure --by roc_auc   # the best on its later window")]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: ModelsAction,
    /// Model store [default: OUT/models].
    #[arg(long, global = true, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// The subcommands of `aftersight models`.
#[derive(Subcommand, Debug)]
pub enum ModelsAction {
    /// Every saved version, with its metrics and the champion.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
        format: ResultFormatArg,
    },
    /// Mark the version that `predict` uses: a named version, or the best by a metric.
    Champion {
        /// Model name.
        #[arg(value_enum)]
        name: ModelNameArg,
        /// Version, e.g. v2.
        #[arg(
            value_name = "VERSION",
            required_unless_present = "by",
            conflicts_with = "by"
        )]
        model_version: Option<String>,
        /// Promote the failure or churn version with the best value of this metric on its later
        /// window (fitted on the earlier snapshot of its run, scored on data it never saw).
        #[arg(long, value_enum)]
        by: Option<MetricArg>,
    },
}

/// A metric a champion can be chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// ROC AUC (higher is better).
    #[value(name = "roc_auc")]
    RocAuc,
    /// Average precision (higher is better).
    #[value(name = "pr_auc")]
    PrAuc,
    /// Log loss (lower is better).
    #[value(name = "log_loss")]
    LogLoss,
    /// Brier score (lower is better).
    #[value(name = "brier")]
    Brier,
}

impl From<MetricArg> for aftersight::models::store::Metric {
    fn from(arg: MetricArg) -> Self {
        use aftersight::models::store::Metric;
        match arg {
            MetricArg::RocAuc => Metric::RocAuc,
            MetricArg::PrAuc => Metric::PrAuc,
            MetricArg::LogLoss => Metric::LogLoss,
            MetricArg::Brier => Metric::Brier,
        }
    }
}

/// `aftersight features`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Writes the snapshot a model trains on: identifier columns, every feature (for failure,
also law_p_months, law_p_km and law_p from the Weibull fits as of the cutoff) and the label, one row
per vehicle and component (failure) or customer (churn). The file is written atomically; its
extension (.csv or .parquet) chooses the format.

Examples:
  aftersight features failure --output failure.parquet
  aftersight features churn --cutoff 2025-10-31 --output churn.csv"
)]
pub struct FeaturesArgs {
    /// What the model predicts.
    #[arg(value_enum)]
    pub target: TargetArg,
    /// Cutoff of the snapshot (default: the latest whose label window has ended).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// The file to write, .csv or .parquet.
    #[arg(long)]
    pub output: PathBuf,
}

/// `aftersight predict`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Scores the current fleet (failure), customer base (churn) or customers (segments) with
the champion model and publishes OUT/predictions/NAME/predictions.parquet with a manifest,
highest risk first; SQL, DuckDB and reports can read it.

Examples:
  aftersight predict churn
  aftersight predict failure --cutoff 2026-10-31 --out /srv/aftersight"
)]
pub struct PredictArgs {
    /// Model to score with.
    #[arg(value_enum)]
    pub name: ModelNameArg,
    #[command(flatten)]
    pub store: ModelStoreArgs,
    /// Output root (predictions go to OUT/predictions/NAME) [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Cutoff of the features (default: the last day of data).
    #[arg(long)]
    pub cutoff: Option<String>,
}

/// `aftersight chart`.
#[derive(Args, Debug)]
#[command(after_long_help = "Chart types:
  line, area, bar, stacked-bar   categories on x (months sort in time order); one or more --y
                                 columns, or one --y split by --series; duplicates are summed
  ranked-bar                     --x labels, --y value; largest first, top 20
  heatmap                        --x columns, --series rows, --y value
  weibull, kaplan-meier          --x time, --y failed flag, --series group
  mcf                            --x time, --y event flag, --series unit (one row per repair,
                                 plus a row with event=false at each unit's end of observation)
  roc, pr, calibration, lift     --x label (true/false), --y score columns, --series group
  scatter                        --x and --y; or several numeric --y columns (or all numeric
                                 columns), projected on their first two principal components;
                                 --series colours the points
  histogram                      --x numeric column, optional --y weight
  box                            --y value, --x group
  tiles                          --x label, --y value,previous,last_year; optional `unit` and
                                 `better` (up/down) columns

PNG is drawn at twice --width x --height for sharp slides; SVG at that size. Chinese labels
render with the embedded font. The footer names the source and the date the data is valid through.

Examples:
  aftersight chart line --query repair_volume_by_month --x month --y repair_orders --out volume.png
  aftersight chart ranked-bar --query top_failing_components --param start=2026-01-01 --out top.svg
  aftersight chart weibull --query features/first_failures --x months --y failed --series component \\
      --sql-filter \"component IN ('transmission', 'water_pump')\" --out weibull.png
  aftersight chart roc --sql \"SELECT label, score FROM my_scores\" --out roc.png --lang zh
  aftersight chart kaplan-meier --input bench_test.csv --x hours --y failed --series supplier --out km.png")]
pub struct ChartArgs {
    /// Chart type (see below).
    #[arg(value_parser = parse_kind)]
    pub kind: ChartKind,
    /// A query of the library (`features/NAME` for a feature query).
    #[arg(long, conflicts_with_all = ["sql", "input"])]
    pub query: Option<String>,
    /// Ad-hoc read-only SQL over the warehouse.
    #[arg(long, conflicts_with = "input")]
    pub sql: Option<String>,
    /// A CSV or Parquet file instead of the warehouse. The columns the chart reads are checked:
    /// values are finite numbers, times at least 0 (above 0 for weibull), flags exactly 1/0 or
    /// true/false; a rejection names the file, line and column and exits with code 3.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Keep only the query's rows that match this SQL condition.
    #[arg(long, conflicts_with = "input")]
    pub sql_filter: Option<String>,
    /// A query parameter, `name=value` (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Column for x (categories, times, labels).
    #[arg(long)]
    pub x: Option<String>,
    /// Value columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub y: Vec<String>,
    /// Column whose values name the series.
    #[arg(long)]
    pub series: Option<String>,
    /// Numeric column that orders the categories (default: first appearance; months sort by time).
    #[arg(long)]
    pub order: Option<String>,
    /// Title (default: the query's title).
    #[arg(long)]
    pub title: Option<String>,
    /// Subtitle (default: the query's parameters).
    #[arg(long)]
    pub subtitle: Option<String>,
    /// X axis title, with its unit.
    #[arg(long)]
    pub x_label: Option<String>,
    /// Y axis title, with its unit.
    #[arg(long)]
    pub y_label: Option<String>,
    /// Values are fractions: show them as percentages.
    #[arg(long)]
    pub percent: bool,
    /// Language of titles and the chart's own words.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    /// Width in layout pixels.
    #[arg(long, default_value_t = 960)]
    pub width: u32,
    /// Height in layout pixels.
    #[arg(long, default_value_t = 540)]
    pub height: u32,
    /// Output file: .png or .svg.
    #[arg(long)]
    pub out: PathBuf,
    /// Predictions, queryable as NAME_predictions [default: OUT/predictions].
    #[arg(long, value_name = "DIR")]
    pub predictions: Option<PathBuf>,
}

/// `aftersight summary`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "One self-contained HTML page for a month: headline KPIs against the previous month and
the same month last year, the revenue trend, emerging quality risks (with Weibull B10 lives from
`aftersight run`'s reliability stage), customers and segments most at risk of churn (from the
churn and segment predictions), and the station scorecard. Charts are inline PNGs.
Written to OUT/executive/period=YYYY-MM/summary.html (summary.zh.html with --lang zh).

Examples:
  aftersight summary                         # the month the data is valid through
  aftersight summary --period 2026-09 --lang zh
  aftersight summary --format json           # headline numbers for a scheduler or a bot"
)]
pub struct SummaryArgs {
    /// Month `YYYY-MM` (default: the month the data is valid through).
    #[arg(long)]
    pub period: Option<String>,
    /// Language of the page.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    /// Output root: predictions/ and reliability/ are read from it, executive/ written to it [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How to print what was written.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

/// `aftersight warranty`.
#[derive(Args, Debug)]
pub struct WarrantyArgs {
    #[command(subcommand)]
    pub action: WarrantyAction,
}

/// The subcommands of `aftersight warranty`.
#[derive(Subcommand, Debug)]
pub enum WarrantyAction {
    /// Emerging-issue alarms: cohorts whose component failures run above their peers', with false-discovery control.
    Alerts(AlertsArgs),
    /// Fit a Nevada chart (shipments and returns, from a spreadsheet) and forecast its returns.
    Nevada(NevadaArgs),
    /// The months-in-service triangle: vehicles at risk, claims, repairs and cost per cohort and month in service.
    Triangle(OutlookArgs),
    /// Claims forecast and warranty reserve from the fitted life laws, with a backtest when the data allows.
    Forecast(OutlookArgs),
    /// Parts demand per station, component and month, and the stock that meets it with 95 % probability.
    Parts(OutlookArgs),
}

/// `aftersight warranty triangle|forecast|parts`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "All three read the warehouse as it was at the end of --as-of (default: the last day of
data) and write the whole outlook (triangle, forecast, reserve, parts demand, the laws used) as
Parquet with a manifest.json under OUT/warranty/outlook/, or OUT/warranty/as_of=DATE/ with --as-of.

Exposure: a vehicle is at risk while covered: factory cover from first registration (each make's
months and km; a traction battery 96 months / 150,000 km), certified-used cover 12 months /
+20,000 km from the sale, extended cover for the months bought, up to 200,000 km; a sale ends the
previous owner's covers. Mileage limits are reached on the day the vehicle's odometer estimate
says (its readings interpolated, then its current owner's pace). Each day counts under the first
cover that applies (factory, certified, extended), as claims are booked.

Forecast: per component a Weibull law of the time to failure, in months or in km (the one whose
likelihood of the months in service is higher), per make and powertrain with 50 or more failures;
conditional on each part's age since its last repair, with renewals; failures while covered turn
into claims at the component's observed claims per failure and cost its mean paid claim.
90 % intervals: the delta method for the laws' parameters, then a negative binomial count (Poisson
noise plus parameter variance); the reserve's interval adds the spread of claim amounts (gamma).
When the warehouse has months after --as-of, each is compared with the claims booked then by the
fleet of --as-of. Parts stock: the 95 % Poisson quantile of the expected orders at the station
each vehicle visits most.

Examples:
  aftersight warranty triangle --format csv > triangle.csv
  aftersight warranty forecast --horizon 12
  aftersight warranty forecast --as-of 2025-10-31 --horizon 6 --format json
  aftersight warranty forecast --as-of 2025-10-31 --truth raw/truth.json
  aftersight warranty parts --horizon 3"
)]
pub struct OutlookArgs {
    /// Read the warehouse as of the end of this day (default: the last day of data).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Months to forecast month by month (parts: months of demand).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// The generator's truth.json: leave out the vehicles whose owner defected (the planted
    /// churn: no visit to the network after its cutoff), to see what their leaving did to a backtest.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Output root: the outlook goes to OUT/warranty/ [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
}

/// `aftersight warranty nevada`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "The CSV has a column `period` (the shipment period, YYYY-MM), a column `shipped`
(units) and one column per later return period, named by its YYYY-MM label, holding the returns
counted in that period for that shipment (blank where not yet observed, or in periods up to the
shipment's own). A return j periods after shipment is a failure at age j; the units not returned
are suspensions at the age of the shipment's last observed period. The two-parameter Weibull law
is fitted by maximum likelihood. Each observed cell's expected returns are the units still out at
the start of its period times the fitted chance of failing in it; its error is expected minus
observed and z is the error over the sample standard deviation of all cells' errors. --forecast N
adds every shipment's expected returns for the N periods after its last observed one.

Exit codes: 0 fitted, 1 the file cannot be read, 3 the table was rejected (file, line, column and
what was expected are named) or its returns cannot be fitted.

Examples:
  aftersight warranty nevada --input shipments.csv
  aftersight warranty nevada --input shipments.csv --forecast 6 --format json > nevada.json"
)]
pub struct NevadaArgs {
    /// The Nevada table (CSV with a header).
    #[arg(long)]
    pub input: PathBuf,
    /// Periods to forecast past each shipment's last observed period.
    #[arg(long, default_value_t = 0)]
    pub forecast: u32,
    /// Output format: table, csv (cells and forecast rows) or json (beta, eta, fit, cells, forecast).
    #[arg(long, value_enum, default_value_t = NevadaFormat::Table)]
    pub format: NevadaFormat,
}

/// How `aftersight warranty nevada` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NevadaFormat {
    /// The fit, then aligned tables of the cells and the forecast.
    Table,
    /// One CSV of cells and forecast rows, told apart by `kind`.
    Csv,
    /// One JSON object.
    Json,
}

/// `aftersight warranty alerts`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "A cell is a cohort (make, model, model year, powertrain) and a component it carries. Its
failures in the last --window months (a vehicle counts once a month) are compared with its
vehicle-months at risk times its peers' failure rate at the same months in service (3-month bands,
the peers' whole history). Peers are the model's other model years, else the make's cohorts of the
powertrain, else the powertrain's: the first that has lived through every age the cohort is at.
The cohort is never its own baseline. Each cell gets a quasi-Poisson p-value (counts divided by
the cells' median dispersion); Benjamini-Hochberg at --q across all cells with at least
--min-expected expected and --min-failures observed failures controls the share of false alarms.
A cell alarms when it passes with at least --min-ratio times its prediction in --persistence
consecutive months. The alarms are also written to OUT/warranty/alarms.parquet, which the
executive summary and DuckDB, pyarrow or Polars read.

Examples:
  aftersight warranty alerts
  aftersight warranty alerts --as-of 2025-10-31 --q 0.01 --format json"
)]
pub struct AlertsArgs {
    /// Judge the data as of the end of this day (default: the last day of data).
    #[arg(long)]
    pub as_of: Option<String>,
    /// False-discovery rate across all cells.
    #[arg(long, default_value_t = 0.05)]
    pub q: f64,
    /// Calendar months in the monitoring window.
    #[arg(long, default_value_t = 6)]
    pub window: i64,
    /// Fewest expected failures for a cell to be tested.
    #[arg(long, default_value_t = 0.5)]
    pub min_expected: f64,
    /// Fewest observed failures for a cell to be tested.
    #[arg(long, default_value_t = 5.0)]
    pub min_failures: f64,
    /// Smallest ratio of observed to expected failures that can alarm.
    #[arg(long, default_value_t = 1.5)]
    pub min_ratio: f64,
    /// Consecutive flagged months before an alarm is raised.
    #[arg(long, default_value_t = 2)]
    pub persistence: i64,
    /// Output root; the alarms are also written to OUT/warranty/alarms.parquet [default: aftersight-out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormatArg::Table)]
    pub format: ResultFormatArg,
}

/// `name=value` of a `--param`.
fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected name=value, got `{s}`"))?;
    Ok((k.trim().to_owned(), v.to_owned()))
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let value: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between 0 and 1, got {value}"))
    }
}

fn parse_period(s: &str) -> Result<aftersight::dates::Period, String> {
    s.parse()
}

fn parse_kind(s: &str) -> Result<ChartKind, String> {
    s.parse()
        .map_err(|e: aftersight::charts::ChartError| e.to_string())
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse::<Lang>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
