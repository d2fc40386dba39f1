//! Everything the executive page shows, queried once for all its languages:
//! the KPI library's queries and the page's own in `queries/executive/`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;

use super::{EMBEDDED, SummaryConfig};
use crate::charts::{ChartError, Frame};
use crate::dates::{Period, add_months, format_date};
use crate::report::ReportError;
use crate::sql::library::{self, QueryFile};
use crate::sql::{self, SqlError};
use crate::warranty::alerts::{self, Alarm, AlertRule};

/// Everything the page shows.
pub(crate) struct Gathered {
    pub(super) period: Period,
    pub(super) valid_through: String,
    /// Headline KPIs: this month, the month before, the same month last year.
    pub(super) kpis: Vec<Frame>,
    pub(super) volume: Frame,
    /// The emerging-issue alarms standing at the end of the period, and the rule that raised them.
    pub(super) alarms: Vec<Alarm>,
    pub(super) rule: AlertRule,
    pub(super) b10: HashMap<String, f64>,
    /// Churn by segment and the customers most at risk, when predicted.
    pub(super) churn: Option<Churn>,
    /// The station scorecard, best first, with a `station` label "name (id)".
    pub(super) scorecard: Frame,
    /// The warranty stage's outlook, when it has run.
    pub(super) warranty: Option<WarrantyOutlook>,
}

/// The warranty outlook as the page shows it.
pub(crate) struct WarrantyOutlook {
    /// The outlook's as-of day.
    pub(super) as_of: String,
    /// The reserve: expected, lower and upper 90 %, CNY.
    pub(super) reserve: (f64, f64, f64),
    /// The reserve a month earlier, and its as-of day.
    pub(super) previous: Option<(f64, String)>,
    /// The backtest months: forecast, interval and actual claims.
    pub(super) backtest: Frame,
    /// The backtest's as-of day.
    pub(super) backtest_as_of: Option<String>,
}

/// Reads the warranty stage's manifests and runs the backtest query over its tables.
async fn warranty_outlook(
    ctx: &SessionContext,
    config: &SummaryConfig,
    warranty_queries: &[QueryFile],
) -> Result<Option<WarrantyOutlook>, ReportError> {
    let manifest = |dir: std::path::PathBuf| -> Option<serde_json::Value> {
        let bytes = std::fs::read(dir.join(crate::fsutil::MANIFEST_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let Some(now) = manifest(crate::warranty::outlook_dir(&config.out)) else {
        return Ok(None);
    };
    let reserve = |m: &serde_json::Value| -> Option<(f64, f64, f64)> {
        let r = m["reserve_cny"].as_array()?;
        Some((
            r.first()?.as_f64()?,
            r.get(1)?.as_f64()?,
            r.get(2)?.as_f64()?,
        ))
    };
    let Some(current) = reserve(&now) else {
        return Ok(None);
    };
    let previous = manifest(crate::warranty::previous_dir(&config.out))
        .and_then(|m| Some((reserve(&m)?.0, m["as_of"].as_str()?.to_owned())));
    let published = sql::register_warranty(ctx, &config.out).await?;
    let (backtest, backtest_as_of) = if published
        .iter()
        .any(|t| t == "warranty_backtest_forecast_by_month")
    {
        let query = find(warranty_queries, "outlook_backtest", "queries/warranty")?;
        let as_of = manifest(crate::warranty::backtest_dir(&config.out))
            .and_then(|m| m["as_of"].as_str().map(str::to_owned));
        (execute(ctx, query, &[]).await?, as_of)
    } else {
        (Frame::new(), None)
    };
    Ok(Some(WarrantyOutlook {
        as_of: now["as_of"].as_str().unwrap_or_default().to_owned(),
        reserve: current,
        previous,
        backtest,
        backtest_as_of,
    }))
}

/// The churn section's tables.
pub(crate) struct Churn {
    /// Expected churners per segment.
    pub(super) by_segment: Frame,
    /// Active customers with the most revenue at stake, with their drivers.
    pub(super) customers: Frame,
    /// Customers whose year without a visit ended in the last 12 months.
    pub(super) lost: f64,
}

/// Runs every query of the page.
pub(crate) async fn gather(config: &SummaryConfig) -> Result<Gathered, ReportError> {
    let runner = Runner {
        library: library::load_or_embedded(config.queries.as_deref())?,
        executive: executive_queries(config.queries.as_deref())?,
    };
    let ctx = sql::open(&config.warehouse, &config.settings).await?;
    let predictions = sql::register_predictions(&ctx, &config.out.join("predictions")).await?;
    let valid_through_day = sql::data_valid_through(&ctx).await?;
    let valid_through = valid_through_day.map_or_else(|| "never".to_owned(), format_date);
    let period = match (config.period, valid_through_day) {
        (Some(p), Some(day)) if day >= p.start() => p,
        (None, Some(day)) => Period::containing(day),
        (p, _) => {
            return Err(ReportError::NoData {
                period: p.map_or_else(|| "the latest month".into(), |p| p.to_string()),
                valid_through,
            });
        }
    };
    let (start, end) = (period.start(), period.end());
    let mut kpis = Vec::new();
    for p in [period, period.plus_months(-1), period.plus_months(-12)] {
        let params = [
            ("start", format_date(p.start())),
            ("end", format_date(p.end())),
        ];
        kpis.push(runner.run(&ctx, "headline_kpis", &params).await?);
    }
    let volume_params = [
        ("start", format_date(add_months(start, -12))),
        ("end", format_date(end)),
    ];
    let volume = runner
        .run(&ctx, "repair_volume_by_month", &volume_params)
        .await?;
    // The page judges its own month, so it asks the monitor directly rather
    // than reading the warranty stage's alarms, which are as of the last day of data.
    let as_of = end.min(valid_through_day.unwrap_or(end));
    let rule = AlertRule::default();
    let warranty_queries =
        crate::warranty::queries(config.queries.as_deref()).map_err(ReportError::Sql)?;
    let alarms = alerts::monitor(&ctx, &warranty_queries, as_of, &rule)
        .await
        .map_err(ReportError::Alarms)?;
    let b10 = reliability_b10(&config.out.join("reliability").join("weibull.parquet")).await;
    let churn = if predictions.iter().any(|p| p == "churn_predictions") {
        if !predictions.iter().any(|p| p == "segments_predictions") {
            register_no_segments(&ctx)?;
        }
        let as_of = [("as_of", format_date(as_of))];
        let by_segment = runner.run_own(&ctx, "churn_by_segment", &[]).await?;
        let customers = runner.run_own(&ctx, "churn_top_customers", &as_of).await?;
        let lost = runner.run_own(&ctx, "churn_lost_customers", &as_of).await?;
        Some(Churn {
            by_segment,
            customers,
            lost: lost
                .numbers("lost")
                .map_err(figure_error("churn_lost_customers"))?
                .first()
                .copied()
                .flatten()
                .unwrap_or(0.0),
        })
    } else {
        None
    };
    let period_params = [("start", format_date(start)), ("end", format_date(end))];
    let scorecard = runner
        .run(&ctx, "station_scorecard", &period_params)
        .await?;
    let names = runner.run_own(&ctx, "station_names", &[]).await?;
    let warranty = warranty_outlook(&ctx, config, &warranty_queries).await?;
    Ok(Gathered {
        period,
        valid_through,
        kpis,
        volume,
        alarms,
        rule,
        b10,
        churn,
        scorecard: label_stations(&scorecard, &names).map_err(figure_error("station_scorecard"))?,
        warranty,
    })
}

/// The page's own queries: `QUERIES/executive/` when that folder exists, else the compiled-in copies.
fn executive_queries(queries: Option<&Path>) -> Result<Vec<QueryFile>, SqlError> {
    library::load_subfolder(queries, "executive", EMBEDDED)
}

/// Without segment predictions the churn queries join an empty table, so
/// every customer's segment reads "–".
fn register_no_segments(ctx: &SessionContext) -> Result<(), SqlError> {
    let schema = Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("segment", DataType::Int64, true),
        Field::new("segment_description", DataType::Utf8, true),
        Field::new("segment_name", DataType::Utf8, true),
        Field::new("segment_name_zh", DataType::Utf8, true),
    ]);
    ctx.register_table("segments_predictions", sql::empty_table(Arc::new(schema)))?;
    Ok(())
}

/// The scorecard with a `station` column, "name (id)", in the scorecard's order.
fn label_stations(scorecard: &Frame, names: &Frame) -> Result<Frame, ChartError> {
    let name_of: HashMap<String, String> = names
        .labels("station_id")?
        .into_iter()
        .zip(names.labels("name")?)
        .collect();
    let ids = scorecard.labels("station_id")?;
    let station = ids.iter().map(|id| match name_of.get(id) {
        Some(name) => format!("{name} ({id})"),
        None => id.clone(),
    });
    let number =
        |c: &str| -> Result<Vec<Option<f64>>, ChartError> { Ok(scorecard.numbers(c)?.to_vec()) };
    Ok(Frame::new()
        .text("station", station)
        .text("current_grade", scorecard.labels("current_grade")?)
        .text("scored_grade", scorecard.labels("scored_grade")?)
        .optional_number("score", number("score")?)
        .optional_number("comeback_rate", number("comeback_rate")?)
        .optional_number("csi", number("csi")?)
        .optional_number("on_time_share", number("on_time_share")?))
}

/// The library's queries and the page's own, run into frames.
struct Runner {
    library: Vec<QueryFile>,
    executive: Vec<QueryFile>,
}

impl Runner {
    /// A query of the KPI library with parameters.
    async fn run(
        &self,
        ctx: &SessionContext,
        name: &str,
        params: &[(&str, String)],
    ) -> Result<Frame, ReportError> {
        let query = find(&self.library, name, "queries")?;
        execute(ctx, query, params).await
    }

    /// One of the page's own queries.
    async fn run_own(
        &self,
        ctx: &SessionContext,
        name: &str,
        params: &[(&str, String)],
    ) -> Result<Frame, ReportError> {
        let query = find(&self.executive, name, "queries/executive")?;
        execute(ctx, query, params).await
    }
}

fn find<'a>(
    queries: &'a [QueryFile],
    name: &str,
    folder: &str,
) -> Result<&'a QueryFile, ReportError> {
    queries
        .iter()
        .find(|q| q.name == name)
        .ok_or_else(|| ReportError::Spec {
            path: Path::new(folder).join(format!("{name}.sql")),
            reason: "the executive summary needs this query".into(),
        })
}

async fn execute(
    ctx: &SessionContext,
    query: &QueryFile,
    params: &[(&str, String)],
) -> Result<Frame, ReportError> {
    let given: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let failed = |source| ReportError::Query {
        name: query.name.clone(),
        source,
    };
    let bound = query.bind(&given).map_err(failed)?;
    let batches = sql::query(ctx, &query.sql, bound).await.map_err(failed)?;
    Frame::from_batches(&batches).map_err(figure_error(&query.name))
}

/// An error reading a query's rows for the page.
pub(super) fn figure_error(name: &str) -> impl Fn(ChartError) -> ReportError + '_ {
    move |source| ReportError::Figure {
        name: name.to_owned(),
        source,
    }
}

/// B10 lives in months: per `"Make Model Year|component"` and per component (`"|component"`).
pub(super) async fn reliability_b10(path: &Path) -> HashMap<String, f64> {
    let Ok(batches) = crate::models::life::read_table(path).await else {
        return HashMap::new();
    };
    let Ok(frame) = Frame::from_batches(&batches) else {
        return HashMap::new();
    };
    let (Ok(level), Ok(component), Ok(group), Ok(basis), Ok(b10)) = (
        frame.labels("level"),
        frame.labels("component"),
        frame.labels("group"),
        frame.labels("basis"),
        frame.numbers("b10"),
    ) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for i in 0..frame.rows() {
        let cohort = match level[i].as_str() {
            "component" => "",
            "model" => group[i].as_str(),
            _ => continue,
        };
        if basis[i] != "months" {
            continue;
        }
        if let Some(value) = b10[i] {
            out.insert(format!("{cohort}|{}", component[i]), value);
        }
    }
    out
}
