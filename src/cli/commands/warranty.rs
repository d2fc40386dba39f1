//! `aftersight warranty`: emerging-issue alarms and Nevada charts.

use aftersight::dates::Period;
use aftersight::models::ResultTable;
use aftersight::settings::Settings;
use aftersight::sql::output::ResultFormat;
use aftersight::warranty::{self, alerts, nevada};

use super::optional_date;
use crate::cli::args::{AlertsArgs, NevadaArgs, NevadaFormat, WarrantyAction, WarrantyArgs};
use crate::cli::{print, usage};

/// Runs `aftersight warranty` and its subcommands.
pub async fn run(args: WarrantyArgs, settings: &Settings) -> anyhow::Result<()> {
    match args.action {
        WarrantyAction::Alerts(alerts_args) => alarms(alerts_args, settings).await,
        WarrantyAction::Nevada(nevada_args) => nevada_chart(&nevada_args),
    }
}

async fn alarms(args: AlertsArgs, settings: &Settings) -> anyhow::Result<()> {
    let rule = alerts::AlertRule {
        q: args.q,
        window_months: args.window,
        min_expected: args.min_expected,
        min_observed: args.min_failures,
        min_ratio: args.min_ratio,
        persistence: args.persistence,
        ..alerts::AlertRule::default()
    };
    if let Err(e) = rule.check() {
        usage!("{e}");
    }
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let as_of = match optional_date("--as-of", args.as_of.as_deref())? {
        Some(day) => day,
        None => aftersight::models::jobs::data_valid_through(&ctx).await?,
    };
    let queries = warranty::queries(settings.queries.as_deref())?;
    let raised = alerts::monitor(&ctx, &queries, as_of, &rule).await?;
    let month = Period::containing(as_of);
    let written = warranty::write_alarms(&settings.out, &raised)?;
    eprintln!("alarms written to {}", written.display());
    let format = ResultFormat::from(args.format);
    if format == ResultFormat::Table {
        println!("{month}: {}", rule.describe());
        if raised.is_empty() {
            println!("no emerging issue passes the threshold this month");
            return Ok(());
        }
    }
    print::result_table(alerts::alarms_table(&raised), format)
}

fn nevada_chart(args: &NevadaArgs) -> anyhow::Result<()> {
    let shipments = nevada::read(&args.input)?;
    let chart = nevada::analyse(&args.input, &shipments, args.forecast)?;
    match args.format {
        NevadaFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&chart)?);
            Ok(())
        }
        NevadaFormat::Csv => print::result_table(rows_table(&chart, true), ResultFormat::Csv),
        NevadaFormat::Table => {
            let f = &chart.fit;
            println!(
                "Weibull fit of {} units ({} returned): beta {:.4} [{:.4}, {:.4}], eta {:.4} [{:.4}, {:.4}] periods (95 % bounds)",
                f.n,
                f.failures,
                f.shape,
                f.shape_lower,
                f.shape_upper,
                f.scale,
                f.scale_lower,
                f.scale_upper
            );
            print::result_table(rows_table(&chart, false), ResultFormat::Table)
        }
    }
}

/// The cells and the forecast as one table, told apart by `kind`.
fn rows_table(chart: &nevada::Nevada, raw: bool) -> ResultTable {
    let cells = chart.cells.iter().map(|c| {
        let observed = c.observed as f64;
        (
            "observed",
            c.period,
            c.return_period,
            observed,
            c.expected,
            c.error,
            c.z,
        )
    });
    let forecast = chart.forecast.iter().map(|f| {
        (
            "forecast",
            f.period,
            f.return_period,
            f64::NAN,
            f.expected,
            f64::NAN,
            f64::NAN,
        )
    });
    let rows: Vec<_> = cells.chain(forecast).collect();
    let round = |v: f64, digits: i32| {
        if raw {
            v
        } else {
            let scale = 10f64.powi(digits);
            (v * scale).round() / scale
        }
    };
    ResultTable::new()
        .text("kind", rows.iter().map(|r| r.0.to_owned()))
        .text("period", rows.iter().map(|r| r.1.to_string()))
        .text("return_period", rows.iter().map(|r| r.2.to_string()))
        .float("observed", rows.iter().map(|r| r.3))
        .float("expected", rows.iter().map(|r| round(r.4, 3)))
        .float("error", rows.iter().map(|r| round(r.5, 3)))
        .float("z", rows.iter().map(|r| round(r.6, 3)))
}
