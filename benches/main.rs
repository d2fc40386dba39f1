//! Benchmarks of the hot paths (not run in CI).
//!
//! `cargo bench --bench main` times the generator at scale 0.2 and reports
//! rows per second; set `AFTERSIGHT_BENCH_SCALE` for another size. Whole
//! CLI runs with peak memory are measured by `benches/generate.sh`.

use std::time::Instant;

use aftersight::generate::export::ExportFormat;
use aftersight::generate::{GenerateConfig, generate};

fn main() {
    let scale: f64 = std::env::var("AFTERSIGHT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.2);
    let dir = tempfile::tempdir().expect("temporary directory");
    for format in [ExportFormat::Csv, ExportFormat::Ndjson] {
        let mut best = f64::INFINITY;
        let mut rows = 0;
        for run in 0..3 {
            let started = Instant::now();
            let m = generate(&GenerateConfig {
                scale,
                seed: run,
                format,
                dirt: 0.0,
                out: dir.path().join("bench"),
                progress: false,
                emerging: Some(aftersight::generate::EmergingIssue::PLANTED),
            })
            .expect("generate");
            best = best.min(started.elapsed().as_secs_f64());
            rows = m.files.iter().map(|f| f.rows).sum::<u64>();
        }
        println!(
            "generate/{format:?}/scale {scale}: best of 3 {best:.3} s, {rows} rows, {:.0} rows/s",
            rows as f64 / best
        );
    }
}
