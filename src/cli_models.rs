//! The model commands of the CLI: reliability, train, tune, segment, models
//! and predict.

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat};
use aftersight::dates::parse_date;
use aftersight::models::classifier::{Target, parse_grid};
use aftersight::models::jobs::{self, ModelName, ModelPaths};
use aftersight::models::{ResultTable, features, life, store};
use aftersight::sql::output::{self, ResultFormat};
use aftersight::sql::{self as sqlmod, SessionSettings};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the warehouse, the model store and the outputs are.
#[derive(Args, Debug, Clone)]
pub struct Locations {
    /// Warehouse directory.
    #[arg(long, default_value = "aftersight-out/warehouse")]
    pub warehouse: PathBuf,
    /// Model store.
    #[arg(long, default_value = "aftersight-out/models")]
    pub models: PathBuf,
    /// Query library with its features/ folder (default: ./queries if present, else the built-in copy).
    #[arg(long)]
    pub queries: Option<PathBuf>,
}

impl Locations {
    fn paths(&self, predictions: PathBuf) -> ModelPaths {
        ModelPaths {
            queries: features::default_dir(self.queries.as_deref()),
            models: self.models.clone(),
            predictions,
        }
    }
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
pub struct ReliabilityCommand {
    #[command(subcommand)]
    action: Option<ReliabilityAction>,
    #[command(flatten)]
    locations: Locations,
    /// Judge the fleet as of this date (default: the last day of data).
    #[arg(long)]
    as_of: Option<String>,
    /// Fewest failures for a powertrain, make or make/model/model-year fit.
    #[arg(long, default_value_t = 10)]
    min_failures: usize,
    /// Also write weibull.parquet, kaplan_meier.parquet and mcf.parquet here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
    format: ResultFormat,
}

#[derive(Subcommand, Debug)]
enum ReliabilityAction {
    /// Fit a Weibull law to any CSV or Parquet table of lives (failures and suspensions).
    Fit {
        /// The table (CSV with a header, or .parquet).
        #[arg(long)]
        input: PathBuf,
        /// Column with the time (any positive unit).
        #[arg(long)]
        time: String,
        /// Column flagging a failure (true/1) or a suspension (false/0).
        #[arg(long)]
        event: String,
        /// Column to fit separately by.
        #[arg(long)]
        group: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        /// Also draw a Weibull probability plot (with fits and 95 % bounds) to this .png or .svg.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Mean cumulative function of repairs per unit from any table of events.
    Mcf {
        /// The table: a row per event, plus a row per unit with its end of observation (event false/0).
        #[arg(long)]
        input: PathBuf,
        /// Column identifying the unit.
        #[arg(long)]
        unit: String,
        /// Column with the time.
        #[arg(long)]
        time: String,
        /// Column flagging an event (true/1) or the end of observation (false/0).
        #[arg(long)]
        event: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        /// Also draw the MCF with its 95 % bounds to this .png or .svg.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
}

fn date(s: &str) -> anyhow::Result<i32> {
    parse_date(s).with_context(|| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

fn print(table: ResultTable, format: ResultFormat) -> anyhow::Result<()> {
    if format == ResultFormat::Parquet {
        anyhow::bail!("use --format table, csv or json here (--out writes Parquet)");
    }
    output::write_text(&mut std::io::stdout().lock(), &[table.batch()], format)?;
    Ok(())
}

/// Draws a reliability chart of an input file, written atomically.
fn draw(
    kind: ChartKind,
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    columns: Columns,
    input: &std::path::Path,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(path).with_context(|| {
        format!(
            "--plot `{}`: the file name must end in .png or .svg",
            path.display()
        )
    })?;
    let source = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let title = match kind {
        ChartKind::Weibull => format!("Weibull probability plot: {source}"),
        _ => format!("Mean cumulative repairs per unit: {source}"),
    };
    let options = ChartOptions {
        title,
        subtitle: "95% confidence bounds shaded".into(),
        footer: format!("Source: {source} · aftersight"),
        ..ChartOptions::default()
    };
    let bytes = charts::render(
        kind,
        &Frame::from_batches(batches)?,
        &columns,
        &options,
        format,
    )?;
    aftersight::fsutil::write_atomically(path, &bytes)
        .with_context(|| format!("writing `{}`", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Runs `aftersight reliability`.
pub async fn reliability(cmd: ReliabilityCommand) -> anyhow::Result<()> {
    match cmd.action {
        Some(ReliabilityAction::Fit {
            input,
            time,
            event,
            group,
            format,
            plot,
        }) => {
            let batches = life::read_table(&input).await?;
            let fits = life::fit_table(&batches, &time, &event, group.as_deref())?;
            if let Some(path) = plot {
                let columns = Columns {
                    x: Some(time),
                    y: vec![event],
                    series: group,
                    order: None,
                };
                draw(ChartKind::Weibull, &batches, columns, &input, &path)?;
            }
            print(life::group_fits_table(&fits), format)
        }
        Some(ReliabilityAction::Mcf {
            input,
            unit,
            time,
            event,
            format,
            plot,
        }) => {
            let batches = life::read_table(&input).await?;
            let units = life::units_from(&batches, &unit, &time, &event)?;
            let points = aftersight::models::reliability::mean_cumulative_function(&units);
            if let Some(path) = plot {
                let columns = Columns {
                    x: Some(time),
                    y: vec![event],
                    series: Some(unit),
                    order: None,
                };
                draw(ChartKind::Mcf, &batches, columns, &input, &path)?;
            }
            print(life::mcf_table(&points), format)
        }
        None => {
            let ctx = sqlmod::open(&cmd.locations.warehouse, &SessionSettings::default()).await?;
            let as_of = match &cmd.as_of {
                Some(d) => date(d)?,
                None => jobs::data_valid_through(&ctx).await?,
            };
            let queries = features::default_dir(cmd.locations.queries.as_deref());
            let fleet = life::fleet(
                &ctx,
                queries.as_deref(),
                &aftersight::dates::format_date(as_of),
                cmd.min_failures,
            )
            .await?;
            if let Some(out) = &cmd.out {
                life::write_fleet(out, &fleet)?;
            }
            print(life::fits_table(&fleet.fits), cmd.format)
        }
    }
}

/// `aftersight train`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Builds features with queries/features/TARGET.sql at two cutoffs one label window apart,
trains logistic regression and a decision tree on the earlier one, keeps the better on the later
window (ROC AUC), cross-validates it (stratified 5-fold), refits it on the later snapshot and saves
it as the next version under MODELS/TARGET/. The first version becomes the champion.

Examples:
  aftersight train churn --truth datasets/sample/truth.json   # also reports the oracle AUC
  aftersight train failure --cutoff 2026-07-31 --seed 7
  aftersight train churn --format json"
)]
pub struct TrainCommand {
    /// What to predict.
    #[arg(value_enum)]
    target: Target,
    #[command(flatten)]
    locations: Locations,
    /// Cutoff of the later snapshot (default: the last day whose label window is in the data).
    #[arg(long)]
    cutoff: Option<String>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The generator's truth.json, to report the churn oracle.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = crate::SummaryFormat::Table)]
    format: crate::SummaryFormat,
}

/// Runs `aftersight train`.
pub async fn train(cmd: TrainCommand) -> anyhow::Result<()> {
    let ctx = sqlmod::open(&cmd.locations.warehouse, &SessionSettings::default()).await?;
    let paths = cmd.locations.paths(PathBuf::new());
    let cutoff = cmd.cutoff.as_deref().map(date).transpose()?;
    let (version, report) = jobs::train_classifier(
        &ctx,
        &paths,
        cmd.target,
        cutoff,
        cmd.seed,
        cmd.truth.as_deref(),
    )
    .await?;
    match cmd.format {
        crate::SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        crate::SummaryFormat::Table => {
            println!(
                "{} model {version}: {} trained on {} rows (features to {})",
                cmd.target.name(),
                report.algorithm.describe(),
                report.rows,
                report.train_cutoff
            );
            println!(
                "\ntime split (trained to {}, evaluated on the later window):",
                report.earlier_cutoff
            );
            for c in &report.time_split {
                println!(
                    "  {:<32} ROC AUC {:.4}  PR AUC {:.4}  log loss {:.4}  Brier {:.4}",
                    c.algorithm.describe(),
                    c.evaluation.roc_auc,
                    c.evaluation.pr_auc,
                    c.evaluation.log_loss,
                    c.evaluation.brier
                );
            }
            let cv = &report.cross_validation;
            println!(
                "\n5-fold stratified CV: ROC AUC {:.4}  PR AUC {:.4}  log loss {:.4}  Brier {:.4}  ({} rows, {:.1} % positive)",
                cv.roc_auc,
                cv.pr_auc,
                cv.log_loss,
                cv.brier,
                cv.rows,
                100.0 * cv.positive_rate
            );
            let c = &cv.confusion;
            println!(
                "confusion at {:.3}: TP {} FP {} TN {} FN {} (precision {:.3}, recall {:.3})",
                c.threshold,
                c.true_positive,
                c.false_positive,
                c.true_negative,
                c.false_negative,
                c.precision,
                c.recall
            );
            println!(
                "lift by decile: {}",
                cv.lift
                    .iter()
                    .map(|d| format!("{:.2}", d.lift))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            if let Some(o) = &report.oracle {
                println!(
                    "oracle ROC AUC {:.4} (defection probability alone {:.4}); model minus oracle {:+.4}",
                    o.roc_auc, o.defection_only_auc, o.gap
                );
            }
            println!("\npermutation importance (ROC AUC drop):");
            let mut imp = report.importance.clone();
            imp.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (name, v) in imp {
                println!("  {name:<28} {v:+.4}");
            }
        }
    }
    Ok(())
}

/// `aftersight tune`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Grid search with stratified k-fold cross-validation on the latest labelled snapshot.
Logistic regression takes `c` (inverse regularisation, as in scikit-learn); the decision tree
takes `max_depth` and `min_leaf`. Results are sorted best first.

Examples:
  aftersight tune churn --grid \"c=0.01,0.1,1,10\"
  aftersight tune failure --grid \"max_depth=4,6,8 min_leaf=20,100\" --format csv"
)]
pub struct TuneCommand {
    /// What to predict.
    #[arg(value_enum)]
    target: Target,
    /// The grid, e.g. `c=0.1,1,10` or `max_depth=4,6 min_leaf=20,50`.
    #[arg(long)]
    grid: String,
    /// Folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[command(flatten)]
    locations: Locations,
    /// Cutoff of the snapshot (default: the last day whose label window is in the data).
    #[arg(long)]
    cutoff: Option<String>,
    /// Seed of the folds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
    format: ResultFormat,
}

/// Runs `aftersight tune`.
pub async fn tune(cmd: TuneCommand) -> anyhow::Result<()> {
    let grid = parse_grid(&cmd.grid).map_err(|e| anyhow::anyhow!("--grid: {e}"))?;
    if cmd.folds < 2 {
        anyhow::bail!("--folds must be at least 2");
    }
    let ctx = sqlmod::open(&cmd.locations.warehouse, &SessionSettings::default()).await?;
    let paths = cmd.locations.paths(PathBuf::new());
    let cutoff = cmd.cutoff.as_deref().map(date).transpose()?;
    let rows = jobs::tune(&ctx, &paths, cmd.target, &grid, cmd.folds, cutoff, cmd.seed).await?;
    print(jobs::tune_table(&rows), cmd.format)?;
    if cmd.format == ResultFormat::Table
        && let Some(best) = rows.first()
    {
        println!("best: {}", best.algorithm.describe());
    }
    Ok(())
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
pub struct SegmentCommand {
    #[command(flatten)]
    locations: Locations,
    /// Number of segments (default: chosen by silhouette).
    #[arg(long)]
    k: Option<usize>,
    /// Cutoff of the features (default: the last day of data).
    #[arg(long)]
    cutoff: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The generator's truth.json, to compare with the planted segments.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = crate::SummaryFormat::Table)]
    format: crate::SummaryFormat,
}

/// Runs `aftersight segment`.
pub async fn segment(cmd: SegmentCommand) -> anyhow::Result<()> {
    let ctx = sqlmod::open(&cmd.locations.warehouse, &SessionSettings::default()).await?;
    let paths = cmd.locations.paths(PathBuf::new());
    let cutoff = cmd.cutoff.as_deref().map(date).transpose()?;
    let (version, model, report) =
        jobs::train_segments(&ctx, &paths, cutoff, cmd.k, cmd.seed, cmd.truth.as_deref()).await?;
    match cmd.format {
        crate::SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "version": version, "report": report, "segments": model.segments
            }))?
        ),
        crate::SummaryFormat::Table => {
            println!(
                "segments {version}: k = {} over {} customers (features to {})",
                report.k, report.customers, report.cutoff
            );
            println!(
                "silhouette by k: {}",
                report
                    .silhouette_by_k
                    .iter()
                    .map(|(k, s)| format!("{k}: {s:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(ari) = report.adjusted_rand_index {
                println!("adjusted Rand index against the planted segments: {ari:.3}");
            }
            for (s, planted) in model.segments.iter().zip(&report.planted_majority) {
                println!(
                    "  segment {} ({} customers{}): {}",
                    s.segment,
                    s.customers,
                    planted
                        .as_ref()
                        .map(|p| format!(", mostly planted `{p}`"))
                        .unwrap_or_default(),
                    s.description
                );
            }
        }
    }
    Ok(())
}

/// `aftersight models`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  aftersight models list
  aftersight models champion churn v3")]
pub struct ModelsCommand {
    #[command(subcommand)]
    action: ModelsAction,
    /// Model store.
    #[arg(long, global = true, default_value = "aftersight-out/models")]
    models: PathBuf,
}

#[derive(Subcommand, Debug)]
enum ModelsAction {
    /// Every saved version, with its metrics and the champion.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
    },
    /// Mark the version that `predict` uses.
    Champion {
        /// Model name (failure, churn, segments).
        name: String,
        /// Version, e.g. v2.
        version: String,
    },
}

/// Runs `aftersight models`.
pub fn models(cmd: ModelsCommand) -> anyhow::Result<()> {
    match cmd.action {
        ModelsAction::List { format } => print(store::list(&cmd.models)?, format),
        ModelsAction::Champion { name, version } => {
            store::set_champion(&cmd.models, &name, &version)?;
            println!("{name}: champion is now {version}");
            Ok(())
        }
    }
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
pub struct PredictCommand {
    /// Model to score with.
    #[arg(value_enum)]
    name: ModelName,
    #[command(flatten)]
    locations: Locations,
    /// Output root (predictions go to OUT/predictions/NAME).
    #[arg(long, default_value = "aftersight-out")]
    out: PathBuf,
    /// Cutoff of the features (default: the last day of data).
    #[arg(long)]
    cutoff: Option<String>,
}

/// Runs `aftersight predict`.
pub async fn predict(cmd: PredictCommand) -> anyhow::Result<()> {
    let ctx = sqlmod::open(&cmd.locations.warehouse, &SessionSettings::default()).await?;
    let paths = cmd.locations.paths(cmd.out.join("predictions"));
    let cutoff = cmd.cutoff.as_deref().map(date).transpose()?;
    let m = jobs::predict(&ctx, &paths, cmd.name, cutoff).await?;
    println!(
        "{} {} scored {} rows (features to {}) into {}",
        m.model,
        m.version,
        m.rows,
        m.cutoff,
        paths.predictions.join(&m.model).join(&m.file).display()
    );
    Ok(())
}
