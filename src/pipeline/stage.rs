//! The stages of `aftersight run` as types: which stage, how it ended, what it
//! reported, and the progress a person sees while it runs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stage of the main job, in the order it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Find or generate the raw export.
    Raw,
    /// Validate the export into the warehouse.
    Ingest,
    /// Run the KPI library into CSVs.
    Kpis,
    /// Write the configured reports.
    Report,
    /// Weibull, Kaplan-Meier and MCF of the fleet.
    Reliability,
    /// Emerging-issue alarms and the warranty outlook.
    Warranty,
    /// Train the models and score the fleet and customers.
    Models,
    /// The executive summary pages.
    Summary,
}

impl Stage {
    /// The stages after ingest, which are skipped when their inputs are unchanged.
    pub const DOWNSTREAM: [Stage; 6] = [
        Stage::Kpis,
        Stage::Reliability,
        Stage::Warranty,
        Stage::Report,
        Stage::Models,
        Stage::Summary,
    ];

    /// The name in `run.json` and on the terminal.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Raw => "raw",
            Stage::Ingest => "ingest",
            Stage::Kpis => "kpis",
            Stage::Report => "report",
            Stage::Reliability => "reliability",
            Stage::Warranty => "warranty",
            Stage::Models => "models",
            Stage::Summary => "summary",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did its work.
    Ran,
    /// Its inputs were unchanged, so the last outputs were kept.
    Skipped,
    /// It used data that was already there (the bundled sample, a given export).
    Reused,
    /// It failed; the outputs of the last good run are unchanged.
    Failed,
}

impl Outcome {
    /// The word in `run.json` and on the terminal.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ran => "ran",
            Outcome::Skipped => "skipped",
            Outcome::Reused => "reused",
            Outcome::Failed => "failed",
        }
    }

    /// Whether a later run may skip the stage on this record.
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Ran | Outcome::Skipped)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One stage's record in `run.json`.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// How it ended.
    pub outcome: Outcome,
    /// What it did, in a sentence.
    pub detail: String,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Rows the stage read or wrote (ingest: rows read; kpis: result rows;
    /// reliability: fits; models: rows scored), when it counts rows.
    pub rows: Option<u64>,
    /// Hash of the stage's inputs; the next run skips the stage when it matches.
    pub fingerprint: Option<String>,
    /// Why the stage failed.
    pub error: Option<String>,
    /// Peak resident memory during the stage, MiB (Linux: the kernel's
    /// high-water mark, reset when the stage starts).
    pub peak_rss_mib: Option<f64>,
}

impl StageReport {
    /// A record with the timing, counts and fingerprint still to be filled in.
    pub(crate) fn new(stage: Stage, outcome: Outcome, detail: String) -> StageReport {
        StageReport {
            stage,
            outcome,
            detail,
            seconds: 0.0,
            rows: None,
            fingerprint: None,
            error: None,
            peak_rss_mib: None,
        }
    }

    /// The same record with a row count.
    pub(crate) fn with_rows(mut self, rows: u64) -> StageReport {
        self.rows = Some(rows);
        self
    }
}

/// Stage progress: a spinner on a terminal, log lines otherwise (or with
/// `verbose`), nothing with `quiet`.
pub(crate) struct StageLog {
    spinner: Option<indicatif::ProgressBar>,
    lines: bool,
}

impl StageLog {
    pub(crate) fn new(progress: bool, verbose: bool) -> StageLog {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        StageLog {
            spinner: (progress && terminal && !verbose).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            }),
            lines: progress && (!terminal || verbose),
        }
    }

    pub(crate) fn start(&self, stage: Stage) {
        reset_peak_rss();
        if let Some(bar) = &self.spinner {
            bar.set_message(format!("stage {stage}…"));
        }
        if self.lines {
            eprintln!("[aftersight] stage {stage}: started");
        }
    }

    pub(crate) fn finish(&self, stage: &StageReport) {
        if self.lines {
            eprintln!(
                "[aftersight] stage {}: {} in {:.1} s",
                stage.stage, stage.outcome, stage.seconds
            );
        }
    }
}

impl Drop for StageLog {
    fn drop(&mut self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}

/// Resets the process's peak-RSS mark (Linux `clear_refs`), so the next
/// reading covers one stage. Elsewhere this does nothing.
fn reset_peak_rss() {
    // Best effort: without /proc the stages simply report no peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last reset, MiB.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_outcome_names_round_trip_through_json() {
        for stage in [Stage::Raw, Stage::Ingest]
            .into_iter()
            .chain(Stage::DOWNSTREAM)
        {
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.name()));
            assert_eq!(serde_json::from_str::<Stage>(&json).unwrap(), stage);
        }
        assert_eq!(
            serde_json::to_string(&Outcome::Reused).unwrap(),
            "\"reused\""
        );
        assert!(serde_json::from_str::<Stage>("\"summry\"").is_err());
        assert_eq!(format!("[{:<7}]", Outcome::Ran), "[ran    ]");
    }
}
