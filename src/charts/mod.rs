//! Charts: one look for every picture aftersight draws.
//!
//! A chart is a [`ChartKind`], a [`Frame`] of data (usually a query result),
//! the [`Columns`] that play x, y and series, and [`ChartOptions`] (title,
//! subtitle with the period, axis titles with units, footer with the source
//! and the date the data is valid through). [`render`] turns them into a PNG
//! (drawn at 2× for sharp slides) or an SVG.
//!
//! Text is drawn with an embedded CJK font (see [`theme`]), so Chinese
//! labels render identically on every machine without system fonts. Large
//! inputs stay fast and small: curves are thinned, raster scatters write
//! points straight into the pixel buffer, and vector scatters above
//! [`SVG_POINT_LIMIT`] points are binned.

mod draw;
pub(crate) mod frame;
pub(crate) mod prepare;
pub mod theme;
pub mod webfont;

use std::fmt;
use std::str::FromStr;

use plotters::prelude::*;

pub use frame::Frame;
pub use prepare::Plot;

/// Above this many points an SVG scatter is binned into cells.
pub const SVG_POINT_LIMIT: usize = 50_000;

/// Errors of chart rendering.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The data does not fit the chart.
    #[error("chart data: {0}")]
    Data(String),
    /// An unknown chart type.
    #[error("unknown chart type `{0}`; one of: {list}", list = ChartKind::NAMES.join(", "))]
    Kind(String),
    /// Drawing failed (fonts, backend).
    #[error("drawing the chart: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the PNG: {0}")]
    Encode(String),
}

/// Every chart type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Trend lines across categories (months).
    Line,
    /// Stacked areas across categories.
    Area,
    /// Grouped bars.
    Bar,
    /// Stacked bars.
    StackedBar,
    /// Horizontal bars, largest first (top failing components, league tables).
    RankedBar,
    /// Colour grid of a value by two categories.
    Heatmap,
    /// Weibull probability plot with the fitted line and 95 % bounds.
    Weibull,
    /// Kaplan-Meier survival curves with 95 % bounds.
    KaplanMeier,
    /// Mean cumulative function of repairs per unit with 95 % bounds.
    Mcf,
    /// ROC curve.
    Roc,
    /// Precision-recall curve.
    PrecisionRecall,
    /// Calibration: predicted against observed.
    Calibration,
    /// Lift by decile.
    Lift,
    /// Scatter; with more than two numeric columns, their first two principal components.
    Scatter,
    /// Histogram of a numeric column.
    Histogram,
    /// Box plot per group.
    Box,
    /// KPI tiles with changes against the previous period and last year.
    Tiles,
}

impl ChartKind {
    /// Names accepted on the command line and in report specs.
    pub const NAMES: [&'static str; 17] = [
        "line",
        "area",
        "bar",
        "stacked-bar",
        "ranked-bar",
        "heatmap",
        "weibull",
        "kaplan-meier",
        "mcf",
        "roc",
        "pr",
        "calibration",
        "lift",
        "scatter",
        "histogram",
        "box",
        "tiles",
    ];
    const ALL: [ChartKind; 17] = [
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Bar,
        ChartKind::StackedBar,
        ChartKind::RankedBar,
        ChartKind::Heatmap,
        ChartKind::Weibull,
        ChartKind::KaplanMeier,
        ChartKind::Mcf,
        ChartKind::Roc,
        ChartKind::PrecisionRecall,
        ChartKind::Calibration,
        ChartKind::Lift,
        ChartKind::Scatter,
        ChartKind::Histogram,
        ChartKind::Box,
        ChartKind::Tiles,
    ];

    /// Every kind, in the order of [`ChartKind::NAMES`].
    pub fn all() -> &'static [ChartKind] {
        &Self::ALL
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|&k| k == self).unwrap_or(0)]
    }
}

impl FromStr for ChartKind {
    type Err = ChartError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::NAMES
            .iter()
            .position(|n| *n == wanted)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| ChartError::Kind(s.to_owned()))
    }
}

/// Chart types in specs read and write as their names (`ranked-bar`), checked when the spec is parsed.
impl<'de> serde::Deserialize<'de> for ChartKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ChartKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which columns play which part. Empty fields take each chart's defaults
/// (x: the first text column; y: the numeric columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Categories, times, or labels (ROC and friends).
    pub x: Option<String>,
    /// Values; several make several series.
    pub y: Vec<String>,
    /// A column whose values name the series (long data).
    pub series: Option<String>,
    /// A numeric column that orders the categories (default: first
    /// appearance; months and dates sort in time order).
    pub order: Option<String>,
}

/// Language of the chart's own words (axis defaults, tile comparisons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "en" => Ok(Lang::En),
            "zh" | "zh-cn" | "cn" => Ok(Lang::Zh),
            other => Err(format!("unknown language `{other}` (en, zh)")),
        }
    }
}

/// Titles and size.
#[derive(Debug, Clone)]
pub struct ChartOptions {
    /// Title.
    pub title: String,
    /// Subtitle: the period and what is shown.
    pub subtitle: String,
    /// X axis title, with units.
    pub x_label: String,
    /// Y axis title, with units.
    pub y_label: String,
    /// Footer: source and data valid through.
    pub footer: String,
    /// Values are fractions to show as percentages.
    pub percent: bool,
    /// Layout width in pixels (PNG output is twice this).
    pub width: u32,
    /// Layout height in pixels.
    pub height: u32,
    /// Language of the chart's own words.
    pub lang: Lang,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            title: String::new(),
            subtitle: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            footer: String::new(),
            percent: false,
            width: 960,
            height: 540,
            lang: Lang::En,
        }
    }
}

/// The footer line: source and the date the data is valid through.
pub fn footer(source: &str, valid_through: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("Source: {source} · aftersight · data valid through {valid_through}"),
        Lang::Zh => format!("数据来源：{source} · aftersight · 数据截至 {valid_through}"),
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG at twice the layout size.
    Png,
    /// SVG at the layout size.
    Svg,
}

impl ImageFormat {
    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<ImageFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(ImageFormat::Png),
            "svg" => Some(ImageFormat::Svg),
            _ => None,
        }
    }
}

/// Prepares and draws a chart.
pub fn render(
    kind: ChartKind,
    frame: &Frame,
    columns: &Columns,
    options: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, ChartError> {
    let plot = prepare::prepare(kind, frame, columns, options.lang)?;
    render_plot(&plot, options, format)
}

/// Draws a prepared plot.
pub fn render_plot(
    plot: &Plot,
    options: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, ChartError> {
    theme::register_font().map_err(ChartError::Draw)?;
    let draw_error = |e: Box<dyn std::error::Error>| ChartError::Draw(e.to_string());
    match format {
        ImageFormat::Png => {
            let scale = 2.0;
            let (w, h) = (options.width * 2, options.height * 2);
            let mut buffer = vec![255u8; w as usize * h as usize * 3];
            let points = {
                let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
                let points = draw::draw(&root, plot, options, theme::Theme { scale }, true)
                    .map_err(draw_error)?;
                root.present()
                    .map_err(|e| ChartError::Draw(e.to_string()))?;
                points
            };
            if let (Some(area), Plot::Points(p)) = (points, plot) {
                rasterise(&mut buffer, w, &area, p);
            }
            encode_png(&buffer, w, h)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (options.width, options.height))
                    .into_drawing_area();
                draw::draw(&root, plot, options, theme::Theme { scale: 1.0 }, false)
                    .map_err(draw_error)?;
                root.present()
                    .map_err(|e| ChartError::Draw(e.to_string()))?;
            }
            Ok(svg.into_bytes())
        }
    }
}

/// Writes scatter points straight into an RGB buffer, half-blended so dense
/// regions read darker.
fn rasterise(buffer: &mut [u8], width: u32, area: &draw::PointArea, plot: &prepare::PointPlot) {
    let (left, top, right, bottom) = area.pixels;
    let (x0, x1, y0, y1) = area.range;
    let (sx, sy) = (
        f64::from(right - left) / (x1 - x0),
        f64::from(bottom - top) / (y1 - y0),
    );
    let colours: Vec<[u16; 3]> = (0..plot.group_names.len().max(1))
        .map(|g| {
            let c = theme::series_colour(g);
            [u16::from(c.0), u16::from(c.1), u16::from(c.2)]
        })
        .collect();
    let size = area.size;
    for i in 0..plot.xs.len() {
        let px = left + ((plot.xs[i] - x0) * sx) as i32;
        let py = bottom - ((plot.ys[i] - y0) * sy) as i32;
        let colour = colours[plot.groups[i] as usize % colours.len()];
        for dy in 0..size {
            let y = py - dy;
            if y < top || y >= bottom {
                continue;
            }
            let row = y as usize * width as usize;
            for dx in 0..size {
                let x = px + dx;
                if x < left || x >= right {
                    continue;
                }
                let at = (row + x as usize) * 3;
                for (k, c) in colour.iter().enumerate() {
                    buffer[at + k] = ((u16::from(buffer[at + k]) + c) / 2) as u8;
                }
            }
        }
    }
}

/// PNG with fast adaptive filtering: flat chart colours compress well.
fn encode_png(buffer: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .write_image_data(buffer)
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(out)
}
