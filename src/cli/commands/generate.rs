//! `aftersight generate`: a synthetic export with planted ground truth.

use anyhow::Context as _;

use aftersight::generate::{self, EmergingIssue, GenerateConfig};

use crate::cli::args::{GenerateArgs, SummaryFormat};
use crate::cli::print;

/// The issue to plant: none, or the default one with its onset and strength as given.
fn emerging_issue(args: &GenerateArgs) -> Option<EmergingIssue> {
    if args.no_emerging_issue {
        return None;
    }
    let planted = EmergingIssue::PLANTED;
    Some(EmergingIssue {
        onset_month: args.emerging_onset.unwrap_or(planted.onset_month),
        extra_failures_per_vehicle_month: planted.extra_failures_per_vehicle_month
            * args.emerging_strength,
        ..planted
    })
}

/// Generates the export and prints its tables.
pub fn run(args: GenerateArgs, progress: bool) -> anyhow::Result<()> {
    let m = generate::generate(&GenerateConfig {
        scale: args.scale,
        seed: args.seed,
        format: args.format.into(),
        dirt: args.dirt,
        out: args.out.clone(),
        progress,
        emerging: emerging_issue(&args),
    })
    .with_context(|| format!("generating into `{}`", args.out.display()))?;
    match args.summary {
        SummaryFormat::Json => print::json(&m),
        SummaryFormat::Table => {
            println!(
                "generated {} in {:.1} s (scale {}, seed {})",
                args.out.display(),
                m.elapsed_seconds,
                args.scale,
                args.seed
            );
            print::tables(
                m.files
                    .iter()
                    .map(|f| (f.table, f.rows, f.faulty_rows, f.bytes)),
            );
            Ok(())
        }
    }
}
