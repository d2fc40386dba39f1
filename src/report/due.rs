//! `aftersight report due`: which scheduled reports owe which periods.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ReportError;
use super::spec::{EMBEDDED, load_spec, parse_schedule};
use crate::dates::{add_months, format_date};
use crate::fsutil;

/// A scheduled report and the periods it still owes.
#[derive(Debug, Clone, Serialize)]
pub struct DueReport {
    /// Report name.
    pub report: String,
    /// Cron expression and zone.
    pub schedule: String,
    /// The latest scheduled run at or before now (RFC 3339, local).
    pub last_run_due: String,
    /// The next scheduled run (RFC 3339, local).
    pub next_run: String,
    /// Periods whose run time has passed but whose output is missing, newest first.
    pub missing_periods: Vec<String>,
}

/// Lists scheduled reports with the periods they owe at `now`.
pub fn due(
    queries: Option<&Path>,
    out: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<DueReport>, ReportError> {
    let mut names: Vec<String> = match queries {
        Some(dir) => {
            let folder = dir.join("reports");
            fs::read_dir(&folder)
                .map_err(fsutil::io_error("list", &folder))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        }
        None => EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect(),
    };
    names.sort();
    let mut out_list = Vec::new();
    for name in names {
        let spec = load_spec(&name, queries.map(|q| q.join("reports")).as_deref())?;
        let Some(schedule) = &spec.schedule else {
            continue;
        };
        let (cron, tz) = parse_schedule(schedule).map_err(|reason| ReportError::Spec {
            path: PathBuf::from(&name),
            reason,
        })?;
        let local_now = now.with_timezone(&tz);
        let cron_err = |e: croner::errors::CronError| ReportError::Spec {
            path: PathBuf::from(&name),
            reason: format!("schedule: {e}"),
        };
        let next = cron
            .find_next_occurrence(&local_now, false)
            .map_err(cron_err)?;
        let mut runs = Vec::new();
        let mut at = local_now;
        for i in 0..schedule.backfill_runs.max(1) {
            match cron.find_previous_occurrence(&at, i == 0) {
                Ok(t) => {
                    runs.push(t);
                    at = t;
                }
                Err(_) => break,
            }
        }
        let mut missing = Vec::new();
        for run in &runs {
            let day = crate::dates::days_from_civil(
                chrono::Datelike::year(run),
                chrono::Datelike::month(run),
                chrono::Datelike::day(run),
            );
            let period = format_date(add_months(day, -1))[..7].to_owned();
            let done = out
                .join("reports")
                .join(&name)
                .join(format!("period={period}"))
                .join(fsutil::MANIFEST_FILE)
                .exists();
            if !done && !missing.contains(&period) {
                missing.push(period);
            }
        }
        out_list.push(DueReport {
            report: name,
            schedule: format!("{} ({})", schedule.cron, schedule.timezone),
            last_run_due: runs.first().map(|t| t.to_rfc3339()).unwrap_or_default(),
            next_run: next.to_rfc3339(),
            missing_periods: missing,
        });
    }
    Ok(out_list)
}
