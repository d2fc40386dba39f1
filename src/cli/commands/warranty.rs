//! `aftersight warranty alerts`: emerging-issue alarms.

use aftersight::dates::Period;
use aftersight::settings::Settings;
use aftersight::sql::output::ResultFormat;
use aftersight::warranty::{self, alerts};

use super::optional_date;
use crate::cli::args::{AlertsArgs, WarrantyAction, WarrantyArgs};
use crate::cli::{print, usage};

/// Runs `aftersight warranty` and its subcommands.
pub async fn run(args: WarrantyArgs, settings: &Settings) -> anyhow::Result<()> {
    match args.action {
        WarrantyAction::Alerts(alerts_args) => alarms(alerts_args, settings).await,
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
