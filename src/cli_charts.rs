//! `aftersight chart`: one chart from a library query, ad-hoc SQL or a file.

use std::path::{Path, PathBuf};

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};
use aftersight::models::{features, life};
use aftersight::sql::library::{self, QueryFile};
use aftersight::sql::{self as sqlmod, SessionSettings};
use anyhow::Context;
use clap::Args;

/// `aftersight chart`.
#[derive(Args, Debug)]
#[command(after_long_help = "Chart types:
  line, area, bar, stacked-bar   categories on x (months sort in time order); one or more --y
                                 columns, or one --y split by --series; duplicates are summed
  ranked-bar                     --x labels, --y value; largest first, top 20
  heatmap                        --x columns, --series rows, --y value
  weibull, kaplan-meier          --x time, --y failed flag, --series group
  mcf                            --x time, --y event flag, --series unit (one row per repair,
                                 plus a row with event=false at each unit's end of observation)
  roc, pr, calibration, lift     --x label (true/false), --y score columns, --series group
  scatter                        --x and --y; or several numeric --y columns (or all numeric
                                 columns), projected on their first two principal components;
                                 --series colours the points
  histogram                      --x numeric column, optional --y weight
  box                            --y value, --x group
  tiles                          --x label, --y value,previous,last_year; optional `unit` and
                                 `better` (up/down) columns

PNG is drawn at twice --width x --height for sharp slides; SVG at that size. Chinese labels
render with the embedded font. The footer names the source and the date the data is valid through.

Examples:
  aftersight chart line --query repair_volume_by_month --x month --y repair_orders --out volume.png
  aftersight chart ranked-bar --query top_failing_components --param start=2026-01-01 --out top.svg
  aftersight chart weibull --query features/first_failures --x months --y failed --series component \\
      --sql-filter \"component IN ('transmission', 'water_pump')\" --out weibull.png
  aftersight chart roc --sql \"SELECT label, score FROM my_scores\" --out roc.png --lang zh
  aftersight chart kaplan-meier --input bench_test.csv --x hours --y failed --series supplier --out km.png")]
pub struct ChartCommand {
    /// Chart type (see below).
    #[arg(value_parser = parse_kind)]
    kind: ChartKind,
    /// A query of the library (`features/NAME` for a feature query).
    #[arg(long, conflicts_with_all = ["sql", "input"])]
    query: Option<String>,
    /// Ad-hoc read-only SQL over the warehouse.
    #[arg(long, conflicts_with = "input")]
    sql: Option<String>,
    /// A CSV or Parquet file instead of the warehouse.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Keep only the query's rows that match this SQL condition.
    #[arg(long)]
    sql_filter: Option<String>,
    /// A query parameter, `name=value` (repeatable).
    #[arg(long = "param", value_parser = crate::parse_param)]
    params: Vec<(String, String)>,
    /// Column for x (categories, times, labels).
    #[arg(long)]
    x: Option<String>,
    /// Value columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    y: Vec<String>,
    /// Column whose values name the series.
    #[arg(long)]
    series: Option<String>,
    /// Numeric column that orders the categories (default: first appearance; months sort by time).
    #[arg(long)]
    order: Option<String>,
    /// Title (default: the query's title).
    #[arg(long)]
    title: Option<String>,
    /// Subtitle (default: the query's parameters).
    #[arg(long)]
    subtitle: Option<String>,
    /// X axis title, with its unit.
    #[arg(long)]
    x_label: Option<String>,
    /// Y axis title, with its unit.
    #[arg(long)]
    y_label: Option<String>,
    /// Values are fractions: show them as percentages.
    #[arg(long)]
    percent: bool,
    /// Language of titles and the chart's own words.
    #[arg(long, default_value = "en", value_parser = |s: &str| s.parse::<Lang>())]
    lang: Lang,
    /// Width in layout pixels.
    #[arg(long, default_value_t = 960)]
    width: u32,
    /// Height in layout pixels.
    #[arg(long, default_value_t = 540)]
    height: u32,
    /// Output file: .png or .svg.
    #[arg(long)]
    out: PathBuf,
    /// Warehouse directory.
    #[arg(long, default_value = "aftersight-out/warehouse")]
    warehouse: PathBuf,
    /// Predictions, queryable as NAME_predictions.
    #[arg(long, default_value = "aftersight-out/predictions")]
    predictions: PathBuf,
    /// Query library (default: ./queries if present, else the built-in copy).
    #[arg(long)]
    queries: Option<PathBuf>,
}

fn parse_kind(s: &str) -> Result<ChartKind, String> {
    s.parse().map_err(|e: charts::ChartError| e.to_string())
}

/// A library or feature query by name.
fn find_query(queries: Option<&Path>, name: &str) -> anyhow::Result<QueryFile> {
    if let Some(feature) = name.strip_prefix("features/") {
        return Ok(features::load(
            features::default_dir(queries).as_deref(),
            feature,
        )?);
    }
    let dir = queries.map(Path::to_path_buf).or_else(|| {
        Path::new("queries")
            .is_dir()
            .then(|| PathBuf::from("queries"))
    });
    Ok(match dir {
        Some(dir) => library::find(&dir, name)?,
        None => library::embedded()?
            .into_iter()
            .find(|q| q.name == name)
            .with_context(|| format!("no query `{name}` in the built-in library"))?,
    })
}

/// Renders the chart and writes it atomically.
pub async fn chart(cmd: ChartCommand) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(&cmd.out).with_context(|| {
        format!(
            "--out `{}`: the file name must end in .png or .svg",
            cmd.out.display()
        )
    })?;
    let zh = cmd.lang == Lang::Zh;
    let (frame, title, source, valid_through) = if let Some(path) = &cmd.input {
        anyhow::ensure!(
            cmd.sql_filter.is_none(),
            "--sql-filter works with --query or --sql"
        );
        let batches = life::read_table(path).await?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        (Frame::from_batches(&batches)?, name.clone(), name, None)
    } else {
        let (sql, bound, title, source) = match (&cmd.query, &cmd.sql) {
            (Some(name), None) => {
                let q = find_query(cmd.queries.as_deref(), name)?;
                let bound = q.bind(&cmd.params)?;
                let title = if zh && !q.title_zh.is_empty() {
                    q.title_zh.clone()
                } else {
                    q.title.clone()
                };
                (q.sql, bound, title, format!("queries/{name}.sql"))
            }
            (None, Some(sql)) => (
                sql.clone(),
                sqlmod::bind_untyped(&cmd.params),
                "Ad-hoc query".to_owned(),
                "ad-hoc SQL".to_owned(),
            ),
            _ => anyhow::bail!("give --query NAME, --sql SQL or --input FILE"),
        };
        let sql = match &cmd.sql_filter {
            Some(condition) => format!("SELECT * FROM ({sql}) AS chart_data WHERE {condition}"),
            None => sql,
        };
        let ctx = sqlmod::open(&cmd.warehouse, &SessionSettings::default()).await?;
        sqlmod::register_predictions(&ctx, &cmd.predictions).await?;
        let valid_through = sqlmod::data_valid_through(&ctx)
            .await?
            .map(aftersight::dates::format_date);
        let batches = sqlmod::query(&ctx, &sql, bound).await?;
        (Frame::from_batches(&batches)?, title, source, valid_through)
    };
    let subtitle = cmd.subtitle.clone().unwrap_or_else(|| {
        cmd.params
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    });
    let footer = match &valid_through {
        Some(date) => charts::footer(&source, date, cmd.lang),
        None if zh => format!("数据来源：{source} · aftersight"),
        None => format!("Source: {source} · aftersight"),
    };
    let options = ChartOptions {
        title: cmd.title.clone().unwrap_or(title),
        subtitle,
        x_label: cmd.x_label.clone().unwrap_or_default(),
        y_label: cmd.y_label.clone().unwrap_or_default(),
        footer,
        percent: cmd.percent,
        width: cmd.width.clamp(200, 4000),
        height: cmd.height.clamp(150, 4000),
        lang: cmd.lang,
    };
    let columns = Columns {
        x: cmd.x.clone(),
        y: cmd.y.clone(),
        series: cmd.series.clone(),
        order: cmd.order.clone(),
    };
    let bytes = charts::render(cmd.kind, &frame, &columns, &options, format)?;
    aftersight::fsutil::write_atomically(&cmd.out, &bytes)
        .with_context(|| format!("writing `{}`", cmd.out.display()))?;
    eprintln!(
        "wrote {} ({} rows, {} bytes)",
        cmd.out.display(),
        frame.rows(),
        bytes.len()
    );
    Ok(())
}

/// `aftersight summary`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "One self-contained HTML page for a month: headline KPIs against the previous month and
the same month last year, the revenue trend, emerging quality risks (with Weibull B10 lives from
`aftersight run`'s reliability stage), customers and segments most at risk of churn (from the
churn and segment predictions), and the station scorecard. Charts are inline PNGs.
Written to OUT/executive/period=YYYY-MM/summary.html (summary.zh.html with --lang zh).

Examples:
  aftersight summary                         # the month the data is valid through
  aftersight summary --period 2026-09 --lang zh
  aftersight summary --format json           # headline numbers for a scheduler or a bot"
)]
pub struct SummaryCommand {
    /// Month `YYYY-MM` (default: the month the data is valid through).
    #[arg(long)]
    period: Option<String>,
    /// Language of the page.
    #[arg(long, default_value = "en", value_parser = |s: &str| s.parse::<Lang>())]
    lang: Lang,
    /// Warehouse directory.
    #[arg(long, default_value = "aftersight-out/warehouse")]
    warehouse: PathBuf,
    /// Output root: predictions/ and reliability/ are read from it, executive/ written to it.
    #[arg(long, default_value = "aftersight-out")]
    out: PathBuf,
    /// Query library (default: ./queries if present, else the built-in copy).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// How to print what was written.
    #[arg(long, value_enum, default_value_t = SummaryPrint::Table)]
    format: SummaryPrint,
}

/// How `summary` reports.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SummaryPrint {
    /// A few lines for people.
    Table,
    /// The manifest as JSON.
    Json,
}

/// Writes the executive summary.
pub async fn summary(cmd: SummaryCommand) -> anyhow::Result<()> {
    let queries = cmd.queries.or_else(|| {
        Path::new("queries")
            .is_dir()
            .then(|| PathBuf::from("queries"))
    });
    let manifest = aftersight::executive::write(&aftersight::executive::SummaryConfig {
        warehouse: cmd.warehouse,
        out: cmd.out,
        queries,
        period: cmd.period,
        lang: cmd.lang,
        settings: SessionSettings::default(),
    })
    .await?;
    match cmd.format {
        SummaryPrint::Json => println!("{}", serde_json::to_string_pretty(&manifest)?),
        SummaryPrint::Table => {
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
            if let Some(r) = manifest.risks.first() {
                println!(
                    "  top quality risk: {} {} ({:.1}× its peers)",
                    r.cohort, r.component, r.ratio
                );
            }
            println!("in {}", manifest.file.display());
        }
    }
    Ok(())
}
