//! `aftersight reliability`: fleet fits, or fits and MCF of a user's table.

use std::path::Path;

use anyhow::Context as _;
use datafusion::arrow::record_batch::RecordBatch;

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat};
use aftersight::models::{features, jobs, life};
use aftersight::settings::Settings;

use super::optional_date;
use crate::cli::args::{FitArgs, McfArgs, ReliabilityAction, ReliabilityArgs};
use crate::cli::{print, usage};

/// Runs `aftersight reliability` and its subcommands.
pub async fn run(args: ReliabilityArgs, settings: &Settings) -> anyhow::Result<()> {
    match args.action {
        Some(ReliabilityAction::Fit(fit_args)) => fit(fit_args).await,
        Some(ReliabilityAction::Mcf(mcf_args)) => mcf(mcf_args).await,
        None => {
            let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
            let as_of = match optional_date("--as-of", args.as_of.as_deref())? {
                Some(day) => day,
                None => jobs::data_valid_through(&ctx).await?,
            };
            let queries = features::default_dir(settings.queries.as_deref());
            let fleet = life::fleet(
                &ctx,
                queries.as_deref(),
                &aftersight::dates::format_date(as_of),
                args.min_failures,
            )
            .await?;
            if let Some(out) = &args.out {
                life::write_fleet(out, &fleet)?;
            }
            print::result_table(life::fits_table(&fleet.fits), args.format.into())
        }
    }
}

async fn fit(args: FitArgs) -> anyhow::Result<()> {
    let batches = life::read_table(&args.input).await?;
    let fits = life::fit_table(&batches, &args.time, &args.event, args.group.as_deref())?;
    if let Some(path) = &args.plot {
        let columns = Columns {
            x: Some(args.time.clone()),
            y: vec![args.event.clone()],
            series: args.group.clone(),
            order: None,
        };
        draw(ChartKind::Weibull, &batches, columns, &args.input, path)?;
    }
    print::result_table(life::group_fits_table(&fits), args.format.into())
}

async fn mcf(args: McfArgs) -> anyhow::Result<()> {
    let batches = life::read_table(&args.input).await?;
    let units = life::units_from(&batches, &args.unit, &args.time, &args.event)?;
    let points = aftersight::models::reliability::mean_cumulative_function(&units);
    if let Some(path) = &args.plot {
        let columns = Columns {
            x: Some(args.time.clone()),
            y: vec![args.event.clone()],
            series: Some(args.unit.clone()),
            order: None,
        };
        draw(ChartKind::Mcf, &batches, columns, &args.input, path)?;
    }
    print::result_table(life::mcf_table(&points), args.format.into())
}

/// Draws a reliability chart of an input file, written atomically.
fn draw(
    kind: ChartKind,
    batches: &[RecordBatch],
    columns: Columns,
    input: &Path,
    path: &Path,
) -> anyhow::Result<()> {
    let Some(format) = ImageFormat::from_path(path) else {
        usage!(
            "--plot `{}`: the file name must end in .png or .svg",
            path.display()
        );
    };
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
