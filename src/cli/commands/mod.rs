//! One module per subcommand; [`execute`] resolves the settings once and
//! hands them to the command.

use aftersight::settings::{Flags, Settings};

use super::args::{Cli, Command, SettingsArgs};

mod chart;
mod cluster;
mod generate;
mod ingest;
mod init;
mod models;
mod reliability;
mod report;
mod run;
mod sql;
mod summary;
mod warranty;

/// Runs the parsed command line.
pub async fn execute(cli: Cli) -> anyhow::Result<()> {
    let progress = !cli.quiet;
    let base = flags(&cli.settings);
    // The settings of a command that names its own output root.
    let with_out = |out: &Option<std::path::PathBuf>| {
        Settings::resolve(&Flags {
            out: out.clone(),
            ..base.clone()
        })
    };
    if !matches!(cli.command, Command::Scheduler(_) | Command::Executor(_)) {
        cluster::log_if_asked();
    }
    match cli.command {
        // `init` writes the settings file, so it must work while that file is broken.
        Command::Init(args) => init::run(args),
        Command::Generate(args) => generate::run(args, progress),
        Command::Run(args) => {
            let settings = Settings::resolve(&Flags {
                out: args.out.clone(),
                raw: args.raw.clone(),
                as_of: args.as_of.clone(),
                seed: args.seed,
                ..base.clone()
            })?;
            run::run(args, &settings, progress).await
        }
        Command::Ingest(args) => ingest::run(args, &with_out(&None)?, progress).await,
        Command::Sql(args) => sql::run(args, &with_out(&None)?).await,
        Command::Report(args) => {
            let out = match &args.due {
                Some(super::args::ReportAction::Due(due)) => &due.out,
                None => &args.out,
            };
            let settings = with_out(out)?;
            report::run(args, &settings).await
        }
        Command::Reliability(args) => reliability::run(args, &with_out(&None)?).await,
        Command::Train(args) => models::train(args, &with_out(&None)?).await,
        Command::Tune(args) => models::tune(args, &with_out(&None)?).await,
        Command::Features(args) => models::features(args, &with_out(&None)?).await,
        Command::Segment(args) => models::segment(args, &with_out(&None)?).await,
        Command::Models(args) => models::models(args, &with_out(&None)?),
        Command::Predict(args) => {
            let settings = with_out(&args.out)?;
            models::predict(args, &settings).await
        }
        Command::Chart(args) => chart::run(args, &with_out(&None)?).await,
        Command::Warranty(args) => {
            let out = match &args.action {
                super::args::WarrantyAction::Alerts(alerts) => &alerts.out,
                super::args::WarrantyAction::Nevada(_) => &None,
                super::args::WarrantyAction::Triangle(o)
                | super::args::WarrantyAction::Forecast(o)
                | super::args::WarrantyAction::Parts(o) => &o.out,
            };
            let settings = with_out(out)?;
            warranty::run(args, &settings).await
        }
        Command::Summary(args) => {
            let settings = with_out(&args.out)?;
            summary::run(args, &settings).await
        }
        // The cluster's processes take Ballista's own flags, not aftersight's settings.
        Command::Scheduler(args) => cluster::scheduler(args).await,
        Command::Executor(args) => cluster::executor(args).await,
    }
}

fn flags(args: &SettingsArgs) -> Flags {
    Flags {
        config: args.config.clone(),
        warehouse: args.warehouse.clone(),
        queries: args.queries.clone(),
        threads: args.threads,
        memory_limit: args.memory_limit.clone(),
        csv_headers: args.csv_headers.clone(),
        engine: args.engine.clone(),
        engine_url: args.engine_url.clone(),
        ..Flags::default()
    }
}

/// Parses a `YYYY-MM-DD` flag into days since the epoch.
fn date(flag: &str, s: &str) -> anyhow::Result<i32> {
    match aftersight::dates::parse_date(s) {
        Some(day) => Ok(day),
        None => super::usage!("{flag} `{s}` is not a date (YYYY-MM-DD)"),
    }
}

/// Parses an optional `YYYY-MM-DD` flag.
fn optional_date(flag: &str, s: Option<&str>) -> anyhow::Result<Option<i32>> {
    s.map(|s| date(flag, s)).transpose()
}
