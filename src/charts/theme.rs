//! The one look of every chart: the embedded font, a colour-blind-safe
//! palette, sizes that scale with the output resolution, and number
//! formatting readers expect (thousands separators, percentages).

use std::sync::OnceLock;

use plotters::style::{FontDesc, FontFamily, FontStyle, RGBColor, TextStyle};

/// WenQuanYi Micro Hei (Apache-2.0): Latin and CJK glyphs in one face, so
/// Chinese labels render the same on every machine, with no system fonts.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("fonts/wqy-microhei.ttc");

/// The family name the font is registered under. SVG writes it into every
/// `<text>`, so it doubles as a CSS fallback list for the viewer's fonts.
pub const FONT_FAMILY: &str =
    "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif";

/// Registers the embedded font with plotters, once per process.
pub fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                plotters::style::register_font(FONT_FAMILY, style, FONT_BYTES)
                    .map_err(|_| "the embedded chart font could not be loaded".to_owned())?;
            }
            Ok(())
        })
        .clone()
}

/// Okabe-Ito: distinguishable with every common form of colour blindness.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(120, 120, 120), // grey
    RGBColor(240, 228, 66),  // yellow
];

/// Colour of series `i`.
pub fn series_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Text and axis colour.
pub const INK: RGBColor = RGBColor(33, 37, 41);
/// Secondary text (subtitle, footer, tick labels).
pub const MUTED: RGBColor = RGBColor(100, 106, 115);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(226, 229, 233);
/// Good news (up when up is good).
pub const GOOD: RGBColor = RGBColor(0, 158, 115);
/// Bad news.
pub const BAD: RGBColor = RGBColor(213, 94, 0);

/// Viridis, sampled: a sequential scale that stays readable in grey and for
/// colour-blind readers.
pub fn sequential(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 6] = [
        (253, 231, 37),
        (122, 209, 81),
        (34, 168, 132),
        (42, 120, 142),
        (65, 68, 135),
        (68, 1, 84),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let position = t * (STOPS.len() - 1) as f64;
    let i = (position.floor() as usize).min(STOPS.len() - 2);
    let f = position - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Sizes in output pixels: a 2× PNG doubles every font and stroke.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// Output pixels per layout pixel.
    pub scale: f64,
}

impl Theme {
    /// Layout pixels to output pixels.
    pub fn px(&self, layout: f64) -> u32 {
        (layout * self.scale).round() as u32
    }

    /// Layout pixels to signed output pixels.
    pub fn ipx(&self, layout: f64) -> i32 {
        (layout * self.scale).round() as i32
    }

    /// A text style of `size` layout pixels.
    pub fn text(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        FontDesc::new(
            FontFamily::Name(FONT_FAMILY),
            size * self.scale,
            FontStyle::Normal,
        )
        .color(&colour)
    }

    /// A bold text style.
    pub fn bold(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        FontDesc::new(
            FontFamily::Name(FONT_FAMILY),
            size * self.scale,
            FontStyle::Bold,
        )
        .color(&colour)
    }
}

/// `1234567.8` → `1,234,568`; small numbers keep up to three significant decimals.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 100.0 || magnitude == 0.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        (3 - magnitude.log10().floor() as i32 - 1).clamp(2, 6) as usize
    };
    let text = format!("{value:.decimals$}");
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |d| ("-", d));
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let fraction = fraction
        .map(|f| f.trim_end_matches('0'))
        .filter(|f| !f.is_empty())
        .map_or(String::new(), |f| format!(".{f}"));
    let sign = if grouped.chars().all(|c| c == '0' || c == ',') && fraction.is_empty() {
        ""
    } else {
        sign
    };
    format!("{sign}{grouped}{fraction}")
}

/// Axis ticks: like [`format_number`], but 12,000,000 reads `12M` and
/// 45,000 reads `45k`, so tick labels stay short.
pub fn format_tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 && (value / 1e5).fract().abs() < 1e-9 {
        format!("{}M", format_number(value / 1e6))
    } else if magnitude >= 1e4 && (value / 1e2).fract().abs() < 1e-9 {
        format!("{}k", format_number(value / 1e3))
    } else {
        format_number(value)
    }
}

/// `0.1234` → `12.3%`.
pub fn format_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "–".into();
    }
    let percent = fraction * 100.0;
    let decimals = match percent.abs() {
        p if p >= 10.0 || p == 0.0 => 0,
        p if p >= 0.1 => 1,
        _ => 2,
    };
    let text = format!("{percent:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}%")
}

/// A number with its unit; `%` shows a fraction as a percentage.
pub fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "%" => format_percent(value),
        "" => format_number(value),
        u => format!("{} {u}", format_number(value)),
    }
}

/// How a value moved from its base, as "▲ 4.2%" (relative), "▼ 1.0 pt" (a
/// share, `%`, in percentage points) or "▲ 2.8 pt" (a score, `pt`, or any base
/// at or below zero, where a relative change means nothing). Returns the text
/// and the signed change.
pub fn format_change(value: f64, base: f64, unit: &str) -> (String, f64) {
    let delta = value - base;
    let arrow = if delta > 0.0 {
        "▲"
    } else if delta < 0.0 {
        "▼"
    } else {
        "■"
    };
    let size = if unit == "%" {
        format!("{:.1} pt", delta.abs() * 100.0)
    } else if unit == "pt" || base <= 0.0 {
        format!("{} pt", format_number(delta.abs()))
    } else {
        format_percent((delta / base).abs())
    };
    (format!("{arrow} {size}"), delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_report() {
        assert_eq!(format_number(1_234_567.8), "1,234,568");
        assert_eq!(format_number(-45_000.0), "-45,000");
        assert_eq!(format_number(12.345), "12.3");
        assert_eq!(format_number(0.04567), "0.0457");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_tick(12_000_000.0), "12M");
        assert_eq!(format_tick(45_000.0), "45k");
        assert_eq!(format_tick(250.0), "250");
        assert_eq!(format_percent(0.1234), "12%");
        assert_eq!(format_percent(0.0456), "4.6%");
        assert_eq!(format_percent(0.05), "5%");
        assert_eq!(format_percent(0.0002), "0.02%");
    }

    #[test]
    fn changes_read_as_percentages_or_points() {
        assert_eq!(format_change(110.0, 100.0, "").0, "▲ 10%");
        assert_eq!(format_change(0.05, 0.04, "%").0, "▲ 1.0 pt");
        assert_eq!(format_change(-3.7, -0.9, "pt").0, "▼ 2.8 pt");
        assert_eq!(format_change(5.0, 5.0, "").0, "■ 0%");
    }

    #[test]
    fn the_sequential_scale_runs_light_to_dark() {
        let luminance =
            |c: RGBColor| 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
        let steps: Vec<f64> = (0..=10)
            .map(|i| luminance(sequential(i as f64 / 10.0)))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] > w[1]), "{steps:?}");
    }
}
