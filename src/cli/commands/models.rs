//! The model commands: `train`, `tune`, `segment`, `models` and `predict`.

use std::path::PathBuf;

use aftersight::models::classifier::{Target, parse_grid};
use aftersight::models::jobs::{self, ModelName, ModelPaths};
use aftersight::models::{features, store};
use aftersight::settings::Settings;
use aftersight::sql::output::ResultFormat;

use super::optional_date;
use crate::cli::args::{
    FeaturesArgs, ModelStoreArgs, ModelsAction, ModelsArgs, PredictArgs, SegmentArgs,
    SummaryFormat, TrainArgs, TuneArgs,
};
use crate::cli::{print, usage};

/// The feature queries, the model store and where predictions go.
fn paths(settings: &Settings, store: &ModelStoreArgs) -> ModelPaths {
    ModelPaths {
        queries: features::default_dir(settings.queries.as_deref()),
        models: store.models.clone().unwrap_or_else(|| settings.models()),
        predictions: settings.predictions(),
    }
}

/// Runs `aftersight train`.
pub async fn train(args: TrainArgs, settings: &Settings) -> anyhow::Result<()> {
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let paths = paths(settings, &args.store);
    let cutoff = optional_date("--cutoff", args.cutoff.as_deref())?;
    let target = Target::from(args.target);
    let seed = args.seed.unwrap_or(settings.seed);
    let (version, report) =
        jobs::train_classifier(&ctx, &paths, target, cutoff, seed, args.truth.as_deref()).await?;
    match args.format {
        SummaryFormat::Json => print::json(&report)?,
        SummaryFormat::Table => {
            println!(
                "{} model {version}: {} trained on {} rows (features to {})",
                target.name(),
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
                let part = match (o.defection_only_auc, o.failure_law_only_auc) {
                    (Some(d), _) => format!(" (defection probability alone {d:.4})"),
                    (_, Some(f)) => {
                        format!(" (failure laws alone, ignoring defected owners, {f:.4})")
                    }
                    _ => String::new(),
                };
                println!(
                    "oracle ROC AUC {:.4}{part}; model minus oracle {:+.4}",
                    o.roc_auc, o.gap
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

/// Runs `aftersight features`: the snapshot a model trains on, to a file.
pub async fn features(args: FeaturesArgs, settings: &Settings) -> anyhow::Result<()> {
    let parquet = match args.output.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("parquet") => true,
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        _ => usage!(
            "--output `{}`: the file name must end in .csv or .parquet",
            args.output.display()
        ),
    };
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let target = Target::from(args.target);
    let cutoff = match optional_date("--cutoff", args.cutoff.as_deref())? {
        Some(day) => day,
        None => target.latest_labelled_cutoff(jobs::data_valid_through(&ctx).await?),
    };
    let queries = features::default_dir(settings.queries.as_deref());
    let table =
        aftersight::models::classifier::snapshot(&ctx, queries.as_deref(), target, cutoff).await?;
    let batch = table.to_result_table().batch();
    let path = &args.output;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let tmp = dir
        .unwrap_or(std::path::Path::new("."))
        .join(format!(".features.tmp-{}", std::process::id()));
    if parquet {
        aftersight::sql::output::write_parquet(&tmp, &[batch])?;
    } else {
        let mut bytes = Vec::new();
        aftersight::sql::output::write_text(&mut bytes, &[batch], ResultFormat::Csv)?;
        std::fs::write(&tmp, bytes)?;
    }
    std::fs::rename(&tmp, path)?;
    eprintln!(
        "wrote {} rows of {} features (cutoff {}) to {}",
        table.len(),
        table.names.len(),
        aftersight::dates::format_date(cutoff),
        path.display()
    );
    Ok(())
}

/// Runs `aftersight tune`.
pub async fn tune(args: TuneArgs, settings: &Settings) -> anyhow::Result<()> {
    let grid = match parse_grid(&args.grid) {
        Ok(grid) => grid,
        Err(e) => usage!("--grid: {e}"),
    };
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let paths = paths(settings, &args.store);
    let cutoff = optional_date("--cutoff", args.cutoff.as_deref())?;
    let seed = args.seed.unwrap_or(settings.seed);
    let folds = args.folds as usize;
    let rows = jobs::tune(&ctx, &paths, args.target.into(), &grid, folds, cutoff, seed).await?;
    let format = ResultFormat::from(args.format);
    print::result_table(jobs::tune_table(&rows), format)?;
    if format == ResultFormat::Table
        && let Some(best) = rows.first()
    {
        println!("best: {}", best.algorithm.describe());
    }
    Ok(())
}

/// Runs `aftersight segment`.
pub async fn segment(args: SegmentArgs, settings: &Settings) -> anyhow::Result<()> {
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let paths = paths(settings, &args.store);
    let cutoff = optional_date("--cutoff", args.cutoff.as_deref())?;
    let seed = args.seed.unwrap_or(settings.seed);
    let (version, model, report) =
        jobs::train_segments(&ctx, &paths, cutoff, args.k, seed, args.truth.as_deref()).await?;
    match args.format {
        SummaryFormat::Json => print::json(&serde_json::json!({
            "version": version, "report": report, "segments": model.segments
        }))?,
        SummaryFormat::Table => {
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

/// Runs `aftersight models`.
pub fn models(args: ModelsArgs, settings: &Settings) -> anyhow::Result<()> {
    let dir = args.models.unwrap_or_else(|| settings.models());
    match args.action {
        ModelsAction::List { format } => print::result_table(store::list(&dir)?, format.into()),
        ModelsAction::Champion {
            name,
            model_version,
            by,
        } => {
            let model = ModelName::from(name);
            let name = model.name();
            match (model_version, by) {
                (Some(version), _) => {
                    store::set_champion(&dir, name, &version)?;
                    println!("{name}: champion is now {version}");
                }
                (None, Some(metric)) => {
                    if model == ModelName::Segments {
                        usage!("--by compares classifiers; segments have no later-window metric");
                    }
                    let metric = store::Metric::from(metric);
                    let ranked = store::promote_by(&dir, name, metric)?;
                    for (version, value) in &ranked {
                        println!("  {version:<6} {} {value:.4}", metric.name());
                    }
                    println!("{name}: champion is now {}", ranked[0].0);
                    return Ok(());
                }
                (None, None) => usage!("give a VERSION or --by METRIC"),
            }
            Ok(())
        }
    }
}

/// Runs `aftersight predict`.
pub async fn predict(args: PredictArgs, settings: &Settings) -> anyhow::Result<()> {
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let paths = paths(settings, &args.store);
    let cutoff = optional_date("--cutoff", args.cutoff.as_deref())?;
    let m = jobs::predict(&ctx, &paths, args.name.into(), cutoff).await?;
    let file: PathBuf = paths.predictions.join(&m.model).join(&m.file);
    println!(
        "{} {} scored {} rows (features to {}) into {}",
        m.model,
        m.version,
        m.rows,
        m.cutoff,
        file.display()
    );
    Ok(())
}
