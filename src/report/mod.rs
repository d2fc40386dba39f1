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

mod due;
mod render;
mod spec;

use std::fs;
use std::path::PathBuf;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::charts::ChartError;
use crate::dates::{Period, format_date};
use crate::fsutil::{self, PublishError};
use crate::sql::{self, QueryFile, SqlError, library};
use crate::warehouse::{Lock, WarehouseError};

pub use self::due::{DueReport, due};
pub use self::render::{escape_html, png_figure};
pub use self::spec::{
    EMBEDDED, Presentation, ReportFormat, ReportSpec, Schedule, SectionChart, SectionSpec,
    load_spec,
};

/// Manifest kind of a published report period.
pub const REPORT_KIND: &str = "aftersight-report";

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
    /// A query of the executive summary failed.
    #[error("query `{name}`")]
    Query {
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: SqlError,
    },
    /// The emerging-issue alarms of the executive page could not be computed.
    #[error("emerging-issue alarms")]
    Alarms(#[source] crate::warranty::WarrantyError),
    /// The page font could not be embedded.
    #[error(transparent)]
    Font(#[from] crate::charts::webfont::WebFontError),
    /// A chart of the executive summary could not be drawn.
    #[error("chart of `{name}`")]
    Figure {
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: ChartError,
    },
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
    /// The month; `None` is the month the data is valid through.
    pub period: Option<Period>,
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
    /// Header row of the section CSVs.
    pub csv_headers: crate::sql::output::CsvHeaders,
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
    /// Sections left out, with why (a table another stage publishes is missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
}

/// Parses a `--period` value.
pub fn parse_period(text: &str) -> Result<Period, ReportError> {
    text.parse()
        .map_err(|_| ReportError::Period(text.to_owned()))
}

/// Runs a report (or validates it, with `dry_run`).
pub async fn run(config: &ReportConfig) -> Result<ReportManifest, ReportError> {
    let spec_dir = config.queries.as_ref().map(|q| q.join("reports"));
    let mut spec = load_spec(&config.name, spec_dir.as_deref())?;
    let mut queries = library::load_or_embedded(config.queries.as_deref())?;
    queries.extend(crate::warranty::queries(config.queries.as_deref())?);
    let ctx = sql::open(&config.warehouse, &config.settings).await?;
    sql::register_predictions(&ctx, &config.out.join("predictions")).await?;
    let published = sql::register_warranty(&ctx, &config.out).await?;
    let mut left_out = Vec::new();
    spec.sections.retain(|s| match &s.requires {
        Some(table) if !published.contains(table) => {
            let name = s.query.clone().unwrap_or_else(|| "inline SQL".into());
            left_out.push(format!("{name}: no table `{table}` (run `aftersight warranty forecast` or `aftersight run`)"));
            false
        }
        _ => true,
    });
    let valid_through_day = sql::data_valid_through(&ctx).await?;
    let valid_through = valid_through_day.map_or_else(|| "never".to_owned(), format_date);
    let period = match (config.period, valid_through_day) {
        (Some(p), _) => p,
        (None, Some(day)) => Period::containing(day),
        (None, None) => {
            return Err(ReportError::NoData {
                period: "the latest month".into(),
                valid_through,
            });
        }
    };
    let dir = config
        .out
        .join("reports")
        .join(&config.name)
        .join(format!("period={period}"));
    let mut manifest = ReportManifest {
        kind: REPORT_KIND,
        report: config.name.clone(),
        period: period.to_string(),
        generated_at: now_rfc3339(),
        data_valid_through: valid_through.clone(),
        files: Vec::new(),
        sections: Vec::new(),
        directory: PathBuf::new(),
        dry_run: config.dry_run,
        left_out,
    };
    let mut results = Vec::new();
    for (i, section) in spec.sections.iter().enumerate() {
        let (query, title) = resolve(section, &queries, i).map_err(|reason| ReportError::Spec {
            path: PathBuf::from(format!("queries/reports/{}.toml", config.name)),
            reason,
        })?;
        let batches = run_section(&ctx, section, &query, i, period, config.dry_run).await?;
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
    if rows_in_period(&ctx, period).await? == 0 {
        return Err(ReportError::NoData {
            period: period.to_string(),
            valid_through,
        });
    }

    let report_root = config.out.join("reports").join(&config.name);
    fs::create_dir_all(&report_root).map_err(fsutil::io_error("create directory", &report_root))?;
    let _lock = Lock::acquire(&report_root)?;
    let staging = fsutil::Staging::new(&dir)?;
    render::draw_charts(&spec, &mut manifest, &mut results, staging.path())?;
    render::write_files(
        &spec,
        &mut manifest,
        &results,
        staging.path(),
        config.csv_headers,
    )?;
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

/// Plans one section with the period bound into its parameters and, unless
/// this is a dry run, runs it.
async fn run_section(
    ctx: &SessionContext,
    section: &SectionSpec,
    query: &QueryFile,
    index: usize,
    period: Period,
    dry_run: bool,
) -> Result<Vec<RecordBatch>, ReportError> {
    let given: Vec<(String, String)> = section
        .params
        .iter()
        .map(|(k, v)| {
            let value = v
                .replace("{period_start}", &format_date(period.start()))
                .replace("{period_end}", &format_date(period.end()));
            (k.clone(), value)
        })
        .collect();
    let section_err = |source| ReportError::Section {
        index: index + 1,
        name: query.name.clone(),
        source,
    };
    let bound = query.bind(&given).map_err(section_err)?;
    let df = sql::plan(ctx, &query.sql, bound)
        .await
        .map_err(section_err)?;
    if dry_run {
        return Ok(Vec::new());
    }
    df.collect()
        .await
        .map_err(|e| section_err(SqlError::Query(e)))
}

fn resolve(
    section: &SectionSpec,
    queries: &[QueryFile],
    index: usize,
) -> Result<(QueryFile, String), String> {
    let query = match (&section.query, &section.sql) {
        (Some(name), None) => queries
            .iter()
            .find(|q| &q.name == name)
            .cloned()
            .ok_or_else(|| format!("section {}: no query `{name}` in the library", index + 1))?,
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
async fn rows_in_period(ctx: &SessionContext, period: Period) -> Result<i64, ReportError> {
    use datafusion::common::ScalarValue;
    let params = [("start", period.start()), ("end", period.end())]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_periods_are_checked() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let p = parse_period("2026-10").unwrap();
        assert_eq!(
            (format_date(p.start()), format_date(p.end())),
            ("2026-10-01".into(), "2026-11-01".into())
        );
        for bad in ["2026-13", "2026-1", "../../etc"] {
            let err = parse_period(bad).unwrap_err().to_string();
            assert!(err.contains("expected YYYY-MM"), "{err}");
        }
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
