//! The `aftersight` binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn aftersight(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aftersight"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run aftersight")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn run_without_a_bundled_sample_generates_the_embedded_default_once() {
    let tmp = tempfile::tempdir().unwrap();
    let first = aftersight(tmp.path(), &["run"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("[ran    ] raw"), "{stdout}");
    assert!(stdout.contains("[ran    ] ingest"), "{stdout}");
    assert!(stdout.contains("repair_orders"), "{stdout}");
    assert!(tmp.path().join("aftersight-out/raw/truth.json").exists());
    assert!(stdout.contains("[ran    ] report"), "{stdout}");
    assert!(
        tmp.path()
            .join("aftersight-out/reports/monthly/period=2026-10/report.html")
            .exists()
    );
    // Outside the repository the embedded KPI library runs.
    let kpis: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("aftersight-out/kpis/manifest.json")).unwrap(),
    )
    .unwrap();
    let queries = kpis["queries"].as_array().unwrap();
    assert!(queries.len() >= 5);
    for q in queries {
        assert!(q["rows"].as_u64().unwrap() > 0, "{q}");
        let csv = std::fs::read_to_string(
            tmp.path()
                .join("aftersight-out/kpis")
                .join(q["file"].as_str().unwrap()),
        )
        .unwrap();
        assert_eq!(
            csv.lines().count() as u64,
            q["rows"].as_u64().unwrap() + 1,
            "{q}"
        );
    }

    let second = aftersight(tmp.path(), &["run", "--format", "json"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report["stages"][0]["outcome"], "skipped");
    assert_eq!(
        report["stages"][1]["outcome"], "skipped",
        "nothing new to ingest"
    );
    assert_eq!(report["ingest"]["rows_quarantined"], 0);
    assert_eq!(report["data_valid_through"], "2026-10-31");
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("aftersight-out/run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["tables"], report["tables"]);
}

#[test]
fn run_uses_the_bundled_sample_from_the_repository_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = aftersight(
        root,
        &["run", "--format", "json", "--out", out.to_str().unwrap()],
    );
    assert!(result.status.success(), "{}", text(&result.stderr));
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(report["stages"][0]["outcome"], "reused");
    assert_eq!(report["raw_export"], "datasets/sample");
    // The executive summary, in both languages, loads in a real browser with every chart.
    let pages = report["executive_summary"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    for page in pages {
        let page = root.join(page.as_str().unwrap());
        let html = std::fs::read_to_string(&page).unwrap();
        let images = html.matches("<img ").count();
        assert!(images >= 5, "{images} charts in {}", page.display());
        if let Some(browser) = crate::support::chromium() {
            let (found, loaded) = crate::support::browser_image_check(&browser, &page);
            assert_eq!((found, loaded), (images, images), "{}", page.display());
        }
    }
    // The monthly report carries its charts as files and inline.
    let monthly = out.join("reports/monthly/period=2026-10");
    assert!(
        monthly
            .join("charts/06-top_failing_components.png")
            .exists()
    );
    assert!(
        monthly
            .join("charts/06-top_failing_components.svg")
            .exists()
    );
    let md = std::fs::read_to_string(monthly.join("report.md")).unwrap();
    assert!(md.contains("![Top failing components"), "{md}");
}

#[test]
fn generate_reports_bad_arguments_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = aftersight(tmp.path(), &["generate", "--scale", "0", "--out", "x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("invalid parameter `scale`"),
        "{}",
        text(&bad.stderr)
    );

    let usage = aftersight(
        tmp.path(),
        &["generate", "--scale", "1", "--out", "x", "--format", "xlsx"],
    );
    assert_eq!(usage.status.code(), Some(2));

    std::fs::create_dir(tmp.path().join("notes")).unwrap();
    std::fs::write(tmp.path().join("notes/todo.txt"), "mine").unwrap();
    let refused = aftersight(
        tmp.path(),
        &["generate", "--scale", "0.001", "--out", "notes"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("refusing to replace"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes/todo.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn generate_json_summary_lists_every_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = aftersight(
        tmp.path(),
        &[
            "generate",
            "--scale",
            "0.002",
            "--out",
            "raw",
            "--summary",
            "json",
            "--dirt",
            "0.01",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 7);
    assert_eq!(m["kind"], "aftersight-raw-export");
}

#[test]
fn help_shows_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let help = text(&aftersight(tmp.path(), &["generate", "--help"]).stdout);
    assert!(
        help.contains("Examples:") && help.contains("--dirt"),
        "{help}"
    );
}

#[test]
fn the_browser_check_notices_a_broken_image() {
    let Some(browser) = crate::support::chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let frame = aftersight::charts::Frame::new()
        .text("k", ["a", "b"])
        .number("v", [1.0, 2.0]);
    let png = aftersight::charts::render(
        aftersight::charts::ChartKind::Bar,
        &frame,
        &Default::default(),
        &Default::default(),
        aftersight::charts::ImageFormat::Png,
    )
    .unwrap();
    let good = aftersight::report::png_figure(&png, "good");
    let page = tmp.path().join("page.html");
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><body>{good}<img src=\"data:image/png;base64,AAAA\" alt=\"broken\"></body></html>"),
    )
    .unwrap();
    assert_eq!(crate::support::browser_image_check(&browser, &page), (2, 1));
}
