//! Ingest: quarantine is exactly the planted dirt, counts reconcile, re-runs
//! are idempotent, crashes leave the old warehouse intact, text encodings and
//! malformed files are handled without panics.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use aftersight::generate::export::ExportFormat;
use aftersight::ingest::source::Encoding;
use aftersight::ingest::{FileStatus, IngestConfig, IngestError, IngestReport, ingest};
use aftersight::schema::{ColumnType, Table};
use aftersight::warehouse::Manifest;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Date32Type, TimestampMicrosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, Encoding as PageEncoding};
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

use crate::support::{aftersight, gen_into, repo_root, truth};

fn config(inputs: Vec<PathBuf>, warehouse: &Path) -> IngestConfig {
    IngestConfig {
        inputs,
        warehouse: warehouse.to_path_buf(),
        encoding: Encoding::Auto,
        max_bad_fraction: 0.05,
        progress: false,
        // Small test files are split too, so the two-thread path is what the tests check.
        chunk_bytes: 4096,
        memory_budget: 0,
    }
}

fn run(inputs: Vec<PathBuf>, warehouse: &Path) -> Result<IngestReport, IngestError> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&config(inputs, warehouse)))
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `(file name, line)` of every quarantined row.
fn quarantined(warehouse: &Path) -> BTreeSet<(String, u64, String)> {
    let m = Manifest::load(warehouse).unwrap();
    let mut out = BTreeSet::new();
    for f in &m.quarantine.files {
        for b in read_parquet(&warehouse.join(f)) {
            let files = b
                .column_by_name("source_file")
                .unwrap()
                .as_string::<i32>()
                .clone();
            let lines = b
                .column_by_name("line")
                .unwrap()
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .clone();
            let rules = b.column_by_name("rule").unwrap().as_string::<i32>().clone();
            for i in 0..b.num_rows() {
                let name = Path::new(files.value(i))
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert((name, lines.value(i) as u64, rules.value(i).to_owned()));
            }
        }
    }
    out
}

#[test]
fn quarantine_is_exactly_the_planted_dirt_and_counts_reconcile() {
    let tmp = tempfile::tempdir().unwrap();
    for format in [ExportFormat::Csv, ExportFormat::Ndjson] {
        let raw = gen_into(
            tmp.path(),
            &format!("raw-{format:?}"),
            0.02,
            31,
            0.01,
            format,
        );
        let wh = tmp.path().join(format!("wh-{format:?}"));
        let report = run(vec![raw.clone()], &wh).unwrap();
        assert!(report.published);
        let t = truth(&raw);
        let planted: BTreeSet<(String, u64)> = t["dirt"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["file"].as_str().unwrap().to_owned(),
                    r["line"].as_u64().unwrap(),
                )
            })
            .collect();
        let got = quarantined(&wh);
        let got_lines: BTreeSet<(String, u64)> =
            got.iter().map(|(f, l, _)| (f.clone(), *l)).collect();
        assert_eq!(
            got_lines, planted,
            "{format:?}: quarantined rows are exactly the planted faulty rows"
        );
        // Each kind of dirt is caught by the rule made for it.
        let rule_of: HashMap<(String, u64), String> =
            got.into_iter().map(|(f, l, r)| ((f, l), r)).collect();
        for r in t["dirt"]["rows"].as_array().unwrap() {
            let rule = &rule_of[&(
                r["file"].as_str().unwrap().to_owned(),
                r["line"].as_u64().unwrap(),
            )];
            let expected: &[&str] = match r["kind"].as_str().unwrap() {
                "bad_date" => &["invalid_date", "invalid_timestamp"],
                "negative_amount" => &["negative_amount"],
                "out_of_range" => &["out_of_range", "negative_value"],
                "unknown_vin" | "unknown_customer" => &["unknown_reference"],
                "duplicate_id" => &["duplicate_key"],
                "ragged_line" => &["ragged_line", "malformed_json"],
                "missing_required" => &["missing_required"],
                "invalid_vin_check_digit" => &["invalid_vin"],
                "wrong_encoding" => &["undecodable_text"],
                "closed_before_opened" => &["closed_before_opened"],
                other => panic!("unknown kind {other}"),
            };
            assert!(expected.contains(&rule.as_str()), "{r}: rule {rule}");
        }
        // Counts reconcile per file and per table.
        let manifest = Manifest::load(&wh).unwrap();
        for f in &report.files {
            assert_eq!(
                f.rows_read,
                f.rows_published + f.rows_quarantined,
                "{}",
                f.path.display()
            );
            let lines = fs::read(&f.path)
                .unwrap()
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            let header = u64::from(format == ExportFormat::Csv);
            assert_eq!(
                f.rows_read,
                lines - header,
                "{}: every line was read",
                f.path.display()
            );
            let rows_in_files: u64 = manifest
                .table(Table::from_name(f.table).unwrap())
                .files
                .iter()
                .map(|p| {
                    read_parquet(&wh.join(p))
                        .iter()
                        .map(|b| b.num_rows() as u64)
                        .sum::<u64>()
                })
                .sum();
            assert_eq!(
                rows_in_files, f.rows_published,
                "{}: Parquet holds the published rows",
                f.table
            );
        }
        assert_eq!(manifest.quarantine.rows as usize, planted.len());
    }
}

#[test]
fn warehouse_files_are_typed_sorted_and_partitioned_by_month() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.01, 2, 0.0, ExportFormat::Csv);
    let wh = tmp.path().join("wh");
    run(vec![raw.clone()], &wh).unwrap();
    // The same export with every row kept in memory instead of spilled writes the same files.
    let in_memory = tmp.path().join("in-memory");
    let mut cfg = config(vec![raw], &in_memory);
    cfg.memory_budget = aftersight::ingest::DEFAULT_MEMORY_BUDGET;
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&cfg))
        .unwrap();
    let m = Manifest::load(&wh).unwrap();
    assert_eq!(Manifest::load(&in_memory).unwrap().tables, m.tables);
    for table in Table::ALL {
        let files = &m.table(table).files;
        assert!(!files.is_empty(), "{table}");
        for f in files {
            let batches = read_parquet(&wh.join(f));
            assert_eq!(
                batches,
                read_parquet(&in_memory.join(f)),
                "{f}: spilled or not"
            );
            assert_column_encodings(table, &wh.join(f));
            let schema = batches[0].schema();
            let expected = table.arrow_schema();
            assert_eq!(schema.fields().len(), expected.fields().len(), "{f}");
            for (a, b) in schema.fields().iter().zip(expected.fields()) {
                assert_eq!((a.name(), a.data_type()), (b.name(), b.data_type()), "{f}");
            }
            let Some(event) = table.event_column() else {
                continue;
            };
            let month = f.split("month=").nth(1).unwrap().split('/').next().unwrap();
            let mut previous = i64::MIN;
            for b in &batches {
                let column = b.column_by_name(event).unwrap();
                for i in 0..column.len() {
                    let day = match column.data_type() {
                        datafusion::arrow::datatypes::DataType::Date32 => {
                            i64::from(column.as_primitive::<Date32Type>().value(i)) * 86_400
                        }
                        _ => column.as_primitive::<TimestampMicrosecondType>().value(i) / 1_000_000,
                    };
                    assert!(day >= previous, "{f}: sorted by {event}");
                    previous = day;
                    let d = aftersight::dates::format_date(day.div_euclid(86_400) as i32);
                    assert_eq!(&d[..7], month, "{f}: row in its month partition");
                }
            }
        }
    }
}

/// zstd, except for timestamps and odometers that are not the event; a
/// dictionary for the station references and enums; none for the primary
/// key; timestamps and odometers delta-encoded; statistics for the event
/// column, and for text only in a dimension table.
fn assert_column_encodings(table: Table, path: &Path) {
    let fact = table.event_column().is_some();
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    for group in reader.metadata().row_groups() {
        for (chunk, column) in group.columns().iter().zip(table.columns()) {
            let at = format!("{}: {}", path.display(), column.name);
            let delta = chunk
                .encodings()
                .any(|e| e == PageEncoding::DELTA_BINARY_PACKED);
            let event = table.event_column() == Some(column.name);
            match column.ty {
                ColumnType::Timestamp | ColumnType::BigInt if !event => {
                    assert_eq!(chunk.compression(), Compression::UNCOMPRESSED, "{at}")
                }
                _ => assert!(matches!(chunk.compression(), Compression::ZSTD(_)), "{at}"),
            }
            match column.ty {
                ColumnType::Timestamp | ColumnType::BigInt => {
                    assert!(delta && chunk.dictionary_page_offset().is_none(), "{at}")
                }
                _ if column.name == table.primary_key() => {
                    assert!(chunk.dictionary_page_offset().is_none(), "{at}")
                }
                _ if column.name == "station_id" || column.name == "job_type" => {
                    assert!(chunk.dictionary_page_offset().is_some(), "{at}")
                }
                _ => {}
            }
            if column.ty == ColumnType::Text {
                assert_eq!(chunk.statistics().is_none(), fact, "{at}");
            }
            if event {
                assert!(chunk.statistics().is_some(), "{at}");
            }
        }
    }
}

#[test]
fn rerunning_is_idempotent_and_new_files_add_only_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.01, 3, 0.0, ExportFormat::Csv);
    // Split the repair orders in two exports: the second arrives a month later.
    let ros = fs::read_to_string(raw.join("repair_orders.csv")).unwrap();
    let mut lines: Vec<&str> = ros.lines().collect();
    let header = lines.remove(0);
    let half = lines.len() / 2;
    let later = tmp.path().join("later");
    fs::create_dir(&later).unwrap();
    fs::write(
        raw.join("repair_orders.csv"),
        format!("{header}\n{}\n", lines[..half].join("\n")),
    )
    .unwrap();
    fs::write(
        later.join("repair_orders_2026-11.csv"),
        format!("{header}\n{}\n", lines[half..].join("\n")),
    )
    .unwrap();
    // Claims and surveys refer to repair orders of both halves: ingest them with the second half.
    for t in ["warranty_claims.csv", "surveys.csv"] {
        fs::rename(raw.join(t), later.join(t)).unwrap();
    }

    let wh = tmp.path().join("wh");
    let first = run(vec![raw.clone()], &wh).unwrap();
    assert!(first.published);
    let manifest_after_first = fs::read(wh.join("manifest.json")).unwrap();
    // Files of new sizes are hashed while they are read: the hash is still the file's BLAKE3.
    for f in &first.files {
        let expected = aftersight::ingest::source::blake3_file(&f.path).unwrap();
        assert_eq!(f.blake3, expected, "{}", f.path.display());
    }

    let again = run(vec![raw.clone()], &wh).unwrap();
    assert!(!again.published);
    assert!(
        again
            .files
            .iter()
            .all(|f| f.status == FileStatus::Unchanged)
    );
    assert_eq!(
        fs::read(wh.join("manifest.json")).unwrap(),
        manifest_after_first,
        "nothing changed"
    );

    // Older versions recorded each file's SHA-256 alone: those files are
    // still recognised.
    let mut older: serde_json::Value = serde_json::from_slice(&manifest_after_first).unwrap();
    for source in older["sources"].as_array_mut().unwrap() {
        let path = PathBuf::from(source["path"].as_str().unwrap());
        let sha256 = aftersight::ingest::source::sha256_file(&path).unwrap();
        let source = source.as_object_mut().unwrap();
        assert!(source.remove("blake3").is_some());
        assert!(source.insert("sha256".into(), sha256.into()).is_none());
    }
    fs::write(wh.join("manifest.json"), older.to_string()).unwrap();
    let legacy = run(vec![raw.clone()], &wh).unwrap();
    assert!(!legacy.published);
    assert!(
        legacy
            .files
            .iter()
            .all(|f| f.status == FileStatus::Unchanged)
    );
    fs::write(wh.join("manifest.json"), &manifest_after_first).unwrap();

    let second = run(vec![raw.clone(), later.clone()], &wh).unwrap();
    assert!(second.published);
    let ingested: Vec<_> = second
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Ingested)
        .map(|f| f.table)
        .collect();
    assert_eq!(ingested, ["repair_orders", "warranty_claims", "surveys"]);
    let added: HashMap<&str, u64> = second
        .tables
        .iter()
        .map(|t| (t.table, t.rows_added))
        .collect();
    assert_eq!(added["repair_orders"], (lines.len() - half) as u64);
    assert_eq!(added["vehicles"], 0);
    assert_eq!(
        second.rows_quarantined, 0,
        "claims and surveys found their repair orders in the warehouse"
    );
    let m = Manifest::load(&wh).unwrap();
    assert_eq!(m.table(Table::RepairOrders).rows, lines.len() as u64);
    assert_eq!(m.batch, 2);

    // The same rows under another file name are duplicates of what the warehouse holds.
    let copy = tmp.path().join("copy");
    fs::create_dir(&copy).unwrap();
    // Same rows, one byte different (a CRLF header), so the content hash is new.
    let resent = fs::read_to_string(later.join("repair_orders_2026-11.csv"))
        .unwrap()
        .replacen('\n', "\r\n", 1);
    fs::write(copy.join("repair_orders_resent.csv"), resent).unwrap();
    let mut cfg = config(vec![copy], &wh);
    cfg.max_bad_fraction = 1.0;
    let dup = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&cfg));
    match dup {
        Err(IngestError::TooManyBad { report, .. }) => {
            assert_eq!(report.files[0].top_reasons[0].0, "duplicate_key (ro_id)");
        }
        other => panic!("a wholly duplicate file is rejected: {other:?}"),
    }
    assert_eq!(Manifest::load(&wh).unwrap().batch, 2, "nothing published");
}

/// A clean export (seed `seed`) in `dir/raw`, with its surveys moved to
/// `dir/later` for a second batch.
fn export_with_surveys_later(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let raw = gen_into(dir, "raw", 0.01, seed, 0.0, ExportFormat::Csv);
    let later = dir.join("later");
    fs::create_dir(&later).unwrap();
    fs::rename(raw.join("surveys.csv"), later.join("surveys.csv")).unwrap();
    (raw, later)
}

#[test]
fn a_crash_before_publication_leaves_the_previous_warehouse_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, later) = export_with_surveys_later(tmp.path(), 4);
    let wh = tmp.path().join("wh");
    let (raw_s, later_s, wh_s) = (
        raw.to_str().unwrap(),
        later.to_str().unwrap(),
        wh.to_str().unwrap(),
    );
    assert!(
        aftersight(
            &repo_root(),
            &["ingest", "--from", raw_s, "--warehouse", wh_s],
            &[]
        )
        .status
        .success()
    );
    let before = fs::read(wh.join("manifest.json")).unwrap();

    let crashed = aftersight(
        &repo_root(),
        &["ingest", "--from", raw_s, later_s, "--warehouse", wh_s],
        &[("AFTERSIGHT_TEST_CRASH_BEFORE_PUBLISH", "1")],
    );
    assert!(!crashed.status.success(), "the process died");
    assert_eq!(
        fs::read(wh.join("manifest.json")).unwrap(),
        before,
        "manifest untouched"
    );
    let m = Manifest::load(&wh).unwrap();
    for f in m.all_files() {
        assert!(!read_parquet(&wh.join(f)).is_empty(), "{f} readable");
    }
    assert!(m.table(Table::Surveys).files.is_empty());

    let recovered = aftersight(
        &repo_root(),
        &[
            "ingest",
            "--from",
            raw_s,
            later_s,
            "--warehouse",
            wh_s,
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        recovered.status.success(),
        "{}",
        String::from_utf8_lossy(&recovered.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&recovered.stdout).unwrap();
    assert!(
        report["leftovers_removed"].as_u64().unwrap() > 0,
        "the crashed run's files are cleaned up"
    );
    assert!(Manifest::load(&wh).unwrap().table(Table::Surveys).rows > 0);
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn a_batch_that_fails_while_writing_leaves_no_files_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, later) = export_with_surveys_later(tmp.path(), 5);
    // A trial run names the files of the second batch; its smallest is written last.
    let trial = tmp.path().join("trial");
    run(vec![raw.clone()], &trial).unwrap();
    run(vec![later.clone()], &trial).unwrap();
    let surveys = Manifest::load(&trial)
        .unwrap()
        .table(Table::Surveys)
        .files
        .clone();
    assert!(surveys.len() > 3, "surveys span several months");
    let last = surveys
        .iter()
        .min_by_key(|f| {
            read_parquet(&trial.join(f))
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>()
        })
        .unwrap();

    let wh = tmp.path().join("wh");
    run(vec![raw], &wh).unwrap();
    let before = fs::read(wh.join("manifest.json")).unwrap();
    // A directory where that file should go makes its part fail.
    fs::create_dir_all(wh.join(last)).unwrap();
    let err = run(vec![later], &wh).unwrap_err().to_string();
    assert!(
        err.contains(last.as_str()),
        "the error names the file: {err}"
    );
    assert_eq!(
        fs::read(wh.join("manifest.json")).unwrap(),
        before,
        "nothing published"
    );
    let listed: BTreeSet<PathBuf> = Manifest::load(&wh)
        .unwrap()
        .all_files()
        .map(|f| wh.join(f))
        .collect();
    for file in files_under(&wh.join("data")) {
        assert!(listed.contains(&file), "{} was left behind", file.display());
    }
}

#[test]
fn gbk_exports_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.005, 6, 0.0, ExportFormat::Csv);
    let utf8 = fs::read_to_string(raw.join("customers.csv")).unwrap();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
    assert!(!unmappable);
    for (name, encoding) in [("explicit", Encoding::Gbk), ("detected", Encoding::Auto)] {
        let dir = tmp.path().join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(
            dir.join("stations.csv"),
            fs::read(raw.join("stations.csv")).unwrap(),
        )
        .unwrap();
        fs::write(dir.join("customers.csv"), &gbk[..]).unwrap();
        let wh = tmp.path().join(format!("wh-{name}"));
        // Detection works per file (stations.csv stays UTF-8); an explicit --encoding applies to all files.
        if encoding == Encoding::Gbk {
            fs::remove_file(dir.join("stations.csv")).unwrap();
        }
        let mut cfg = config(vec![dir], &wh);
        cfg.encoding = encoding;
        let report = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(ingest(&cfg))
            .unwrap();
        let customers = report
            .files
            .iter()
            .find(|f| f.table == "customers")
            .unwrap();
        assert_eq!(customers.encoding, "gb18030", "{name}");
        assert_eq!(customers.rows_quarantined, 0, "{name}");
        let m = Manifest::load(&wh).unwrap();
        let mut names = Vec::new();
        for f in &m.table(Table::Customers).files {
            for b in read_parquet(&wh.join(f)) {
                let col = b.column_by_name("name").unwrap().as_string::<i32>().clone();
                names.extend((0..col.len()).map(|i| col.value(i).to_owned()));
            }
        }
        let mut expected: Vec<String> = utf8
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_owned())
            .collect();
        expected.sort();
        names.sort();
        assert_eq!(names, expected, "{name}: Chinese names survive");
    }
}

#[test]
fn real_world_csv_quirks_are_read_correctly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    // BOM, CRLF, shuffled and oddly cased headers, quoted commas, quotes and a newline inside a name.
    let csv = "\u{feff}Station_ID, NAME ,station_type,brand,grade,city,province,bays,Opened Date,extra\r\n\
               ST000001,\"速驰快修(浦东, 张江店)\",chain,,A,上海,上海,6,2015-03-03,x\r\n\
               ST000002,\"老王 \"\"靠谱\"\" 汽修\nB栋\",independent,,ungraded,上海,上海,3,2010-01-01,y\r\n\
               ST000003,ragged,chain\r\n";
    fs::write(dir.join("stations.csv"), csv).unwrap();
    let wh = tmp.path().join("wh");
    let mut cfg = config(vec![dir.join("stations.csv")], &wh);
    cfg.max_bad_fraction = 0.5;
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&cfg))
        .unwrap();
    let f = &report.files[0];
    assert_eq!(
        (f.rows_read, f.rows_published, f.rows_quarantined),
        (3, 2, 1)
    );
    assert!(
        f.notes.iter().any(|n| n.contains("`extra`")),
        "{:?}",
        f.notes
    );
    assert_eq!(
        quarantined(&wh).into_iter().next().unwrap(),
        ("stations.csv".into(), 5, "ragged_line".into())
    );
    let m = Manifest::load(&wh).unwrap();
    let batches = read_parquet(&wh.join(&m.table(Table::Stations).files[0]));
    let names = batches[0]
        .column_by_name("name")
        .unwrap()
        .as_string::<i32>()
        .clone();
    assert_eq!(names.value(0), "速驰快修(浦东, 张江店)");
    assert_eq!(names.value(1), "老王 \"靠谱\" 汽修\nB栋");
}

#[test]
fn malformed_files_give_clear_errors_and_publish_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tmp.path().join("wh");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty", Vec::new(), "the file is empty"),
        ("garbage", (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(), "line 1"),
        ("no_vin", b"make,model\nBYD,Han\n".to_vec(), "required column `vin` of table `vehicles` is missing"),
        ("all_bad", b"vin,make,model,model_year,powertrain,first_registration_date,original_owner_id\nX,Y,Z,1,ICE,2020-01-01,C1\n".to_vec(), "nothing was published"),
    ];
    for (name, bytes, message) in cases {
        let dir = tmp.path().join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("vehicles.csv"), &bytes).unwrap();
        let out = aftersight(
            &repo_root(),
            &[
                "ingest",
                "--from",
                dir.to_str().unwrap(),
                "--warehouse",
                wh.to_str().unwrap(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(
            stderr.contains("vehicles.csv"),
            "{name} names the file: {stderr}"
        );
        assert_eq!(
            Manifest::load(&wh).unwrap().batch,
            0,
            "{name}: nothing published"
        );
    }
    let out = aftersight(
        &repo_root(),
        &[
            "ingest",
            "--from",
            tmp.path().join("all_bad").to_str().unwrap(),
            "--warehouse",
            wh.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "rejected input has its own exit code"
    );
}

#[test]
fn a_truncated_file_loses_only_its_cut_record() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.005, 8, 0.0, ExportFormat::Csv);
    let full = fs::read(raw.join("customers.csv")).unwrap();
    // Cut inside the last record, mid-way through a Chinese character.
    let last_line_start = full[..full.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let cut = last_line_start + 14;
    fs::write(raw.join("customers.csv"), &full[..cut]).unwrap();
    let wh = tmp.path().join("wh");
    let report = run(vec![raw.join("customers.csv")], &wh).unwrap();
    let f = &report.files[0];
    assert_eq!(f.rows_quarantined, 1);
    assert_eq!(
        f.rows_read,
        full.iter().filter(|b| **b == b'\n').count() as u64 - 1
    );
}

/// Property: whatever bytes a file holds, the reader and validator never
/// panic, every record is either accepted or rejected with a rule, line
/// numbers never go back, and the reader always terminates.
#[test]
fn the_row_parser_survives_arbitrary_bytes() {
    use aftersight::ingest::source::{RecordReader, SourceFile, SourceFormat};
    use aftersight::ingest::validate::RowValidator;
    use rand::{Rng, SeedableRng};

    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.002, 10, 0.05, ExportFormat::Csv);
    let seeds: Vec<(Table, SourceFormat, Vec<u8>)> = vec![
        (
            Table::RepairOrders,
            SourceFormat::Csv,
            fs::read(raw.join("repair_orders.csv")).unwrap()[..6000].to_vec(),
        ),
        (
            Table::Customers,
            SourceFormat::Csv,
            fs::read(raw.join("customers.csv")).unwrap()[..4000].to_vec(),
        ),
        (Table::Surveys, SourceFormat::Ndjson, {
            let r = gen_into(tmp.path(), "nd", 0.002, 10, 0.05, ExportFormat::Ndjson);
            fs::read(r.join("surveys.ndjson")).unwrap()[..5000].to_vec()
        }),
    ];
    const NASTY: &[u8] = b",\"\n\r{}:\\\xff\xe4\xb8\x00 ";
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    for case in 0..600 {
        let (table, format, base) = &seeds[case % seeds.len()];
        let mut bytes = if case % 10 == 9 {
            (0..rng.random_range(0..3000))
                .map(|_| rng.random::<u8>())
                .collect()
        } else {
            base.clone()
        };
        for _ in 0..rng.random_range(1..40) {
            let at = rng.random_range(0..=bytes.len());
            match rng.random_range(0..4) {
                0 => bytes.insert(at, NASTY[rng.random_range(0..NASTY.len())]),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                2 if at < bytes.len() => bytes[at] = rng.random(),
                _ => bytes.truncate(at.max(1)),
            }
        }
        let path = tmp
            .path()
            .join(format!("{}.{}", table.name(), format.name()));
        fs::write(&path, &bytes).unwrap();
        let source = SourceFile {
            path: path.clone(),
            table: *table,
            format: *format,
            bytes: 0,
            blake3: None,
            sha256: None,
        };
        for encoding in [Encoding::Utf8, Encoding::Gbk] {
            let Ok(head) = RecordReader::open(&source, encoding) else {
                continue;
            };
            let Ok(mut chunks) = head.chunks(&path, 64, false) else {
                continue;
            };
            let mut validator = RowValidator::new(*table, aftersight::dates::today());
            let (mut accepted, mut rejected, mut last_line) = (0, 0, 0);
            while let Some(chunk) = chunks.next_chunk() {
                let mut reader = head.records(&chunk);
                while let Some(record) = reader.next_record() {
                    // A lone CR ends a record without starting a new line, so lines never decrease but may repeat.
                    assert!(
                        record.line >= last_line.max(1),
                        "case {case}: line {} after {last_line}",
                        record.line
                    );
                    last_line = record.line;
                    match record
                        .decoded
                        .and_then(|()| validator.check(&reader.fields()))
                    {
                        Ok(()) => {
                            validator.append(&reader.fields());
                            accepted += 1;
                        }
                        Err(r) => {
                            assert!(!r.rule.is_empty() && !r.message.is_empty());
                            rejected += 1;
                        }
                    }
                    assert!(
                        accepted + rejected < 100_000,
                        "case {case}: the reader terminates"
                    );
                }
            }
            assert_eq!(
                validator.finish_batch().unwrap().num_rows(),
                accepted,
                "case {case}"
            );
        }
    }
}

/// Property: reading a file in chunks of any size gives exactly the records
/// (lines, byte ranges, values) of reading it in one piece, quoted newlines
/// and CRLF included.
#[test]
fn chunks_read_the_same_records_as_the_whole_file() {
    use aftersight::ingest::source::{Fields, RecordReader, SourceFile, SourceFormat};

    let tmp = tempfile::tempdir().unwrap();
    let raw = gen_into(tmp.path(), "raw", 0.003, 12, 0.05, ExportFormat::Csv);
    let nd = gen_into(tmp.path(), "nd", 0.003, 12, 0.05, ExportFormat::Ndjson);
    let quoted = tmp.path().join("stations.csv");
    let mut text =
        String::from("station_id,name,station_type,brand,grade,city,province,bays,opened_date\n");
    for i in 0..300 {
        text.push_str(&format!(
            "ST{i:06},\"名\n字, \"\"{i}\"\"\",chain,,A,上海,上海,3,2020-01-01\r\n"
        ));
    }
    std::fs::write(&quoted, text).unwrap();
    let files = [
        (
            raw.join("repair_orders.csv"),
            Table::RepairOrders,
            SourceFormat::Csv,
        ),
        (
            nd.join("surveys.ndjson"),
            Table::Surveys,
            SourceFormat::Ndjson,
        ),
        (quoted.clone(), Table::Stations, SourceFormat::Csv),
    ];
    for (path, table, format) in files {
        let source = SourceFile {
            path: path.clone(),
            table,
            format,
            bytes: 0,
            blake3: None,
            sha256: None,
        };
        let head = RecordReader::open(&source, Encoding::Utf8).unwrap();
        let read_all = |target: usize| {
            let (mut out, mut chunks) = (Vec::new(), 0);
            let mut reader = head.chunks(&path, target, false).unwrap();
            while let Some(chunk) = reader.next_chunk() {
                chunks += 1;
                let mut records = head.records(&chunk);
                while let Some(r) = records.next_record() {
                    let raw = chunk.raw(r.start, r.end).to_vec();
                    out.push((
                        r.line,
                        r.start,
                        r.end,
                        raw,
                        r.decoded.is_ok(),
                        (0..table.columns().len())
                            .map(|i| records.fields().field(i).to_owned())
                            .collect::<Vec<_>>(),
                    ));
                }
            }
            (out, chunks)
        };
        let (expected, one) = read_all(usize::MAX / 2);
        assert_eq!(one, 1, "{}: one chunk", path.display());
        assert!(expected.len() >= 300);
        for target in [1, 100, 4096] {
            let (got, chunks) = read_all(target);
            assert!(chunks > 1, "{}: split", path.display());
            if let Some(i) = (0..got.len().min(expected.len())).find(|&i| got[i] != expected[i]) {
                panic!(
                    "{} in chunks of {target} bytes: record {i} differs: chunked {:?}, whole {:?}",
                    path.display(),
                    got[i],
                    expected[i]
                );
            }
            assert_eq!(
                got.len(),
                expected.len(),
                "{} in chunks of {target} bytes",
                path.display()
            );
        }
    }
}
