//! `aftersight ingest`: validated exports into the warehouse.

use aftersight::ingest::source::CHUNK_BYTES;
use aftersight::ingest::{self, DEFAULT_MEMORY_BUDGET, IngestConfig, IngestError};
use aftersight::settings::Settings;

use crate::cli::args::IngestArgs;
use crate::cli::print;

/// Ingests and prints what was read, published and quarantined; a rejected
/// batch still prints its report before the error.
pub async fn run(args: IngestArgs, settings: &Settings, progress: bool) -> anyhow::Result<()> {
    let config = IngestConfig {
        inputs: args.from,
        warehouse: settings.warehouse.clone(),
        encoding: args.encoding.into(),
        max_bad_fraction: args.max_bad_fraction,
        progress,
        chunk_bytes: CHUNK_BYTES,
        memory_budget: DEFAULT_MEMORY_BUDGET,
    };
    match ingest::ingest(&config).await {
        Ok(report) => print::ingest(&report, args.format),
        Err(err) => {
            if let IngestError::TooManyBad { report, .. } = &err {
                print::ingest(report, args.format)?;
            }
            Err(err.into())
        }
    }
}
