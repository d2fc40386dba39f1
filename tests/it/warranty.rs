//! Warranty outlook: the forecast against what the generated data did next,
//! and the report queries over the outlook's tables, worked by hand.

use std::path::Path;

use aftersight::dates::parse_date;
use aftersight::generate::export::ExportFormat;
use aftersight::warranty::coverage::CoverageTerms;
use aftersight::warranty::outlook::{self, OutlookConfig};

use crate::support::{aftersight, copy_dir, gen_into, ingest_clean};

#[test]
fn the_forecast_meets_what_the_generated_fleet_did_next() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.05, 11, 0.0, ExportFormat::Csv);
    let warehouse = ingest_clean(&raw, &tmp.path().join("wh"));
    // Six months that end before the planted churn cutoff (2025-10-31), after
    // which defected owners' failures leave the network: a break no forecast sees.
    let config = OutlookConfig {
        as_of: parse_date("2025-04-30").unwrap(),
        horizon: 6,
        parts_horizon: 3,
        terms: CoverageTerms::catalog(),
        without_owners: Default::default(),
    };
    let result = outlook::outlook(&warehouse, &config).unwrap();
    let backtest = result
        .backtest
        .clone()
        .expect("the warehouse has the six months");
    assert_eq!(backtest.months, 6);
    assert!(backtest.actual_claims > 200, "{backtest:?}");
    // Stated tolerance: the total within 15 %, the triangle's cross-check within 15 % of it,
    // and at least 70 % of month x component intervals holding the actual.
    assert!(backtest.total_error.abs() < 0.15, "{backtest:?}");
    assert!(
        (backtest.triangle_claims / backtest.forecast_claims - 1.0).abs() < 0.15,
        "{backtest:?}"
    );
    assert!(backtest.interval_coverage >= 0.7, "{backtest:?}");
    assert!(backtest.parts_within_stock >= 0.9, "{backtest:?}");
    let (reserve, low, high) = result.forecast.total_reserve;
    assert!(
        low < reserve && reserve < high && low > 0.0,
        "{:?}",
        result.forecast.total_reserve
    );
    let by_cells: f64 = result
        .forecast
        .reserve
        .iter()
        .map(|r| r.expected_cost_cny)
        .sum();
    assert!((by_cells / reserve - 1.0).abs() < 1e-9);

    // Written as Parquet with a manifest; the CLI prints the same backtest.
    let dir = tmp.path().join("outlook");
    let manifest = outlook::write(&dir, &result, &config).unwrap();
    for file in &manifest.files {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let out = aftersight(
        tmp.path(),
        &[
            "warranty",
            "forecast",
            "--warehouse",
            "wh",
            "--out",
            "out",
            "--as-of",
            "2025-04-30",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["backtest"]["actual_claims"], backtest.actual_claims);
    assert!(
        tmp.path()
            .join("out/warranty/as_of=2025-04-30/manifest.json")
            .is_file()
    );
}

/// Writes a small outlook by hand: two months of forecast with actuals, a reserve, parts.
fn hand_made_outlook(out: &Path) {
    use polars::prelude::*;
    use polars_io::parquet::write::ParquetWriter;
    let write = |dir: &Path, name: &str, mut frame: DataFrame| {
        std::fs::create_dir_all(dir).unwrap();
        ParquetWriter::new(std::fs::File::create(dir.join(format!("{name}.parquet"))).unwrap())
            .finish(&mut frame)
            .unwrap();
    };
    let outlook_dir = out.join("warranty/outlook");
    let backtest_dir = out.join("warranty/backtest");
    let months = df!(
        "month" => ["2026-05", "2026-06", "2026-07"],
        "expected_claims" => [20.04, 18.0, 16.5],
        "lower_90" => [13i64, 12, 10],
        "upper_90" => [28i64, 25, 24],
        "triangle_claims" => [19.0, 18.5, 16.0],
        "actual_claims" => [Some(25i64), Some(30), None],
    )
    .unwrap();
    write(&backtest_dir, "forecast_by_month", months);
    let ahead = df!(
        "month" => ["2026-11", "2026-12"],
        "expected_claims" => [3.26, 2.9],
        "lower_90" => [1i64, 0],
        "upper_90" => [6i64, 6],
        "triangle_claims" => [3.0, 3.04],
        "actual_claims" => [None::<i64>, None],
    )
    .unwrap();
    write(&outlook_dir, "forecast_by_month", ahead);
    let components = df!(
        "month" => ["2026-05", "2026-06", "2026-05", "2026-06"],
        "component" => ["brake_pads", "brake_pads", "water_pump", "water_pump"],
        "expected_claims" => [12.0, 10.0, 8.0, 8.0],
        "lower_90" => [7i64, 5, 4, 4],
        "upper_90" => [18i64, 16, 13, 13],
        "actual_claims" => [Some(15i64), Some(20), Some(10), Some(10)],
    )
    .unwrap();
    write(&backtest_dir, "forecast_by_component", components);
    let reserve = df!(
        "component" => ["brake_pads", "water_pump", "brake_pads"],
        "coverage" => ["factory", "factory", "extended"],
        "expected_claims" => [40.0, 10.0, 5.0],
        "expected_cost_cny" => [40000.0, 15000.0, 5000.0],
        "lower_90_cny" => [30000.0, 9000.0, 2000.0],
        "upper_90_cny" => [51000.0, 22000.0, 9000.0],
    )
    .unwrap();
    write(&outlook_dir, "reserve", reserve);
    let parts = df!(
        "station_id" => ["ST1", "ST2", "ST1", "ST1"],
        "component" => ["brake_pads", "brake_pads", "water_pump", "brake_pads"],
        "month" => ["2026-11", "2026-11", "2026-11", "2026-12"],
        "expected_orders" => [2.5, 0.4, 1.0, 9.0],
        "stock_95" => [5i64, 2, 3, 14],
        "actual_orders" => [None::<i64>, None, None, None],
    )
    .unwrap();
    write(&outlook_dir, "parts", parts);
}

/// Rows equal cell by cell, numbers by value (`20.0` is `20`).
fn assert_same(name: &str, got: &[Vec<String>], want: &[&[&str]]) {
    assert_eq!(got.len(), want.len(), "{name}: {got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "{name}: {g:?}");
        for (a, b) in g.iter().zip(w.iter()) {
            let same = a == b
                || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if (x - y).abs() < 1e-9);
            assert!(same, "{name}: {a} != {b} in {g:?}");
        }
    }
}

#[test]
fn outlook_queries_match_the_hand_worked_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let warehouse = ingest_clean(&root.join("tests/fixtures/mini"), &tmp.path().join("wh"));
    let out = tmp.path().join("out");
    hand_made_outlook(&out);
    let run = |name: &str| -> Vec<Vec<String>> {
        let sql = root.join(format!("queries/warranty/{name}.sql"));
        let output = aftersight(
            tmp.path(),
            &[
                "sql",
                "--warehouse",
                warehouse.to_str().unwrap(),
                "--format",
                "csv",
                "-f",
                sql.to_str().unwrap(),
            ],
            &[("AFTERSIGHT_OUT", out.to_str().unwrap())],
        );
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    };
    // May: 20.04 forecast (rounded 20.0), 25 booked: error -4.96 / 25 = -0.1984, within [13, 28].
    // June: 18 against 30: -0.4, outside [12, 25]. July has no actual yet, so it is left out.
    assert_same(
        "outlook_backtest",
        &run("outlook_backtest"),
        &[
            &["2026-05", "20", "13", "28", "25", "-0.1984", "true"],
            &["2026-06", "18", "12", "25", "30", "-0.4", "false"],
        ],
    );
    // Brake pads: 22 against 35 (-13 / 35 = -0.3714), held in May (15 in [7, 18]) not June (20 > 16).
    // Water pump: 16 against 20 (-0.2), held both months.
    assert_same(
        "outlook_backtest_components",
        &run("outlook_backtest_components"),
        &[
            &["brake_pads", "22", "35", "-0.3714", "0.5"],
            &["water_pump", "16", "20", "-0.2", "1"],
        ],
    );
    assert_same(
        "outlook_reserve",
        &run("outlook_reserve")[..1],
        &[&["brake_pads", "factory", "40", "40000", "30000", "51000"]],
    );
    // The mini warehouse's two claims failed in 2026-09; the forecast rounds to one decimal (3.26 -> 3.3, 3.04 -> 3).
    assert_same(
        "outlook_forecast",
        &run("outlook_forecast"),
        &[
            &["2026-09", "2", "", "", "", ""],
            &["2026-11", "", "3.3", "1", "6", "3"],
            &["2026-12", "", "2.9", "0", "6", "3"],
        ],
    );
    // Only the first month, largest expected first.
    assert_same(
        "outlook_parts",
        &run("outlook_parts"),
        &[
            &["ST1", "brake_pads", "2.5", "5"],
            &["ST1", "water_pump", "1", "3"],
            &["ST2", "brake_pads", "0.4", "2"],
        ],
    );
}

/// Rewrites `file` with its decimal (money) columns as `Float64`, as
/// warehouses stored money before it was exact.
fn money_as_float(file: &Path) {
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let old = batches[0].schema();
    let float = |f: &Field| match f.data_type() {
        DataType::Decimal128(..) => f.clone().with_data_type(DataType::Float64),
        _ => f.clone(),
    };
    let schema = Arc::new(Schema::new(
        old.fields().iter().map(|f| float(f)).collect::<Vec<_>>(),
    ));
    let tmp = file.with_extension("old");
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&tmp).unwrap(), schema.clone(), None).unwrap();
    for b in &batches {
        let columns = b
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| cast(c, f.data_type()).unwrap())
            .collect();
        writer
            .write(&RecordBatch::try_new(schema.clone(), columns).unwrap())
            .unwrap();
    }
    writer.close().unwrap();
    std::fs::rename(tmp, file).unwrap();
}

#[test]
fn a_warehouse_that_stored_money_as_float_still_gives_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.02, 5, 0.0, ExportFormat::Csv);
    let warehouse = ingest_clean(&raw, &tmp.path().join("wh"));
    let old = tmp.path().join("old");
    copy_dir(&warehouse, &old);
    // Every file but the last of each table in the old layout: a warehouse
    // written before, with one batch added since.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(old.join("manifest.json")).unwrap()).unwrap();
    let mut rewritten = 0;
    for table in ["transactions", "repair_orders", "warranty_claims"] {
        let files = manifest["tables"][table]["files"].as_array().unwrap();
        for file in &files[..files.len() - 1] {
            money_as_float(&old.join(file.as_str().unwrap()));
            rewritten += 1;
        }
    }
    assert!(rewritten > 10, "{rewritten}");

    // The money KPIs: the same rows, to the cent.
    for query in [
        "top_failing_components",
        "effective_labour_rate",
        "used_car_sales_by_channel",
        "rfm_scores",
    ] {
        let run = |wh: &Path| {
            let out = aftersight(
                tmp.path(),
                &[
                    "sql",
                    "--warehouse",
                    wh.to_str().unwrap(),
                    "--query",
                    query,
                    "--format",
                    "csv",
                ],
                &[],
            );
            assert!(
                out.status.success(),
                "{query}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(run(&old), run(&warehouse), "{query}");
    }

    // The warranty outlook reads the files itself (Polars): the same reserve.
    let config = OutlookConfig {
        as_of: parse_date("2025-04-30").unwrap(),
        horizon: 6,
        parts_horizon: 3,
        terms: CoverageTerms::catalog(),
        without_owners: Default::default(),
    };
    let reserve = |wh: &Path| {
        outlook::outlook(wh, &config)
            .unwrap()
            .forecast
            .total_reserve
    };
    let (new, before) = (reserve(&warehouse), reserve(&old));
    assert!(new.0 > 0.0, "{new:?}");
    assert!(
        (new.0 - before.0).abs() < 1e-6 * new.0,
        "{new:?} {before:?}"
    );
}
