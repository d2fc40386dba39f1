//! From a [`Frame`] to what a chart draws: pivoted categories, fitted
//! curves, projected points, quartiles. All the statistics live here, so the
//! drawing code only places shapes.

use std::collections::HashMap;

use super::frame::Frame;
use super::{ChartError, ChartKind, Columns, Lang};
use crate::models::metrics;
use crate::models::reliability::{self, Life, UnitHistory};

/// At most this many series get their own colour; the rest become "Other".
pub const MAX_SERIES: usize = 8;
/// Bars in a ranked chart.
pub const MAX_RANKED: usize = 20;
/// Curve points kept per series (more than any chart has pixels for).
const MAX_CURVE_POINTS: usize = 1500;

/// What a chart draws.
#[derive(Debug, Clone)]
pub enum Plot {
    /// Values per category and series: line, area, bars.
    Categories(CategoryPlot),
    /// A value per (column, row) category pair.
    Grid(GridPlot),
    /// Curves on numeric axes: reliability and model evaluation.
    Curves(CurvePlot),
    /// Many points, coloured by group.
    Points(PointPlot),
    /// A binned distribution.
    Histogram(HistogramPlot),
    /// Quartiles per group.
    Boxes(BoxPlot),
    /// Headline numbers with their comparison.
    Tiles(Vec<Tile>),
}

/// How categories are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryStyle {
    /// Lines through the categories.
    Line,
    /// Stacked areas.
    Area,
    /// Bars side by side.
    Grouped,
    /// Bars stacked.
    Stacked,
    /// Horizontal bars, largest first.
    Ranked,
}

/// A named row of values; NaN is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
}

/// Categories and series.
#[derive(Debug, Clone)]
pub struct CategoryPlot {
    /// How to draw.
    pub style: CategoryStyle,
    /// Category labels in order.
    pub categories: Vec<String>,
    /// Series.
    pub series: Vec<Series>,
    /// Default value-axis title (the value column, for a single one).
    pub y_title: String,
}

/// A heatmap.
#[derive(Debug, Clone)]
pub struct GridPlot {
    /// Column labels.
    pub columns: Vec<String>,
    /// Row labels.
    pub rows: Vec<String>,
    /// `values[row][column]`; NaN is empty.
    pub values: Vec<Vec<f64>>,
}

/// How a numeric axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// As is.
    Linear,
    /// As is, labelled as percentages of 1.
    Percent,
    /// Natural log; ticks at 1, 2, 5 × 10^k.
    Log,
    /// Weibull probability paper: ln(−ln(1 − F)).
    WeibullProbability,
}

impl Scale {
    /// Value to axis position.
    pub fn to_axis(self, v: f64) -> f64 {
        match self {
            Scale::Linear | Scale::Percent => v,
            Scale::Log => v.ln(),
            Scale::WeibullProbability => (-(1.0 - v).ln()).ln(),
        }
    }

    /// Axis position to value.
    pub fn from_axis(self, a: f64) -> f64 {
        match self {
            Scale::Linear | Scale::Percent => a,
            Scale::Log => a.exp(),
            Scale::WeibullProbability => 1.0 - (-a.exp()).exp(),
        }
    }
}

/// A curve in value space (not axis space).
#[derive(Debug, Clone, Default)]
pub struct Curve {
    /// Legend name.
    pub name: String,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Confidence band: (x, lower, upper).
    pub band: Vec<(f64, f64, f64)>,
    /// Draw as steps (Kaplan-Meier, MCF).
    pub step: bool,
    /// Draw markers instead of a line.
    pub markers: bool,
    /// Colour index; curves sharing one belong together (points and their fit).
    pub colour: usize,
    /// Dashed reference line (diagonal, baseline); not in the legend.
    pub reference: bool,
}

/// Curves on two numeric axes.
#[derive(Debug, Clone)]
pub struct CurvePlot {
    /// Curves.
    pub curves: Vec<Curve>,
    /// X scale.
    pub x_scale: Scale,
    /// Y scale.
    pub y_scale: Scale,
    /// Default x title.
    pub x_title: String,
    /// Default y title.
    pub y_title: String,
    /// Force the y range to include 0..1 (probabilities).
    pub unit_y: bool,
}

/// Points coloured by group.
#[derive(Debug, Clone)]
pub struct PointPlot {
    /// X values.
    pub xs: Vec<f64>,
    /// Y values.
    pub ys: Vec<f64>,
    /// Group index of each point.
    pub groups: Vec<u16>,
    /// Group names.
    pub group_names: Vec<String>,
    /// Axis titles.
    pub x_title: String,
    /// Axis titles.
    pub y_title: String,
}

/// Counts in equal-width bins.
#[derive(Debug, Clone)]
pub struct HistogramPlot {
    /// Bin edges (one more than counts).
    pub edges: Vec<f64>,
    /// Count (or weight) per bin.
    pub counts: Vec<f64>,
    /// Axis title.
    pub x_title: String,
}

/// Box plots of one value column.
#[derive(Debug, Clone)]
pub struct BoxPlot {
    /// One box per group.
    pub boxes: Vec<BoxStats>,
    /// The value column.
    pub y_title: String,
}

/// Five-number summary of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    /// Group name.
    pub name: String,
    /// Values.
    pub n: usize,
    /// Lower whisker (lowest value within 1.5 IQR of Q1).
    pub low: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker.
    pub high: f64,
    /// Values beyond the whiskers (at most 200 kept).
    pub outliers: Vec<f64>,
}

/// A headline number.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// What it is.
    pub label: String,
    /// This period.
    pub value: f64,
    /// The period before.
    pub previous: Option<f64>,
    /// The same period a year earlier.
    pub last_year: Option<f64>,
    /// Unit shown after the value (`%` formats a fraction as a percentage).
    pub unit: String,
    /// Whether up is good (`Some(true)`), bad, or neither.
    pub up_is_good: Option<bool>,
}

/// Turns a frame into what `kind` draws.
pub fn prepare(
    kind: ChartKind,
    frame: &Frame,
    columns: &Columns,
    lang: Lang,
) -> Result<Plot, ChartError> {
    if frame.rows() == 0 {
        return Err(ChartError::Data("the query returned no rows".into()));
    }
    let zh = lang == Lang::Zh;
    Ok(match kind {
        ChartKind::Line => Plot::Categories(categories(frame, columns, CategoryStyle::Line)?),
        ChartKind::Area => Plot::Categories(categories(frame, columns, CategoryStyle::Area)?),
        ChartKind::Bar => Plot::Categories(categories(frame, columns, CategoryStyle::Grouped)?),
        ChartKind::StackedBar => {
            Plot::Categories(categories(frame, columns, CategoryStyle::Stacked)?)
        }
        ChartKind::RankedBar => Plot::Categories(ranked(frame, columns)?),
        ChartKind::Heatmap => Plot::Grid(grid(frame, columns)?),
        ChartKind::Weibull => Plot::Curves(weibull(frame, columns, zh)?),
        ChartKind::KaplanMeier => Plot::Curves(kaplan_meier(frame, columns, zh)?),
        ChartKind::Mcf => Plot::Curves(mcf(frame, columns, zh)?),
        ChartKind::Roc | ChartKind::PrecisionRecall | ChartKind::Calibration | ChartKind::Lift => {
            Plot::Curves(evaluation(kind, frame, columns, zh)?)
        }
        ChartKind::Scatter => Plot::Points(points(frame, columns)?),
        ChartKind::Histogram => Plot::Histogram(histogram(frame, columns)?),
        ChartKind::Box => Plot::Boxes(boxes(frame, columns)?),
        ChartKind::Tiles => Plot::Tiles(tiles(frame, columns)?),
    })
}

fn x_column(frame: &Frame, columns: &Columns) -> Result<String, ChartError> {
    columns
        .x
        .clone()
        .or_else(|| frame.first_text().map(str::to_owned))
        .or_else(|| frame.names().first().cloned())
        .ok_or_else(|| ChartError::Data("the data has no columns".into()))
}

fn y_columns(frame: &Frame, columns: &Columns, skip: &[&str]) -> Result<Vec<String>, ChartError> {
    let ys = if columns.y.is_empty() {
        frame.numeric_names(skip)
    } else {
        columns.y.clone()
    };
    if ys.is_empty() {
        return Err(ChartError::Data(format!(
            "no numeric column to plot; give one with --y (columns: {})",
            frame.names().join(", ")
        )));
    }
    for y in &ys {
        frame.numbers(y)?;
    }
    Ok(ys)
}

/// Whether labels are ISO dates or months, which then sort in time order.
fn looks_like_dates(labels: &[String]) -> bool {
    labels.iter().all(|l| {
        let b = l.as_bytes();
        b.len() >= 7
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..7].iter().all(u8::is_ascii_digit)
    })
}

/// Pivots long data (x, y, series) or wide data (x, y1, y2, …) into
/// categories × series, summing duplicate cells.
fn categories(
    frame: &Frame,
    columns: &Columns,
    style: CategoryStyle,
) -> Result<CategoryPlot, ChartError> {
    let x = x_column(frame, columns)?;
    let mut skip = vec![x.as_str()];
    skip.extend(columns.series.as_deref());
    skip.extend(columns.order.as_deref());
    let ys = y_columns(frame, columns, &skip)?;
    let xs = frame.labels(&x)?;
    let mut order: Vec<String> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for label in &xs {
        index.entry(label).or_insert_with(|| {
            order.push(label.clone());
            order.len() - 1
        });
    }
    let mut series: Vec<Series> = Vec::new();
    let add = |name: &str, cat: usize, v: f64, series: &mut Vec<Series>| {
        let at = match series.iter().position(|s| s.name == name) {
            Some(at) => at,
            None => {
                series.push(Series {
                    name: name.to_owned(),
                    values: vec![f64::NAN; order.len()],
                });
                series.len() - 1
            }
        };
        let cell = &mut series[at].values[cat];
        *cell = if cell.is_nan() { v } else { *cell + v };
    };
    match &columns.series {
        Some(s) => {
            if ys.len() != 1 {
                return Err(ChartError::Data(
                    "with --series, give exactly one --y column".into(),
                ));
            }
            let names = frame.labels(s)?;
            let values = frame.numbers(&ys[0])?;
            for ((label, name), v) in xs.iter().zip(&names).zip(values) {
                if let Some(v) = v {
                    add(name, index[label.as_str()], *v, &mut series);
                }
            }
        }
        None => {
            for y in &ys {
                let values = frame.numbers(y)?;
                for (label, v) in xs.iter().zip(values) {
                    if let Some(v) = v {
                        add(y, index[label.as_str()], *v, &mut series);
                    }
                }
            }
        }
    }
    let permutation: Option<Vec<usize>> = match &columns.order {
        Some(column) => {
            let keys = frame.numbers(column)?;
            let mut rank = vec![f64::INFINITY; order.len()];
            for (label, key) in xs.iter().zip(keys) {
                let at = index[label.as_str()];
                rank[at] = rank[at].min(key.unwrap_or(f64::INFINITY));
            }
            let mut p: Vec<usize> = (0..order.len()).collect();
            p.sort_by(|&a, &b| rank[a].total_cmp(&rank[b]));
            Some(p)
        }
        None if looks_like_dates(&order) => {
            let mut p: Vec<usize> = (0..order.len()).collect();
            p.sort_by(|&a, &b| order[a].cmp(&order[b]));
            Some(p)
        }
        None => None,
    };
    if let Some(permutation) = permutation {
        order = permutation.iter().map(|&i| order[i].clone()).collect();
        for s in &mut series {
            s.values = permutation.iter().map(|&i| s.values[i]).collect();
        }
    }
    let series = limit_series(series, style != CategoryStyle::Line);
    let y_title = if ys.len() == 1 {
        ys[0].clone()
    } else {
        String::new()
    };
    Ok(CategoryPlot {
        style,
        categories: order,
        series,
        y_title,
    })
}

/// Keeps the largest series; folds the rest into "Other" when values add up.
fn limit_series(mut series: Vec<Series>, additive: bool) -> Vec<Series> {
    if series.len() <= MAX_SERIES {
        return series;
    }
    let total = |s: &Series| s.values.iter().filter(|v| v.is_finite()).sum::<f64>();
    series.sort_by(|a, b| total(b).total_cmp(&total(a)));
    let rest = series.split_off(MAX_SERIES - usize::from(additive));
    if additive {
        let mut other = Series {
            name: format!("Other ({})", rest.len()),
            values: vec![0.0; series[0].values.len()],
        };
        for s in &rest {
            for (o, v) in other.values.iter_mut().zip(&s.values) {
                if v.is_finite() {
                    *o += v;
                }
            }
        }
        series.push(other);
    }
    series
}

fn ranked(frame: &Frame, columns: &Columns) -> Result<CategoryPlot, ChartError> {
    let mut plot = categories(
        frame,
        &Columns {
            series: None,
            ..columns.clone()
        },
        CategoryStyle::Ranked,
    )?;
    plot.series.truncate(1);
    let values = &plot.series[0].values;
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(MAX_RANKED);
    plot.categories = order.iter().map(|&i| plot.categories[i].clone()).collect();
    plot.series[0].values = order.iter().map(|&i| values[i]).collect();
    Ok(plot)
}

fn grid(frame: &Frame, columns: &Columns) -> Result<GridPlot, ChartError> {
    let Some(row) = &columns.series else {
        return Err(ChartError::Data(
            "a heatmap needs --x (columns), --series (rows) and --y (the value)".into(),
        ));
    };
    let plot = categories(frame, columns, CategoryStyle::Grouped)?;
    // `categories` folds beyond eight series; a heatmap has room for more rows.
    let x = x_column(frame, columns)?;
    let ys = y_columns(frame, columns, &[x.as_str(), row.as_str()])?;
    let (xs, rs, values) = (
        frame.labels(&x)?,
        frame.labels(row)?,
        frame.numbers(&ys[0])?,
    );
    let mut rows: Vec<String> = Vec::new();
    for r in &rs {
        if !rows.contains(r) {
            rows.push(r.clone());
        }
    }
    let column_at: HashMap<&str, usize> = plot
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut cells = vec![vec![f64::NAN; plot.categories.len()]; rows.len()];
    for ((x, r), v) in xs.iter().zip(&rs).zip(values) {
        let (Some(v), Some(ri)) = (v, rows.iter().position(|n| n == r)) else {
            continue;
        };
        let cell = &mut cells[ri][column_at[x.as_str()]];
        *cell = if cell.is_nan() { *v } else { *cell + v };
    }
    Ok(GridPlot {
        columns: plot.categories,
        rows,
        values: cells,
    })
}

/// Failure flags: numbers (non-zero is a failure) or text (`true`/`1`/`yes`).
fn flags(frame: &Frame, name: &str) -> Result<Vec<bool>, ChartError> {
    if frame.is_number(name) {
        frame
            .numbers(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.map(|v| v != 0.0)
                    .ok_or_else(|| ChartError::Data(format!("row {}: `{name}` is empty", i + 1)))
            })
            .collect()
    } else {
        frame
            .labels(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "t" => Ok(true),
                "false" | "0" | "no" | "n" | "f" => Ok(false),
                other => Err(ChartError::Data(format!(
                    "row {}: `{name}` is `{other}`; expected true or false",
                    i + 1
                ))),
            })
            .collect()
    }
}

fn pick(
    frame: &Frame,
    given: Option<&String>,
    defaults: &[&str],
    what: &str,
    flag: &str,
) -> Result<String, ChartError> {
    if let Some(g) = given {
        return Ok(g.clone());
    }
    defaults
        .iter()
        .find(|d| frame.column(d).is_ok())
        .map(|d| (*d).to_owned())
        .ok_or_else(|| {
            ChartError::Data(format!(
                "give the {what} column with {flag} (columns: {})",
                frame.names().join(", ")
            ))
        })
}

/// Lives per group (at most [`MAX_SERIES`] groups, largest first).
fn grouped_lives(
    frame: &Frame,
    columns: &Columns,
) -> Result<(String, Vec<(String, Vec<Life>)>), ChartError> {
    let time = pick(
        frame,
        columns.x.as_ref(),
        &["months", "time", "thousand_km"],
        "time",
        "--x",
    )?;
    let event = pick(
        frame,
        columns.y.first(),
        &["failed", "event", "failure"],
        "failure flag",
        "--y",
    )?;
    let times = frame.numbers(&time)?;
    let events = flags(frame, &event)?;
    let groups = match &columns.series {
        Some(s) => frame.labels(s)?,
        None => vec![String::from("all"); times.len()],
    };
    let mut rows = Vec::with_capacity(times.len());
    for (i, (t, failed)) in times.iter().zip(events).enumerate() {
        let Some(t) = t.filter(|t| t.is_finite() && *t >= 0.0) else {
            return Err(ChartError::Data(format!(
                "row {}: `{time}` must be a time ≥ 0",
                i + 1
            )));
        };
        rows.push((groups[i].clone(), Life { time: t, failed }));
    }
    let mut grouped = reliability::group_lives(rows);
    grouped.sort_by_key(|(_, lives)| std::cmp::Reverse(lives.len()));
    grouped.truncate(MAX_SERIES);
    Ok((time, grouped))
}

/// Johnson's adjusted ranks with Benard's median-rank approximation: the
/// plotting positions of failures among suspensions.
fn median_ranks(lives: &[Life]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<&Life> = lives.iter().collect();
    sorted.sort_by(|a, b| a.time.total_cmp(&b.time).then(b.failed.cmp(&a.failed)));
    let n = sorted.len() as f64;
    let mut rank = 0.0;
    let mut out = Vec::new();
    for (i, life) in sorted.iter().enumerate() {
        if life.failed {
            let reverse_rank = n - i as f64;
            rank += (n + 1.0 - rank) / (1.0 + reverse_rank);
            out.push((life.time, (rank - 0.3) / (n + 0.4)));
        }
    }
    out
}

fn thin<T: Clone>(points: &[T], keep: usize) -> Vec<T> {
    if points.len() <= keep {
        return points.to_vec();
    }
    let step = points.len() as f64 / keep as f64;
    let mut out: Vec<T> = (0..keep)
        .map(|i| points[(i as f64 * step) as usize].clone())
        .collect();
    out.push(points[points.len() - 1].clone());
    out
}

fn weibull(frame: &Frame, columns: &Columns, zh: bool) -> Result<CurvePlot, ChartError> {
    let (time, groups) = grouped_lives(frame, columns)?;
    let mut curves = Vec::new();
    for (colour, (name, lives)) in groups.iter().enumerate() {
        let ranks = median_ranks(lives);
        if ranks.is_empty() {
            continue;
        }
        let fit = reliability::fit_weibull(lives).ok();
        let label = match &fit {
            Some(f) => format!(
                "{name}  β {:.2}  η {}",
                f.shape,
                super::theme::format_number(f.scale)
            ),
            None => name.clone(),
        };
        curves.push(Curve {
            name: label,
            points: thin(&ranks, MAX_CURVE_POINTS),
            markers: true,
            colour,
            ..Curve::default()
        });
        if let Some(fit) = fit {
            let (t_min, t_max) = ranks.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
                (lo.min(p.0), hi.max(p.0))
            });
            let (from, to) = ((t_min * 0.7).ln(), (t_max * 1.4).ln());
            let var_shape = fit.shape_se.powi(2);
            let var_log_scale = (fit.scale_se / fit.scale).powi(2);
            let cov = fit.covariance / fit.scale;
            let mut line = Vec::new();
            let mut band = Vec::new();
            for i in 0..=60 {
                let log_t = from + (to - from) * f64::from(i) / 60.0;
                let d = log_t - fit.scale.ln();
                let u = fit.shape * d;
                let se = (d * d * var_shape + fit.shape.powi(2) * var_log_scale
                    - 2.0 * fit.shape * d * cov)
                    .max(0.0)
                    .sqrt();
                let f = |u: f64| 1.0 - (-u.exp()).exp();
                line.push((log_t.exp(), f(u)));
                band.push((log_t.exp(), f(u - 1.96 * se), f(u + 1.96 * se)));
            }
            curves.push(Curve {
                name: String::new(),
                points: line,
                band,
                colour,
                ..Curve::default()
            });
        }
    }
    if curves.is_empty() {
        return Err(ChartError::Data("no failures to plot".into()));
    }
    Ok(CurvePlot {
        curves,
        x_scale: Scale::Log,
        y_scale: Scale::WeibullProbability,
        x_title: time,
        y_title: if zh {
            "累计故障比例（中位秩）"
        } else {
            "Fraction failed (median rank)"
        }
        .into(),
        unit_y: false,
    })
}

fn kaplan_meier(frame: &Frame, columns: &Columns, zh: bool) -> Result<CurvePlot, ChartError> {
    let (time, groups) = grouped_lives(frame, columns)?;
    let curves = groups
        .iter()
        .enumerate()
        .map(|(colour, (name, lives))| {
            let steps = reliability::kaplan_meier(lives);
            let mut points = vec![(0.0, 1.0)];
            let mut band = vec![(0.0, 1.0, 1.0)];
            points.extend(steps.iter().map(|s| (s.time, s.survival)));
            band.extend(steps.iter().map(|s| (s.time, s.lower, s.upper)));
            Curve {
                name: name.clone(),
                points: thin(&points, MAX_CURVE_POINTS),
                band: thin(&band, MAX_CURVE_POINTS),
                step: true,
                colour,
                ..Curve::default()
            }
        })
        .collect();
    Ok(CurvePlot {
        curves,
        x_scale: Scale::Linear,
        y_scale: Scale::Percent,
        x_title: time,
        y_title: if zh {
            "未发生故障比例"
        } else {
            "Share without failure"
        }
        .into(),
        unit_y: true,
    })
}

fn mcf(frame: &Frame, columns: &Columns, zh: bool) -> Result<CurvePlot, ChartError> {
    let unit = pick(
        frame,
        columns.series.as_ref(),
        &["unit", "vin"],
        "unit",
        "--series",
    )?;
    let time = pick(
        frame,
        columns.x.as_ref(),
        &["months", "time"],
        "time",
        "--x",
    )?;
    let event = pick(
        frame,
        columns.y.first(),
        &["event", "failed"],
        "event flag",
        "--y",
    )?;
    let (units, times, events) = (
        frame.labels(&unit)?,
        frame.numbers(&time)?,
        flags(frame, &event)?,
    );
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut histories: Vec<UnitHistory> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        let Some(t) = times[i].filter(|t| t.is_finite() && *t >= 0.0) else {
            return Err(ChartError::Data(format!(
                "row {}: `{time}` must be a time ≥ 0",
                i + 1
            )));
        };
        let at = *index.entry(u).or_insert_with(|| {
            histories.push(UnitHistory {
                events: Vec::new(),
                end: 0.0,
            });
            histories.len() - 1
        });
        if events[i] {
            histories[at].events.push(t);
        }
        histories[at].end = histories[at].end.max(t);
    }
    let points = reliability::mean_cumulative_function(&histories);
    let mut line = vec![(0.0, 0.0)];
    let mut band = vec![(0.0, 0.0, 0.0)];
    line.extend(points.iter().map(|p| (p.time, p.mcf)));
    band.extend(points.iter().map(|p| (p.time, p.lower, p.upper)));
    let name = format!(
        "{} {}",
        super::theme::format_number(histories.len() as f64),
        if zh { "个单元" } else { "units" }
    );
    Ok(CurvePlot {
        curves: vec![Curve {
            name,
            points: thin(&line, MAX_CURVE_POINTS),
            band: thin(&band, MAX_CURVE_POINTS),
            step: true,
            ..Curve::default()
        }],
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        x_title: time,
        y_title: if zh {
            "每单元累计平均维修次数"
        } else {
            "Mean cumulative repairs per unit"
        }
        .into(),
        unit_y: false,
    })
}

/// Labels and scores per curve: one curve per score column, or per group.
fn scored(
    frame: &Frame,
    columns: &Columns,
) -> Result<Vec<(String, Vec<bool>, Vec<f64>)>, ChartError> {
    let label = pick(
        frame,
        columns.x.as_ref(),
        &["label", "actual", "outcome"],
        "label",
        "--x",
    )?;
    let labels = flags(frame, &label)?;
    let scores = y_columns(
        frame,
        columns,
        &[label.as_str(), columns.series.as_deref().unwrap_or("")],
    )?;
    let groups = match &columns.series {
        Some(s) => Some(frame.labels(s)?),
        None => None,
    };
    let mut out: Vec<(String, Vec<bool>, Vec<f64>)> = Vec::new();
    for score in &scores {
        let values = frame.numbers(score)?;
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let name = match &groups {
                Some(g) if scores.len() > 1 => format!("{score} · {}", g[i]),
                Some(g) => g[i].clone(),
                None => score.clone(),
            };
            let at = match out.iter().position(|(n, _, _)| *n == name) {
                Some(at) => at,
                None => {
                    out.push((name, Vec::new(), Vec::new()));
                    out.len() - 1
                }
            };
            out[at].1.push(labels[i]);
            out[at].2.push(*v);
        }
    }
    out.truncate(MAX_SERIES);
    if out
        .iter()
        .any(|(_, l, _)| !l.contains(&true) || !l.contains(&false))
    {
        return Err(ChartError::Data(format!(
            "`{label}` needs both outcomes (true and false) in every curve"
        )));
    }
    Ok(out)
}

/// (false-positive rate, true-positive rate) at every distinct threshold.
pub fn roc_points(labels: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    rank_sweep(labels, scores, |tp, fp, p, n| (fp / n, tp / p))
}

/// (recall, precision) at every distinct threshold.
pub fn precision_recall_points(labels: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    rank_sweep(labels, scores, |tp, fp, p, _| (tp / p, tp / (tp + fp)))
}

fn rank_sweep(
    labels: &[bool],
    scores: &[f64],
    point: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let p = labels.iter().filter(|&&l| l).count() as f64;
    let n = labels.len() as f64 - p;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            out.push(point(tp, fp, p, n));
        }
    }
    out
}

fn evaluation(
    kind: ChartKind,
    frame: &Frame,
    columns: &Columns,
    zh: bool,
) -> Result<CurvePlot, ChartError> {
    let sets = scored(frame, columns)?;
    let mut curves = Vec::new();
    let t = |en: &str, cn: &str| if zh { cn.to_owned() } else { en.to_owned() };
    let (x_title, y_title) = match kind {
        ChartKind::Roc => (
            t("False-positive rate", "假阳性率"),
            t("True-positive rate (recall)", "真阳性率（召回率）"),
        ),
        ChartKind::PrecisionRecall => (t("Recall", "召回率"), t("Precision", "精确率")),
        ChartKind::Calibration => (
            t("Predicted probability", "预测概率"),
            t("Observed share", "实际比例"),
        ),
        _ => (
            t(
                "Share of population targeted, highest scores first",
                "按得分从高到低覆盖的人群比例",
            ),
            t("Lift over random", "相对随机的提升倍数"),
        ),
    };
    for (colour, (name, labels, scores)) in sets.iter().enumerate() {
        let (points, label, markers) = match kind {
            ChartKind::Roc => {
                let mut pts = vec![(0.0, 0.0)];
                pts.extend(roc_points(labels, scores));
                (
                    pts,
                    format!("{name} (AUC {:.3})", metrics::roc_auc(labels, scores)),
                    false,
                )
            }
            ChartKind::PrecisionRecall => {
                let pts = precision_recall_points(labels, scores);
                (
                    pts,
                    format!(
                        "{name} (AP {:.3})",
                        metrics::average_precision(labels, scores)
                    ),
                    false,
                )
            }
            ChartKind::Calibration => {
                let bins = metrics::calibration(labels, scores);
                (
                    bins.iter().map(|b| (b.predicted, b.observed)).collect(),
                    format!("{name} (Brier {:.4})", metrics::brier(labels, scores)),
                    true,
                )
            }
            _ => {
                let deciles = metrics::lift_table(labels, scores);
                let pts = deciles
                    .iter()
                    .map(|d| (d.decile as f64 / 10.0, d.lift))
                    .collect();
                (pts, name.clone(), true)
            }
        };
        let mut curve = Curve {
            name: label,
            points: thin(&points, MAX_CURVE_POINTS),
            colour,
            ..Curve::default()
        };
        if markers {
            curves.push(Curve {
                markers: true,
                name: String::new(),
                ..curve.clone()
            });
        }
        curve.step = kind == ChartKind::PrecisionRecall;
        curves.push(curve);
    }
    let reference = match kind {
        ChartKind::Roc | ChartKind::Calibration => vec![(0.0, 0.0), (1.0, 1.0)],
        ChartKind::PrecisionRecall => {
            let (_, labels, _) = &sets[0];
            let rate = labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64;
            vec![(0.0, rate), (1.0, rate)]
        }
        _ => vec![(0.1, 1.0), (1.0, 1.0)],
    };
    curves.push(Curve {
        points: reference,
        reference: true,
        ..Curve::default()
    });
    let unit_y = kind != ChartKind::Lift;
    Ok(CurvePlot {
        curves,
        x_scale: Scale::Percent,
        y_scale: if unit_y {
            Scale::Percent
        } else {
            Scale::Linear
        },
        x_title,
        y_title,
        unit_y,
    })
}

fn points(frame: &Frame, columns: &Columns) -> Result<PointPlot, ChartError> {
    let skip: Vec<&str> = columns.series.iter().map(String::as_str).collect();
    let (group_names, groups) = match &columns.series {
        Some(s) => {
            let labels = frame.labels(s)?;
            let mut names: Vec<String> = Vec::new();
            let groups = labels
                .iter()
                .map(|l| match names.iter().position(|n| n == l) {
                    Some(i) => i as u16,
                    None => {
                        names.push(l.clone());
                        (names.len() - 1) as u16
                    }
                })
                .collect();
            (names, groups)
        }
        None => (vec![String::new()], vec![0; frame.rows()]),
    };
    if let (Some(x), [y]) = (&columns.x, columns.y.as_slice()) {
        let (xs, ys) = (frame.numbers(x)?, frame.numbers(y)?);
        let keep: Vec<usize> = (0..xs.len())
            .filter(|&i| xs[i].is_some() && ys[i].is_some())
            .collect();
        return Ok(PointPlot {
            xs: keep.iter().map(|&i| xs[i].unwrap_or_default()).collect(),
            ys: keep.iter().map(|&i| ys[i].unwrap_or_default()).collect(),
            groups: keep.iter().map(|&i| groups[i]).collect(),
            group_names,
            x_title: x.clone(),
            y_title: y.clone(),
        });
    }
    let features = y_columns(frame, columns, &skip)?;
    if features.len() < 2 {
        return Err(ChartError::Data(
            "a scatter needs --x and --y, or two or more numeric columns to project".into(),
        ));
    }
    let data: Vec<&[Option<f64>]> = features
        .iter()
        .map(|f| frame.numbers(f))
        .collect::<Result<_, _>>()?;
    let keep: Vec<usize> = (0..frame.rows())
        .filter(|&i| data.iter().all(|c| c[i].is_some_and(f64::is_finite)))
        .collect();
    let columns_std: Vec<Vec<f64>> = data
        .iter()
        .map(|c| {
            let v: Vec<f64> = keep.iter().map(|&i| c[i].unwrap_or_default()).collect();
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            let sd =
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(2) as f64).sqrt();
            v.iter()
                .map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 })
                .collect()
        })
        .collect();
    let (components, shares) = principal_components(&columns_std, 2);
    let project = |k: usize| -> Vec<f64> {
        (0..keep.len())
            .map(|r| {
                columns_std
                    .iter()
                    .zip(&components[k])
                    .map(|(c, w)| c[r] * w)
                    .sum()
            })
            .collect()
    };
    Ok(PointPlot {
        xs: project(0),
        ys: project(1),
        groups: keep.iter().map(|&i| groups[i]).collect(),
        group_names,
        x_title: format!("PC1 ({:.0}% of variance)", shares[0] * 100.0),
        y_title: format!("PC2 ({:.0}% of variance)", shares[1] * 100.0),
    })
}

/// The top `k` eigenvectors of the covariance of standardised columns (by
/// cyclic Jacobi rotations) and the share of variance each explains.
pub fn principal_components(columns: &[Vec<f64>], k: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let d = columns.len();
    let n = columns.first().map_or(0, Vec::len).max(2) as f64;
    let mut a = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in i..d {
            let c = columns[i]
                .iter()
                .zip(&columns[j])
                .map(|(x, y)| x * y)
                .sum::<f64>()
                / (n - 1.0);
            a[i][j] = c;
            a[j][i] = c;
        }
    }
    let mut v: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j].powi(2))
            .sum();
        if off < 1e-20 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for row in a.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
                for j in 0..d {
                    let (x, y) = (a[p][j], a[q][j]);
                    a[p][j] = c * x - s * y;
                    a[q][j] = s * x + c * y;
                }
                for row in v.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
            }
        }
    }
    let total: f64 = (0..d).map(|i| a[i][i]).sum();
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&x, &y| a[y][y].total_cmp(&a[x][x]));
    let vectors = order
        .iter()
        .take(k)
        .map(|&c| (0..d).map(|r| v[r][c]).collect())
        .collect();
    let shares = order
        .iter()
        .take(k)
        .map(|&c| a[c][c] / total.max(f64::MIN_POSITIVE))
        .collect();
    (vectors, shares)
}

/// A step of 1, 2 or 5 × 10^k near `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let f = raw / power;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

fn histogram(frame: &Frame, columns: &Columns) -> Result<HistogramPlot, ChartError> {
    let x = match &columns.x {
        Some(x) => x.clone(),
        None => y_columns(frame, columns, &[])?.remove(0),
    };
    let weights = match columns.y.first() {
        Some(y) if *y != x => Some(frame.numbers(y)?),
        _ => None,
    };
    let values = frame.numbers(&x)?;
    let mut data: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.filter(|v| v.is_finite())
                .map(|v| (v, weights.map_or(1.0, |w| w[i].unwrap_or(0.0))))
        })
        .collect();
    if data.is_empty() {
        return Err(ChartError::Data(format!("`{x}` has no values")));
    }
    data.sort_by(|a, b| a.0.total_cmp(&b.0));
    let q = |p: f64| data[((data.len() - 1) as f64 * p) as usize].0;
    // A long tail would squeeze the body into a few bins: values above the
    // 99th percentile go into the last bin, and the axis title says so.
    let (lo, max) = (data[0].0, data[data.len() - 1].0);
    let hi = if data.len() >= 200 { q(0.99) } else { max };
    let x_title = if hi < max {
        format!(
            "{x} (last bin includes the top 1%, up to {})",
            super::theme::format_number(max)
        )
    } else {
        x.clone()
    };
    let iqr = q(0.75) - q(0.25);
    let fd = 2.0 * iqr / (data.len() as f64).cbrt();
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = if fd > 0.0 {
        fd.max(span / 60.0)
    } else {
        span / 20.0
    };
    let width = nice_step(raw.max(span / 60.0));
    let start = (lo / width).floor() * width;
    let bins = (((hi - start) / width).floor() as usize + 1).clamp(1, 200);
    let mut counts = vec![0.0; bins];
    for (v, w) in &data {
        counts[(((v - start) / width).max(0.0) as usize).min(bins - 1)] += w;
    }
    Ok(HistogramPlot {
        edges: (0..=bins).map(|i| start + width * i as f64).collect(),
        counts,
        x_title,
    })
}

/// Type-7 quantile of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (i, f) = (h.floor() as usize, h.fract());
    sorted[i] + (sorted[(i + 1).min(sorted.len() - 1)] - sorted[i]) * f
}

fn boxes(frame: &Frame, columns: &Columns) -> Result<BoxPlot, ChartError> {
    let skip: Vec<&str> = columns.x.iter().map(String::as_str).collect();
    let y = y_columns(frame, columns, &skip)?.remove(0);
    let values = frame.numbers(&y)?;
    let groups = match &columns.x {
        Some(x) => frame.labels(x)?,
        None => vec![y.clone(); values.len()],
    };
    let mut by_group: Vec<(String, Vec<f64>)> = Vec::new();
    for (g, v) in groups.iter().zip(values) {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        match by_group.iter_mut().find(|(n, _)| n == g) {
            Some((_, vs)) => vs.push(v),
            None => by_group.push((g.clone(), vec![v])),
        }
    }
    by_group.truncate(24);
    let boxes = by_group
        .into_iter()
        .map(|(name, mut vs)| {
            vs.sort_by(f64::total_cmp);
            let (q1, median, q3) = (quantile(&vs, 0.25), quantile(&vs, 0.5), quantile(&vs, 0.75));
            let (fence_lo, fence_hi) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
            let low = vs.iter().copied().find(|&v| v >= fence_lo).unwrap_or(q1);
            let high = vs
                .iter()
                .rev()
                .copied()
                .find(|&v| v <= fence_hi)
                .unwrap_or(q3);
            let outliers: Vec<f64> = vs
                .iter()
                .copied()
                .filter(|&v| v < low || v > high)
                .collect();
            BoxStats {
                name,
                n: vs.len(),
                low,
                q1,
                median,
                q3,
                high,
                outliers: thin(&outliers, 200),
            }
        })
        .collect();
    Ok(BoxPlot { boxes, y_title: y })
}

fn tiles(frame: &Frame, columns: &Columns) -> Result<Vec<Tile>, ChartError> {
    let x = x_column(frame, columns)?;
    let ys = if columns.y.is_empty() {
        ["value", "previous", "last_year"]
            .iter()
            .filter(|c| frame.column(c).is_ok())
            .map(|c| (*c).to_owned())
            .collect()
    } else {
        columns.y.clone()
    };
    let Some(value) = ys.first() else {
        return Err(ChartError::Data(
            "tiles need a value column (--y value,previous,last_year)".into(),
        ));
    };
    let labels = frame.labels(&x)?;
    let column = |i: usize| ys.get(i).map(|c| frame.numbers(c)).transpose();
    let (values, previous, last_year) = (frame.numbers(value)?, column(1)?, column(2)?);
    let units = frame.column("unit").ok().and(frame.labels("unit").ok());
    let better = frame.column("better").ok().and(frame.labels("better").ok());
    Ok(labels
        .iter()
        .enumerate()
        .take(12)
        .map(|(i, label)| Tile {
            label: label.clone(),
            value: values[i].unwrap_or(f64::NAN),
            previous: previous.and_then(|p| p[i]),
            last_year: last_year.and_then(|p| p[i]),
            unit: units.as_ref().map(|u| u[i].clone()).unwrap_or_default(),
            up_is_good: better.as_ref().and_then(|b| match b[i].as_str() {
                "up" => Some(true),
                "down" => Some(false),
                _ => None,
            }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_points_end_at_the_corner_and_match_the_auc() {
        let labels = [true, false, true, true, false, false, true, false];
        let scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.3, 0.2, 0.1];
        let points = roc_points(&labels, &scores);
        assert_eq!(*points.last().unwrap(), (1.0, 1.0));
        let mut area = 0.0;
        let mut previous = (0.0, 0.0);
        for &(x, y) in &points {
            area += (x - previous.0) * (y + previous.1) / 2.0;
            previous = (x, y);
        }
        assert!((area - metrics::roc_auc(&labels, &scores)).abs() < 1e-12);
    }

    #[test]
    fn median_ranks_without_suspensions_are_benards() {
        let lives: Vec<Life> = [3.0, 1.0, 2.0]
            .iter()
            .map(|&time| Life { time, failed: true })
            .collect();
        let ranks = median_ranks(&lives);
        let expected: Vec<(f64, f64)> = (1..=3)
            .map(|i| (i as f64, (i as f64 - 0.3) / 3.4))
            .collect();
        for (got, want) in ranks.iter().zip(&expected) {
            assert!(
                (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-12,
                "{ranks:?}"
            );
        }
    }

    #[test]
    fn principal_components_find_the_long_axis() {
        // Points along y = x with a little noise across it.
        let xs: Vec<f64> = (0..200).map(|i| f64::from(i) / 100.0 - 1.0).collect();
        let ys: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| x + if i % 2 == 0 { 0.05 } else { -0.05 })
            .collect();
        let (vectors, shares) = principal_components(&[xs, ys], 2);
        assert!(
            (vectors[0][0].abs() - vectors[0][1].abs()).abs() < 1e-2,
            "{vectors:?}"
        );
        assert!(
            shares[0] > 0.99 && shares[0] + shares[1] <= 1.0 + 1e-9,
            "{shares:?}"
        );
    }

    #[test]
    fn pivots_long_data_and_sorts_months() {
        let frame = Frame::new()
            .text("month", ["2025-02", "2025-01", "2025-02", "2025-01"])
            .text("station", ["A", "A", "B", "B"])
            .number("orders", [5.0, 3.0, 2.0, 1.0]);
        let columns = Columns {
            x: Some("month".into()),
            y: vec!["orders".into()],
            series: Some("station".into()),
            order: None,
        };
        let plot = categories(&frame, &columns, CategoryStyle::Stacked).unwrap();
        assert_eq!(plot.categories, ["2025-01", "2025-02"]);
        assert_eq!(
            plot.series[0],
            Series {
                name: "A".into(),
                values: vec![3.0, 5.0]
            }
        );
        assert_eq!(
            plot.series[1],
            Series {
                name: "B".into(),
                values: vec![1.0, 2.0]
            }
        );
    }

    #[test]
    fn box_statistics_follow_tukey() {
        let frame = Frame::new().number("hours", (1..=9).map(f64::from).chain([40.0]));
        let stats = boxes(&frame, &Columns::default()).unwrap();
        assert_eq!(
            (stats.boxes[0].q1, stats.boxes[0].median, stats.boxes[0].q3),
            (3.25, 5.5, 7.75)
        );
        assert_eq!(
            (
                stats.boxes[0].low,
                stats.boxes[0].high,
                stats.boxes[0].outliers.clone()
            ),
            (1.0, 9.0, vec![40.0])
        );
    }
}
