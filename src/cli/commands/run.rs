//! `aftersight run`: the main job, and where to look afterwards.

use aftersight::pipeline;
use aftersight::settings::Settings;

use crate::cli::args::{RunArgs, SummaryFormat};
use crate::cli::print;

/// Runs every stage and prints what each did.
pub async fn run(args: RunArgs, settings: &Settings, progress: bool) -> anyhow::Result<()> {
    let mut config = settings.run_config();
    config.progress = progress;
    config.verbose = args.verbose;
    config.force = args.force;
    let report = pipeline::run(&config).await?;
    if args.format == SummaryFormat::Json {
        return print::json(&report);
    }
    for s in &report.stages {
        println!(
            "[{:<7}] {:<11} {} ({:.1} s)",
            s.outcome, s.stage, s.detail, s.seconds
        );
    }
    let as_of = report
        .as_of
        .as_ref()
        .map(|d| format!(", as of {d}"))
        .unwrap_or_default();
    println!(
        "\nraw export {} (data valid through {}{as_of})",
        report.raw_export.display(),
        report.data_valid_through
    );
    print::tables(
        report
            .tables
            .iter()
            .map(|t| (t.table.as_str(), t.rows, t.faulty_rows, t.bytes)),
    );
    if let Some(ingest) = &report.ingest {
        println!(
            "\nwarehouse {} (batch {})",
            ingest.warehouse.display(),
            ingest.batch
        );
    }
    println!("run manifest: {}", settings.out.join("run.json").display());
    if let Some(page) = report.executive_summary.first() {
        println!("\nstart here: {page}");
    }
    Ok(())
}
