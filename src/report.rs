//! `aftersight report`: parameterised reports from specs in `queries/reports/`.
//!
//! A spec (TOML) has a title in English and Chinese, the output formats, and
//! sections that each pair a library query (or, rarely, inline SQL) with a
//! presentation. A run for a period (`--period 2026-10`) binds `{period_start}`
//! and `{period_end}` into the sections' parameters, runs every query in one
//! read-only session, and writes a self-contained HTML page, Markdown, and one
//! CSV per section to `OUT/reports/NAME/period=YYYY-MM/`. The directory is
//! staged and renamed into place, so re-running a period replaces only that
//! period, atomically. A lock keeps two runs of the same report apart.
//!
//! Every output carries the period, the generation time and the date the
//! data is valid through. HTML escapes every value; CSV cells that a
//! spreadsheet would run as formulas are neutralised.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::charts::{self, ChartError, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};
use crate::dates::{add_months, format_date, parse_date};
use crate::fsutil::{self, PublishError};
use crate::sql::{self, QueryFile, SqlError, library};
use crate::warehouse::{Lock, WarehouseError};

/// Manifest kind of a published report period.
pub const REPORT_KIND: &str = "aftersight-report";

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
    /// Output formats: any of `html`, `md`, `csv`.
    pub formats: Vec<String>,
    /// Sections in order.
    pub sections: Vec<SectionSpec>,
    /// When the report should run, for `aftersight report due`.
    pub schedule: Option<Schedule>,
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
    /// `table`, `chart` or `both`; the default is `both` with a chart, else `table`.
    pub presentation: Option<String>,
    /// A chart of the section's rows.
    pub chart: Option<SectionChart>,
    /// Parameter values; `{period_start}` and `{period_end}` are replaced.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// A chart in a report section: the chart type and which columns play which part.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionChart {
    /// Chart type, as for `aftersight chart` (`line`, `ranked-bar`, ...).
    #[serde(rename = "type")]
    pub kind: String,
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
    fn shows_table(&self) -> bool {
        self.presentation.as_deref() != Some("chart")
    }
}

/// Errors of the report command.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The spec is missing or malformed.
    #[error("report spec `{path}`: {reason}")]
    Spec {
        /// Spec path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The period is malformed.
    #[error("period `{0}`: expected YYYY-MM (for example 2026-10)")]
    Period(String),
    /// The warehouse has no rows in the period.
    #[error("no data for period {period} (the data is valid through {valid_through})")]
    NoData {
        /// Period.
        period: String,
        /// Last date with data.
        valid_through: String,
    },
    /// A query failed.
    #[error("section {index} (`{name}`)")]
    Section {
        /// 1-based section number.
        index: usize,
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: SqlError,
    },
    /// The SQL layer failed.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// Locking failed or another run holds the lock.
    #[error(transparent)]
    Lock(#[from] WarehouseError),
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Writing an output failed.
    #[error(transparent)]
    Fs(#[from] fsutil::FsError),
    /// Formatting results failed.
    #[error(transparent)]
    Output(#[from] sql::output::OutputError),
    /// A section's chart could not be drawn.
    #[error("section {index} (`{name}`): chart")]
    Chart {
        /// 1-based section number.
        index: usize,
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: ChartError,
    },
}

/// A section's results, ready for the outputs.
struct SectionResult {
    title: String,
    batches: Vec<RecordBatch>,
    show_table: bool,
    /// The chart's PNG: its file name under the report and its bytes.
    chart: Option<(String, Vec<u8>)>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Report name (file stem of the spec).
    pub name: String,
    /// Period `YYYY-MM`; `None` is the month the data is valid through.
    pub period: Option<String>,
    /// Warehouse.
    pub warehouse: PathBuf,
    /// Query library; `None` uses the embedded copy.
    pub queries: Option<PathBuf>,
    /// Output root (`OUT/reports/NAME/period=…`).
    pub out: PathBuf,
    /// Validate the spec and plan every query without running or writing.
    pub dry_run: bool,
    /// Session settings (memory, threads, as-of date).
    pub settings: sql::SessionSettings,
}

/// One written section.
#[derive(Debug, Clone, Serialize)]
pub struct SectionReport {
    /// Title.
    pub title: String,
    /// Query name.
    pub query: String,
    /// Rows.
    pub rows: usize,
    /// CSV file, if written.
    pub csv: Option<String>,
    /// Chart files (PNG and SVG), if any.
    pub charts: Vec<String>,
}

/// Outcome of a report run; also its `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReportManifest {
    /// Always [`REPORT_KIND`].
    pub kind: &'static str,
    /// Report name.
    pub report: String,
    /// Period.
    pub period: String,
    /// Generation time (UTC, RFC 3339).
    pub generated_at: String,
    /// Last date with data in the warehouse.
    pub data_valid_through: String,
    /// Files written.
    pub files: Vec<String>,
    /// Sections.
    pub sections: Vec<SectionReport>,
    /// Where it was published (empty for a dry run).
    pub directory: PathBuf,
    /// Whether this was a dry run.
    pub dry_run: bool,
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
    for f in &spec.formats {
        if !["html", "md", "csv"].contains(&f.as_str()) {
            return Err(spec_err(format!("unknown format `{f}` (html, md, csv)")));
        }
    }
    for (i, s) in spec.sections.iter().enumerate() {
        if s.query.is_some() == s.sql.is_some() {
            return Err(spec_err(format!(
                "section {}: give exactly one of `query` or `sql`",
                i + 1
            )));
        }
        match (s.presentation.as_deref(), &s.chart) {
            (None | Some("table"), _) | (Some("chart" | "both"), Some(_)) => {}
            (Some("chart" | "both"), None) => {
                return Err(spec_err(format!(
                    "section {}: presentation `{}` needs a [sections.chart] table",
                    i + 1,
                    s.presentation.as_deref().unwrap_or_default()
                )));
            }
            (Some(other), _) => {
                return Err(spec_err(format!(
                    "section {}: presentation `{other}` is not one of table, chart, both",
                    i + 1
                )));
            }
        }
        if let Some(chart) = &s.chart {
            chart
                .kind
                .parse::<ChartKind>()
                .map_err(|e| spec_err(format!("section {}: {e}", i + 1)))?;
        }
    }
    if let Some(schedule) = &spec.schedule {
        parse_schedule(schedule).map_err(spec_err)?;
    }
    Ok(spec)
}

fn parse_schedule(schedule: &Schedule) -> Result<(croner::Cron, chrono_tz::Tz), String> {
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

/// Report specs compiled into the binary.
pub const EMBEDDED: &[(&str, &str)] =
    &[("monthly", include_str!("../queries/reports/monthly.toml"))];

/// Parses `YYYY-MM` into the first day of the month and the first day of the next.
pub fn period_bounds(period: &str) -> Result<(i32, i32), ReportError> {
    let start = parse_date(&format!("{period}-01"))
        .filter(|_| period.len() == 7)
        .ok_or_else(|| ReportError::Period(period.to_owned()))?;
    Ok((start, add_months(start, 1)))
}

/// Runs a report (or validates it, with `dry_run`).
pub async fn run(config: &ReportConfig) -> Result<ReportManifest, ReportError> {
    let spec_dir = config.queries.as_ref().map(|q| q.join("reports"));
    let spec = load_spec(&config.name, spec_dir.as_deref())?;
    let queries = match &config.queries {
        Some(dir) => library::load(dir)?,
        None => library::embedded()?,
    };
    let ctx = sql::open(&config.warehouse, &config.settings).await?;
    sql::register_predictions(&ctx, &config.out.join("predictions")).await?;
    let valid_through = sql::data_valid_through(&ctx)
        .await?
        .map_or_else(|| "never".to_owned(), crate::dates::format_date);
    let period = match &config.period {
        Some(p) => p.clone(),
        None => valid_through.get(..7).unwrap_or_default().to_owned(),
    };
    let (start, end) = period_bounds(&period)?;
    let dir = config
        .out
        .join("reports")
        .join(&config.name)
        .join(format!("period={period}"));
    let mut manifest = ReportManifest {
        kind: REPORT_KIND,
        report: config.name.clone(),
        period: period.clone(),
        generated_at: now_rfc3339(),
        data_valid_through: valid_through.clone(),
        files: Vec::new(),
        sections: Vec::new(),
        directory: PathBuf::new(),
        dry_run: config.dry_run,
    };

    let mut results: Vec<SectionResult> = Vec::new();
    for (i, section) in spec.sections.iter().enumerate() {
        let (query, title) = resolve(section, &queries, i)?;
        let given: Vec<(String, String)> = section
            .params
            .iter()
            .map(|(k, v)| {
                let value = v
                    .replace("{period_start}", &format_date(start))
                    .replace("{period_end}", &format_date(end));
                (k.clone(), value)
            })
            .collect();
        let section_err = |source| ReportError::Section {
            index: i + 1,
            name: query.name.clone(),
            source,
        };
        let bound = query.bind(&given).map_err(section_err)?;
        let df = sql::plan(&ctx, &query.sql, bound)
            .await
            .map_err(section_err)?;
        if config.dry_run {
            manifest.sections.push(SectionReport {
                title,
                query: query.name.clone(),
                rows: 0,
                csv: None,
                charts: Vec::new(),
            });
            continue;
        }
        let batches = df
            .collect()
            .await
            .map_err(|e| section_err(SqlError::Query(e)))?;
        manifest.sections.push(SectionReport {
            title: title.clone(),
            query: query.name.clone(),
            rows: batches.iter().map(|b| b.num_rows()).sum(),
            csv: None,
            charts: Vec::new(),
        });
        results.push(SectionResult {
            title,
            batches,
            show_table: section.shows_table(),
            chart: None,
        });
    }
    if config.dry_run {
        return Ok(manifest);
    }
    if rows_in_period(&ctx, start, end).await? == 0 {
        return Err(ReportError::NoData {
            period,
            valid_through,
        });
    }

    let report_root = config.out.join("reports").join(&config.name);
    fs::create_dir_all(&report_root).map_err(fsutil::io_error("create directory", &report_root))?;
    let _lock = Lock::acquire(&report_root)?;
    let staging = fsutil::Staging::new(&dir)?;
    let has = |f: &str| spec.formats.iter().any(|x| x == f);
    let chart_dir = staging.path().join("charts");
    for (i, section) in spec.sections.iter().enumerate() {
        let (Some(chart), Some(result)) = (&section.chart, results.get_mut(i)) else {
            continue;
        };
        if result.batches.iter().all(|b| b.num_rows() == 0) {
            continue;
        }
        let query = manifest.sections[i].query.clone();
        let chart_err = |source| ReportError::Chart {
            index: i + 1,
            name: query.clone(),
            source,
        };
        let options = ChartOptions {
            title: result.title.clone(),
            subtitle: format!("Period {period} · 统计期 {period}"),
            x_label: chart.x_label.clone().unwrap_or_default(),
            y_label: chart.y_label.clone().unwrap_or_default(),
            footer: charts::footer(&format!("queries/{query}.sql"), &valid_through, Lang::En),
            percent: chart.percent,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: chart.x.clone(),
            y: chart.y.clone(),
            series: chart.series.clone(),
            order: chart.order.clone(),
        };
        let kind: ChartKind = chart.kind.parse().map_err(chart_err)?;
        let frame = Frame::from_batches(&result.batches).map_err(chart_err)?;
        let plot = charts::prepare::prepare(kind, &frame, &columns, Lang::En).map_err(chart_err)?;
        fs::create_dir_all(&chart_dir).map_err(fsutil::io_error("create directory", &chart_dir))?;
        let stem = format!("charts/{:02}-{query}", i + 1);
        for format in [ImageFormat::Png, ImageFormat::Svg] {
            let bytes = charts::render_plot(&plot, &options, format).map_err(chart_err)?;
            let file = format!(
                "{stem}.{}",
                if format == ImageFormat::Png {
                    "png"
                } else {
                    "svg"
                }
            );
            let path = staging.path().join(&file);
            fs::write(&path, &bytes).map_err(fsutil::io_error("write", &path))?;
            manifest.sections[i].charts.push(file.clone());
            manifest.files.push(file.clone());
            if format == ImageFormat::Png {
                result.chart = Some((file, bytes));
            }
        }
    }
    if has("csv") {
        for (i, result) in results.iter().enumerate() {
            let file = format!("{:02}-{}.csv", i + 1, manifest.sections[i].query);
            let path = staging.path().join(&file);
            let mut out = fs::File::create(&path).map_err(fsutil::io_error("create", &path))?;
            sql::output::write_safe_csv(&mut out, &result.batches)?;
            manifest.sections[i].csv = Some(file.clone());
            manifest.files.push(file);
        }
    }
    if has("md") {
        let path = staging.path().join("report.md");
        fs::write(&path, render_markdown(&spec, &manifest, &results))
            .map_err(fsutil::io_error("write", &path))?;
        manifest.files.push("report.md".into());
    }
    if has("html") {
        let path = staging.path().join("report.html");
        fs::write(&path, render_html(&spec, &manifest, &results))
            .map_err(fsutil::io_error("write", &path))?;
        manifest.files.push("report.html".into());
    }
    manifest.directory = dir.clone();
    let path = staging.path().join(fsutil::MANIFEST_FILE);
    fs::write(
        &path,
        serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )
    .map_err(fsutil::io_error("write", &path))?;
    staging.publish(REPORT_KIND)?;
    Ok(manifest)
}

fn resolve(
    section: &SectionSpec,
    queries: &[QueryFile],
    index: usize,
) -> Result<(QueryFile, String), ReportError> {
    let query = match (&section.query, &section.sql) {
        (Some(name), None) => queries
            .iter()
            .find(|q| &q.name == name)
            .cloned()
            .ok_or_else(|| ReportError::Spec {
                path: PathBuf::from("report"),
                reason: format!("section {}: no query `{name}` in the library", index + 1),
            })?,
        (None, Some(sql)) => QueryFile {
            name: format!("section_{}", index + 1),
            title: section.title.clone().unwrap_or_default(),
            title_zh: String::new(),
            description: String::new(),
            params: Vec::new(),
            unit: String::new(),
            sql: sql.clone(),
            path: PathBuf::new(),
        },
        _ => unreachable!("load_spec checks one of query or sql"),
    };
    let title = section
        .title
        .clone()
        .unwrap_or_else(|| format!("{} · {}", query.title, query.title_zh));
    Ok((query, title))
}

/// Repair orders opened in `[start, end)`.
async fn rows_in_period(ctx: &SessionContext, start: i32, end: i32) -> Result<i64, ReportError> {
    use datafusion::common::ScalarValue;
    let params = [("start", start), ("end", end)]
        .into_iter()
        .map(|(k, d)| (k.to_owned(), ScalarValue::Date32(Some(d))))
        .collect();
    let sql = "SELECT count(*) FROM repair_orders WHERE opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)";
    let batches = sql::query(ctx, sql, params).await?;
    Ok(batches.first().map_or(0, |b| {
        b.column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0)
    }))
}

/// The current time, UTC, RFC 3339.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut out = Vec::new();
    crate::dates::push_timestamp(&mut out, secs);
    format!("{}Z", String::from_utf8(out).expect("ASCII"))
}

/// A section's results as text: the header, and each row's cells (empty
/// for null). `None` when there are no rows. Each column is cast once per batch.
fn text_table(batches: &[RecordBatch]) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let first = batches.iter().find(|b| b.num_rows() > 0)?;
    let header = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for b in batches {
        let columns: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).ok())
            .collect();
        for r in 0..b.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| match c {
                        Some(a) if a.is_valid(r) => a.as_string::<i32>().value(r).to_owned(),
                        _ => String::new(),
                    })
                    .collect(),
            );
        }
    }
    Some((header, rows))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An inline PNG (a data URI, so the page stays one self-contained file),
/// shown at half its pixel width: charts are drawn at 2x for sharp screens.
pub fn png_figure(png: &[u8], alt: &str) -> String {
    use base64::Engine as _;
    let width = png_width(png).map_or(960, |w| w / 2);
    format!(
        "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\" width=\"{width}\" style=\"max-width:100%;height:auto\"></figure>",
        base64::engine::general_purpose::STANDARD.encode(png),
        escape_html(alt)
    )
}

/// Width from a PNG's IHDR chunk.
fn png_width(png: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = png.get(16..20)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

fn escape_md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn render_markdown(spec: &ReportSpec, m: &ReportManifest, results: &[SectionResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} · {}\n",
        escape_md(&spec.title),
        escape_md(&spec.title_zh)
    );
    let _ = writeln!(
        out,
        "Period **{}** · generated {} · data valid through **{}**\n",
        m.period, m.generated_at, m.data_valid_through
    );
    for section in results {
        let _ = writeln!(out, "## {}\n", escape_md(&section.title));
        if let Some((file, _)) = &section.chart {
            let _ = writeln!(out, "![{}]({file})\n", escape_md(&section.title));
        }
        let Some((cols, rows)) = text_table(&section.batches) else {
            out.push_str("_No rows for this period._\n\n");
            continue;
        };
        if !section.show_table {
            continue;
        }
        let escaped = |cells: &[String]| {
            cells
                .iter()
                .map(|c| escape_md(c))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = writeln!(out, "| {} |", escaped(&cols));
        let _ = writeln!(out, "|{}", "---|".repeat(cols.len()));
        for row in &rows {
            let _ = writeln!(out, "| {} |", escaped(row));
        }
        out.push('\n');
    }
    out
}

fn render_html(spec: &ReportSpec, m: &ReportManifest, results: &[SectionResult]) -> String {
    let mut out = String::new();
    let title = format!("{} · {}", spec.title, spec.title_zh);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\
body{{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",system-ui,sans-serif;margin:2rem;color:#222}}\
table{{border-collapse:collapse;margin:0 0 2rem 0;font-size:0.9rem}}\
th,td{{border:1px solid #ccc;padding:0.25rem 0.6rem;text-align:right}}\
th{{background:#f3f3f3}} td:first-child,th:first-child{{text-align:left}}\
.meta{{color:#555}}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"meta\">Period <b>{}</b> · generated {} · data valid through <b>{}</b></p>\n",
        escape_html(&title),
        escape_html(&title),
        escape_html(&m.period),
        escape_html(&m.generated_at),
        escape_html(&m.data_valid_through)
    );
    if !spec.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape_html(&spec.description));
    }
    for section in results {
        let _ = writeln!(out, "<h2>{}</h2>", escape_html(&section.title));
        if let Some((_, png)) = &section.chart {
            let _ = writeln!(out, "{}", png_figure(png, &section.title));
        }
        let Some((cols, rows)) = text_table(&section.batches) else {
            out.push_str("<p><i>No rows for this period.</i></p>\n");
            continue;
        };
        if !section.show_table {
            continue;
        }
        out.push_str("<table>\n");
        for (tag, cells) in std::iter::once(("th", &cols)).chain(rows.iter().map(|r| ("td", r))) {
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(out, "<{tag}>{}</{tag}>", escape_html(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_periods_are_checked() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let (s, e) = period_bounds("2026-10").unwrap();
        assert_eq!(
            (format_date(s), format_date(e)),
            ("2026-10-01".into(), "2026-11-01".into())
        );
        assert!(period_bounds("2026-13").is_err());
        assert!(period_bounds("2026-1").is_err());
        assert!(period_bounds("../../etc").is_err());
    }

    #[test]
    fn due_lists_missing_periods_of_the_monthly_schedule() {
        use chrono::TimeZone as _;
        let out = tempfile::tempdir().unwrap();
        // 2026-11-03 00:00 UTC is 08:00 in Shanghai: the run of 2026-11-02 06:00 (for October) has passed.
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
        let list = due(None, out.path(), now).unwrap();
        assert_eq!(list[0].missing_periods, ["2026-10", "2026-09", "2026-08"]);
        assert!(
            list[0].next_run.starts_with("2026-12-02T06:00:00+08:00"),
            "{}",
            list[0].next_run
        );
        let done = out.path().join("reports/monthly/period=2026-10");
        fs::create_dir_all(&done).unwrap();
        fs::write(done.join(fsutil::MANIFEST_FILE), "{}").unwrap();
        assert_eq!(
            due(None, out.path(), now).unwrap()[0].missing_periods,
            ["2026-09", "2026-08"]
        );
        // 2026-11-01 20:00 UTC is 04:00 on the 2nd in Shanghai: October is not due yet.
        let early = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 20, 0, 0).unwrap();
        assert_eq!(
            due(None, out.path(), early).unwrap()[0].missing_periods,
            ["2026-09", "2026-08", "2026-07"]
        );
    }

    #[test]
    fn the_embedded_monthly_spec_is_valid() {
        let spec = load_spec("monthly", None).unwrap();
        assert!(!spec.sections.is_empty());
        assert!(load_spec("../secret", None).is_err());
    }
}
