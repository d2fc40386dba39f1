//! A user's own tables given to `reliability fit`, `reliability mcf` and
//! `chart --input`: every rejection names the file, the line (the header is
//! line 1) and the column, with exit code 3; an unreadable file exits 1.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{aftersight, repo_root};

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn fit(input: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "reliability",
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--time",
        "time",
        "--event",
        "event",
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    aftersight(&repo_root(), &args, &[])
}

fn mcf(input: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "reliability",
        "mcf",
        "--input",
        input.to_str().unwrap(),
        "--unit",
        "unit",
        "--time",
        "time",
        "--event",
        "event",
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    aftersight(&repo_root(), &args, &[])
}

/// Asserts the exit code and that standard error holds `needle` exactly once.
fn rejected(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.matches(needle).count(), 1, "{needle:?} in {stderr}");
    assert!(out.stdout.is_empty(), "no partial output");
}

const LIVES: &str = "time,event\n3,1\n5,0\n8,1\n12,1\n";

#[test]
fn reliability_fit_rejects_bad_times_and_flags_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (value, expected) in [
        ("-5", "is not a finite number above 0"),
        ("0", "is not a finite number above 0"),
        ("NaN", "is not a finite number above 0"),
        ("inf", "is not a finite number above 0"),
        ("", "the value is missing"),
    ] {
        let input = file(
            dir,
            "lives.csv",
            &LIVES.replace("5,0", &format!("{value},0")),
        );
        let out = fit(&input, &[]);
        let shown = if value.is_empty() {
            String::new()
        } else {
            format!("`{value}` ")
        };
        rejected(
            &out,
            3,
            &format!("{}:3, column `time`: {shown}{expected}", input.display()),
        );
    }
    for flag in ["2", "yes", "no", "x", "1.0"] {
        let input = file(
            dir,
            "flags.csv",
            &LIVES.replace("8,1", &format!("8,{flag}")),
        );
        rejected(
            &fit(&input, &[]),
            3,
            &format!(
                "{}:4, column `event`: `{flag}` is not an event flag; expected 1 or 0, true or false",
                input.display()
            ),
        );
    }
    // Any case of true and false is a flag.
    let input = file(
        dir,
        "words.csv",
        "time,event\n3,TRUE\n5,false\n8,True\n12,1\n",
    );
    assert!(fit(&input, &[]).status.success());
    // A misspelt column is named with the closest one.
    let input = file(dir, "lives.csv", LIVES);
    let out = aftersight(
        &repo_root(),
        &[
            "reliability",
            "fit",
            "--input",
            input.to_str().unwrap(),
            "--time",
            "tme",
            "--event",
            "event",
        ],
        &[],
    );
    rejected(
        &out,
        3,
        "lives.csv:1: no column `tme`; did you mean `time`?",
    );
}

#[test]
fn reliability_fit_needs_two_distinct_failure_times_and_fits_the_groups_it_can() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let one = file(dir, "one.csv", "time,event\n3,1\n5,0\n8,0\n");
    rejected(
        &fit(&one, &[]),
        3,
        "a Weibull fit needs failures at 2 or more distinct times; the table has 1 failure(s) at 1 distinct time(s)",
    );
    let tied = file(dir, "tied.csv", "time,event\n4,1\n4,1\n9,0\n");
    rejected(
        &fit(&tied, &[]),
        3,
        "has 2 failure(s) at 1 distinct time(s)",
    );

    // Group b cannot be fitted: the others are, and b is reported on standard error and in `note`.
    let groups = file(
        dir,
        "groups.csv",
        "supplier,time,event\na,3,1\na,5,1\na,9,0\nb,4,1\nb,6,0\nc,2,1\nc,7,1\nc,8,1\n",
    );
    let out = fit(&groups, &["--group", "supplier"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: group `b` was not fitted: a Weibull fit needs failures at 2 or more distinct times; group `b` has 1 failure(s)"),
        "{stderr}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].starts_with("a,3,2,") && rows[2].starts_with("c,3,3,"),
        "{text}"
    );
    assert!(
        rows[1].starts_with("b,0,0,") && rows[1].contains("group `b` has 1 failure"),
        "{text}"
    );
    // When no group can be fitted, nothing is printed and the exit code says so.
    let none = file(dir, "none.csv", "supplier,time,event\na,3,1\nb,4,1\n");
    rejected(
        &fit(&none, &["--group", "supplier"]),
        3,
        "group `a` has 1 failure(s)",
    );
    // A group value must be present.
    let gap = file(dir, "gap.csv", "supplier,time,event\na,3,1\n,4,1\n");
    rejected(
        &fit(&gap, &["--group", "supplier"]),
        3,
        "gap.csv:3, column `supplier`: the value is missing",
    );
}

#[test]
fn reliability_mcf_checks_each_units_end_of_observation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let late = file(dir, "late.csv", "unit,time,event\na,2,1\na,10,0\na,12,1\n");
    rejected(
        &mcf(&late, &[]),
        3,
        "late.csv:4, column `time`: unit `a` has a repair at 12, after its end of observation at 10 (line 3)",
    );
    let endless = file(
        dir,
        "endless.csv",
        "unit,time,event\na,2,1\na,10,0\nb,3,1\nb,4,1\n",
    );
    rejected(
        &mcf(&endless, &[]),
        3,
        "endless.csv:4, column `unit`: unit `b` has no end-of-observation row (`event` 0); add one, or pass --end-at-last-event",
    );
    let out = mcf(&endless, &["--end-at-last-event"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // Repairs at 2 (a, b at risk), 3 and 4 (b, ending at its last repair, and a).
    assert!(
        text.lines().nth(1).unwrap().starts_with("2.0,2,1,0.5"),
        "{text}"
    );
    assert!(
        text.lines().nth(3).unwrap().starts_with("4.0,2,1,1.5"),
        "{text}"
    );
    let twice = file(dir, "twice.csv", "unit,time,event\na,2,1\na,10,0\na,11,0\n");
    rejected(
        &mcf(&twice, &[]),
        3,
        "twice.csv:4, column `unit`: unit `a` has a second end-of-observation row (the first is line 3)",
    );
    let flag = file(dir, "flag.csv", "unit,time,event\na,2,x\na,10,0\n");
    rejected(
        &mcf(&flag, &[]),
        3,
        "flag.csv:2, column `event`: `x` is not an event flag; expected 1 or 0, true or false",
    );
    // Ages may be 0 here (a repair on the day of delivery), not below.
    let zero = file(dir, "zero.csv", "unit,time,event\na,0,1\na,10,0\n");
    assert!(mcf(&zero, &[]).status.success());
    let negative = file(dir, "negative.csv", "unit,time,event\na,-1,1\na,10,0\n");
    rejected(
        &mcf(&negative, &[]),
        3,
        "negative.csv:2, column `time`: `-1` is not a finite number of at least 0",
    );
}

#[test]
fn unreadable_files_exit_1_and_parquet_rows_are_counted_like_lines() {
    use datafusion::arrow::array::{BooleanArray, Float64Array};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    rejected(&fit(&dir.join("absent.csv"), &[]), 1, "absent.csv");
    let garbage = file(dir, "garbage.parquet", "time,event\n1,1\n");
    rejected(
        &fit(&garbage, &[]),
        1,
        "garbage.parquet`: not a Parquet file",
    );

    let batch = RecordBatch::try_from_iter([
        (
            "time",
            Arc::new(Float64Array::from(vec![3.0, -2.0, 8.0])) as _,
        ),
        (
            "event",
            Arc::new(BooleanArray::from(vec![true, false, true])) as _,
        ),
    ])
    .unwrap();
    let path = dir.join("lives.parquet");
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    rejected(
        &fit(&path, &[]),
        3,
        "lives.parquet:3, column `time`: `-2.0` is not a finite number above 0",
    );
}

#[test]
fn chart_input_checks_the_columns_the_chart_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let chart = |input: &Path, kind: &str, x: &str, y: &str| {
        aftersight(
            &repo_root(),
            &[
                "chart",
                kind,
                "--input",
                input.to_str().unwrap(),
                "--x",
                x,
                "--y",
                y,
                "--out",
                dir.join("chart.png").to_str().unwrap(),
            ],
            &[],
        )
    };
    let sales = file(dir, "sales.csv", "month,units\n2026-01,5\n2026-02,n/a\n");
    rejected(
        &chart(&sales, "line", "month", "units"),
        3,
        "sales.csv:3, column `units`: `n/a` is not a finite number",
    );
    rejected(
        &chart(&sales, "line", "month", "unit"),
        3,
        "no column `unit`; did you mean `units`?",
    );
    let lives = file(dir, "lives.csv", "hours,failed\n3,1\n5,maybe\n");
    rejected(
        &chart(&lives, "kaplan-meier", "hours", "failed"),
        3,
        "lives.csv:3, column `failed`: `maybe` is not an event flag",
    );
    assert!(!dir.join("chart.png").exists(), "nothing written");
    let good = file(dir, "good.csv", "hours,failed\n3,1\n5,0\n9,true\n");
    let out = chart(&good, "kaplan-meier", "hours", "failed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
