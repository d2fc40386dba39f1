//! The executive summary: one self-contained HTML page per period that a
//! director reads in a minute.
//!
//! It shows the headline KPIs against the previous month and the same month
//! last year, the revenue trend, the emerging-issue alarms standing at the
//! end of the month (see [`crate::warranty::alerts`], with the cohort's Weibull
//! B10 life from the reliability stage), the customers and segments most at risk of churn
//! (from the churn and segment predictions), and the station scorecard. Every
//! chart is an inline PNG, so the page is one file that mails and archives
//! well. English or Chinese (`Lang::Zh`).
//!
//! Written to `OUT/executive/period=YYYY-MM/summary.html` (or
//! `summary.zh.html`), atomically.

mod gather;
mod sections;

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::charts::Lang;
use crate::dates::Period;
use crate::report::ReportError;
use crate::sql::SessionSettings;

use self::gather::{Gathered, gather};
use self::sections::Page;

/// `(name, text)` of `queries/executive/<name>.sql`, compiled in.
macro_rules! embed_executive {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/executive/", $name, ".sql")))),*]
    };
}

/// The executive page's own queries as compiled into the binary (a test keeps them equal to the folder).
pub const EMBEDDED: &[(&str, &str)] = embed_executive![
    "churn_by_segment",
    "churn_lost_customers",
    "churn_top_customers",
    "station_names"
];

/// What to summarise.
#[derive(Debug, Clone)]
pub struct SummaryConfig {
    /// Warehouse.
    pub warehouse: PathBuf,
    /// Output root: predictions and reliability are read from it, the page written under it.
    pub out: PathBuf,
    /// Query library; `None` uses the embedded copy.
    pub queries: Option<PathBuf>,
    /// The month; `None` is the month the data is valid through.
    pub period: Option<Period>,
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

/// One emerging-issue alarm as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// Make, model and model year.
    pub cohort: String,
    /// Component.
    pub component: String,
    /// The alarm behind the row.
    pub alarm: crate::warranty::alerts::Alarm,
    /// The cohort's B10 life in months from its Weibull fit, when one exists.
    pub b10_months: Option<f64>,
    /// The component's fleet B10 life in months.
    pub fleet_b10_months: Option<f64>,
}

/// An active customer with revenue at stake, as the page lists them.
#[derive(Debug, Clone, Serialize)]
pub struct AtRisk {
    /// Customer name.
    pub name: String,
    /// Churn probability.
    pub probability: f64,
    /// Last visit (`YYYY-MM-DD`).
    pub last_visit: String,
    /// Spend in the 12 months to the period's end, CNY.
    pub spend_cny: f64,
    /// Probability times spend, CNY.
    pub revenue_at_stake_cny: f64,
    /// The churn features that raise the score most, strongest first.
    pub drivers: Vec<String>,
}

/// What was written; printed by the CLI and recorded by `aftersight run`.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryManifest {
    /// Period.
    pub period: String,
    /// Language code.
    pub lang: Lang,
    /// Last date with data.
    pub data_valid_through: String,
    /// The page.
    pub file: PathBuf,
    /// The opening paragraph's sentences, as written on the page.
    pub narrative: Vec<String>,
    /// Headline KPIs.
    pub headline: Vec<Headline>,
    /// The emerging-issue alarms standing at the end of the period.
    pub risks: Vec<Risk>,
    /// Whether churn predictions were found.
    pub churn_section: bool,
    /// The active customers with the most revenue at stake.
    pub at_risk: Vec<AtRisk>,
    /// Customers whose year without a visit ended in the last 12 months.
    pub lost_customers: Option<f64>,
    /// Charts embedded.
    pub charts: usize,
}

/// The page's own words.
pub(crate) struct Words {
    lang: Lang,
}

impl Words {
    pub(crate) fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
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

/// Renders and writes one language's page.
fn render(
    data: &Gathered,
    config: &SummaryConfig,
    lang: Lang,
) -> Result<SummaryManifest, ReportError> {
    let mut page = Page::new(data, lang);
    page.header();
    let opening = page.html.len();
    let headline = page.headline_section()?;
    page.trend_section()?;
    let risks = page.risk_section()?;
    page.warranty_section()?;
    let at_risk = page.churn_section()?;
    page.scorecard_section()?;
    let narrative = page.narrative(&headline, &risks);
    page.insert_narrative(opening, &narrative);
    let words = Words { lang };
    let _ = writeln!(
        page.html,
        "<footer>{} · aftersight {} · {}</footer>\n</body>\n</html>",
        words.t("Generated", "生成于"),
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );

    let file_name = if lang == Lang::Zh {
        "summary.zh.html"
    } else {
        "summary.html"
    };
    let file = config
        .out
        .join("executive")
        .join(format!("period={}", data.period))
        .join(file_name);
    let html = crate::charts::webfont::embed_font(&page.html)?;
    crate::fsutil::write_atomically(&file, html.as_bytes())
        .map_err(crate::fsutil::io_error("write", &file))?;
    Ok(SummaryManifest {
        period: data.period.to_string(),
        lang,
        data_valid_through: data.valid_through.clone(),
        file,
        narrative,
        headline,
        risks,
        churn_section: data.churn.is_some(),
        at_risk,
        lost_customers: data.churn.as_ref().map(|c| c.lost),
        charts: page.figures_drawn(),
    })
}
