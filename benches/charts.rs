//! Times chart rendering, for `benches/charts_vs_matplotlib.py`, which draws
//! the same charts with matplotlib.
//!
//! `cargo bench --bench charts`: a 30-bar chart with labels (PNG), a scatter of
//! 100,000 and of 1,000,000 points (PNG; the SVG of 1,000,000 is binned), and a
//! Weibull plot of 20,000 lives. The data is generated in memory with a fixed
//! seed; each chart is drawn once cold (the first call also parses the
//! embedded font) and then five times, and the first, best and median times
//! are printed as JSON, with the file sizes.

use std::time::Instant;

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat};

#[path = "support/noise.rs"]
mod noise;
use noise::Noise;

fn time(
    name: &str,
    kind: ChartKind,
    frame: &Frame,
    columns: &Columns,
    format: ImageFormat,
) -> String {
    let options = ChartOptions {
        title: name.into(),
        subtitle: "benchmark".into(),
        footer: "Source: benchmark".into(),
        ..ChartOptions::default()
    };
    let started = Instant::now();
    let mut bytes = charts::render(kind, frame, columns, &options, format).expect("render");
    let first = started.elapsed().as_secs_f64();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        bytes = charts::render(kind, frame, columns, &options, format).expect("render");
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    format!(
        "\"{name}\": {{\"first_s\": {first:.4}, \"best_s\": {:.4}, \"median_s\": {:.4}, \"bytes\": {}}}",
        times[0],
        times[2],
        bytes.len()
    )
}

fn main() {
    let mut noise = Noise(0x2545_F491_4F6C_DD1D);
    let bars = Frame::new()
        .text("station", (0..30).map(|i| format!("服务站 {i:02}")))
        .number("repairs", (0..30).map(|i| 1000.0 + 37.0 * f64::from(i)));
    let scatter = |n: usize, noise: &mut Noise| {
        let xs: Vec<f64> = (0..n).map(|_| noise.normal()).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 0.6 * x + noise.normal()).collect();
        let groups: Vec<String> = (0..n).map(|i| format!("segment {}", i % 5)).collect();
        Frame::new()
            .number("x", xs)
            .number("y", ys)
            .text("segment", groups)
    };
    let xy = Columns {
        x: Some("x".into()),
        y: vec!["y".into()],
        series: Some("segment".into()),
        order: None,
    };
    let small = scatter(100_000, &mut noise);
    let large = scatter(1_000_000, &mut noise);
    let (mut months, mut failed) = (Vec::new(), Vec::new());
    for _ in 0..20_000 {
        let life: f64 = 60.0 * (-(1.0 - noise.uniform()).ln()).powf(1.0 / 2.2);
        let end = 6.0 + 90.0 * noise.uniform();
        months.push(life.min(end));
        failed.push(if life <= end { 1.0 } else { 0.0 });
    }
    let lives = Frame::new()
        .number("months", months)
        .number("failed", failed);
    let results = [
        time(
            "bar_30_png",
            ChartKind::RankedBar,
            &bars,
            &Columns::default(),
            ImageFormat::Png,
        ),
        time(
            "bar_30_svg",
            ChartKind::RankedBar,
            &bars,
            &Columns::default(),
            ImageFormat::Svg,
        ),
        time(
            "scatter_100k_png",
            ChartKind::Scatter,
            &small,
            &xy,
            ImageFormat::Png,
        ),
        time(
            "scatter_1m_png",
            ChartKind::Scatter,
            &large,
            &xy,
            ImageFormat::Png,
        ),
        time(
            "scatter_1m_svg_binned",
            ChartKind::Scatter,
            &large,
            &xy,
            ImageFormat::Svg,
        ),
        time(
            "weibull_20k_png",
            ChartKind::Weibull,
            &lives,
            &Columns::default(),
            ImageFormat::Png,
        ),
    ];
    println!("{{{}}}", results.join(", "));
}
