//! `aftersight report NAME` and `aftersight report due`.

use anyhow::Context as _;

use aftersight::dates::Period;
use aftersight::report::{self, ReportConfig, ReportError};
use aftersight::settings::Settings;

use crate::cli::args::{DueArgs, ReportAction, ReportArgs, SummaryFormat};
use crate::cli::{print, usage};

/// Writes (or with `--dry-run` checks) one report, or lists what is due.
pub async fn run(args: ReportArgs, settings: &Settings) -> anyhow::Result<()> {
    if let Some(ReportAction::Due(due_args)) = args.due {
        return due(due_args, settings).await;
    }
    let Some(name) = args.name else {
        usage!("give a report name (a spec in queries/reports/) or `due`");
    };
    let period = args
        .period
        .as_deref()
        .map(report::parse_period)
        .transpose()?;
    let m = report::run(&config(settings, name, period, args.dry_run)).await?;
    match args.format {
        SummaryFormat::Json => print::json(&m),
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
            Ok(())
        }
    }
}

fn config(
    settings: &Settings,
    name: String,
    period: Option<Period>,
    dry_run: bool,
) -> ReportConfig {
    ReportConfig {
        name,
        period,
        warehouse: settings.warehouse.clone(),
        queries: settings.queries.clone(),
        out: settings.out.clone(),
        dry_run,
        settings: settings.session.clone(),
        csv_headers: settings.csv_headers,
    }
}

/// Lists the reports that owe a period; with `--run`, writes them oldest first.
async fn due(args: DueArgs, settings: &Settings) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .with_context(|| {
                crate::cli::UsageError(format!(
                    "--now `{t}`: expected RFC 3339, e.g. 2026-11-03T08:00:00+08:00"
                ))
            })?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let list = report::due(settings.queries.as_deref(), &settings.out, now)?;
    match args.format {
        SummaryFormat::Json => print::json(&list)?,
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
    if !args.run {
        return Ok(());
    }
    for d in &list {
        for p in d.missing_periods.iter().rev() {
            let period = report::parse_period(p)?;
            match report::run(&config(settings, d.report.clone(), Some(period), false)).await {
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
    Ok(())
}
