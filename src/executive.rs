//! The executive summary: one self-contained HTML page per period that a
//! director reads in a minute.
//!
//! It shows the headline KPIs against the previous month and the same month
//! last year, the revenue trend, the top emerging quality risks (cohorts
//! failing faster than their same-age peers, with their Weibull B10 life from
//! the reliability stage), the customers and segments most at risk of churn
//! (from the churn and segment predictions), and the station scorecard. Every
//! chart is an inline PNG, so the page is one file that mails and archives
//! well. English or Chinese (`Lang::Zh`).
//!
//! Written to `OUT/executive/period=YYYY-MM/summary.html` (or
//! `summary.zh.html`), atomically.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};
use crate::dates::{add_months, format_date};
use crate::report::{ReportError, escape_html, period_bounds, png_figure};
use crate::sql::library::{self, QueryFile};
use crate::sql::{self, SessionSettings};

/// What to summarise.
#[derive(Debug, Clone)]
pub struct SummaryConfig {
    /// Warehouse.
    pub warehouse: PathBuf,
    /// Output root: predictions and reliability are read from it, the page written under it.
    pub out: PathBuf,
    /// Query library; `None` uses the embedded copy.
    pub queries: Option<PathBuf>,
    /// Period `YYYY-MM`; `None` is the month the data is valid through.
    pub period: Option<String>,
    /// Language.
    pub lang: Lang,
    /// Session settings (memory, threads, as-of date).
    pub settings: SessionSettings,
}

/// One headline KPI and its comparisons.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// KPI key.
    pub kpi: String,
    /// Label in the page's language.
    pub label: String,
    /// This period.
    pub value: Option<f64>,
    /// The month before.
    pub previous: Option<f64>,
    /// The same month a year earlier.
    pub last_year: Option<f64>,
    /// Unit (`%` for shares).
    pub unit: String,
    /// Whether up is good.
    pub up_is_good: bool,
}

/// One emerging quality risk.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// Make, model and model year.
    pub cohort: String,
    /// Component.
    pub component: String,
    /// Repairs in the window.
    pub repairs: f64,
    /// Repairs expected at the peer rate.
    pub expected: f64,
    /// Observed over expected.
    pub ratio: f64,
    /// The cohort's B10 life in months from its Weibull fit, when one exists.
    pub b10_months: Option<f64>,
    /// The component's fleet B10 life in months.
    pub fleet_b10_months: Option<f64>,
}

/// What was written; printed by the CLI and recorded by `aftersight run`.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryManifest {
    /// Period.
    pub period: String,
    /// Language code.
    pub lang: String,
    /// Last date with data.
    pub data_valid_through: String,
    /// The page.
    pub file: PathBuf,
    /// Headline KPIs.
    pub headline: Vec<Headline>,
    /// Top emerging risks.
    pub risks: Vec<Risk>,
    /// Whether churn predictions were found.
    pub churn_section: bool,
    /// Charts embedded.
    pub charts: usize,
}

/// The page's own words.
struct Words {
    lang: Lang,
}

impl Words {
    fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        if self.lang == Lang::Zh { zh } else { en }
    }
}

/// Writes the executive summary for a period in `config.lang`.
pub async fn write(config: &SummaryConfig) -> Result<SummaryManifest, ReportError> {
    let mut pages = write_languages(config, &[config.lang]).await?;
    Ok(pages.remove(0))
}

/// Writes the summary in several languages from one set of query results.
pub async fn write_languages(
    config: &SummaryConfig,
    languages: &[Lang],
) -> Result<Vec<SummaryManifest>, ReportError> {
    let data = gather(config).await?;
    languages
        .iter()
        .map(|&lang| render(&data, config, lang))
        .collect()
}

/// Everything the page shows, queried once.
struct Gathered {
    period: String,
    valid_through: String,
    start: i32,
    end: i32,
    /// Headline KPIs: this month, the month before, the same month last year.
    kpis: Vec<Frame>,
    volume: Frame,
    risks: Frame,
    b10: HashMap<String, f64>,
    /// Churn by segment and the customers most at risk, when predicted.
    churn: Option<(Frame, Frame)>,
    scorecard: Frame,
}

async fn gather(config: &SummaryConfig) -> Result<Gathered, ReportError> {
    let library = match &config.queries {
        Some(dir) => library::load(dir)?,
        None => library::embedded()?,
    };
    let ctx = sql::open(&config.warehouse, &config.settings).await?;
    let predictions = sql::register_predictions(&ctx, &config.out.join("predictions")).await?;
    let valid_through_day = sql::data_valid_through(&ctx).await?;
    let valid_through = valid_through_day.map_or_else(|| "never".to_owned(), format_date);
    let period = match &config.period {
        Some(p) => p.clone(),
        None => valid_through.get(..7).unwrap_or_default().to_owned(),
    };
    let (start, end) = period_bounds(&period)?;
    if valid_through_day.is_none_or(|d| d < start) {
        return Err(ReportError::NoData {
            period,
            valid_through,
        });
    }
    let runner = Runner {
        ctx: &ctx,
        library: &library,
    };
    let windows = [
        (start, end),
        (add_months(start, -1), start),
        (add_months(start, -12), add_months(end, -12)),
    ];
    let mut kpis = Vec::new();
    for (from, to) in windows {
        let params = [("start", format_date(from)), ("end", format_date(to))];
        kpis.push(runner.run("headline_kpis", &params).await?);
    }
    let volume_params = [
        ("start", format_date(add_months(start, -12))),
        ("end", format_date(end)),
    ];
    let volume = runner.run("repair_volume_by_month", &volume_params).await?;
    let risk_params = [
        ("start", format_date(add_months(end, -6))),
        ("end", format_date(end)),
        ("top", "5".into()),
    ];
    let risks = runner.run("emerging_quality_risks", &risk_params).await?;
    let b10 = reliability_b10(&config.out.join("reliability").join("weibull.parquet")).await;
    let churn = if predictions.iter().any(|p| p == "churn_predictions") {
        let with_segments = predictions.iter().any(|p| p == "segments_predictions");
        Some(churn_frames(&runner, with_segments).await?)
    } else {
        None
    };
    let period_params = [("start", format_date(start)), ("end", format_date(end))];
    let scorecard = runner.run_sql(SCORECARD_SQL, &period_params).await?;
    Ok(Gathered {
        period,
        valid_through,
        start,
        end,
        kpis,
        volume,
        risks,
        b10,
        churn,
        scorecard,
    })
}

/// Renders and writes one language's page.
fn render(
    data: &Gathered,
    config: &SummaryConfig,
    lang: Lang,
) -> Result<SummaryManifest, ReportError> {
    let words = Words { lang };
    let (period, valid_through, start, end) =
        (&data.period, &data.valid_through, data.start, data.end);
    let source = |q: &str| format!("queries/{q}.sql");
    let footer = |q: &str| charts::footer(&source(q), valid_through, lang);
    let mut charts_drawn = 0;
    let mut figure = |kind: ChartKind,
                      frame: &Frame,
                      columns: Columns,
                      options: ChartOptions|
     -> Result<String, ReportError> {
        let png = charts::render(kind, frame, &columns, &options, ImageFormat::Png).map_err(
            |source| ReportError::Chart {
                index: charts_drawn + 1,
                name: options.title.clone(),
                source,
            },
        )?;
        charts_drawn += 1;
        Ok(png_figure(&png, &options.title))
    };
    let month_name = month_label(period, lang);
    let headline = headlines(&data.kpis, lang)?;

    let mut html = String::new();
    let title = format!(
        "{} · {month_name}",
        words.t("After-sales executive summary", "售后业务管理层摘要")
    );
    page_head(&mut html, &title, lang);
    let _ = writeln!(
        html,
        "<header><h1>{}</h1><p class=\"meta\">{} <b>{}</b> · {} <b>{}</b> · {}</p></header>",
        escape_html(&title),
        words.t("Period", "统计期"),
        escape_html(period),
        words.t("data valid through", "数据截至"),
        escape_html(valid_through),
        words.t(
            "compared with the previous month and the same month last year",
            "与上月及去年同月对比"
        ),
    );

    // 1. Headline tiles (the four a director asks for first) and the full table.
    let _ = writeln!(
        html,
        "<section><h2>{}</h2>",
        words.t("Headline KPIs", "核心指标")
    );
    let tiles: Vec<&Headline> = headline
        .iter()
        .filter(|h| {
            ["repair_orders", "revenue_cny", "comeback_rate", "csi"].contains(&h.kpi.as_str())
                && h.value.is_some()
        })
        .collect();
    if !tiles.is_empty() {
        let frame = Frame::new()
            .text("kpi", tiles.iter().map(|h| h.label.clone()))
            .number("value", tiles.iter().map(|h| h.value.unwrap_or(f64::NAN)))
            .number(
                "previous",
                tiles.iter().map(|h| h.previous.unwrap_or(f64::NAN)),
            )
            .number(
                "last_year",
                tiles.iter().map(|h| h.last_year.unwrap_or(f64::NAN)),
            )
            .text("unit", tiles.iter().map(|h| h.unit.clone()))
            .text(
                "better",
                tiles
                    .iter()
                    .map(|h| if h.up_is_good { "up" } else { "down" }),
            );
        let options = ChartOptions {
            title: format!("{} {month_name}", words.t("At a glance:", "一览：")),
            subtitle: words.t("▲▼ against the previous month and the same month last year; green is good news", "▲▼ 对比上月与去年同月；绿色为向好").into(),
            footer: footer("headline_kpis"),
            height: 300,
            lang,
            ..ChartOptions::default()
        };
        html.push_str(&figure(
            ChartKind::Tiles,
            &frame,
            Columns::default(),
            options,
        )?);
    }
    headline_table(&mut html, &headline, &words);
    html.push_str("</section>\n");

    // 2. Revenue trend, 13 months.
    let trend_start = add_months(start, -12);
    let volume = &data.volume;
    if volume.rows() > 0 {
        let _ = writeln!(
            html,
            "<section><h2>{}</h2>",
            words.t("Workshop revenue, 13 months", "近13个月维修产值")
        );
        let options = ChartOptions {
            title: words.t("Workshop revenue by month", "每月维修产值").into(),
            subtitle: format!("{} – {period}", &format_date(trend_start)[..7]),
            y_label: words.t("Revenue, CNY", "产值（元）").into(),
            footer: footer("repair_volume_by_month"),
            lang,
            height: 400,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: Some("month".into()),
            y: vec!["revenue_cny".into()],
            ..Columns::default()
        };
        html.push_str(&figure(ChartKind::Line, volume, columns, options)?);
        html.push_str("</section>\n");
    }

    // 3. Emerging quality risks over the last six months.
    let risk_start = add_months(end, -6);
    let risks = risk_list(&data.risks, &data.b10)?;
    let _ = writeln!(
        html,
        "<section><h2>{}</h2>",
        words.t("Top emerging quality risks", "主要新出现的质量风险")
    );
    let _ = writeln!(
        html,
        "<p class=\"note\">{}</p>",
        words.t(
            "Model-year cohorts whose repairs of a component in the last six months run above the rate of all vehicles of the same model year. B10: months in service by which 10% fail, from the Weibull fits of the reliability stage.",
            "近六个月某零部件维修次数高于同年款全部车辆水平的车型批次。B10：可靠性分析中威布尔拟合得到的10%车辆发生故障时的使用月数。"
        )
    );
    if risks.is_empty() {
        let _ = writeln!(
            html,
            "<p>{}</p>",
            words.t(
                "No cohort stands out from its peers in this window.",
                "本期没有明显高于同类的批次。"
            )
        );
    } else {
        let frame = Frame::new()
            .text(
                "risk",
                risks
                    .iter()
                    .map(|r| format!("{} · {}", r.cohort, r.component)),
            )
            .number("ratio", risks.iter().map(|r| r.ratio));
        let options = ChartOptions {
            title: words
                .t(
                    "Repairs against same-age peers (×)",
                    "维修次数相对同年款水平（倍）",
                )
                .into(),
            subtitle: format!("{} – {period}", &format_date(risk_start)[..7]),
            y_label: words
                .t("Observed ÷ expected repairs", "实际 ÷ 预期维修次数")
                .into(),
            footer: footer("emerging_quality_risks"),
            lang,
            height: 320,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: Some("risk".into()),
            y: vec!["ratio".into()],
            ..Columns::default()
        };
        html.push_str(&figure(ChartKind::RankedBar, &frame, columns, options)?);
        risk_table(&mut html, &risks, &words);
    }
    html.push_str("</section>\n");

    // 4. Churn risk, when the models have scored the customers.
    let churn_section = data.churn.is_some();
    let _ = writeln!(
        html,
        "<section><h2>{}</h2>",
        words.t("Customers most at risk of churn", "流失风险最高的客户")
    );
    if let Some((segments, customers)) = &data.churn {
        churn_html(
            &mut html,
            &words,
            segments,
            customers,
            valid_through,
            &mut figure,
        )?;
    } else {
        let _ = writeln!(
            html,
            "<p>{}</p>",
            words.t(
                "No churn predictions yet: run `aftersight train churn` and `aftersight predict churn` (or `aftersight run`).",
                "暂无流失预测：请运行 `aftersight train churn` 与 `aftersight predict churn`（或 `aftersight run`）。"
            )
        );
    }
    html.push_str("</section>\n");

    // 5. Station scorecard.
    let scorecard = &data.scorecard;
    let _ = writeln!(
        html,
        "<section><h2>{}</h2>",
        words.t("Station scorecard", "服务站评分卡")
    );
    if scorecard.rows() > 0 {
        let options = ChartOptions {
            title: words.t("Station score (0-100)", "服务站综合得分（0-100）").into(),
            subtitle: words.t("40% quality (comebacks), 40% satisfaction, 20% on-time; AAA from 85, AA from 75", "质量（返修）40%，满意度40%，准时20%；85分以上AAA，75分以上AA").into(),
            y_label: words.t("Score", "得分").into(),
            footer: footer("station_scorecard"),
            lang,
            height: 520,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: Some("station".into()),
            y: vec!["score".into()],
            ..Columns::default()
        };
        html.push_str(&figure(ChartKind::RankedBar, scorecard, columns, options)?);
        scorecard_table(&mut html, scorecard, &words)?;
    } else {
        let _ = writeln!(
            html,
            "<p>{}</p>",
            words.t("No repair orders in this period.", "本期无维修工单。")
        );
    }
    html.push_str("</section>\n");
    let _ = writeln!(
        html,
        "<footer>{} · aftersight {} · {}</footer>\n</body>\n</html>",
        words.t("Generated", "生成于"),
        env!("CARGO_PKG_VERSION"),
        escape_html(&crate::report::now_rfc3339())
    );

    let file_name = if lang == Lang::Zh {
        "summary.zh.html"
    } else {
        "summary.html"
    };
    let file = config
        .out
        .join("executive")
        .join(format!("period={period}"))
        .join(file_name);
    crate::fsutil::write_atomically(&file, html.as_bytes())
        .map_err(crate::fsutil::io_error("write", &file))?;
    Ok(SummaryManifest {
        period: period.clone(),
        lang: if lang == Lang::Zh { "zh" } else { "en" }.into(),
        data_valid_through: valid_through.clone(),
        file,
        headline,
        risks,
        churn_section,
        charts: charts_drawn,
    })
}

/// The scorecard with station names, best first.
const SCORECARD_SQL: &str = "SELECT concat(s.name, ' (', c.station_id, ')') AS station, c.current_grade, c.scored_grade, c.score, c.comeback_rate, c.csi, c.on_time_share
FROM ({station_scorecard}) c JOIN stations s ON s.station_id = c.station_id
ORDER BY c.score DESC, c.station_id";

/// Runs library queries into frames.
struct Runner<'a> {
    ctx: &'a SessionContext,
    library: &'a [QueryFile],
}

impl Runner<'_> {
    fn query(&self, name: &str) -> Result<&QueryFile, ReportError> {
        self.library
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| ReportError::Spec {
                path: PathBuf::from(format!("queries/{name}.sql")),
                reason: "the executive summary needs this query in the library".into(),
            })
    }

    async fn run(&self, name: &str, params: &[(&str, String)]) -> Result<Frame, ReportError> {
        let query = self.query(name)?;
        self.execute(query, &query.sql, params).await
    }

    /// Runs SQL that wraps library queries, written `{name}`.
    async fn run_sql(
        &self,
        template: &str,
        params: &[(&str, String)],
    ) -> Result<Frame, ReportError> {
        let query = self.query("station_scorecard")?;
        let sql = template.replace("{station_scorecard}", &query.sql);
        self.execute(query, &sql, params).await
    }

    async fn execute(
        &self,
        query: &QueryFile,
        sql: &str,
        params: &[(&str, String)],
    ) -> Result<Frame, ReportError> {
        let given: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let section = |source| ReportError::Section {
            index: 0,
            name: query.name.clone(),
            source,
        };
        let bound = query.bind(&given).map_err(section)?;
        let batches = sql::query(self.ctx, sql, bound).await.map_err(section)?;
        Frame::from_batches(&batches).map_err(|source| ReportError::Chart {
            index: 0,
            name: query.name.clone(),
            source,
        })
    }
}

fn chart_error(name: &str) -> impl Fn(charts::ChartError) -> ReportError + '_ {
    move |source| ReportError::Chart {
        index: 0,
        name: name.to_owned(),
        source,
    }
}

/// "October 2026" or "2026年10月".
fn month_label(period: &str, lang: Lang) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month) = period.split_once('-').unwrap_or((period, "1"));
    let m: usize = month.parse().unwrap_or(1);
    match lang {
        Lang::Zh => format!("{year}年{m}月"),
        Lang::En => format!("{} {year}", MONTHS[m.clamp(1, 12) - 1]),
    }
}

fn headlines(frames: &[Frame], lang: Lang) -> Result<Vec<Headline>, ReportError> {
    let error = chart_error("headline_kpis");
    let by_kpi = |frame: &Frame| -> Result<HashMap<String, Option<f64>>, ReportError> {
        let keys = frame.labels("kpi").map_err(&error)?;
        let values = frame.numbers("value").map_err(&error)?;
        Ok(keys.into_iter().zip(values.iter().copied()).collect())
    };
    let current = &frames[0];
    let (previous, last_year) = (by_kpi(&frames[1])?, by_kpi(&frames[2])?);
    let keys = current.labels("kpi").map_err(&error)?;
    let labels = current
        .labels(if lang == Lang::Zh {
            "label_zh"
        } else {
            "label"
        })
        .map_err(&error)?;
    let units = current.labels("unit").map_err(&error)?;
    let better = current.labels("better").map_err(&error)?;
    let values = current.numbers("value").map_err(&error)?;
    Ok(keys
        .iter()
        .enumerate()
        .map(|(i, kpi)| Headline {
            kpi: kpi.clone(),
            label: labels[i].clone(),
            value: values[i],
            previous: previous.get(kpi).copied().flatten(),
            last_year: last_year.get(kpi).copied().flatten(),
            unit: units[i].clone(),
            up_is_good: better[i] == "up",
        })
        .collect())
}

fn show(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "–".into(), |v| charts::theme::format_value(v, unit))
}

/// "▲ 4.2%" in green or red, or "–" when there is nothing to compare.
fn change_cell(h: &Headline, base: Option<f64>) -> String {
    let (Some(value), Some(base)) = (h.value, base) else {
        return "<td class=\"flat\">–</td>".into();
    };
    let (text, delta) = charts::theme::format_change(value, base, &h.unit);
    let class = if delta == 0.0 {
        "flat"
    } else if (delta > 0.0) == h.up_is_good {
        "good"
    } else {
        "bad"
    };
    format!("<td class=\"{class}\">{text}</td>")
}

fn headline_table(html: &mut String, headline: &[Headline], words: &Words) {
    let _ = writeln!(
        html,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        words.t("KPI", "指标"),
        words.t("This month", "本月"),
        words.t("Previous month", "上月"),
        words.t("Change", "环比"),
        words.t("Same month last year", "去年同月"),
        words.t("Change", "同比"),
    );
    for h in headline {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><b>{}</b></td><td>{}</td>{}<td>{}</td>{}</tr>",
            escape_html(&h.label),
            show(h.value, &h.unit),
            show(h.previous, &h.unit),
            change_cell(h, h.previous),
            show(h.last_year, &h.unit),
            change_cell(h, h.last_year),
        );
    }
    html.push_str("</table>\n");
}

/// B10 lives in months: per `"Make Model Year|component"` and per component (`"|component"`).
async fn reliability_b10(path: &Path) -> HashMap<String, f64> {
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

fn risk_list(frame: &Frame, b10: &HashMap<String, f64>) -> Result<Vec<Risk>, ReportError> {
    if frame.rows() == 0 {
        return Ok(Vec::new());
    }
    let error = chart_error("emerging_quality_risks");
    let (make, model, year, component) = (
        frame.labels("make").map_err(&error)?,
        frame.labels("model").map_err(&error)?,
        frame.labels("model_year").map_err(&error)?,
        frame.labels("component").map_err(&error)?,
    );
    let (repairs, expected, ratio) = (
        frame.numbers("repairs").map_err(&error)?,
        frame.numbers("expected").map_err(&error)?,
        frame.numbers("ratio").map_err(&error)?,
    );
    Ok((0..frame.rows())
        .map(|i| {
            let cohort = format!("{} {} {}", make[i], model[i], year[i]);
            Risk {
                b10_months: b10.get(&format!("{cohort}|{}", component[i])).copied(),
                fleet_b10_months: b10.get(&format!("|{}", component[i])).copied(),
                cohort,
                component: component[i].clone(),
                repairs: repairs[i].unwrap_or(0.0),
                expected: expected[i].unwrap_or(0.0),
                ratio: ratio[i].unwrap_or(0.0),
            }
        })
        .collect())
}

fn risk_table(html: &mut String, risks: &[Risk], words: &Words) {
    let _ = writeln!(
        html,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        words.t("Cohort", "车型批次"),
        words.t("Component", "零部件"),
        words.t("Repairs", "维修次数"),
        words.t("Expected", "预期"),
        words.t("Ratio", "倍数"),
        words.t("B10, months", "B10（月）"),
        words.t("Fleet B10, months", "全车队B10（月）"),
    );
    let months = |v: Option<f64>| v.map_or_else(|| "–".into(), |m| format!("{m:.0}"));
    for r in risks {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td class=\"bad\">{:.1}×</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.cohort),
            escape_html(&r.component),
            charts::theme::format_number(r.repairs),
            r.expected,
            r.ratio,
            months(r.b10_months),
            months(r.fleet_b10_months),
        );
    }
    html.push_str("</table>\n");
}

/// Expected churners by segment, and the ten customers most at risk with
/// their last visit (aggregated for those ten only).
async fn churn_frames(
    runner: &Runner<'_>,
    with_segments: bool,
) -> Result<(Frame, Frame), ReportError> {
    let segment = if with_segments {
        "COALESCE(CAST(s.segment AS VARCHAR) || ': ' || s.segment_description, '–')"
    } else {
        "'–'"
    };
    let join = if with_segments {
        "LEFT JOIN segments_predictions s ON s.customer_id = p.customer_id"
    } else {
        ""
    };
    let by_segment = format!(
        "SELECT {segment} AS segment, count(*) AS customers, sum(p.probability) AS expected_churners, avg(p.probability) AS mean_probability
         FROM churn_predictions p {join} GROUP BY 1 ORDER BY expected_churners DESC"
    );
    let top = format!(
        "WITH top AS (
             SELECT customer_id, probability FROM churn_predictions ORDER BY probability DESC, customer_id LIMIT 10
         ),
         visits AS (
             SELECT customer_id, max(opened_at) AS last_visit FROM repair_orders
             WHERE customer_id IN (SELECT customer_id FROM top) GROUP BY customer_id
         )
         SELECT c.name, c.city, {segment} AS segment, p.probability, v.last_visit
         FROM top p
         JOIN customers c ON c.customer_id = p.customer_id
         LEFT JOIN visits v ON v.customer_id = p.customer_id
         {join}
         ORDER BY p.probability DESC, p.customer_id"
    );
    let run = |sql: String| async move {
        let batches = sql::query(runner.ctx, &sql, HashMap::new())
            .await
            .map_err(|source| ReportError::Section {
                index: 0,
                name: "churn_predictions".into(),
                source,
            })?;
        Frame::from_batches(&batches).map_err(chart_error("churn_predictions"))
    };
    Ok((run(by_segment).await?, run(top).await?))
}

fn churn_html(
    html: &mut String,
    words: &Words,
    segments: &Frame,
    customers: &Frame,
    valid_through: &str,
    figure: &mut impl FnMut(ChartKind, &Frame, Columns, ChartOptions) -> Result<String, ReportError>,
) -> Result<(), ReportError> {
    let lang = words.lang;
    if segments.rows() > 0 {
        let options = ChartOptions {
            title: words.t("Expected churners by segment", "各客户群预计流失人数").into(),
            subtitle: words.t("Sum of churn probabilities: customers expected to make no visit in the next 12 months", "流失概率之和：预计未来12个月不再到店的客户数").into(),
            y_label: words.t("Expected churners", "预计流失人数").into(),
            footer: charts::footer("churn_predictions, segments_predictions", valid_through, lang),
            lang,
            height: 320,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: Some("segment".into()),
            y: vec!["expected_churners".into()],
            ..Columns::default()
        };
        html.push_str(&figure(ChartKind::RankedBar, segments, columns, options)?);
    }
    let error = chart_error("churn_predictions");
    let _ = writeln!(
        html,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        words.t("Customer", "客户"),
        words.t("City", "城市"),
        words.t("Segment", "客户群"),
        words.t("Churn probability", "流失概率"),
        words.t("Last visit", "最近到店"),
    );
    let (names, cities, segs, last) = (
        customers.labels("name").map_err(&error)?,
        customers.labels("city").map_err(&error)?,
        customers.labels("segment").map_err(&error)?,
        customers.labels("last_visit").map_err(&error)?,
    );
    let probability = customers.numbers("probability").map_err(&error)?;
    for i in 0..customers.rows() {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td></tr>",
            escape_html(&names[i]),
            escape_html(&cities[i]),
            escape_html(&segs[i]),
            probability[i].map_or_else(|| "–".into(), probability_text),
            escape_html(last[i].get(..10).unwrap_or(&last[i])),
        );
    }
    html.push_str("</table>\n");
    Ok(())
}

/// A probability for people: "37%", "99.6%", and ">99.9%" rather than a
/// rounded "100%".
fn probability_text(p: f64) -> String {
    if p > 0.999 {
        ">99.9%".into()
    } else if p >= 0.99 {
        format!("{:.1}%", p * 100.0)
    } else if p < 0.001 {
        "<0.1%".into()
    } else {
        charts::theme::format_percent(p)
    }
}

fn scorecard_table(html: &mut String, frame: &Frame, words: &Words) -> Result<(), ReportError> {
    let error = chart_error("station_scorecard");
    let (station, current, scored) = (
        frame.labels("station").map_err(&error)?,
        frame.labels("current_grade").map_err(&error)?,
        frame.labels("scored_grade").map_err(&error)?,
    );
    let (score, comeback, csi, on_time) = (
        frame.numbers("score").map_err(&error)?,
        frame.numbers("comeback_rate").map_err(&error)?,
        frame.numbers("csi").map_err(&error)?,
        frame.numbers("on_time_share").map_err(&error)?,
    );
    let _ = writeln!(
        html,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        words.t("Station", "服务站"),
        words.t("Score", "得分"),
        words.t("Scored grade", "评定等级"),
        words.t("Current grade", "现有等级"),
        words.t("Comeback rate", "返修率"),
        words.t("CSI", "满意度"),
        words.t("On time", "准时率"),
    );
    let n = frame.rows();
    // The top five and the bottom five; the chart shows everyone.
    let rows: Vec<usize> = if n <= 10 {
        (0..n).collect()
    } else {
        (0..5).chain(n - 5..n).collect()
    };
    for i in rows {
        // Grades are AAA > AA > A; anything else (ungraded) is not compared.
        let rank = |g: &str| (!g.is_empty() && g.bytes().all(|b| b == b'A')).then_some(g.len());
        let class = match (rank(&scored[i]), rank(&current[i])) {
            (Some(s), Some(c)) if s < c => " class=\"bad\"",
            (Some(s), Some(c)) if s > c => " class=\"good\"",
            _ => "",
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><b>{}</b></td><td{class}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&station[i]),
            show(score[i], ""),
            escape_html(&scored[i]),
            escape_html(&current[i]),
            show(comeback[i], "%"),
            show(csi[i], ""),
            show(on_time[i], "%"),
        );
    }
    html.push_str("</table>\n");
    Ok(())
}

fn page_head(html: &mut String, title: &str, lang: Lang) {
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\
body{{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1.5rem;color:#212529}}\
h1{{font-size:1.6rem;margin:0}} h2{{font-size:1.2rem;border-bottom:2px solid #0072b2;padding-bottom:.2rem;margin-top:2rem}}\
.meta,.note,footer{{color:#646a73;font-size:.9rem}} figure{{margin:.5rem 0}}\
table{{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem;width:100%}}\
th,td{{border-bottom:1px solid #e2e5e9;padding:.3rem .5rem;text-align:right}} th{{background:#f6f7f9}}\
td:first-child,th:first-child{{text-align:left}} .good{{color:#009e73}} .bad{{color:#d55e00}} .flat{{color:#646a73}}\
</style>\n</head>\n<body>\n",
        if lang == Lang::Zh { "zh-CN" } else { "en" },
        escape_html(title)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_naturally_in_both_languages() {
        assert_eq!(month_label("2026-10", Lang::En), "October 2026");
        assert_eq!(month_label("2026-03", Lang::Zh), "2026年3月");
    }

    #[test]
    fn changes_are_coloured_by_whether_up_is_good() {
        let mut h = Headline {
            kpi: "comeback_rate".into(),
            label: "Comeback".into(),
            value: Some(0.05),
            previous: None,
            last_year: None,
            unit: "%".into(),
            up_is_good: false,
        };
        assert_eq!(
            change_cell(&h, Some(0.04)),
            "<td class=\"bad\">▲ 1.0 pt</td>"
        );
        h.up_is_good = true;
        h.unit = String::new();
        h.value = Some(110.0);
        assert_eq!(
            change_cell(&h, Some(100.0)),
            "<td class=\"good\">▲ 10%</td>"
        );
        assert_eq!(change_cell(&h, None), "<td class=\"flat\">–</td>");
        h.unit = "pt".into();
        h.value = Some(-3.7);
        assert_eq!(
            change_cell(&h, Some(-0.9)),
            "<td class=\"bad\">▼ 2.8 pt</td>"
        );
        assert_eq!(probability_text(0.99988), ">99.9%");
        assert_eq!(probability_text(0.9962), "99.6%");
        assert_eq!(probability_text(0.374), "37%");
    }
}
