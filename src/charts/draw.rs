//! Places a prepared [`Plot`] on a plotters drawing area: the frame (title,
//! subtitle, legend, footer) and then the plot itself. Generic over the
//! backend, so PNG and SVG share every line of layout.

use std::error::Error;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::prepare::{
    BoxPlot, CategoryPlot, CategoryStyle, CurvePlot, GridPlot, HistogramPlot, Plot, PointPlot,
    Scale, Tile, nice_step,
};
use super::theme::{
    self, BAD, GOOD, GRID, INK, MUTED, Theme, format_number, format_percent, format_tick,
    series_colour,
};
use super::{ChartOptions, Lang};

type DrawResult<T = ()> = Result<T, Box<dyn Error>>;
type Coord = Cartesian2d<Ticked, Ticked>;

/// A linear f64 coordinate whose ticks are chosen by us (categories, log
/// decades, probability-paper percentages) instead of by plotters.
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.range.start) / (self.range.end - self.range.start);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Where a raster scatter's points go, for direct rasterisation after the
/// frame is drawn (1,000,000 points as plotters elements would be slow).
#[derive(Debug, Clone, Copy)]
pub struct PointArea {
    /// Plot area in output pixels: left, top, right, bottom.
    pub pixels: (i32, i32, i32, i32),
    /// Data range: x min, x max, y min, y max.
    pub range: (f64, f64, f64, f64),
    /// Point size in output pixels.
    pub size: i32,
}

/// A legend entry.
struct Key {
    name: String,
    colour: RGBColor,
}

/// Draws the chart; returns where raster points go when `raster` is set
/// and the plot is a scatter.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
    options: &ChartOptions,
    theme: Theme,
    raster: bool,
) -> DrawResult<Option<PointArea>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let keys = legend_keys(plot);
    let body = frame(root, options, &keys, theme)?;
    match plot {
        Plot::Categories(p) if p.style == CategoryStyle::Ranked => {
            ranked(&body, p, options, theme)?
        }
        Plot::Categories(p) => categories(&body, p, options, theme)?,
        Plot::Grid(p) => heatmap(&body, p, options, theme)?,
        Plot::Curves(p) => curves(&body, p, options, theme)?,
        Plot::Points(p) => return scatter(&body, p, options, theme, raster),
        Plot::Histogram(p) => histogram(&body, p, options, theme)?,
        Plot::Boxes(p) => boxes(&body, p, options, theme)?,
        Plot::Tiles(p) => tiles(&body, p, options, theme)?,
    }
    Ok(None)
}

fn legend_keys(plot: &Plot) -> Vec<Key> {
    let keys: Vec<Key> = match plot {
        Plot::Categories(p) if p.style != CategoryStyle::Ranked => p
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| Key {
                name: s.name.clone(),
                colour: series_colour(i),
            })
            .collect(),
        Plot::Curves(p) => p
            .curves
            .iter()
            .filter(|c| !c.name.is_empty() && !c.reference)
            .map(|c| Key {
                name: c.name.clone(),
                colour: series_colour(c.colour),
            })
            .collect(),
        Plot::Points(p) => p
            .group_names
            .iter()
            .enumerate()
            .map(|(i, n)| Key {
                name: n.clone(),
                colour: series_colour(i),
            })
            .collect(),
        _ => Vec::new(),
    };
    // A single series is named by the title; a legend would only repeat it.
    if keys.len() > 1 || matches!(plot, Plot::Curves(_)) {
        keys
    } else {
        Vec::new()
    }
}

/// Title, subtitle, legend and footer; returns the area left for the plot.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    options: &ChartOptions,
    keys: &[Key],
    theme: Theme,
) -> DrawResult<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    let (width, height) = root.dim_in_pixel();
    let margin = theme.ipx(18.0);
    let mut y = margin;
    let room = width.saturating_sub(2 * margin as u32);
    let title = theme.bold(20.0, INK);
    root.draw_text(
        &fit(root, &options.title, &title, room)?,
        &title,
        (margin, y),
    )?;
    y += theme.ipx(28.0);
    if !options.subtitle.is_empty() {
        let style = theme.text(13.0, MUTED);
        root.draw_text(
            &fit(root, &options.subtitle, &style, room)?,
            &style,
            (margin, y),
        )?;
        y += theme.ipx(22.0);
    }
    if !keys.is_empty() {
        let style = theme.text(12.0, INK);
        let swatch = theme.ipx(10.0);
        let mut x = margin;
        for key in keys {
            let (w, _) = root.estimate_text_size(&key.name, &style)?;
            let item = swatch + theme.ipx(6.0) + w as i32 + theme.ipx(16.0);
            if x + item > width as i32 - margin && x > margin {
                x = margin;
                y += theme.ipx(18.0);
            }
            root.draw(&Rectangle::new(
                [
                    (x, y + theme.ipx(2.0)),
                    (x + swatch, y + theme.ipx(2.0) + swatch),
                ],
                key.colour.filled(),
            ))?;
            root.draw_text(&key.name, &style, (x + swatch + theme.ipx(6.0), y))?;
            x += item;
        }
        y += theme.ipx(22.0);
    }
    let footer_style = theme.text(11.0, MUTED);
    let footer_y = height as i32 - margin - theme.ipx(12.0);
    root.draw_text(
        &fit(root, &options.footer, &footer_style, room)?,
        &footer_style,
        (margin, footer_y),
    )?;
    let body_top = y + theme.ipx(4.0);
    let body_bottom = footer_y - theme.ipx(10.0);
    Ok(root.margin(body_top, height as i32 - body_bottom, margin, margin))
}

/// The text, cut with an ellipsis to fit `room` pixels.
fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'_>,
    room: u32,
) -> DrawResult<String>
where
    DB::ErrorType: 'static,
{
    if area.estimate_text_size(text, style)?.0 <= room {
        return Ok(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().collect::<String>() + "…";
        if area.estimate_text_size(&candidate, style)?.0 <= room {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    Ok(chars[..lo].iter().collect::<String>() + "…")
}

/// A numeric axis: range, tick positions and how ticks read.
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<f64>,
    label: Box<dyn Fn(f64) -> String>,
    title: String,
    grid: bool,
}

impl Axis {
    /// A linear axis over `[lo, hi]` with about `count` nice ticks.
    fn linear(lo: f64, hi: f64, count: f64, percent: bool, title: &str) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let step = nice_step((hi - lo) / count);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        let label: Box<dyn Fn(f64) -> String> = if percent {
            Box::new(format_percent)
        } else {
            Box::new(format_tick)
        };
        Axis {
            min: lo,
            max: hi,
            ticks,
            label,
            title: title.to_owned(),
            grid: true,
        }
    }

    /// Pads the range by 5 % of its span; a value axis keeps zero as its edge.
    fn padded(lo: f64, hi: f64, from_zero: bool, percent: bool, title: &str) -> Axis {
        let (lo, hi) = if from_zero {
            (lo.min(0.0), hi.max(0.0))
        } else {
            (lo, hi)
        };
        let pad = (hi - lo).abs() * 0.05;
        let lo = if from_zero && lo >= 0.0 { lo } else { lo - pad };
        let hi = if from_zero && hi <= 0.0 { hi } else { hi + pad };
        Axis::linear(lo, hi, 6.0, percent, title)
    }

    /// Probabilities: 0 to 100 % with a hair of room for lines on the edges.
    fn unit(title: &str) -> Axis {
        let mut axis = Axis::linear(0.0, 1.0, 5.0, true, title);
        (axis.min, axis.max) = (-0.01, 1.01);
        axis
    }

    /// Categories at integer positions; at most `room` labels shown.
    fn categories(labels: &[String], room: usize, reversed: bool, title: &str) -> Axis {
        let n = labels.len();
        let every = n.div_ceil(room.max(1)).max(1);
        let ticks = (0..n)
            .filter(|i| i % every == 0)
            .map(|i| i as f64)
            .collect();
        let owned: Vec<String> = labels.iter().map(|l| shorten(l, LABEL_CHARS)).collect();
        let label = Box::new(move |v: f64| {
            let i = v.round() as usize;
            let i = if reversed {
                n.saturating_sub(1).saturating_sub(i)
            } else {
                i
            };
            owned.get(i).cloned().unwrap_or_default()
        });
        Axis {
            min: -0.5,
            max: n as f64 - 0.5,
            ticks,
            label,
            title: title.to_owned(),
            grid: false,
        }
    }
}

/// Category labels longer than this are cut with an ellipsis.
const LABEL_CHARS: usize = 36;

fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max_chars - 1).collect();
        s.push('…');
        s
    }
}

/// Builds a chart on two axes and draws the grid, ticks and axis titles.
fn cartesian<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: &Axis,
    y: &Axis,
    theme: Theme,
) -> DrawResult<ChartContext<'a, DB, Coord>>
where
    DB::ErrorType: 'static,
{
    let tick_style = theme.text(11.0, MUTED);
    let widest = y
        .ticks
        .iter()
        .map(|&t| {
            area.estimate_text_size(&(y.label)(t), &tick_style)
                .map(|s| s.0)
        })
        .collect::<Result<Vec<u32>, _>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    let y_title_room = if y.title.is_empty() {
        0
    } else {
        theme.px(20.0)
    };
    let x_title_room = if x.title.is_empty() {
        0
    } else {
        theme.px(20.0)
    };
    let mut chart = ChartBuilder::on(area)
        .margin_right(theme.px(12.0))
        .margin_top(theme.px(6.0))
        .x_label_area_size(theme.px(22.0) + x_title_room)
        .y_label_area_size(widest + theme.px(12.0) + y_title_room)
        .build_cartesian_2d(
            Ticked {
                range: x.min..x.max,
                ticks: x.ticks.clone(),
            },
            Ticked {
                range: y.min..y.max,
                ticks: y.ticks.clone(),
            },
        )?;
    let x_label = |v: &f64| (x.label)(*v);
    let y_label = |v: &f64| (y.label)(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .bold_line_style(GRID.stroke_width(theme.px(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(theme.px(1.0)))
        .label_style(tick_style.clone())
        .axis_desc_style(theme.text(12.0, INK))
        .set_all_tick_mark_size(theme.px(3.0))
        .x_desc(x.title.as_str())
        .y_desc(y.title.as_str());
    if !x.grid {
        mesh.disable_x_mesh();
    }
    if !y.grid {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;
    Ok(chart)
}

/// How many category labels fit across the plot.
fn label_room<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    theme: Theme,
) -> DrawResult<usize>
where
    DB::ErrorType: 'static,
{
    let style = theme.text(11.0, MUTED);
    let widest = labels
        .iter()
        .take(200)
        .map(|l| {
            area.estimate_text_size(&shorten(l, LABEL_CHARS), &style)
                .map(|s| s.0)
        })
        .collect::<Result<Vec<u32>, _>>()?
        .into_iter()
        .max()
        .unwrap_or(1);
    let width = area.dim_in_pixel().0.saturating_sub(theme.px(80.0));
    Ok((width / (widest + theme.px(14.0)).max(1)).max(1) as usize)
}

/// Bars, lines and areas over categories. Long because the three share one
/// frame (axes, gridlines, legend, labels) and differ only in the marks.
fn categories<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &CategoryPlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = plot.categories.len();
    let stacked = matches!(plot.style, CategoryStyle::Stacked | CategoryStyle::Area);
    let mut top = vec![0.0f64; n];
    let mut bottom = vec![0.0f64; n];
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in &plot.series {
        for (i, v) in s.values.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            if stacked {
                if *v >= 0.0 {
                    top[i] += v
                } else {
                    bottom[i] += v
                }
            } else {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    if stacked {
        lo = bottom.iter().copied().fold(0.0, f64::min);
        hi = top.iter().copied().fold(0.0, f64::max);
    }
    let from_zero = plot.style != CategoryStyle::Line || lo >= 0.0 && lo < hi * 0.5;
    let x = Axis::categories(
        &plot.categories,
        label_room(area, &plot.categories, theme)?,
        false,
        &options.x_label,
    );
    let y_title = if options.y_label.is_empty() {
        &plot.y_title
    } else {
        &options.y_label
    };
    let y = Axis::padded(lo, hi, from_zero, options.percent, y_title);
    let mut chart = cartesian(area, &x, &y, theme)?;
    let stroke = theme.px(2.0);
    match plot.style {
        CategoryStyle::Line => {
            for (k, s) in plot.series.iter().enumerate() {
                let colour = series_colour(k);
                for run in finite_runs(&s.values) {
                    chart.draw_series(LineSeries::new(
                        run.iter().map(|&(i, v)| (i as f64, v)),
                        colour.stroke_width(stroke),
                    ))?;
                    if n <= 40 {
                        chart.draw_series(run.iter().map(|&(i, v)| {
                            Circle::new((i as f64, v), theme.px(2.5), colour.filled())
                        }))?;
                    }
                }
            }
        }
        CategoryStyle::Area => {
            let mut base = vec![0.0; n];
            for (k, s) in plot.series.iter().enumerate() {
                let colour = series_colour(k);
                let upper: Vec<f64> = base
                    .iter()
                    .zip(&s.values)
                    .map(|(b, v)| b + if v.is_finite() { *v } else { 0.0 })
                    .collect();
                let mut polygon: Vec<(f64, f64)> = upper
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, *v))
                    .collect();
                polygon.extend(base.iter().enumerate().rev().map(|(i, v)| (i as f64, *v)));
                chart.draw_series(std::iter::once(Polygon::new(
                    polygon,
                    colour.mix(0.75).filled(),
                )))?;
                chart.draw_series(LineSeries::new(
                    upper.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                    colour.stroke_width(theme.px(1.5)),
                ))?;
                base = upper;
            }
        }
        CategoryStyle::Grouped | CategoryStyle::Stacked => {
            let groups = plot.series.len().max(1);
            let band = 0.8;
            let mut up = vec![0.0; n];
            let mut down = vec![0.0; n];
            for (k, s) in plot.series.iter().enumerate() {
                let colour = series_colour(k);
                let bars = s
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| {
                        let c = i as f64;
                        let (x0, x1, y0, y1) = if plot.style == CategoryStyle::Stacked {
                            let base = if v >= 0.0 { &mut up[i] } else { &mut down[i] };
                            let y0 = *base;
                            *base += v;
                            (c - band / 2.0, c + band / 2.0, y0, *base)
                        } else {
                            let w = band / groups as f64;
                            let x0 = c - band / 2.0 + w * k as f64;
                            (x0, x0 + w * 0.92, 0.0, v)
                        };
                        Rectangle::new([(x0, y0), (x1, y1)], colour.filled())
                    });
                chart.draw_series(bars.collect::<Vec<_>>())?;
            }
            if plot.style == CategoryStyle::Grouped && groups == 1 && n <= 16 {
                value_labels(&mut chart, &plot.series[0].values, theme, options.percent)?;
            }
        }
        CategoryStyle::Ranked => unreachable!("ranked bars are drawn by `ranked`"),
    }
    Ok(())
}

/// Consecutive finite values, so lines break at gaps.
fn finite_runs(values: &[f64]) -> Vec<Vec<(usize, f64)>> {
    let mut runs = vec![Vec::new()];
    for (i, v) in values.iter().enumerate() {
        if v.is_finite() {
            runs.last_mut().map(|r| r.push((i, *v)));
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn value_text(v: f64, percent: bool) -> String {
    if percent {
        format_percent(v)
    } else {
        format_number(v)
    }
}

fn value_labels<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Coord>,
    values: &[f64],
    theme: Theme,
    percent: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = theme
        .text(11.0, INK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    let lift = -theme.ipx(3.0);
    chart.draw_series(
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| {
                EmptyElement::at((i as f64, v))
                    + Text::new(value_text(v, percent), (0, lift), style.clone())
            }),
    )?;
    Ok(())
}

fn ranked<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &CategoryPlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let values = &plot.series[0].values;
    let n = values.len();
    let hi = values.iter().copied().fold(0.0, f64::max);
    let lo = values.iter().copied().fold(0.0, f64::min);
    let x_title = if options.y_label.is_empty() {
        &plot.y_title
    } else {
        &options.y_label
    };
    let mut x = Axis::padded(lo, hi * 1.12, true, options.percent, x_title);
    x.grid = true;
    let mut y = Axis::categories(&plot.categories, n, true, &options.x_label);
    y.title = options.x_label.clone();
    let mut chart = cartesian(area, &x, &y, theme)?;
    let colour = series_colour(0);
    let bars: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let pos = (n - 1 - i) as f64;
            Rectangle::new([(0.0, pos - 0.36), (v, pos + 0.36)], colour.filled())
        })
        .collect();
    chart.draw_series(bars)?;
    let style = theme
        .text(11.0, INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
        let pos = (n - 1 - i) as f64;
        Text::new(
            format!(" {}", value_text(v, options.percent)),
            (v, pos),
            style.clone(),
        )
    }))?;
    Ok(())
}

fn heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &GridPlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let finite = plot
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let span = if hi > lo { hi - lo } else { 1.0 };
    // The colour scale sits on the right of the plot.
    let (plot_area, scale_area) =
        area.split_horizontally(area.dim_in_pixel().0 as i32 - theme.ipx(70.0));
    let x = Axis::categories(
        &plot.columns,
        label_room(&plot_area, &plot.columns, theme)?,
        false,
        &options.x_label,
    );
    let rows = plot.rows.len();
    let row_room = (plot_area.dim_in_pixel().1 / theme.px(14.0)).max(1) as usize;
    let y = Axis::categories(&plot.rows, row_room, true, &options.y_label);
    let mut chart = cartesian(&plot_area, &x, &y, theme)?;
    let mut cells = Vec::new();
    for (r, row) in plot.values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            if v.is_finite() {
                let pos = (rows - 1 - r) as f64;
                let colour = theme::sequential((v - lo) / span);
                cells.push(Rectangle::new(
                    [(c as f64 - 0.5, pos - 0.5), (c as f64 + 0.5, pos + 0.5)],
                    colour.filled(),
                ));
            }
        }
    }
    chart.draw_series(cells)?;
    let (left, right) = (
        chart.backend_coord(&(-0.5, 0.0)).0,
        chart.backend_coord(&(0.5, 0.0)).0,
    );
    let (top, bottom) = (
        chart.backend_coord(&(0.0, 0.5)).1,
        chart.backend_coord(&(0.0, -0.5)).1,
    );
    let style = theme.text(10.0, INK);
    let sample = plot_area.estimate_text_size(&format_number(hi), &style)?;
    if right - left > sample.0 as i32 + theme.ipx(4.0)
        && bottom - top > sample.1 as i32 + theme.ipx(2.0)
    {
        let mut labels = Vec::new();
        for (r, row) in plot.values.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                if v.is_finite() {
                    let t = (v - lo) / span;
                    let ink = if t > 0.55 { WHITE } else { INK };
                    let style = theme
                        .text(10.0, ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    labels.push(Text::new(
                        format_number(v),
                        (c as f64, (rows - 1 - r) as f64),
                        style,
                    ));
                }
            }
        }
        chart.draw_series(labels)?;
    }
    // Colour scale: a gradient with its end values.
    let (w, h) = scale_area.dim_in_pixel();
    let (x0, x1) = (theme.ipx(16.0), theme.ipx(30.0));
    let (y0, y1) = (theme.ipx(10.0), h as i32 - theme.ipx(40.0));
    let steps = 64;
    for i in 0..steps {
        let t = i as f64 / f64::from(steps);
        let ya = y1 - ((y1 - y0) as f64 * (i + 1) as f64 / f64::from(steps)) as i32;
        let yb = y1 - ((y1 - y0) as f64 * i as f64 / f64::from(steps)) as i32;
        scale_area.draw(&Rectangle::new(
            [(x0, ya), (x1, yb)],
            theme::sequential(t).filled(),
        ))?;
    }
    let tick = theme
        .text(10.0, MUTED)
        .pos(Pos::new(HPos::Left, VPos::Center));
    scale_area.draw(&Text::new(
        format_number(hi),
        (x1 + theme.ipx(4.0), y0),
        tick.clone(),
    ))?;
    scale_area.draw(&Text::new(
        format_number(lo),
        (x1 + theme.ipx(4.0), y1),
        tick,
    ))?;
    let _ = w;
    Ok(())
}

/// Tick positions (in axis space) for a scale over a value range.
fn scale_axis(scale: Scale, lo: f64, hi: f64, title: &str) -> Axis {
    match scale {
        Scale::Linear | Scale::Percent => Axis::padded(
            lo,
            hi,
            lo >= 0.0 && lo < hi * 0.3,
            scale == Scale::Percent,
            title,
        ),
        Scale::Log => {
            let (a, b) = (lo.max(f64::MIN_POSITIVE).ln(), hi.max(lo * 1.01).ln());
            let pad = (b - a) * 0.04;
            let mut ticks = Vec::new();
            let mut decade = 10f64.powf(lo.log10().floor() - 1.0);
            while decade <= hi * 10.0 {
                for m in [1.0, 2.0, 5.0] {
                    let t = (m * decade).ln();
                    if t >= a - pad && t <= b + pad {
                        ticks.push(t);
                    }
                }
                decade *= 10.0;
            }
            let label: Box<dyn Fn(f64) -> String> = Box::new(|v: f64| format_tick(v.exp()));
            Axis {
                min: a - pad,
                max: b + pad,
                ticks,
                label,
                title: title.to_owned(),
                grid: true,
            }
        }
        Scale::WeibullProbability => {
            let to = |p: f64| Scale::WeibullProbability.to_axis(p);
            let (a, b) = (to(lo.max(1e-6)), to(hi.min(0.999_999)));
            let pad = (b - a).max(0.5) * 0.05;
            let ticks = [
                0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5,
                0.632, 0.8, 0.9, 0.95, 0.99, 0.999,
            ]
            .iter()
            .map(|&p| to(p))
            .filter(|&t| t >= a - pad && t <= b + pad)
            .collect();
            let label: Box<dyn Fn(f64) -> String> = Box::new(|v: f64| {
                let p = Scale::WeibullProbability.from_axis(v);
                if (p - 0.632).abs() < 1e-3 {
                    "63.2%".into()
                } else {
                    format_percent(p)
                }
            });
            Axis {
                min: a - pad,
                max: b + pad,
                ticks,
                label,
                title: title.to_owned(),
                grid: true,
            }
        }
    }
}

fn curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &CurvePlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    let usable = |scale: Scale, v: f64| match scale {
        Scale::Log => v > 0.0,
        Scale::WeibullProbability => v > 0.0 && v < 1.0,
        _ => v.is_finite(),
    };
    for c in plot.curves.iter().filter(|c| !c.reference) {
        for &(x, y) in &c.points {
            if usable(plot.x_scale, x) && usable(plot.y_scale, y) {
                (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y));
            }
        }
        if !matches!(plot.y_scale, Scale::WeibullProbability) {
            for &(_, lo, hi) in &c.band {
                (y_lo, y_hi) = (y_lo.min(lo), y_hi.max(hi));
            }
        }
    }
    if plot.x_scale == Scale::Percent {
        (x_lo, x_hi) = (x_lo.min(0.0), x_hi.max(1.0));
    }
    let x_title = if options.x_label.is_empty() {
        &plot.x_title
    } else {
        &options.x_label
    };
    let y_title = if options.y_label.is_empty() {
        &plot.y_title
    } else {
        &options.y_label
    };
    let x = if plot.unit_y && plot.x_scale == Scale::Percent {
        Axis::unit(x_title)
    } else {
        scale_axis(plot.x_scale, x_lo, x_hi, x_title)
    };
    let y = if plot.unit_y {
        Axis::unit(y_title)
    } else {
        scale_axis(plot.y_scale, y_lo, y_hi, y_title)
    };
    let (xmin, xmax, ymin, ymax) = (x.min, x.max, y.min, y.max);
    let mut chart = cartesian(area, &x, &y, theme)?;
    let clip = |(px, py): (f64, f64)| -> Option<(f64, f64)> {
        if !(usable(plot.x_scale, px) && usable(plot.y_scale, py)) {
            return None;
        }
        let (ax, ay) = (plot.x_scale.to_axis(px), plot.y_scale.to_axis(py));
        Some((ax, ay.clamp(ymin, ymax))).filter(|(ax, _)| *ax >= xmin - 1e-9 && *ax <= xmax + 1e-9)
    };
    for c in &plot.curves {
        let colour = if c.reference {
            MUTED
        } else {
            series_colour(c.colour)
        };
        if !c.band.is_empty() {
            let mut band: Vec<(f64, f64)> = Vec::new();
            let steps = |pts: Vec<(f64, f64)>| if c.step { to_steps(&pts) } else { pts };
            let upper = steps(c.band.iter().map(|b| (b.0, b.2)).collect());
            let lower = steps(c.band.iter().map(|b| (b.0, b.1)).collect());
            band.extend(upper.into_iter().filter_map(clip));
            band.extend(lower.into_iter().rev().filter_map(clip));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.14).filled(),
            )))?;
        }
        let points: Vec<(f64, f64)> = c.points.iter().copied().filter_map(clip).collect();
        if c.markers {
            chart.draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, theme.px(2.5), colour.mix(0.8).filled())),
            )?;
        } else if c.reference {
            let style = colour.stroke_width(theme.px(1.0));
            chart.draw_series(DashedLineSeries::new(
                points,
                theme.px(6.0),
                theme.px(4.0),
                style,
            ))?;
        } else {
            let points = if c.step { to_steps(&points) } else { points };
            chart.draw_series(LineSeries::new(points, colour.stroke_width(theme.px(2.0))))?;
        }
    }
    Ok(())
}

fn to_steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(p);
    }
    out
}

fn scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &PointPlot,
    options: &ChartOptions,
    theme: Theme,
    raster: bool,
) -> DrawResult<Option<PointArea>>
where
    DB::ErrorType: 'static,
{
    let bounds = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            })
    };
    let ((x_lo, x_hi), (y_lo, y_hi)) = (bounds(&plot.xs), bounds(&plot.ys));
    let x_title = if options.x_label.is_empty() {
        &plot.x_title
    } else {
        &options.x_label
    };
    let y_title = if options.y_label.is_empty() {
        &plot.y_title
    } else {
        &options.y_label
    };
    let x = Axis::padded(x_lo, x_hi, false, false, x_title);
    let y = Axis::padded(y_lo, y_hi, false, false, y_title);
    let chart = cartesian(area, &x, &y, theme)?;
    let (x_px, y_px) = chart.plotting_area().get_pixel_range();
    let size = theme
        .ipx(match plot.xs.len() {
            0..=5_000 => 3.0,
            5_001..=100_000 => 2.0,
            _ => 1.0,
        })
        .max(1);
    if raster {
        return Ok(Some(PointArea {
            pixels: (x_px.start, y_px.start, x_px.end, y_px.end),
            range: (x.min, x.max, y.min, y.max),
            size,
        }));
    }
    let mut chart = chart;
    if plot.xs.len() <= super::SVG_POINT_LIMIT {
        for g in 0..plot.group_names.len() {
            let colour = series_colour(g).mix(0.55);
            let points = (0..plot.xs.len()).filter(|&i| plot.groups[i] as usize == g);
            chart.draw_series(
                points.map(|i| Circle::new((plot.xs[i], plot.ys[i]), size, colour.filled())),
            )?;
        }
    } else {
        // Too many points for vector output: one square per occupied cell of a
        // fine grid, in the colour of the group with most points there.
        let (cols, rows) = (240usize, 150usize);
        let groups = plot.group_names.len();
        let mut counts = vec![0u32; cols * rows * groups];
        let cell = |v: f64, lo: f64, hi: f64, n: usize| {
            (((v - lo) / (hi - lo) * n as f64) as usize).min(n - 1)
        };
        for i in 0..plot.xs.len() {
            let (c, r) = (
                cell(plot.xs[i], x.min, x.max, cols),
                cell(plot.ys[i], y.min, y.max, rows),
            );
            counts[(r * cols + c) * groups + plot.groups[i] as usize] += 1;
        }
        let (w, h) = ((x.max - x.min) / cols as f64, (y.max - y.min) / rows as f64);
        let mut squares = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let slot = &counts[(r * cols + c) * groups..(r * cols + c + 1) * groups];
                let (g, &n) = slot
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, n)| **n)
                    .unwrap_or((0, &0));
                if n > 0 {
                    let (x0, y0) = (x.min + c as f64 * w, y.min + r as f64 * h);
                    squares.push(Rectangle::new(
                        [(x0, y0), (x0 + w, y0 + h)],
                        series_colour(g).mix(0.75).filled(),
                    ));
                }
            }
        }
        chart.draw_series(squares)?;
    }
    Ok(None)
}

fn histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &HistogramPlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let hi = plot.counts.iter().copied().fold(0.0, f64::max);
    let (first, last) = (plot.edges[0], plot.edges[plot.edges.len() - 1]);
    let x_title = if options.x_label.is_empty() {
        &plot.x_title
    } else {
        &options.x_label
    };
    let mut x = Axis::linear(first, last, 8.0, false, x_title);
    x.grid = false;
    let y_title = if options.y_label.is_empty() {
        "Count"
    } else {
        &options.y_label
    };
    let y = Axis::padded(0.0, hi, true, false, y_title);
    let mut chart = cartesian(area, &x, &y, theme)?;
    let gap = (last - first) / plot.counts.len() as f64 * 0.04;
    let colour = series_colour(0);
    chart.draw_series(
        plot.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0.0)
            .map(|(i, &c)| {
                Rectangle::new(
                    [(plot.edges[i] + gap, 0.0), (plot.edges[i + 1] - gap, c)],
                    colour.filled(),
                )
            }),
    )?;
    Ok(())
}

fn boxes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &BoxPlot,
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let y_title = if options.y_label.is_empty() {
        &plot.y_title
    } else {
        &options.y_label
    };
    let plot = &plot.boxes;
    let names: Vec<String> = plot
        .iter()
        .map(|b| format!("{} (n={})", b.name, format_number(b.n as f64)))
        .collect();
    let lo = plot
        .iter()
        .flat_map(|b| b.outliers.iter().copied().chain([b.low]))
        .fold(f64::INFINITY, f64::min);
    let hi = plot
        .iter()
        .flat_map(|b| b.outliers.iter().copied().chain([b.high]))
        .fold(f64::NEG_INFINITY, f64::max);
    let x = Axis::categories(
        &names,
        label_room(area, &names, theme)?,
        false,
        &options.x_label,
    );
    let y = Axis::padded(lo, hi, lo >= 0.0 && lo < hi * 0.3, options.percent, y_title);
    let mut chart = cartesian(area, &x, &y, theme)?;
    let stroke = INK.stroke_width(theme.px(1.2));
    for (i, b) in plot.iter().enumerate() {
        let c = i as f64;
        let colour = series_colour(0);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(c - 0.3, b.q1), (c + 0.3, b.q3)],
            colour.mix(0.35).filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(c - 0.3, b.q1), (c + 0.3, b.q3)],
            colour.stroke_width(theme.px(1.2)),
        )))?;
        chart.draw_series(LineSeries::new(
            [(c - 0.3, b.median), (c + 0.3, b.median)],
            INK.stroke_width(theme.px(2.0)),
        ))?;
        for (from, to) in [(b.q3, b.high), (b.q1, b.low)] {
            chart.draw_series(LineSeries::new([(c, from), (c, to)], stroke))?;
            chart.draw_series(LineSeries::new([(c - 0.12, to), (c + 0.12, to)], stroke))?;
        }
        chart.draw_series(
            b.outliers
                .iter()
                .map(|&v| Circle::new((c, v), theme.px(2.0), MUTED.stroke_width(theme.px(1.0)))),
        )?;
    }
    Ok(())
}

fn tiles<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    tiles: &[Tile],
    options: &ChartOptions,
    theme: Theme,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (width, height) = area.dim_in_pixel();
    let columns = tiles.len().clamp(1, 4);
    let rows = tiles.len().div_ceil(columns).max(1);
    let gap = theme.ipx(12.0);
    let tile_w = (width as i32 - gap * (columns as i32 - 1)) / columns as i32;
    let tile_h = ((height as i32 - gap * (rows as i32 - 1)) / rows as i32).min(theme.ipx(150.0));
    let zh = options.lang == Lang::Zh;
    for (i, tile) in tiles.iter().enumerate() {
        let (col, row) = ((i % columns) as i32, (i / columns) as i32);
        let (x, y) = (col * (tile_w + gap), row * (tile_h + gap));
        area.draw(&Rectangle::new(
            [(x, y), (x + tile_w, y + tile_h)],
            RGBColor(246, 247, 249).filled(),
        ))?;
        area.draw(&Rectangle::new(
            [(x, y), (x + theme.ipx(4.0), y + tile_h)],
            series_colour(0).filled(),
        ))?;
        let pad = theme.ipx(14.0);
        area.draw_text(
            &shorten(&tile.label, 30),
            &theme.text(13.0, MUTED),
            (x + pad, y + pad),
        )?;
        let value = theme::format_value(tile.value, &tile.unit);
        area.draw_text(
            &value,
            &theme.bold(28.0, INK),
            (x + pad, y + pad + theme.ipx(22.0)),
        )?;
        let mut line_y = y + pad + theme.ipx(62.0);
        let comparisons = [
            (
                tile.previous,
                if zh { "环比" } else { "vs previous period" },
            ),
            (tile.last_year, if zh { "同比" } else { "vs last year" }),
        ];
        for (base, what) in comparisons {
            let Some(base) = base else { continue };
            let (text, colour) = change(tile, base);
            area.draw_text(
                &format!("{text} {what}"),
                &theme.text(12.0, colour),
                (x + pad, line_y),
            )?;
            line_y += theme.ipx(18.0);
        }
    }
    Ok(())
}

/// "▲ 4.2%" (or points for shares and scores), coloured by whether it is good news.
fn change(tile: &Tile, base: f64) -> (String, RGBColor) {
    let (text, delta) = theme::format_change(tile.value, base, &tile.unit);
    let colour = match tile.up_is_good {
        Some(good) if delta != 0.0 => {
            if (delta > 0.0) == good {
                GOOD
            } else {
                BAD
            }
        }
        _ => MUTED,
    };
    (text, colour)
}
