//! The sections of the executive page, in reading order, and their tables.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::gather::{Churn, Gathered, figure_error};
use super::{AtRisk, Headline, Risk, Words};
use crate::charts::webfont::FAMILY;
use crate::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};
use crate::dates::{Period, add_months, format_date};
use crate::report::{ReportError, escape_html, png_figure};
use crate::terms::{self, Kind};
use crate::warranty::alerts::Alarm;

/// Charts drawn into the page, counted for the manifest.
pub(super) struct Figures {
    drawn: usize,
}

impl Figures {
    /// Draws a chart as an inline PNG figure.
    fn draw(
        &mut self,
        kind: ChartKind,
        frame: &Frame,
        columns: Columns,
        options: ChartOptions,
    ) -> Result<String, ReportError> {
        let png = charts::render(kind, frame, &columns, &options, ImageFormat::Png).map_err(
            |source| ReportError::Chart {
                index: self.drawn + 1,
                name: options.title.clone(),
                source,
            },
        )?;
        self.drawn += 1;
        Ok(png_figure(&png, &options.title))
    }
}

/// One language's page while it is written.
pub(super) struct Page<'a> {
    pub(super) html: String,
    figures: Figures,
    words: Words,
    data: &'a Gathered,
    month_name: String,
}

impl<'a> Page<'a> {
    pub(super) fn new(data: &'a Gathered, lang: Lang) -> Page<'a> {
        Page {
            html: String::new(),
            figures: Figures { drawn: 0 },
            words: Words { lang },
            data,
            month_name: month_label(data.period, lang),
        }
    }

    pub(super) fn figures_drawn(&self) -> usize {
        self.figures.drawn
    }

    /// The footer of a chart drawn from a query of the library.
    fn footer(&self, query: &str) -> String {
        let source = format!("queries/{query}.sql");
        charts::footer(&source, &self.data.valid_through, self.words.lang)
    }

    /// The HTML head, the title and the period line.
    pub(super) fn header(&mut self) {
        let (period, valid_through) = (self.data.period.to_string(), &self.data.valid_through);
        let title = format!(
            "{} · {}",
            self.words
                .t("After-sales executive summary", "售后业务管理层摘要"),
            self.month_name
        );
        page_head(&mut self.html, &title, self.words.lang);
        let _ = writeln!(
            self.html,
            "<header><h1>{}</h1><p class=\"meta\">{} <b>{}</b> · {} <b>{}</b> · {}</p></header>",
            escape_html(&title),
            self.words.t("Period", "统计期"),
            escape_html(&period),
            self.words.t("data valid through", "数据截至"),
            escape_html(valid_through),
            self.words.t(
                "compared with the previous month and the same month last year",
                "与上月及去年同月对比"
            ),
        );
    }

    /// 1. Headline tiles (the four a director asks for first) and the full table.
    pub(super) fn headline_section(&mut self) -> Result<Vec<Headline>, ReportError> {
        let (lang, month_name) = (self.words.lang, self.month_name.clone());
        let headline = headlines(&self.data.kpis, lang)?;
        let _ = writeln!(
            self.html,
            "<section><h2>{}</h2>",
            self.words.t("Headline KPIs", "核心指标")
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
            title: format!("{} {month_name}", self.words.t("At a glance:", "一览：")),
            subtitle: self.words.t("▲▼ against the previous month and the same month last year; green is good news", "▲▼ 对比上月与去年同月；绿色为向好").into(),
            footer: self.footer("headline_kpis"),
            height: 300,
            lang,
            ..ChartOptions::default()
        };
            self.html.push_str(&self.figures.draw(
                ChartKind::Tiles,
                &frame,
                Columns::default(),
                options,
            )?);
        }
        headline_table(&mut self.html, &headline, &self.words);
        self.html.push_str("</section>\n");
        Ok(headline)
    }

    /// 2. Revenue trend, 13 months.
    pub(super) fn trend_section(&mut self) -> Result<(), ReportError> {
        let (lang, period, start) = (self.words.lang, self.data.period, self.data.period.start());
        let trend_start = add_months(start, -12);
        let volume = &self.data.volume;
        if volume.rows() > 0 {
            let _ = writeln!(
                self.html,
                "<section><h2>{}</h2>",
                self.words
                    .t("Workshop revenue, 13 months", "近13个月维修产值")
            );
            let options = ChartOptions {
                title: self
                    .words
                    .t("Workshop revenue by month", "每月维修产值")
                    .into(),
                subtitle: format!("{} – {period}", &format_date(trend_start)[..7]),
                y_label: self.words.t("Revenue, CNY", "产值（元）").into(),
                footer: self.footer("repair_volume_by_month"),
                lang,
                height: 400,
                ..ChartOptions::default()
            };
            let columns = Columns {
                x: Some("month".into()),
                y: vec!["revenue_cny".into()],
                ..Columns::default()
            };
            self.html.push_str(
                &self
                    .figures
                    .draw(ChartKind::Line, volume, columns, options)?,
            );
            self.html.push_str("</section>\n");
        }

        Ok(())
    }

    /// 3. The emerging-issue alarms standing at the end of the period.
    pub(super) fn risk_section(&mut self) -> Result<Vec<Risk>, ReportError> {
        let (lang, period) = (self.words.lang, self.data.period);
        let risks = risk_list(&self.data.alarms, &self.data.b10, lang);
        let _ = writeln!(
            self.html,
            "<section><h2>{}</h2>",
            self.words.t("Emerging quality issues", "新出现的质量问题")
        );
        let rule = if lang == Lang::Zh {
            format!("{}。", self.data.rule.describe_zh())
        } else {
            sentence(&self.data.rule.describe())
        };
        let _ = writeln!(
            self.html,
            "<p class=\"note\">{} {}</p>",
            escape_html(&rule),
            self.words.t(
                "B10: months in service by which 10% fail, from the Weibull fits of the reliability stage.",
                "B10：可靠性分析中威布尔拟合得到的10%车辆发生故障时的使用月数。"
            )
        );
        if risks.is_empty() {
            let _ = writeln!(
                self.html,
                "<p>{}</p>",
                self.words.t(
                    "No emerging issue passes the threshold this month.",
                    "本月没有达到预警阈值的新问题。"
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
                .number("ratio", risks.iter().map(|r| r.alarm.ratio));
            let window_start = period.plus_months(1 - self.data.rule.window_months as i32);
            let options = ChartOptions {
                title: self
                    .words
                    .t(
                        "Failures against same-age peers (×)",
                        "故障数相对同使用月数同类车型（倍）",
                    )
                    .into(),
                subtitle: format!("{window_start} – {period}"),
                y_label: self
                    .words
                    .t("Observed ÷ expected failures", "实际 ÷ 预期故障数")
                    .into(),
                footer: self.footer("warranty/component_failures"),
                lang,
                height: 320,
                ..ChartOptions::default()
            };
            let columns = Columns {
                x: Some("risk".into()),
                y: vec!["ratio".into()],
                ..Columns::default()
            };
            self.html.push_str(&self.figures.draw(
                ChartKind::RankedBar,
                &frame,
                columns,
                options,
            )?);
            risk_table(&mut self.html, &risks, &self.words);
        }
        self.html.push_str("</section>\n");

        Ok(risks)
    }

    /// What changed and why, in three to five sentences built from the page's
    /// own figures: the biggest KPI moves on last month and last year, the
    /// alarms, the reserve's change, and what to look at first.
    pub(super) fn narrative(&self, headline: &[Headline], risks: &[Risk]) -> Vec<String> {
        let zh = self.words.lang == Lang::Zh;
        let mut sentences = Vec::new();
        // The move of a KPI against a base: its size as people say it, and a score for ranking.
        let moved = |h: &Headline, base: Option<f64>| -> Option<(f64, String, bool)> {
            let (value, base) = (h.value?, base?);
            if value == base {
                return None;
            }
            let up = value > base;
            let (score, size) = if h.unit == "%" {
                let points = 100.0 * (value - base).abs();
                (
                    points / 2.0,
                    if zh {
                        format!("{points:.1}个百分点")
                    } else {
                        format!("{points:.1} points")
                    },
                )
            } else if base > 0.0 {
                let pct = 100.0 * (value - base).abs() / base;
                (
                    pct,
                    if zh {
                        format!("{pct:.1}%")
                    } else {
                        format!("{pct:.1} %")
                    },
                )
            } else {
                return None;
            };
            Some((score, size, up))
        };
        let biggest = |base: &dyn Fn(&Headline) -> Option<f64>| {
            headline
                .iter()
                .filter_map(|h| moved(h, base(h)).map(|m| (h, m)))
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
        };
        let value_text = |h: &Headline| show(h.value, &h.unit);
        for (base, (en_when, zh_when)) in [
            (
                &(|h: &Headline| h.previous) as &dyn Fn(&Headline) -> Option<f64>,
                ("on last month", "较上月"),
            ),
            (
                &|h: &Headline| h.last_year,
                ("on the same month last year", "较去年同月"),
            ),
        ] {
            if let Some((h, (_, size, up))) = biggest(base) {
                sentences.push(if zh {
                    format!(
                        "{}{zh_when}{}{size}，为{}。",
                        h.label,
                        if up { "上升" } else { "下降" },
                        value_text(h)
                    )
                } else {
                    format!(
                        "{} {} {size} {en_when}, to {}.",
                        h.label,
                        if up { "rose" } else { "fell" },
                        value_text(h)
                    )
                });
            }
        }
        match risks.first() {
            None => sentences.push(
                self.words
                    .t("No emerging quality issue passes the alarm threshold this month.", "本月没有新出现的质量问题达到预警阈值。")
                    .to_owned(),
            ),
            Some(r) => sentences.push(if zh {
                format!("{}项质量预警成立，最突出的是{}的{}，故障数为同类车型的{:.1}倍。", risks.len(), r.cohort, r.component, r.alarm.ratio)
            } else {
                format!(
                    "{} emerging-issue alarm{} stand{}; the strongest is {} {}, failing at {:.1} times its peers.",
                    risks.len(),
                    if risks.len() == 1 { "" } else { "s" },
                    if risks.len() == 1 { "s" } else { "" },
                    r.cohort,
                    r.component,
                    r.alarm.ratio
                )
            }),
        }
        if let Some(w) = &self.data.warranty {
            let (mean, lo, hi) = w.reserve;
            let change = w
                .previous
                .as_ref()
                .filter(|(b, _)| *b > 0.0)
                .map(|(b, _)| 100.0 * (mean - b) / b);
            sentences.push(match (zh, change) {
                (true, Some(c)) => format!("保修准备金为{}元（90%区间{}–{}元），较上月{}{:.1}%。", yuan(mean), yuan(lo), yuan(hi), if c >= 0.0 { "增加" } else { "减少" }, c.abs()),
                (true, None) => format!("保修准备金为{}元（90%区间{}–{}元）。", yuan(mean), yuan(lo), yuan(hi)),
                (false, Some(c)) => format!("The warranty reserve stands at {} CNY (90 % interval {} to {}), {} {:.1} % on last month.", yuan(mean), yuan(lo), yuan(hi), if c >= 0.0 { "up" } else { "down" }, c.abs()),
                (false, None) => format!("The warranty reserve stands at {} CNY (90 % interval {} to {}).", yuan(mean), yuan(lo), yuan(hi)),
            });
        }
        // What to look at first: an alarm, else the KPI that moved most the wrong way on last month.
        let wrong_way = headline
            .iter()
            .filter_map(|h| {
                moved(h, h.previous)
                    .filter(|m| m.2 != h.up_is_good)
                    .map(|m| (h, m))
            })
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0));
        if let Some(r) = risks.first() {
            sentences.push(if zh {
                format!("建议首先排查{}的{}。", r.cohort, r.component)
            } else {
                format!("Look first at {} {}.", r.cohort, r.component)
            });
        } else if let Some((h, (_, size, _))) = wrong_way {
            sentences.push(if zh {
                format!("建议首先关注{}：较上月朝不利方向变化{size}。", h.label)
            } else {
                format!(
                    "Look first at {}, which moved the wrong way by {size} on last month.",
                    h.label
                )
            });
        }
        sentences.truncate(5);
        sentences
    }

    /// Writes the narrative as the page's opening paragraph, right after the header.
    pub(super) fn insert_narrative(&mut self, at: usize, sentences: &[String]) {
        let title = self.words.t("What changed this month", "本月要点");
        let text = sentences
            .iter()
            .map(|s| escape_html(s))
            .collect::<Vec<_>>()
            .join(if self.words.lang == Lang::Zh { "" } else { " " });
        let block =
            format!("<section class=\"narrative\"><h2>{title}</h2><p>{text}</p></section>\n");
        self.html.insert_str(at, &block);
    }

    /// 3b. The warranty outlook: the reserve with its interval and change, and the backtest.
    pub(super) fn warranty_section(&mut self) -> Result<(), ReportError> {
        let lang = self.words.lang;
        let _ = writeln!(
            self.html,
            "<section><h2>{}</h2>",
            self.words.t("Warranty outlook", "保修展望")
        );
        let Some(w) = &self.data.warranty else {
            let _ = writeln!(
                self.html,
                "<p>{}</p></section>",
                self.words.t(
                    "No warranty outlook yet: run `aftersight warranty forecast` (or `aftersight run`).",
                    "暂无保修展望：请运行 `aftersight warranty forecast`（或 `aftersight run`）。"
                )
            );
            return Ok(());
        };
        let (mean, lo, hi) = w.reserve;
        let change = w.previous.as_ref().map(|(before, day)| {
            let delta = mean - before;
            let share = if *before > 0.0 {
                100.0 * delta / before
            } else {
                f64::NAN
            };
            if lang == Lang::Zh {
                format!(
                    "，较{day}{}{}元（{share:+.1}%）",
                    if delta >= 0.0 { "增加" } else { "减少" },
                    yuan(delta.abs())
                )
            } else {
                format!(
                    ", {} {} CNY ({share:+.1} %) on {day}",
                    if delta >= 0.0 { "up" } else { "down" },
                    yuan(delta.abs())
                )
            }
        });
        let line = if lang == Lang::Zh {
            format!(
                "截至{}，在保车辆未来全部索赔的预计成本（保修准备金）为 <b>{} 元</b>（90%区间 {} – {} 元）{}。",
                w.as_of,
                yuan(mean),
                yuan(lo),
                yuan(hi),
                change.unwrap_or_default()
            )
        } else {
            format!(
                "Reserve for every future claim of the fleet still under cover, as of {}: <b>{} CNY</b> (90 % interval {} to {} CNY){}.",
                w.as_of,
                yuan(mean),
                yuan(lo),
                yuan(hi),
                change.unwrap_or_default()
            )
        };
        let _ = writeln!(self.html, "<p>{line}</p>");
        if w.backtest.rows() > 0 {
            let numbers = |name: &str| -> Result<Vec<f64>, ReportError> {
                Ok(w.backtest
                    .numbers(name)
                    .map_err(super::gather::figure_error("warranty/outlook_backtest"))?
                    .into_iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect())
            };
            let months = w
                .backtest
                .labels("month")
                .map_err(super::gather::figure_error("warranty/outlook_backtest"))?;
            let (forecast, low, high, actual) = (
                self.words.t("forecast", "预测"),
                self.words.t("90 % low", "90%下限"),
                self.words.t("90 % high", "90%上限"),
                self.words.t("actual", "实际"),
            );
            let frame = Frame::new()
                .text("month", months)
                .number(forecast, numbers("expected_claims")?)
                .number(low, numbers("lower_90")?)
                .number(high, numbers("upper_90")?)
                .number(actual, numbers("actual_claims")?);
            let options = ChartOptions {
                title: self
                    .words
                    .t(
                        "Claims: the forecast against what happened",
                        "索赔：预测与实际",
                    )
                    .into(),
                subtitle: match (&w.backtest_as_of, lang) {
                    (Some(day), Lang::Zh) => format!("基于截至{day}的数据所做的预测"),
                    (Some(day), _) => format!("forecast made with the data as of {day}"),
                    (None, _) => String::new(),
                },
                y_label: self.words.t("Claims per month", "每月索赔数").into(),
                footer: self.footer("warranty/outlook_backtest"),
                lang,
                height: 360,
                ..ChartOptions::default()
            };
            let columns = Columns {
                x: Some("month".into()),
                y: vec![forecast.into(), low.into(), high.into(), actual.into()],
                ..Columns::default()
            };
            self.html.push_str(
                &self
                    .figures
                    .draw(ChartKind::Line, &frame, columns, options)?,
            );
        }
        let _ = writeln!(
            self.html,
            "<p class=\"note\">{}</p></section>",
            self.words.t(
                "Fitted Weibull laws per component (renewed at each repair), conditional on each part's age; 90 % intervals carry the fits' uncertainty (delta method) and claim counts' noise.",
                "按零部件拟合威布尔寿命分布（每次维修后更新），以各零部件当前使用时间为条件；90%区间包含拟合参数不确定性（delta方法）与索赔数随机波动。"
            )
        );
        Ok(())
    }

    /// 4. Churn risk, when the models have scored the customers.
    pub(super) fn churn_section(&mut self) -> Result<Vec<AtRisk>, ReportError> {
        let _ = writeln!(
            self.html,
            "<section><h2>{}</h2>",
            self.words.t(
                "Active customers with the most revenue at stake",
                "流失风险收入最高的活跃客户"
            )
        );
        let data = self.data;
        let mut at_risk = Vec::new();
        if let Some(churn) = &data.churn {
            at_risk = self.churn_html(churn)?;
        } else {
            let _ = writeln!(
            self.html,
            "<p>{}</p>",
            self.words.t(
                "No churn predictions yet: run `aftersight train churn` and `aftersight predict churn` (or `aftersight run`).",
                "暂无流失预测：请运行 `aftersight train churn` 与 `aftersight predict churn`（或 `aftersight run`）。"
            )
        );
        }
        self.html.push_str("</section>\n");

        Ok(at_risk)
    }

    fn churn_html(&mut self, churn: &Churn) -> Result<Vec<AtRisk>, ReportError> {
        let (segments, customers) = (&churn.by_segment, &churn.customers);
        let lang = self.words.lang;
        let valid_through = &self.data.valid_through;
        if segments.rows() > 0 {
            let options = ChartOptions {
            title: self.words.t("Expected churners by segment", "各客户群预计流失人数").into(),
            subtitle: self.words.t("Sum of churn probabilities: customers expected to make no visit in the next 12 months", "流失概率之和：预计未来12个月不再到店的客户数").into(),
            y_label: self.words.t("Expected churners", "预计流失人数").into(),
            footer: charts::footer("churn_predictions, segments_predictions", valid_through, lang),
            lang,
            height: 320,
            ..ChartOptions::default()
        };
            let segment_column = if lang == Lang::Zh {
                "segment_zh"
            } else {
                "segment"
            };
            let columns = Columns {
                x: Some(segment_column.into()),
                y: vec!["expected_churners".into()],
                ..Columns::default()
            };
            self.html.push_str(&self.figures.draw(
                ChartKind::RankedBar,
                segments,
                columns,
                options,
            )?);
        }
        let _ = writeln!(
            self.html,
            "<p class=\"note\">{} {}</p>",
            self.words.t(
                "Customers who visited in the last 12 months, ranked by their churn probability times their spend in those months. \"Why\" names what raises each score most, so an advisor knows what to call about.",
                "近12个月内到过店的客户，按流失概率乘以其近12个月消费额排序。“原因”列出推高其流失分数最多的因素，便于顾问有针对性地回访。"
            ),
            if self.words.lang == Lang::Zh {
                format!("近12个月流失（一年未到店）的客户：{}位。", charts::theme::format_number(churn.lost))
            } else {
                format!(
                    "Lost in the last 12 months (a year without a visit): {} customers.",
                    charts::theme::format_number(churn.lost)
                )
            }
        );
        let error = figure_error("churn_top_customers");
        let headers = [
            self.words.t("Customer", "客户"),
            self.words.t("City", "城市"),
            self.words.t("Segment", "客户群"),
            self.words.t("Churn probability", "流失概率"),
            self.words.t("Last visit", "最近到店"),
            self.words.t("Spend, 12 months (CNY)", "近12个月消费（元）"),
            self.words.t("Revenue at stake (CNY)", "风险收入（元）"),
            self.words.t("Why", "原因"),
        ];
        self.html.push_str("<table><tr>");
        for h in headers {
            let _ = write!(self.html, "<th>{h}</th>");
        }
        self.html.push_str("</tr>\n");
        let (names, cities, segs, last, drivers) = (
            customers.labels("name").map_err(&error)?,
            customers.labels("city").map_err(&error)?,
            customers
                .labels(if self.words.lang == Lang::Zh {
                    "segment_zh"
                } else {
                    "segment"
                })
                .map_err(&error)?,
            customers.labels("last_visit").map_err(&error)?,
            customers.labels("drivers").map_err(&error)?,
        );
        let (probability, spend, at_stake) = (
            customers.numbers("probability").map_err(&error)?,
            customers.numbers("spend_cny").map_err(&error)?,
            customers.numbers("revenue_at_stake_cny").map_err(&error)?,
        );
        let money = |v: Option<f64>| v.map_or_else(|| "–".into(), charts::theme::format_number);
        let mut listed = Vec::new();
        for i in 0..customers.rows() {
            let last_visit = last[i].get(..10).unwrap_or(&last[i]).to_owned();
            let _ = writeln!(
                self.html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&names[i]),
                escape_html(&cities[i]),
                escape_html(&segs[i]),
                probability[i].map_or_else(|| "–".into(), probability_text),
                escape_html(&last_visit),
                money(spend[i]),
                money(at_stake[i]),
                escape_html(&driver_words(&drivers[i], self.words.lang)),
            );
            listed.push(AtRisk {
                name: names[i].clone(),
                probability: probability[i].unwrap_or(0.0),
                last_visit,
                spend_cny: spend[i].unwrap_or(0.0),
                revenue_at_stake_cny: at_stake[i].unwrap_or(0.0),
                drivers: drivers[i]
                    .split(';')
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
        self.html.push_str("</table>\n");
        Ok(listed)
    }

    /// 5. Station scorecard.
    pub(super) fn scorecard_section(&mut self) -> Result<(), ReportError> {
        let lang = self.words.lang;
        let scorecard = &self.data.scorecard;
        let _ = writeln!(
            self.html,
            "<section><h2>{}</h2>",
            self.words.t("Station scorecard", "服务站评分卡")
        );
        if scorecard.rows() > 0 {
            let options = ChartOptions {
            title: self.words.t("Station score (0-100)", "服务站综合得分（0-100）").into(),
            subtitle: self.words.t("40% quality (comebacks), 40% satisfaction, 20% on-time; AAA from 85, AA from 75", "质量（返修）40%，满意度40%，准时20%；85分以上AAA，75分以上AA").into(),
            y_label: self.words.t("Score", "得分").into(),
            footer: self.footer("station_scorecard"),
            lang,
            height: 520,
            ..ChartOptions::default()
        };
            let columns = Columns {
                x: Some("station".into()),
                y: vec!["score".into()],
                ..Columns::default()
            };
            self.html.push_str(&self.figures.draw(
                ChartKind::RankedBar,
                scorecard,
                columns,
                options,
            )?);
            scorecard_table(&mut self.html, scorecard, &self.words)?;
        } else {
            let _ = writeln!(
                self.html,
                "<p>{}</p>",
                self.words
                    .t("No repair orders in this period.", "本期无维修工单。")
            );
        }
        self.html.push_str("</section>\n");
        Ok(())
    }
}

/// "October 2026" or "2026年10月".
fn month_label(period: Period, lang: Lang) -> String {
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
    let (year, m) = (period.year(), period.month() as usize);
    match lang {
        Lang::Zh => format!("{year}年{m}月"),
        Lang::En => format!("{} {year}", MONTHS[m.clamp(1, 12) - 1]),
    }
}

fn headlines(frames: &[Frame], lang: Lang) -> Result<Vec<Headline>, ReportError> {
    let error = figure_error("headline_kpis");
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
            unit: unit_in(&units[i], lang),
            up_is_good: better[i] == "up",
        })
        .collect())
}

/// A headline unit as the page's reader writes it: yuan in Chinese.
fn unit_in(unit: &str, lang: Lang) -> String {
    match (lang, unit) {
        (Lang::Zh, "CNY") => "元".into(),
        (Lang::Zh, "CNY/h") => "元/小时".into(),
        (_, unit) => unit.into(),
    }
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

/// The alarms as the page lists them, named in its language.
fn risk_list(alarms: &[Alarm], b10: &HashMap<String, f64>, lang: Lang) -> Vec<Risk> {
    alarms
        .iter()
        .map(|a| {
            // The reliability stage keys its fits by the English cohort and the component code.
            let key = format!("{} {} {}", a.make, a.model, a.model_year);
            Risk {
                b10_months: b10.get(&format!("{key}|{}", a.component)).copied(),
                fleet_b10_months: b10.get(&format!("|{}", a.component)).copied(),
                cohort: terms::cohort(&a.make, &a.model, a.model_year, lang),
                component: terms::word_or_key(Kind::Component, &a.component, lang),
                alarm: a.clone(),
            }
        })
        .collect()
}

/// A CNY amount with thousands separators, to the yuan (the registry's count format).
fn yuan(value: f64) -> String {
    crate::terms::columns::ColumnFormat::Count.format(value, Lang::En)
}

/// "flagged when ..." as a sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn risk_table(html: &mut String, risks: &[Risk], words: &Words) {
    let headers = [
        words.t("Cohort", "车型批次"),
        words.t("Component", "零部件"),
        words.t("Months in service", "使用月数"),
        words.t("Failures", "故障数"),
        words.t("Expected", "预期"),
        words.t("Ratio (95% interval)", "倍数（95%区间）"),
        words.t("Adjusted p", "校正p值"),
        words.t("Alarm since", "预警起始月"),
        words.t("B10, months", "B10（月）"),
        words.t("Fleet B10, months", "全车队B10（月）"),
    ];
    html.push_str("<table><tr>");
    for h in headers {
        let _ = write!(html, "<th>{h}</th>");
    }
    html.push_str("</tr>\n");
    let months = |v: Option<f64>| v.map_or_else(|| "–".into(), |m| format!("{m:.0}"));
    for r in risks {
        let a = &r.alarm;
        let since = if a.new_this_month {
            format!("{} ({})", a.first_month, words.t("new", "本月新增"))
        } else {
            a.first_month.to_string()
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{:.1}</td><td class=\"bad\">{:.1}× ({:.1}–{:.1})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.cohort),
            escape_html(&r.component),
            a.months_in_service_from,
            a.months_in_service_to,
            charts::theme::format_number(a.observed),
            a.expected,
            a.ratio,
            a.ratio_low,
            a.ratio_high,
            p_value_text(a.adjusted_p),
            since,
            months(r.b10_months),
            months(r.fleet_b10_months),
        );
    }
    html.push_str("</table>\n");
}

/// A p-value for people: "0.003", and "<0.001" below that.
fn p_value_text(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// `drivers` of the churn predictions (`;`-separated `feature:high|low`) in the page's language.
fn driver_words(drivers: &str, lang: Lang) -> String {
    let words: Vec<String> = drivers
        .split(';')
        .filter(|d| !d.is_empty())
        .map(|d| {
            let (name, side) = d.split_once(':').unwrap_or((d, "high"));
            let kind = if side == "low" {
                Kind::ChurnDriverLow
            } else {
                Kind::ChurnDriverHigh
            };
            terms::word(kind, name, lang).map_or_else(|| d.to_owned(), str::to_owned)
        })
        .collect();
    if words.is_empty() {
        "–".into()
    } else {
        words.join(if lang == Lang::Zh { "；" } else { "; " })
    }
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
    let error = figure_error("station_scorecard");
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
            escape_html(&terms::word_or_key(
                Kind::StationGrade,
                &scored[i],
                words.lang
            )),
            escape_html(&terms::word_or_key(
                Kind::StationGrade,
                &current[i],
                words.lang
            )),
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
body{{font-family:\"{FAMILY}\",\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1.5rem;color:#212529}}\
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
    fn churn_drivers_read_as_words_with_their_direction() {
        let drivers = "comebacks:high;log_spend:low;new_feature:high";
        assert_eq!(
            driver_words(drivers, Lang::En),
            "a comeback repair; low spend; new_feature:high"
        );
        assert_eq!(driver_words("csi_shortfall:high", Lang::Zh), "满意度评分低");
        assert_eq!(driver_words("", Lang::En), "–");
    }

    #[test]
    fn months_read_naturally_in_both_languages() {
        assert_eq!(
            month_label("2026-10".parse().unwrap(), Lang::En),
            "October 2026"
        );
        assert_eq!(
            month_label("2026-03".parse().unwrap(), Lang::Zh),
            "2026年3月"
        );
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
