//! `aftersight summary`: the one-page executive summary for a month.

use aftersight::settings::Settings;

use crate::cli::args::{SummaryArgs, SummaryFormat};
use crate::cli::print;

/// Writes the executive summary.
pub async fn run(cmd: SummaryArgs, settings: &Settings) -> anyhow::Result<()> {
    let manifest = aftersight::executive::write(&aftersight::executive::SummaryConfig {
        warehouse: settings.warehouse.clone(),
        out: settings.out.clone(),
        queries: settings.queries.clone(),
        period: cmd
            .period
            .as_deref()
            .map(aftersight::report::parse_period)
            .transpose()?,
        lang: cmd.lang,
        settings: settings.session.clone(),
    })
    .await?;
    match cmd.format {
        SummaryFormat::Json => print::json(&manifest),
        SummaryFormat::Table => {
            println!(
                "wrote the executive summary for {} ({} charts, data valid through {})",
                manifest.period, manifest.charts, manifest.data_valid_through
            );
            for h in &manifest.headline {
                let value = h.value.map_or_else(
                    || "–".into(),
                    |v| aftersight::charts::theme::format_value(v, &h.unit),
                );
                println!("  {:<28} {value}", h.label);
            }
            if manifest.risks.is_empty() {
                println!("  no emerging issue passes the threshold this month");
            }
            for r in &manifest.risks {
                println!(
                    "  emerging issue: {} {} ({:.1}× its peers, alarm since {})",
                    r.cohort, r.component, r.alarm.ratio, r.alarm.first_month
                );
            }
            println!("in {}", manifest.file.display());
            Ok(())
        }
    }
}
