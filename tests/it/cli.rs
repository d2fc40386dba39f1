//! The `aftersight` binary as a user runs it.

use crate::support::{aftersight, copy_dir};
use std::path::Path;
use std::process::Command;

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn run_without_a_bundled_sample_generates_the_embedded_default_once() {
    let tmp = tempfile::tempdir().unwrap();
    let first = aftersight(tmp.path(), &["run"], &[]);
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

    let second = aftersight(tmp.path(), &["run", "--format", "json"], &[]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report["stages"][0]["outcome"], "skipped");
    assert_eq!(
        report["stages"][1]["outcome"], "skipped",
        "nothing new to ingest"
    );
    // Twice in a row does the work once: every later stage sees the same inputs.
    for stage in report["stages"].as_array().unwrap().iter().skip(2) {
        assert_eq!(stage["outcome"], "skipped", "{stage}");
        assert!(
            stage["detail"]
                .as_str()
                .unwrap()
                .starts_with("inputs unchanged"),
            "{stage}"
        );
    }
    assert_eq!(report["complete"], true);
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
        &[],
    );
    assert!(result.status.success(), "{}", text(&result.stderr));
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(report["stages"][0]["outcome"], "reused");
    assert_eq!(report["raw_export"], "datasets/sample");
    // Every stage records its peak memory; the models stage holds the most.
    let peak = |name: &str| stage(&report, name)["peak_rss_mib"].as_f64().unwrap();
    assert!(
        peak("raw") > 1.0 && peak("models") >= peak("raw"),
        "{report}"
    );
    // The executive summary, in both languages, loads in a real browser with every chart.
    let pages = report["executive_summary"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    for page in pages {
        let page = root.join(page.as_str().unwrap());
        let html = std::fs::read_to_string(&page).unwrap();
        let images = html.matches("<img ").count();
        assert!(images >= 4, "{images} charts in {}", page.display());
        // The sample's cohorts are small: none passes the alarm rule, and the page says so.
        assert!(
            html.contains("No emerging issue passes the threshold this month.")
                || html.contains("本月没有达到预警阈值的新问题。"),
            "{}",
            page.display()
        );
        // One self-contained file, small enough to mail.
        assert!(html.len() < 1_500_000, "{} bytes", html.len());
        // Every word a reader sees is in the page's language: no code keys.
        let chinese = page.ends_with("summary.zh.html");
        let visible = crate::support::visible_text(&html);
        let foreign = crate::support::words_out_of_place(&visible, chinese);
        assert!(foreign.is_empty(), "{}: {foreign:?}", page.display());
        if let Some(browser) = crate::support::chromium() {
            let (found, loaded) = crate::support::browser_image_check(&browser, &page);
            assert_eq!((found, loaded), (images, images), "{}", page.display());
            // The Chinese text renders in the page's embedded font, not as boxes.
            let (chars, same) = crate::support::browser_font_check(&browser, &page);
            assert!(
                chars >= 8 && !same,
                "{chars} characters, same pixels: {same}"
            );
        }
    }
    // The monthly report's Chinese renders too.
    if let Some(browser) = crate::support::chromium() {
        let report = out.join("reports/monthly/period=2026-10/report.html");
        let (chars, same) = crate::support::browser_font_check(&browser, &report);
        assert!(
            chars >= 8 && !same,
            "{chars} characters, same pixels: {same}"
        );
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
    assert_eq!(stage(&report, "warranty")["rows"], 0, "{report}");
    assert!(out.join("warranty/alarms.parquet").is_file());

    // The page opens with a narrative whose figures are those of the tables below it.
    let mut summaries = Vec::new();
    for lang in ["en", "zh"] {
        let summary = aftersight(
            root,
            &[
                "summary",
                "--format",
                "json",
                "--lang",
                lang,
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert!(summary.status.success(), "{}", text(&summary.stderr));
        summaries.push(serde_json::from_slice::<serde_json::Value>(&summary.stdout).unwrap());
    }
    let outlook: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("warranty/outlook/manifest.json")).unwrap())
            .unwrap();
    let reserve = outlook["reserve_cny"][0].as_f64().unwrap();
    let grouped = |v: f64| {
        let digits = (v.round() as u64).to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    for page in &summaries {
        let sentences: Vec<&str> = page["narrative"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!((3..=5).contains(&sentences.len()), "{sentences:?}");
        // The biggest move on last month, by the headline table's own values.
        let headline = page["headline"].as_array().unwrap();
        let first = sentences[0];
        let named = headline
            .iter()
            .find(|h| first.starts_with(h["label"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{first}"));
        let (value, previous) = (
            named["value"].as_f64().unwrap(),
            named["previous"].as_f64().unwrap(),
        );
        let size = if named["unit"] == "%" {
            format!("{:.1}", 100.0 * (value - previous).abs())
        } else {
            format!("{:.1}", 100.0 * (value - previous).abs() / previous)
        };
        assert!(first.contains(&size), "{first}: {size}");
        let rose = value > previous;
        let (en, zh) = if rose {
            ("rose", "上升")
        } else {
            ("fell", "下降")
        };
        assert!(first.contains(en) || first.contains(zh), "{first}");
        // No alarm on the sample, and the reserve of the warranty stage, to the yuan.
        assert!(
            sentences
                .iter()
                .any(|s| s.contains("No emerging quality issue")
                    || s.contains("本月没有新出现的质量问题"))
        );
        assert!(
            sentences.iter().any(|s| s.contains(&grouped(reserve))),
            "{sentences:?} {reserve}"
        );
        let html = std::fs::read_to_string(root.join(page["file"].as_str().unwrap())).unwrap();
        assert!(html.contains("class=\"narrative\""));
    }
}

#[test]
fn generate_reports_bad_arguments_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = aftersight(tmp.path(), &["generate", "--scale", "0", "--out", "x"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("invalid parameter `scale`"),
        "{}",
        text(&bad.stderr)
    );

    let usage = aftersight(
        tmp.path(),
        &["generate", "--scale", "1", "--out", "x", "--format", "xlsx"],
        &[],
    );
    assert_eq!(usage.status.code(), Some(2));

    std::fs::create_dir(tmp.path().join("notes")).unwrap();
    std::fs::write(tmp.path().join("notes/todo.txt"), "mine").unwrap();
    let refused = aftersight(
        tmp.path(),
        &["generate", "--scale", "0.001", "--out", "notes"],
        &[],
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
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 7);
    assert_eq!(m["kind"], "aftersight-raw-export");
}

#[test]
fn help_shows_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let help = text(&aftersight(tmp.path(), &["generate", "--help"], &[]).stdout);
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

#[test]
fn the_font_check_notices_boxes() {
    let Some(browser) = crate::support::chromium() else {
        return;
    };
    // Only a machine without Chinese fonts draws boxes for a page without its own.
    let fonts = Command::new("fc-list").arg(":lang=zh").output();
    if !fonts.is_ok_and(|f| f.status.success() && f.stdout.is_empty()) {
        eprintln!(
            "NOTE: this machine has Chinese fonts (or no fc-list); the check of boxes is skipped"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let chinese = "<p>本月要点：保修储备金较上月增加</p>";
    let bare = tmp.path().join("bare.html");
    let page = format!("<!DOCTYPE html><html><head></head><body>{chinese}</body></html>");
    std::fs::write(&bare, &page).unwrap();
    assert_eq!(
        crate::support::browser_font_check(&browser, &bare),
        (13, true)
    );
    let embedded = tmp.path().join("embedded.html");
    let page = aftersight::charts::webfont::embed_font(&page)
        .unwrap()
        .replace("<body>", "<body style=\"font-family:'Aftersight CJK'\">");
    std::fs::write(&embedded, page).unwrap();
    assert_eq!(
        crate::support::browser_font_check(&browser, &embedded),
        (13, false)
    );
}

/// Polls `run.json` until `stage` is recorded.
fn wait_for_stage(run_json: &Path, stage: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::time::Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(run_json)
            && let Ok(run) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && run["stages"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["stage"] == stage))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("stage {stage} never finished");
}

#[test]
fn a_killed_run_resumes_and_a_failed_stage_keeps_the_last_good_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    // kill -9 once the report is written, in the middle of the run.
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftersight"))
        .args(["run", "--quiet", "--out", out_arg])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_stage(&out.join("run.json"), "report");
    child.kill().unwrap();
    child.wait().unwrap();
    let interrupted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(interrupted["complete"], false);

    let resumed = aftersight(root, &["run", "--format", "json", "--out", out_arg], &[]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let report: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(report["complete"], true);
    let outcome = |name: &str| stage(&report, name)["outcome"].clone();
    assert_eq!(outcome("kpis"), "skipped", "finished before the kill");
    assert_eq!(outcome("report"), "skipped", "finished before the kill");
    assert_eq!(outcome("summary"), "ran", "never reached before the kill");
    assert!(out.join("executive/period=2026-10/summary.html").is_file());

    // A broken query fails the kpis stage: run.json says why, the last good KPIs stay.
    let queries = tmp.path().join("queries");
    copy_dir(&root.join("queries"), &queries);
    std::fs::write(
        queries.join("zz_broken.sql"),
        "-- name: zz_broken\n-- title: Broken\n-- title_zh: 坏\n-- description: d\n-- unit: none\nSELECT no_such_column FROM repair_orders\n",
    )
    .unwrap();
    let kpis_before = std::fs::read(out.join("kpis/manifest.json")).unwrap();
    let failed = aftersight(
        root,
        &[
            "run",
            "--quiet",
            "--out",
            out_arg,
            "--queries",
            queries.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        text(&failed.stderr).contains("zz_broken"),
        "{}",
        text(&failed.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let last = run["stages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["stage"].as_str(), last["outcome"].as_str()),
        (Some("kpis"), Some("failed"))
    );
    assert!(
        last["error"].as_str().unwrap().contains("no_such_column"),
        "{last}"
    );
    assert_eq!(
        std::fs::read(out.join("kpis/manifest.json")).unwrap(),
        kpis_before
    );
}

#[test]
fn settings_follow_command_line_then_environment_then_file() {
    let tmp = tempfile::tempdir().unwrap();
    let init = aftersight(tmp.path(), &["init"], &[]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    assert!(
        std::fs::read_to_string(tmp.path().join("aftersight.toml"))
            .unwrap()
            .contains("[engine]")
    );
    let again = aftersight(tmp.path(), &["init"], &[]);
    assert_eq!(again.status.code(), Some(1), "init does not overwrite");

    std::fs::write(tmp.path().join("aftersight.toml"), "ouput = \"x\"\n").unwrap();
    let typo = aftersight(tmp.path(), &["run"], &[]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        text(&typo.stderr).contains("line 1: unknown key `ouput`; did you mean `out`?"),
        "{}",
        text(&typo.stderr)
    );

    // The file sets an invalid thread count; a missing raw export stops every run right after the settings.
    std::fs::write(
        tmp.path().join("aftersight.toml"),
        "[engine]\nthreads = 0\n",
    )
    .unwrap();
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut all = vec!["run", "--raw", "missing-export"];
        all.extend_from_slice(args);
        let envs: Vec<(&str, &str)> = env.into_iter().collect();
        text(&aftersight(tmp.path(), &all, &envs).stderr)
    };
    assert!(
        run(&[], None).contains("threads: 0 is not between 1 and 256"),
        "the file applies"
    );
    let env = run(&[], Some(("AFTERSIGHT_THREADS", "2")));
    assert!(
        env.contains("missing-export"),
        "the environment overrides the file: {env}"
    );
    let cli = run(&["--threads", "0"], Some(("AFTERSIGHT_THREADS", "2")));
    assert!(
        cli.contains("threads: 0"),
        "the command line overrides the environment: {cli}"
    );
    let cli = run(&["--threads", "2"], None);
    assert!(
        cli.contains("missing-export"),
        "the command line overrides the file: {cli}"
    );
    let bad_date = run(&["--threads", "2", "--as-of", "2026-13-01"], None);
    assert!(
        bad_date.contains("as_of: `2026-13-01` is not a date"),
        "{bad_date}"
    );
}

/// The entry of stage `name` in a `run --format json` report.
fn stage<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {report}"))
}

#[test]
fn every_command_honours_the_output_root_of_aftersight_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sample = crate::support::repo_root().join("datasets/sample");
    std::fs::write(
        dir.join("aftersight.toml"),
        format!(
            "out = \"elsewhere\"\nraw = {:?}\n",
            sample.to_str().unwrap()
        ),
    )
    .unwrap();
    let ok = |args: &[&str]| {
        let out = aftersight(dir, args, &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let out = dir.join("elsewhere");
    ok(&["run", "--quiet"]);
    assert!(out.join("run.json").is_file());

    ok(&["report", "monthly", "--period", "2026-08"]);
    assert!(
        out.join("reports/monthly/period=2026-08/report.html")
            .is_file()
    );
    let now = "2026-10-05T08:00:00+08:00";
    ok(&["report", "due", "--run", "--now", now]);
    assert!(
        out.join("reports/monthly/period=2026-09/report.html")
            .is_file()
    );

    let count = ok(&[
        "sql",
        "SELECT count(*) AS n FROM vehicles",
        "--format",
        "csv",
    ]);
    assert!(count.starts_with("n\n"), "{count}");
    ok(&["train", "churn"]);
    assert!(out.join("models/churn/v2").is_dir(), "the run saved v1");
    ok(&["predict", "churn"]);
    assert!(out.join("predictions/churn/predictions.parquet").is_file());
    let chart = dir.join("volume.png");
    let chart_arg = chart.to_str().unwrap();
    ok(&[
        "chart",
        "line",
        "--query",
        "repair_volume_by_month",
        "--x",
        "month",
        "--y",
        "repair_orders",
        "--out",
        chart_arg,
    ]);
    assert!(chart.is_file());
    let summary: serde_json::Value =
        serde_json::from_str(&ok(&["summary", "--period", "2026-09", "--format", "json"])).unwrap();
    assert!(out.join("executive/period=2026-09/summary.html").is_file());
    // The at-risk list holds only customers still active: a visit in the 12 months to 2026-09-30.
    let at_risk = summary["at_risk"].as_array().unwrap();
    assert!(!at_risk.is_empty(), "{summary}");
    for customer in at_risk {
        let last = customer["last_visit"].as_str().unwrap();
        assert!(("2025-10-01"..="2026-09-30").contains(&last), "{customer}");
        assert!(
            customer["revenue_at_stake_cny"].as_f64().unwrap() > 0.0,
            "{customer}"
        );
    }
    let stakes: Vec<f64> = at_risk
        .iter()
        .map(|c| c["revenue_at_stake_cny"].as_f64().unwrap())
        .collect();
    assert!(stakes.windows(2).all(|w| w[0] >= w[1]), "{stakes:?}");
    assert!(summary["lost_customers"].as_f64().is_some(), "{summary}");

    assert!(
        !dir.join("aftersight-out").exists(),
        "nothing fell back to the default output root"
    );
}

#[test]
fn each_cause_of_an_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Settings layer: a file that cannot be read.
    let missing = aftersight(dir, &["sql", "SELECT 1", "--config", "nope.toml"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = text(&missing.stderr);
    assert_eq!(stderr.matches("nope.toml").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // SQL layer: DataFusion's message appears once.
    let sample = crate::support::repo_root().join("datasets/sample");
    let wh = dir.join("wh");
    let ingest = aftersight(
        dir,
        &[
            "ingest",
            "--from",
            sample.to_str().unwrap(),
            "--warehouse",
            "wh",
            "--quiet",
        ],
        &[],
    );
    assert!(ingest.status.success(), "{}", text(&ingest.stderr));
    assert!(wh.join("manifest.json").is_file());
    let bad = aftersight(
        dir,
        &["sql", "SELECT nosuchcol FROM vehicles", "--warehouse", "wh"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(1));
    let stderr = text(&bad.stderr);
    assert_eq!(stderr.matches("nosuchcol").count(), 1, "{stderr}");

    // Report layer: a period that is not a month.
    let period = aftersight(
        dir,
        &["report", "monthly", "--period", "June", "--warehouse", "wh"],
        &[],
    );
    assert_eq!(period.status.code(), Some(1));
    let stderr = text(&period.stderr);
    assert_eq!(stderr.matches("June").count(), 1, "{stderr}");

    // Ingest, models and pipeline layers: a missing input is named once.
    for (args, name) in [
        (
            &["ingest", "--from", "nope-dir", "--warehouse", "wh2"][..],
            "nope-dir",
        ),
        (
            &[
                "reliability",
                "fit",
                "--input",
                "nope.csv",
                "--time",
                "t",
                "--event",
                "e",
            ][..],
            "nope.csv",
        ),
        (
            &["run", "--quiet", "--raw", "missing-export", "--out", "o"][..],
            "missing-export",
        ),
    ] {
        let out = aftersight(dir, args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.matches(name).count(), 1, "{stderr}");
    }

    // Command-line layer: a combination clap cannot see is a usage error (exit 2).
    let usage = aftersight(dir, &["sql", "--warehouse", "wh"], &[]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
}
