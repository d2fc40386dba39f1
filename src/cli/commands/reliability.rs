//! `aftersight reliability`: fleet fits, or fits and MCF of a user's table.

use std::path::Path;

use anyhow::Context as _;

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat};
use aftersight::models::life::{self, MissingEnd};
use aftersight::models::{features, jobs};
use aftersight::settings::Settings;
use aftersight::usertable::{Times, UserTable};

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
    let table = UserTable::read(&args.input)?;
    let fits = life::fit_user_table(&table, &args.time, &args.event, args.group.as_deref())?;
    for (group, fit) in &fits {
        if let Err(reason) = fit {
            eprintln!("warning: group `{group}` was not fitted: {reason}");
        }
    }
    if let Some(path) = &args.plot {
        let columns = Columns {
            x: Some(args.time.clone()),
            y: vec![args.event.clone()],
            series: args.group.clone(),
            order: None,
        };
        let frame = checked_frame(&table, &args.time, &args.event, args.group.as_deref())?;
        draw(ChartKind::Weibull, &frame, columns, &args.input, path)?;
    }
    print::result_table(life::group_fits_table(&fits), args.format.into())
}

async fn mcf(args: McfArgs) -> anyhow::Result<()> {
    let table = UserTable::read(&args.input)?;
    let missing_end = if args.end_at_last_event {
        MissingEnd::EndAtLastEvent
    } else {
        MissingEnd::Reject
    };
    let units = life::user_units(&table, &args.unit, &args.time, &args.event, missing_end)?;
    let points = aftersight::models::reliability::mean_cumulative_function(&units);
    if let Some(path) = &args.plot {
        let columns = Columns {
            x: Some(args.time.clone()),
            y: vec![args.event.clone()],
            series: Some(args.unit.clone()),
            order: None,
        };
        let frame = checked_frame(&table, &args.time, &args.event, Some(&args.unit))?;
        draw(ChartKind::Mcf, &frame, columns, &args.input, path)?;
    }
    print::result_table(life::mcf_table(&points), args.format.into())
}

/// The plotted columns, already checked by the method: times as numbers,
/// events as 1/0, the group or unit as text.
fn checked_frame(
    table: &UserTable,
    time: &str,
    event: &str,
    group: Option<&str>,
) -> anyhow::Result<Frame> {
    let mut frame = Frame::new()
        .number(time, table.times(time, Times::NonNegative)?)
        .number(
            event,
            table
                .flags(event)?
                .into_iter()
                .map(|e| f64::from(u8::from(e))),
        );
    if let Some(group) = group {
        frame = frame.text(group, table.texts(group)?);
    }
    Ok(frame)
}

/// Draws a reliability chart of an input file, written atomically.
fn draw(
    kind: ChartKind,
    frame: &Frame,
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
    let bytes = charts::render(kind, frame, &columns, &options, format)?;
    aftersight::fsutil::write_atomically(path, &bytes)
        .with_context(|| format!("writing `{}`", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
