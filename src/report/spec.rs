//! Report specs (`queries/reports/NAME.toml`): titles, formats, sections and
//! schedule, checked when they are parsed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::charts::ChartKind;

/// A report spec.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// English title.
    pub title: String,
    /// Chinese title.
    pub title_zh: String,
    /// What the report is for.
    #[serde(default)]
    pub description: String,
    /// Output formats.
    pub formats: Vec<ReportFormat>,
    /// Sections in order.
    pub sections: Vec<SectionSpec>,
    /// When the report should run, for `aftersight report due`.
    pub schedule: Option<Schedule>,
}

/// An output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// A self-contained HTML page, charts inline.
    Html,
    /// Markdown, charts as linked PNGs.
    Md,
    /// One spreadsheet-safe CSV per section.
    Csv,
}

impl<'de> Deserialize<'de> for ReportFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "html" => Ok(ReportFormat::Html),
            "md" => Ok(ReportFormat::Md),
            "csv" => Ok(ReportFormat::Csv),
            other => Err(serde::de::Error::custom(format!(
                "unknown format `{other}` (html, md, csv)"
            ))),
        }
    }
}

/// How a section shows its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presentation {
    /// The rows as a table.
    Table,
    /// Only the chart.
    Chart,
    /// The chart, then the table.
    Both,
}

/// When a report runs: a cron expression in a time zone. Each run covers the
/// calendar month before the run's local date.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Five-field cron expression, e.g. `0 6 2 * *` (06:00 on the 2nd of each month).
    pub cron: String,
    /// IANA time zone of the cron expression.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How many past runs to check for missed periods.
    #[serde(default = "default_backfill")]
    pub backfill_runs: u32,
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}

fn default_backfill() -> u32 {
    3
}

/// One section of a report.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// A query of the library.
    pub query: Option<String>,
    /// Inline SQL, for a one-off section (read-only like everything else).
    pub sql: Option<String>,
    /// Section title (defaults to the query's title).
    pub title: Option<String>,
    /// What to show; the default is both with a chart, else the table.
    pub presentation: Option<Presentation>,
    /// A chart of the section's rows.
    pub chart: Option<SectionChart>,
    /// Parameter values; `{period_start}` and `{period_end}` are replaced.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// A table the section needs that another stage publishes (`warranty_reserve`,
    /// say); without it the section is left out and the report says why.
    pub requires: Option<String>,
}

/// A chart in a report section: the chart type and which columns play which part.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionChart {
    /// Chart type, as for `aftersight chart` (`line`, `ranked-bar`, ...).
    #[serde(rename = "type")]
    pub kind: ChartKind,
    /// Column for x (categories, times, labels).
    pub x: Option<String>,
    /// Value columns.
    #[serde(default)]
    pub y: Vec<String>,
    /// Column naming the series.
    pub series: Option<String>,
    /// Numeric column ordering the categories.
    pub order: Option<String>,
    /// Values are fractions, shown as percentages.
    #[serde(default)]
    pub percent: bool,
    /// X axis title with its unit.
    pub x_label: Option<String>,
    /// Y axis title with its unit.
    pub y_label: Option<String>,
}

impl SectionSpec {
    pub(crate) fn shows_table(&self) -> bool {
        self.presentation != Some(Presentation::Chart)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Loads a spec by name from a folder, or from the embedded copy.
pub fn load_spec(name: &str, folder: Option<&Path>) -> Result<ReportSpec, ReportError> {
    let path = folder
        .map_or_else(|| PathBuf::from("queries/reports"), Path::to_path_buf)
        .join(format!("{name}.toml"));
    let spec_err = |reason: String| ReportError::Spec {
        path: path.clone(),
        reason,
    };
    if !valid_name(name) {
        return Err(spec_err(
            "report names use letters, digits, `_` and `-` only".into(),
        ));
    }
    let text = match folder {
        Some(_) => fs::read_to_string(&path).map_err(|e| spec_err(e.to_string()))?,
        None => EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| (*t).to_owned())
            .ok_or_else(|| spec_err("no such report".into()))?,
    };
    let spec: ReportSpec = toml::from_str(&text).map_err(|e| spec_err(e.to_string()))?;
    for (i, s) in spec.sections.iter().enumerate() {
        if s.query.is_some() == s.sql.is_some() {
            return Err(spec_err(format!(
                "section {}: give exactly one of `query` or `sql`",
                i + 1
            )));
        }
        if let (Some(p @ (Presentation::Chart | Presentation::Both)), None) =
            (s.presentation, &s.chart)
        {
            let name = if p == Presentation::Chart {
                "chart"
            } else {
                "both"
            };
            return Err(spec_err(format!(
                "section {}: presentation `{name}` needs a [sections.chart] table",
                i + 1
            )));
        }
    }
    if let Some(schedule) = &spec.schedule {
        parse_schedule(schedule).map_err(spec_err)?;
    }
    Ok(spec)
}

pub(crate) fn parse_schedule(schedule: &Schedule) -> Result<(croner::Cron, chrono_tz::Tz), String> {
    use std::str::FromStr as _;
    let cron = croner::Cron::from_str(&schedule.cron)
        .map_err(|e| format!("schedule cron `{}`: {e}", schedule.cron))?;
    let tz = chrono_tz::Tz::from_str(&schedule.timezone).map_err(|_| {
        format!(
            "schedule timezone `{}` is not an IANA time zone",
            schedule.timezone
        )
    })?;
    Ok((cron, tz))
}

/// Report specs compiled into the binary.
pub const EMBEDDED: &[(&str, &str)] = &[(
    "monthly",
    include_str!("../../queries/reports/monthly.toml"),
)];
