//! `aftersight report`: outputs, escaping, atomic periods, locks, exit codes
//! and the read-only guarantee for specs.

use crate::support::aftersight;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A copy of the mini fixture with a hostile station name, ingested.
fn warehouse(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini");
    let input = dir.join("in");
    fs::create_dir(&input).unwrap();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let mut text = fs::read_to_string(&path).unwrap();
            if path.file_name().unwrap() == "stations.csv" {
                text = text.replace("速驰快修(浦东店)", "<script>alert(1)</script>");
                text = text.replace("上海浦东比亚迪4S店", "=HYPERLINK(\"\"http://x\"\")");
            }
            fs::write(input.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    crate::support::ingest_clean(&input, &dir.join("wh"))
}

fn report(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["report", "monthly", "--warehouse", "wh", "--out", "out"];
    args.extend_from_slice(extra);
    aftersight(dir, &args, &[])
}

#[test]
fn a_period_is_written_escaped_and_replaced_alone() {
    let tmp = tempfile::tempdir().unwrap();
    warehouse(tmp.path());
    for period in ["2026-09", "2026-10"] {
        let out = report(tmp.path(), &["--period", period]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tmp.path().join("out/reports/monthly/period=2026-10");
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"),
        "HTML escapes data"
    );
    assert!(
        html.contains("Period <b>2026-10</b>")
            && html.contains("data valid through <b>2026-10-30</b>")
    );
    assert!(html.contains("月度售后运营报告"));
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("Period **2026-10**"));
    let csv = fs::read_to_string(dir.join("01-repair_volume_by_month.csv")).unwrap();
    assert!(
        csv.contains("'=HYPERLINK"),
        "formula cells are neutralised: {csv}"
    );
    // October: ST1 has RO8 and RO10, ST2 has RO6, RO7 and RO9.
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // The CSVs keep raw values and keys; the pages name every column in both languages with
    // its unit and format numbers by kind. Every column a section shows is in the registry.
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let text = fs::read_to_string(&path).unwrap();
            let header = text.lines().next().unwrap_or_default();
            for column in header.split(',').filter(|c| !c.is_empty()) {
                assert!(
                    aftersight::terms::columns::column(column).is_some(),
                    "{}: column `{column}` has no name in src/terms/columns.csv",
                    path.display()
                );
            }
        }
    }
    assert!(
        csv.starts_with("month,station_id,station_name,repair_orders,labour_cny"),
        "{csv}"
    );
    assert!(
        html.contains("Labour (CNY)<br><span class=\"zh\">工时费（元）</span>"),
        "headers from the registry"
    );
    assert!(
        !md.contains("| labour_cny"),
        "no snake_case header in the Markdown"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["period"], "2026-10");
    assert_eq!(manifest["data_valid_through"], "2026-10-30");

    // Re-running October replaces October only.
    let september = tmp
        .path()
        .join("out/reports/monthly/period=2026-09/manifest.json");
    let before = fs::read(&september).unwrap();
    fs::write(dir.join("stray.txt"), "left by someone").unwrap();
    assert!(
        report(tmp.path(), &["--period", "2026-10"])
            .status
            .success()
    );
    assert!(
        !dir.join("stray.txt").exists(),
        "the period was replaced as a whole"
    );
    assert_eq!(fs::read(&september).unwrap(), before, "September untouched");
}

#[test]
fn exit_codes_dry_runs_and_locks() {
    let tmp = tempfile::tempdir().unwrap();
    warehouse(tmp.path());
    let empty = report(tmp.path(), &["--period", "2019-01"]);
    assert_eq!(empty.status.code(), Some(4), "no data for the period");
    assert!(
        !tmp.path()
            .join("out/reports/monthly/period=2019-01")
            .exists()
    );

    let dry = report(tmp.path(), &["--period", "2026-10", "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        !tmp.path().join("out/reports").exists(),
        "a dry run writes nothing"
    );

    let bad = report(tmp.path(), &["--period", "../../x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected YYYY-MM"));
    let escape = aftersight(
        tmp.path(),
        &[
            "report",
            "../../etc/passwd",
            "--warehouse",
            "wh",
            "--out",
            "out",
        ],
        &[],
    );
    assert_eq!(escape.status.code(), Some(1));

    // Another live process holds the lock: this run must not overlap it.
    let root = tmp.path().join("out/reports/monthly");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join(".lock"), std::process::id().to_string()).unwrap();
    let locked = report(tmp.path(), &["--period", "2026-10"]);
    assert_eq!(locked.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    // A lock left by a dead process is taken over.
    fs::write(root.join(".lock"), "999999999").unwrap();
    assert!(
        report(tmp.path(), &["--period", "2026-10"])
            .status
            .success()
    );
}

#[test]
fn specs_cannot_write_or_escape_the_warehouse() {
    let tmp = tempfile::tempdir().unwrap();
    warehouse(tmp.path());
    let lib = tmp.path().join("lib");
    fs::create_dir_all(lib.join("reports")).unwrap();
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    fs::copy(queries.join("csi_nps.sql"), lib.join("csi_nps.sql")).unwrap();
    let stolen = tmp.path().join("stolen.csv");
    let spec = format!(
        "title = \"t\"\ntitle_zh = \"t\"\nformats = [\"csv\"]\n[[sections]]\nsql = \"COPY repair_orders TO '{}'\"\n",
        stolen.display()
    );
    fs::write(lib.join("reports/evil.toml"), spec).unwrap();
    let out = aftersight(
        tmp.path(),
        &[
            "report",
            "evil",
            "--warehouse",
            "wh",
            "--out",
            "out",
            "--queries",
            lib.to_str().unwrap(),
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stolen.exists());
    fs::write(
        lib.join("reports/typo.toml"),
        "title = \"t\"\ntitle_zh = \"t\"\nformats = [\"pdf\"]\nsections = []\n",
    )
    .unwrap();
    let typo = aftersight(
        tmp.path(),
        &[
            "report",
            "typo",
            "--warehouse",
            "wh",
            "--queries",
            lib.to_str().unwrap(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unknown format `pdf`"));
}

#[test]
fn csv_headers_follow_the_setting_and_values_stay_raw() {
    let tmp = tempfile::tempdir().unwrap();
    warehouse(tmp.path());
    let out = report(tmp.path(), &["--period", "2026-10", "--csv-headers", "zh"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("out/reports/monthly/period=2026-10");
    let csv = fs::read_to_string(dir.join("01-repair_volume_by_month.csv")).unwrap();
    assert!(
        csv.starts_with(
            "月份,服务站编号,服务站名称,工单数,工时费（元）,配件费（元）,产值（元）,配件占比\n"
        ),
        "{csv}"
    );
    // The same from the environment, in English, for ad-hoc SQL; numbers unformatted.
    let sql = aftersight(
        tmp.path(),
        &[
            "sql",
            "--warehouse",
            "wh",
            "--format",
            "csv",
            "SELECT 0.7945 AS parts_share, 1 AS nothing_known",
        ],
        &[("AFTERSIGHT_CSV_HEADERS", "en")],
    );
    assert!(
        sql.status.success(),
        "{}",
        String::from_utf8_lossy(&sql.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&sql.stdout),
        "Parts share,nothing_known\n0.7945,1\n"
    );
    let bad = report(tmp.path(), &["--csv-headers", "fr"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`fr` is not one of keys, en, zh"));
}
