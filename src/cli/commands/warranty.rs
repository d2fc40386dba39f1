//! `aftersight warranty`: emerging-issue alarms, the triangle, forecast,
//! reserve and parts demand, and Nevada charts.

use aftersight::dates::Period;
use aftersight::models::ResultTable;
use aftersight::settings::Settings;
use aftersight::sql::output::ResultFormat;
use aftersight::warranty::{self, alerts, nevada};

use super::optional_date;
use crate::cli::args::{
    AlertsArgs, NevadaArgs, NevadaFormat, OutlookArgs, WarrantyAction, WarrantyArgs,
};
use crate::cli::{print, usage};

/// Runs `aftersight warranty` and its subcommands.
pub async fn run(args: WarrantyArgs, settings: &Settings) -> anyhow::Result<()> {
    match args.action {
        WarrantyAction::Alerts(alerts_args) => alarms(alerts_args, settings).await,
        WarrantyAction::Nevada(nevada_args) => nevada_chart(&nevada_args),
        WarrantyAction::Triangle(o) => outlook(o, settings, View::Triangle).await,
        WarrantyAction::Forecast(o) => outlook(o, settings, View::Forecast).await,
        WarrantyAction::Parts(o) => outlook(o, settings, View::Parts).await,
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

#[derive(Clone, Copy, PartialEq)]
enum View {
    Triangle,
    Forecast,
    Parts,
}

async fn outlook(args: OutlookArgs, settings: &Settings, view: View) -> anyhow::Result<()> {
    use aftersight::warranty::outlook::{self, OutlookConfig};
    let ctx = aftersight::sql::open(&settings.warehouse, &settings.session).await?;
    let given = optional_date("--as-of", args.as_of.as_deref())?;
    let as_of = match given {
        Some(day) => day,
        None => aftersight::models::jobs::data_valid_through(&ctx).await?,
    };
    let horizon = args
        .horizon
        .unwrap_or(if view == View::Parts { 3 } else { 6 });
    if horizon == 0 || horizon > 60 {
        usage!("--horizon must be 1 to 60 months, got {horizon}");
    }
    let config = OutlookConfig {
        as_of,
        horizon: if view == View::Parts { 6 } else { horizon },
        parts_horizon: if view == View::Parts { horizon } else { 3 },
        terms: aftersight::warranty::coverage::CoverageTerms::catalog(),
        without_owners: match &args.truth {
            Some(path) => defected_customers(path)?,
            None => Default::default(),
        },
    };
    let result = outlook::outlook(&settings.warehouse, &config)?;
    let dir = match given {
        Some(day) => warranty::outlook_dir(&settings.out)
            .with_file_name(format!("as_of={}", aftersight::dates::format_date(day))),
        None => warranty::outlook_dir(&settings.out),
    };
    let manifest = outlook::write(&dir, &result, &config)?;
    eprintln!(
        "warranty outlook as of {} written to {}",
        manifest.as_of,
        dir.display()
    );
    let format = ResultFormat::from(args.format);
    match view {
        View::Triangle => print::frame(&result.triangle, format),
        View::Parts => print::frame(&outlook::parts_frame(&result.forecast)?, format),
        View::Forecast => {
            if format == ResultFormat::Json {
                return print::json(&serde_json::json!({
                    "as_of": manifest.as_of,
                    "months": result.forecast.months,
                    "reserve": result.forecast.reserve,
                    "reserve_cny": manifest.reserve_cny,
                    "recent_ratio": manifest.recent_ratio,
                    "backtest": manifest.backtest,
                }));
            }
            if format == ResultFormat::Csv {
                return print::frame(&outlook::forecast_frame(&result.forecast)?, format);
            }
            print::frame(&outlook::months_frame(&result.forecast)?, format)?;
            let (mean, lo, hi) = manifest.reserve_cny;
            println!(
                "\nwarranty reserve (all future claims of the fleet under cover): {mean:.0} CNY, 90 % interval {lo:.0} to {hi:.0}"
            );
            if let Some(b) = &manifest.backtest {
                println!(
                    "backtest over {} months: {:.0} claims forecast, {} booked ({:+.1} %); triangle rates {:.0}; 90 % intervals held {:.0} % of {} month x component cells",
                    b.months,
                    b.forecast_claims,
                    b.actual_claims,
                    100.0 * b.total_error,
                    b.triangle_claims,
                    100.0 * b.interval_coverage,
                    b.cells
                );
                for (c, f, a, e) in &b.components {
                    println!("  {c}: {f:.0} forecast, {a} booked ({:+.1} %)", 100.0 * e);
                }
            }
            Ok(())
        }
    }
}

/// The customers the generator's truth says defected.
fn defected_customers(path: &std::path::Path) -> anyhow::Result<std::collections::HashSet<String>> {
    use anyhow::Context as _;
    let bytes =
        std::fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
    let truth: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("`{}` is not JSON", path.display()))?;
    let Some(customers) = truth["customers"].as_array() else {
        anyhow::bail!(
            "`{}` has no `customers` list: is it the generator's truth.json?",
            path.display()
        );
    };
    Ok(customers
        .iter()
        .filter(|c| c["defected"].as_bool() == Some(true))
        .filter_map(|c| c["customer_id"].as_str().map(str::to_owned))
        .collect())
}
