//! Every chart type on fixed data: PNG size, ink, text, real CJK glyphs, and
//! SVG snapshots for layout regressions.
//!
//! `AFTERSIGHT_UPDATE_SNAPSHOTS=1` rewrites the snapshots in
//! `tests/fixtures/charts/`; `AFTERSIGHT_CHART_DIR=DIR` also writes every PNG
//! there for a look.

use std::path::PathBuf;

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};

#[path = "../../benches/support/noise.rs"]
mod noise;
use noise::Noise;

fn cols(x: Option<&str>, y: &[&str], series: Option<&str>) -> Columns {
    Columns {
        x: x.map(str::to_owned),
        y: y.iter().map(|s| (*s).to_owned()).collect(),
        series: series.map(str::to_owned),
        order: None,
    }
}

fn months() -> Vec<String> {
    (0..13)
        .map(|i| format!("{}-{:02}", 2025 + (9 + i) / 12, (9 + i) % 12 + 1))
        .collect()
}

/// Fixed data and columns for each kind.
fn fixture(kind: ChartKind) -> (Frame, Columns, &'static str) {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let stations = ["上海浦东店", "北京朝阳店", "广州天河店"];
    match kind {
        ChartKind::Line | ChartKind::Area | ChartKind::Bar | ChartKind::StackedBar => {
            let (mut m, mut s, mut v) = (Vec::new(), Vec::new(), Vec::new());
            for (i, month) in months().iter().enumerate() {
                for (k, st) in stations.iter().enumerate() {
                    m.push(month.clone());
                    s.push(st.to_string());
                    v.push(1000.0 + 400.0 * k as f64 + 30.0 * i as f64 + 80.0 * noise.uniform());
                }
            }
            let frame = Frame::new()
                .text("month", m)
                .text("station", s)
                .number("repair_orders", v);
            (
                frame,
                cols(Some("month"), &["repair_orders"], Some("station")),
                "维修工单 Repair orders by month",
            )
        }
        ChartKind::RankedBar => {
            let names = [
                "brake_pads",
                "battery_12v",
                "刹车片",
                "ac_compressor",
                "water_pump",
                "infotainment_unit",
                "suspension_bushing",
            ];
            let frame = Frame::new().text("component", names).number(
                "repairs",
                [2287.0, 1157.0, 950.0, 610.0, 402.0, 388.0, 120.0],
            );
            (
                frame,
                cols(Some("component"), &["repairs"], None),
                "Top failing components 故障部件排行",
            )
        }
        ChartKind::Heatmap => {
            let (mut model, mut mis, mut claims) = (Vec::new(), Vec::new(), Vec::new());
            for (k, name) in [
                "哈弗 H6 2022",
                "BYD Han 2021",
                "VW Lavida 2020",
                "Geely Boyue 2021",
            ]
            .iter()
            .enumerate()
            {
                for month in 0..24 {
                    model.push(name.to_string());
                    mis.push(f64::from(month));
                    claims.push(
                        (k as f64 * 3.0 + f64::from(month) * 0.5 + 4.0 * noise.uniform()).round(),
                    );
                }
            }
            let frame = Frame::new()
                .number("months_in_service", mis)
                .text("model", model)
                .number("claims", claims);
            (
                frame,
                cols(Some("months_in_service"), &["claims"], Some("model")),
                "Claims by model and months in service",
            )
        }
        ChartKind::Weibull | ChartKind::KaplanMeier => {
            let (mut t, mut failed, mut group) = (Vec::new(), Vec::new(), Vec::new());
            for (name, shape, scale) in [
                ("transmission", 2.5, 60.0),
                ("变速箱 supplier B", 1.5, 90.0),
            ] {
                for _ in 0..400 {
                    let life: f64 = scale * (-(1.0 - noise.uniform()).ln()).powf(1.0 / shape);
                    let end = 12.0 + 60.0 * noise.uniform();
                    t.push(life.min(end));
                    failed.push(if life <= end { 1.0 } else { 0.0 });
                    group.push(name);
                }
            }
            let frame = Frame::new()
                .number("months", t)
                .number("failed", failed)
                .text("component", group);
            (
                frame,
                cols(Some("months"), &["failed"], Some("component")),
                "Transmission life 变速箱寿命",
            )
        }
        ChartKind::Mcf => {
            let (mut unit, mut t, mut event) = (Vec::new(), Vec::new(), Vec::new());
            for u in 0..150 {
                let end = 12.0 + 72.0 * noise.uniform();
                let mut at = 0.0;
                loop {
                    at += -(1.0 - noise.uniform()).ln() * 14.0;
                    if at > end {
                        break;
                    }
                    unit.push(format!("V{u:04}"));
                    t.push(at);
                    event.push(1.0);
                }
                unit.push(format!("V{u:04}"));
                t.push(end);
                event.push(0.0);
            }
            let frame = Frame::new()
                .text("vin", unit)
                .number("months", t)
                .number("event", event);
            (
                frame,
                cols(Some("months"), &["event"], Some("vin")),
                "Repairs per vehicle 单车累计维修",
            )
        }
        ChartKind::Roc | ChartKind::PrecisionRecall | ChartKind::Calibration | ChartKind::Lift => {
            let (mut label, mut tree, mut logistic) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..3000 {
                let risk = noise.uniform();
                let y = noise.uniform() < 0.05 + 0.4 * risk * risk;
                label.push(if y { 1.0 } else { 0.0 });
                tree.push((0.05 + 0.4 * risk * risk + 0.05 * noise.normal()).clamp(0.0, 1.0));
                logistic.push((0.05 + 0.4 * risk + 0.1 * noise.normal()).clamp(0.0, 1.0));
            }
            let frame = Frame::new()
                .number("label", label)
                .number("tree", tree)
                .number("logistic", logistic);
            (
                frame,
                cols(Some("label"), &["tree", "logistic"], None),
                "Churn model 流失模型",
            )
        }
        ChartKind::Scatter => {
            let (mut a, mut b, mut c, mut seg) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (k, name) in ["通勤 commuters", "网约车 ride-hailing", "family"]
                .iter()
                .enumerate()
            {
                for _ in 0..500 {
                    a.push(k as f64 * 3.0 + noise.normal());
                    b.push((k as f64 - 1.0).powi(2) * 2.0 + noise.normal());
                    c.push(noise.normal());
                    seg.push(*name);
                }
            }
            let frame = Frame::new()
                .number("daily_km", a)
                .number("spend", b)
                .number("visits", c)
                .text("segment", seg);
            (
                frame,
                cols(None, &[], Some("segment")),
                "Customer segments 客户分群",
            )
        }
        ChartKind::Histogram | ChartKind::Box => {
            let (mut hours, mut job) = (Vec::new(), Vec::new());
            for (name, mu) in [
                ("maintenance 保养", 1.0),
                ("repair", 2.5),
                ("insurance", 4.0),
            ] {
                for _ in 0..600 {
                    hours.push((mu + 0.6 * noise.normal()).exp());
                    job.push(name);
                }
            }
            let frame = Frame::new()
                .number("turnaround_hours", hours)
                .text("job_type", job);
            let columns = if kind == ChartKind::Box {
                cols(Some("job_type"), &["turnaround_hours"], None)
            } else {
                cols(Some("turnaround_hours"), &[], None)
            };
            (frame, columns, "Turnaround 维修周转时间")
        }
        ChartKind::Tiles => {
            let frame = Frame::new()
                .text(
                    "kpi",
                    [
                        "Repair orders 工单",
                        "Revenue 收入",
                        "Comeback rate 返修率",
                        "CSI",
                    ],
                )
                .number("value", [18_250.0, 12_480_000.0, 0.046, 8.1])
                .number("previous", [17_900.0, 12_900_000.0, 0.051, 8.0])
                .number("last_year", [16_000.0, 11_000_000.0, 0.049, 8.3])
                .text("unit", ["", "CNY", "%", ""])
                .text("better", ["up", "up", "down", "up"]);
            (
                frame,
                cols(Some("kpi"), &[], None),
                "October at a glance 十月概览",
            )
        }
    }
}

fn options(title: &str) -> ChartOptions {
    ChartOptions {
        title: title.to_owned(),
        subtitle: "2025-10 – 2026-10 · fixed test data".into(),
        footer: charts::footer("test fixture", "2026-10-31", Lang::En),
        ..ChartOptions::default()
    }
}

/// Decodes a PNG into (width, height, RGB bytes).
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buffer).expect("png frame");
    buffer.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, buffer)
}

/// Share of non-white pixels in a rectangle (in output pixels).
fn ink(width: u32, rgb: &[u8], x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> f64 {
    let mut inked = 0usize;
    let mut total = 0usize;
    for row in y {
        for col in x.clone() {
            let at = ((row * width + col) * 3) as usize;
            total += 1;
            if rgb[at..at + 3].iter().any(|&c| c < 235) {
                inked += 1;
            }
        }
    }
    inked as f64 / total as f64
}

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts")
}

#[test]
fn every_chart_type_renders_a_sharp_png_with_text() {
    let look = std::env::var_os("AFTERSIGHT_CHART_DIR").map(PathBuf::from);
    for &kind in ChartKind::all() {
        let (frame, columns, title) = fixture(kind);
        let bytes = charts::render(kind, &frame, &columns, &options(title), ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        if let Some(dir) = &look {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{kind}.png")), &bytes).unwrap();
        }
        let (w, h, rgb) = decode(&bytes);
        assert_eq!((w, h), (1920, 1080), "{kind}: rendered at 2x");
        let title_ink = ink(w, &rgb, 36..900, 36..80);
        assert!(title_ink > 0.02, "{kind}: no title text ({title_ink})");
        let footer_ink = ink(w, &rgb, 36..700, h - 60..h - 30);
        assert!(footer_ink > 0.01, "{kind}: no footer ({footer_ink})");
        let body_ink = ink(w, &rgb, 100..w - 100, 200..h - 120);
        assert!(
            body_ink > 0.01,
            "{kind}: the plot area is blank ({body_ink})"
        );
    }
}

#[test]
fn chinese_text_is_drawn_with_real_glyphs() {
    // Missing glyphs all render as the same box (or nothing): two different
    // Chinese titles of equal length would then leave identical pixels.
    let (frame, columns, _) = fixture(ChartKind::RankedBar);
    let render = |title: &str| {
        let bytes = charts::render(
            ChartKind::RankedBar,
            &frame,
            &columns,
            &options(title),
            ImageFormat::Png,
        )
        .unwrap();
        let (w, _, rgb) = decode(&bytes);
        let region: Vec<u8> = (36..80u32)
            .flat_map(|y| {
                let start = ((y * w + 36) * 3) as usize;
                rgb[start..start + 600 * 3].to_vec()
            })
            .collect();
        (ink(w, &rgb, 36..636, 36..80), region)
    };
    let (ink_a, a) = render("故障率趋势");
    let (ink_b, b) = render("保修索赔数");
    assert!(
        ink_a > 0.03 && ink_b > 0.03,
        "glyphs have ink: {ink_a} {ink_b}"
    );
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(
        differing > 2000,
        "different characters differ in pixels ({differing})"
    );
}

#[test]
fn svg_layouts_match_their_snapshots() {
    let update = std::env::var_os("AFTERSIGHT_UPDATE_SNAPSHOTS").is_some();
    let dir = snapshot_dir();
    let mut changed = Vec::new();
    for &kind in ChartKind::all() {
        let (frame, columns, title) = fixture(kind);
        let svg =
            charts::render(kind, &frame, &columns, &options(title), ImageFormat::Svg).unwrap();
        let svg = String::from_utf8(svg).expect("utf-8 svg");
        assert!(
            svg.contains(&title.replace('&', "&amp;")),
            "{kind}: title in the SVG"
        );
        assert!(svg.contains("2026-10-31"), "{kind}: footer in the SVG");
        let path = dir.join(format!("{kind}.svg"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &svg).unwrap();
        } else {
            let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!(
                    "missing snapshot {}; run with AFTERSIGHT_UPDATE_SNAPSHOTS=1",
                    path.display()
                )
            });
            if expected != svg {
                changed.push(kind.to_string());
            }
        }
    }
    assert!(
        changed.is_empty(),
        "layout changed for {changed:?}; look at the PNGs, then update the snapshots"
    );
}

#[test]
fn big_scatters_stay_fast_and_small() {
    let mut noise = Noise(7);
    let n = 200_000;
    let xs: Vec<f64> = (0..n).map(|_| noise.normal()).collect();
    let ys: Vec<f64> = xs.iter().map(|x| x * 0.5 + noise.normal()).collect();
    let groups: Vec<&str> = (0..n).map(|i| if i % 3 == 0 { "a" } else { "b" }).collect();
    let frame = Frame::new()
        .number("x", xs)
        .number("y", ys)
        .text("g", groups);
    let columns = cols(Some("x"), &["y"], Some("g"));
    let svg = charts::render(
        ChartKind::Scatter,
        &frame,
        &columns,
        &options("big"),
        ImageFormat::Svg,
    )
    .unwrap();
    assert!(
        svg.len() < 4_000_000,
        "binned SVG stays small: {} bytes",
        svg.len()
    );
    let png = charts::render(
        ChartKind::Scatter,
        &frame,
        &columns,
        &options("big"),
        ImageFormat::Png,
    )
    .unwrap();
    let (w, _, rgb) = decode(&png);
    assert!(ink(w, &rgb, 300..1600, 300..800) > 0.2, "points drawn");
}

#[test]
fn bad_chart_input_gets_a_clear_error() {
    let frame = Frame::new()
        .text("component", ["a", "b"])
        .number("repairs", [1.0, 2.0]);
    let err = charts::render(
        ChartKind::Line,
        &frame,
        &cols(None, &["cost"], None),
        &options("t"),
        ImageFormat::Png,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no column `cost`") && err.contains("component, repairs"),
        "{err}"
    );
    let err = "pie".parse::<ChartKind>().unwrap_err().to_string();
    assert!(err.contains("ranked-bar"), "{err}");
    let empty = Frame::new()
        .text("component", Vec::<String>::new())
        .number("repairs", []);
    let err = charts::render(
        ChartKind::Bar,
        &empty,
        &Columns::default(),
        &options("t"),
        ImageFormat::Svg,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no rows"), "{err}");
    let labels = Frame::new()
        .number("label", [1.0, 1.0])
        .number("score", [0.2, 0.4]);
    let err = charts::render(
        ChartKind::Roc,
        &labels,
        &Columns::default(),
        &options("t"),
        ImageFormat::Png,
    )
    .unwrap_err();
    assert!(err.to_string().contains("both outcomes"), "{err}");
}
