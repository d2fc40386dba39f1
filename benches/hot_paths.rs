//! Criterion benchmarks of the hot paths, on fixed in-memory data:
//! VIN check digits and ISO dates (every ingested row), row validation of a
//! repair order, a censored Weibull fit, logistic regression and k-means
//! (20,000 × 10), and a bar chart.
//!
//! `cargo bench --bench hot_paths` (release); results in `benches/README.md`.

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat};
use aftersight::ingest::validate::RowValidator;
use aftersight::models::kmeans::KMeansParams;
use aftersight::models::linear::LogisticParams;
use aftersight::models::reliability::{Life, fit_weibull};
use aftersight::schema::Table;
use criterion::{Criterion, criterion_group, criterion_main};
use linfa::prelude::*;
use ndarray::{Array1, Array2};
use std::hint::black_box;

#[path = "support/noise.rs"]
mod noise;
use noise::Noise;

fn parsing(c: &mut Criterion) {
    c.bench_function("vin validate", |b| {
        b.iter(|| aftersight::vin::validate(black_box("LGXCE4CC3RA000001")))
    });
    c.bench_function("date parse", |b| {
        b.iter(|| aftersight::dates::parse_date(black_box("2026-10-31")))
    });
    let row: Vec<String> = "RO0000000005,LSVAA6C1XPA000002,C00000003,ST000002,2026-09-20T08:00:00,2026-09-22T08:00:00,40500,repair,water_pump,WPU-02,3.0,450.00,900.00"
        .split(',')
        .map(str::to_owned)
        .collect();
    let max_date = aftersight::dates::parse_date("2026-10-31").unwrap();
    let mut validator = RowValidator::new(Table::RepairOrders, max_date);
    c.bench_function("validate repair order row", |b| {
        b.iter(|| validator.check(black_box(&row)))
    });
}

fn models(c: &mut Criterion) {
    let mut noise = Noise(11);
    let lives: Vec<Life> = (0..20_000)
        .map(|_| {
            let life = 60.0 * (-(1.0 - noise.uniform()).ln()).powf(1.0 / 2.2);
            let end = 6.0 + 90.0 * noise.uniform();
            Life {
                time: life.min(end),
                failed: life <= end,
            }
        })
        .collect();
    c.bench_function("weibull fit 20k lives", |b| {
        b.iter(|| fit_weibull(black_box(&lives)).unwrap())
    });

    let (rows, width) = (20_000, 10);
    let x = Array2::from_shape_fn((rows, width), |_| noise.uniform() * 2.0 - 1.0);
    let y: Array1<bool> = x
        .rows()
        .into_iter()
        .map(|r| r.sum() + noise.uniform() - 0.5 > 0.0)
        .collect();
    let data = DatasetBase::new(x.clone(), y);
    let mut group = c.benchmark_group("models 20k x 10");
    group.sample_size(10);
    group.bench_function("logistic regression", |b| {
        b.iter(|| LogisticParams::default().fit(black_box(&data)).unwrap())
    });
    let unlabelled = DatasetBase::from(x);
    group.bench_function("k-means k=5, one start", |b| {
        b.iter(|| {
            KMeansParams {
                runs: 1,
                ..KMeansParams::new(5, 0)
            }
            .fit(black_box(&unlabelled))
            .unwrap()
        })
    });
    group.finish();
}

fn chart(c: &mut Criterion) {
    let frame = Frame::new()
        .text("station", (0..30).map(|i| format!("服务站 {i:02}")))
        .number("repairs", (0..30).map(|i| 1000.0 + 37.0 * f64::from(i)));
    let options = ChartOptions {
        title: "Repairs by station 各服务站维修量".into(),
        ..ChartOptions::default()
    };
    let mut group = c.benchmark_group("charts");
    group.sample_size(20);
    group.bench_function("ranked bar, 30 bars, PNG 1920x1080", |b| {
        b.iter(|| {
            charts::render(
                ChartKind::RankedBar,
                &frame,
                &Columns::default(),
                &options,
                ImageFormat::Png,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, parsing, models, chart);
criterion_main!(benches);
