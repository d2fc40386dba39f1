//! `aftersight ingest`: raw CSV / NDJSON exports into the Parquet warehouse,
//! validated row by row, with every rejected row kept in quarantine.
//!
//! # How a batch runs
//! 1. Lock the warehouse, read its manifest, and remove leftovers of an
//!    interrupted run (files the manifest does not list).
//! 2. Find the input files, name each one's table from its file name, hash
//!    its content, and skip files already ingested (same SHA-256).
//! 3. Load the keys already in the warehouse, then read the new files in
//!    table dependency order. Each record is decoded ([`source`]), validated
//!    ([`validate`]) and key-checked ([`keys`]); accepted rows stream into a
//!    staging Arrow IPC file, rejected rows into the quarantine batch with
//!    their file, line, column, rule and raw bytes. For every file,
//!    `read = published + quarantined` is checked.
//! 4. If the batch's rejected share exceeds `--max-bad-fraction`, or every
//!    row of some file is bad, stop: nothing is published.
//! 5. [`layout`] writes each table's staged rows as Parquet: fact tables
//!    partitioned by month and sorted by their event date, in bounded memory;
//!    zstd(1), dictionaries, page statistics, row groups of up to 1 Mi rows.
//! 6. New files move into `data/` and `quarantine/` under fresh names; the
//!    manifest is then replaced atomically. Until that rename, readers see the
//!    previous warehouse; after it, the new one.

pub mod keys;
pub mod layout;
pub mod source;
pub mod validate;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, BinaryBuilder, BooleanBuilder, Int64Builder, StringBuilder,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::reader::FileReader as IpcReader;
use datafusion::arrow::ipc::writer::FileWriter as IpcWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use serde::Serialize;

use self::keys::{KeyRegistry, RowKeys};
use self::source::{Encoding, RecordReader, Rejection, SourceError, SourceFile};
use self::validate::{MONTH_COLUMN, RowValidator};
use crate::fsutil::{FsError, io_error};
use crate::schema::Table;
use crate::warehouse::{self, Lock, Manifest, SourceRecord, WarehouseError};

/// Default `--max-bad-fraction`.
pub const DEFAULT_MAX_BAD_FRACTION: f64 = 0.01;
/// Rows per staged batch.
const BATCH_ROWS: usize = 65_536;

/// What to ingest, and where.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Files or directories (every `*.csv`, `*.ndjson`, `*.jsonl` inside, recursively).
    pub inputs: Vec<PathBuf>,
    /// Warehouse root.
    pub warehouse: PathBuf,
    /// Text encoding of the inputs.
    pub encoding: Encoding,
    /// Largest share of rejected rows in the batch before it fails (a file whose every row is bad always fails it).
    pub max_bad_fraction: f64,
    /// Show progress bars.
    pub progress: bool,
    /// Files with at least this many bytes of records are validated by two threads.
    pub split_bytes: u64,
}

/// Errors that stop a batch (nothing is published).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A source file cannot be read at all.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The warehouse cannot be read or written.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// A filesystem operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// No input files were found.
    #[error("no input files: {0}")]
    NoInputs(String),
    /// Too many rows are bad: overall above the limit, or every row of one file.
    #[error(
        "{what}: {bad} of {read} rows ({:.2} %) are bad (limit: --max-bad-fraction {:.2} % of the batch, and no file wholly bad); nothing was published",
        100.0 * *bad as f64 / *read as f64,
        100.0 * limit
    )]
    TooManyBad {
        /// The file or `the batch`.
        what: String,
        /// Rows rejected.
        bad: u64,
        /// Rows read.
        read: u64,
        /// The limit.
        limit: f64,
        /// What was read up to the failure.
        report: Box<IngestReport>,
    },
    /// Counts did not reconcile: a bug, never expected.
    #[error("internal error (this is a bug): {0}")]
    Reconcile(String),
    /// Arrow or Parquet encoding failed.
    #[error("encoding {what} failed")]
    Encode {
        /// What was being written.
        what: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn encode_err<E: std::error::Error + Send + Sync + 'static>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> IngestError {
    let what = what.into();
    move |e| IngestError::Encode {
        what,
        source: Box::new(e),
    }
}

/// Outcome for one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given.
    pub path: PathBuf,
    /// Table.
    pub table: &'static str,
    /// `csv` or `ndjson`.
    pub format: &'static str,
    /// Encoding used.
    pub encoding: &'static str,
    /// Content hash.
    pub sha256: String,
    /// `ingested`, or `unchanged` when the same content was ingested before.
    pub status: &'static str,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows published.
    pub rows_published: u64,
    /// Rows quarantined.
    pub rows_quarantined: u64,
    /// Quarantine reasons, most frequent first.
    pub top_reasons: Vec<(String, u64)>,
    /// Header remarks (ignored or absent optional columns).
    pub notes: Vec<String>,
}

/// Rows of one table after the batch.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// Table.
    pub table: &'static str,
    /// Rows added by this batch.
    pub rows_added: u64,
    /// Rows in the warehouse now.
    pub rows_total: u64,
}

/// Outcome of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// Warehouse root.
    pub warehouse: PathBuf,
    /// Batch number published (unchanged if nothing was new).
    pub batch: u64,
    /// Whether a new warehouse version was published.
    pub published: bool,
    /// Leftover files of an interrupted run that were removed.
    pub leftovers_removed: usize,
    /// Per input file.
    pub files: Vec<FileReport>,
    /// Per table.
    pub tables: Vec<TableReport>,
    /// Rows quarantined by this batch.
    pub rows_quarantined: u64,
}

/// Ingests the configured inputs into the warehouse.
pub async fn ingest(config: &IngestConfig) -> Result<IngestReport, IngestError> {
    let root = &config.warehouse;
    let _lock = Lock::acquire(root)?;
    let mut manifest = Manifest::load(root)?;
    let leftovers_removed = warehouse::remove_unlisted(root, &manifest)?;

    let sources = discover(&config.inputs)?;
    let known: HashSet<&str> = manifest.sources.iter().map(|s| s.sha256.as_str()).collect();
    let mut seen = HashSet::new();
    let mut report = IngestReport {
        warehouse: root.clone(),
        batch: manifest.batch,
        published: false,
        leftovers_removed,
        files: Vec::new(),
        tables: Vec::new(),
        rows_quarantined: 0,
    };
    let mut fresh = Vec::new();
    for s in sources {
        if known.contains(s.sha256.as_str()) || !seen.insert(s.sha256.clone()) {
            report.files.push(FileReport {
                path: s.path.clone(),
                table: s.table.name(),
                format: s.format.name(),
                encoding: "",
                sha256: s.sha256.clone(),
                status: "unchanged",
                rows_read: 0,
                rows_published: 0,
                rows_quarantined: 0,
                top_reasons: Vec::new(),
                notes: vec!["already ingested (same content)".into()],
            });
        } else {
            fresh.push(s);
        }
    }
    if fresh.is_empty() {
        report.tables = table_totals(&manifest, &BTreeMap::new());
        return Ok(report);
    }

    let batch = manifest.batch + 1;
    let staging = root.join(format!(".staging-{batch:06}"));
    fs::create_dir_all(&staging).map_err(io_error("create staging directory", &staging))?;
    let result = run_batch(config, &mut manifest, &fresh, &staging, batch, &mut report).await;
    let _ = fs::remove_dir_all(&staging);
    result?;
    Ok(report)
}

async fn run_batch(
    config: &IngestConfig,
    manifest: &mut Manifest,
    fresh: &[SourceFile],
    staging: &Path,
    batch: u64,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let root = &config.warehouse;
    let mut keys = load_keys(root, manifest)?;
    let max_date = crate::dates::today() + 366;
    let mut stage = Stage::default();
    let mut quarantine = QuarantineBuilder::new(batch);
    let mut new_sources = Vec::new();

    let total_bytes: u64 = fresh
        .iter()
        .map(|s| fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();
    let bar = crate::fsutil::progress_bar(config.progress, total_bytes, "ingesting");
    for source in fresh {
        let encoding = match config.encoding {
            Encoding::Auto => source::detect_encoding(&source.path)?,
            e => e,
        };
        let file_report = ingest_file(
            source,
            encoding,
            &mut keys,
            &mut stage,
            staging,
            &mut quarantine,
            max_date,
            config.split_bytes,
        )?;
        bar.inc(fs::metadata(&source.path).map_or(0, |m| m.len()));
        let (read, bad) = (file_report.rows_read, file_report.rows_quarantined);
        new_sources.push(SourceRecord {
            sha256: source.sha256.clone(),
            path: source.path.display().to_string(),
            table: source.table.name().into(),
            format: source.format.name().into(),
            encoding: encoding.name().into(),
            rows_read: read,
            rows_published: file_report.rows_published,
            rows_quarantined: bad,
            batch,
        });
        report.rows_quarantined += bad;
        report.files.push(file_report);
        if read > 0 && bad == read {
            bar.finish_and_clear();
            return Err(IngestError::TooManyBad {
                what: format!("`{}`", source.path.display()),
                bad,
                read,
                limit: config.max_bad_fraction,
                report: Box::new(report.clone()),
            });
        }
    }
    bar.finish_and_clear();
    let read: u64 = new_sources.iter().map(|s| s.rows_read).sum();
    if read > 0 && report.rows_quarantined as f64 > config.max_bad_fraction * read as f64 {
        return Err(IngestError::TooManyBad {
            what: "the batch".into(),
            bad: report.rows_quarantined,
            read,
            limit: config.max_bad_fraction,
            report: Box::new(report.clone()),
        });
    }

    // Write Parquet, then move the files into place under fresh names.
    let mut added: BTreeMap<&'static str, (Vec<String>, u64)> = BTreeMap::new();
    for (table, staged) in stage.finish()? {
        let written =
            layout::write_table(table, &staged.path, &staging.join("out").join(table.name()))?;
        let rows: u64 = written.iter().map(|w| w.rows).sum();
        if rows != staged.rows {
            return Err(IngestError::Reconcile(format!(
                "{table}: staged {} rows, Parquet holds {rows}",
                staged.rows
            )));
        }
        let mut files = Vec::new();
        for (i, w) in written.iter().enumerate() {
            let rel = match &w.partition {
                Some(p) => format!("data/{}/{p}/b{batch:06}-{i:04}.parquet", table.name()),
                None => format!("data/{}/b{batch:06}-{i:04}.parquet", table.name()),
            };
            move_into(&w.path, &root.join(&rel))?;
            files.push(rel);
        }
        added.insert(table.name(), (files, staged.rows));
    }
    let quarantined_rows = quarantine.len() as u64;
    let quarantine_file = if quarantined_rows > 0 {
        let rel = format!("quarantine/b{batch:06}.parquet");
        let staged = staging.join("quarantine.parquet");
        quarantine.write(&staged)?;
        move_into(&staged, &root.join(&rel))?;
        Some(rel)
    } else {
        None
    };

    // Publish: one atomic rename of the manifest.
    for (table, (files, rows)) in &added {
        let t = Table::from_name(table).expect("tables come from the schema");
        let entry = manifest.tables.entry((*table).to_owned()).or_default();
        entry.files.extend(files.iter().cloned());
        entry.rows += rows;
        entry.partition_by = t.event_column().map(|_| MONTH_COLUMN.to_owned());
        entry.sorted_by = t.event_column().map(str::to_owned);
    }
    if let Some(rel) = quarantine_file {
        manifest.quarantine.files.push(rel);
        manifest.quarantine.rows += quarantined_rows;
    }
    manifest.sources.extend(new_sources);
    manifest.batch = batch;
    if std::env::var_os("AFTERSIGHT_TEST_CRASH_BEFORE_PUBLISH").is_some() {
        // Test hook: die like `kill -9` would, after the data files moved in but before publication.
        std::process::abort();
    }
    manifest.store(root)?;
    let added_rows = added.iter().map(|(t, (_, rows))| (*t, *rows)).collect();
    report.tables = table_totals(manifest, &added_rows);
    report.batch = batch;
    report.published = true;
    Ok(())
}

fn table_totals(manifest: &Manifest, added: &BTreeMap<&'static str, u64>) -> Vec<TableReport> {
    Table::ALL
        .iter()
        .map(|t| TableReport {
            table: t.name(),
            rows_added: added.get(t.name()).copied().unwrap_or(0),
            rows_total: manifest.table(*t).rows,
        })
        .collect()
}

fn move_into(from: &Path, to: &Path) -> Result<(), IngestError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_error("create directory", parent))?;
    }
    fs::rename(from, to).map_err(io_error("move into the warehouse", to))?;
    Ok(())
}

/// Finds input files and identifies them, in table dependency order.
fn discover(inputs: &[PathBuf]) -> Result<Vec<SourceFile>, IngestError> {
    let mut found = Vec::new();
    for input in inputs {
        let meta = fs::metadata(input).map_err(|source| SourceError::Io {
            path: input.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut stack = vec![input.clone()];
            while let Some(dir) = stack.pop() {
                let entries = fs::read_dir(&dir).map_err(|source| SourceError::Io {
                    path: dir.clone(),
                    source,
                })?;
                for entry in entries {
                    let path = entry
                        .map_err(|source| SourceError::Io {
                            path: dir.clone(),
                            source,
                        })?
                        .path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if let Some((table, format)) = source::classify(&path)? {
                        found.push((table, format, path));
                    }
                }
            }
        } else {
            match source::classify(input)? {
                Some((table, format)) => found.push((table, format, input.clone())),
                None => {
                    return Err(IngestError::NoInputs(format!(
                        "`{}` is not a .csv, .ndjson or .jsonl file",
                        input.display()
                    )));
                }
            }
        }
    }
    if found.is_empty() {
        return Err(IngestError::NoInputs(format!(
            "no .csv, .ndjson or .jsonl files named after a table in {}",
            inputs
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    found.sort();
    found
        .into_iter()
        .map(|(table, format, path)| {
            Ok(SourceFile {
                sha256: source::sha256_file(&path)?,
                path,
                table,
                format,
            })
        })
        .collect()
}

/// Reads the primary keys of every table in the warehouse.
fn load_keys(root: &Path, manifest: &Manifest) -> Result<KeyRegistry, IngestError> {
    let mut keys = KeyRegistry::default();
    for table in Table::ALL {
        for file in &manifest.table(table).files {
            let path = root.join(file);
            let f = File::open(&path).map_err(io_error("open", &path))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(f)
                .map_err(encode_err(format!("reading {file}")))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
            for batch in builder
                .with_projection(mask)
                .build()
                .map_err(encode_err(format!("reading {file}")))?
            {
                let batch = batch.map_err(encode_err(format!("reading {file}")))?;
                let column = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)
                    .map_err(encode_err(format!("reading {file}")))?;
                let strings = column
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>()
                    .expect("cast to Utf8 gives a StringArray");
                for key in strings.iter().flatten() {
                    keys.insert_existing(table, key);
                }
            }
        }
    }
    Ok(keys)
}

/// A row rejected while reading, waiting for its raw bytes.
struct Rejected {
    line: u64,
    start: u64,
    end: u64,
    rejection: Rejection,
}

/// What one thread made of one segment of a file.
struct SegmentResult {
    /// Rows that passed field validation, with their positions and key hashes (see [`candidate_schema`]).
    staged: PathBuf,
    read: u64,
    rejected: Vec<Rejected>,
}

/// Extra columns carried by candidate rows between the two phases.
const LINE: &str = "__line";
const START: &str = "__start";
const END: &str = "__end";
const PK: &str = "__pk";

fn candidate_schema(table: Table) -> SchemaRef {
    let base = RowValidator::batch_schema(table);
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    for name in [LINE, START, END, PK] {
        fields.push(Field::new(name, DataType::UInt64, false));
    }
    for i in 0..table.foreign_keys().len() {
        fields.push(Field::new(format!("__fk{i}"), DataType::UInt64, true));
    }
    Arc::new(Schema::new(fields))
}

/// Phase one, per segment and thread: decode and validate fields; rows that
/// pass are staged with their positions and key hashes.
fn validate_segment(
    source: &SourceFile,
    head: &RecordReader,
    segment: &source::Segment,
    max_date: i32,
    staged: PathBuf,
) -> Result<SegmentResult, IngestError> {
    use datafusion::arrow::array::UInt64Builder;
    let table = source.table;
    let mut reader = head.segment(&source.path, segment)?;
    let mut validator = RowValidator::new(table, max_date);
    let schema = candidate_schema(table);
    let file = File::create(&staged).map_err(io_error("create", &staged))?;
    let mut writer = IpcWriter::try_new(std::io::BufWriter::new(file), &schema)
        .map_err(encode_err("a staging file"))?;
    let fk_count = table.foreign_keys().len();
    let mut extra: Vec<UInt64Builder> = (0..4 + fk_count).map(|_| UInt64Builder::new()).collect();
    let mut result = SegmentResult {
        staged,
        read: 0,
        rejected: Vec::new(),
    };
    // A record ends where the next one starts: positions are completed one record late.
    let mut open_end: Option<Result<(), usize>> = None;
    let mut flush =
        |validator: &mut RowValidator, extra: &mut Vec<UInt64Builder>| -> Result<(), IngestError> {
            let base = validator
                .finish_batch()
                .map_err(encode_err("a staged batch"))?;
            let mut columns = base.columns().to_vec();
            columns.extend(extra.iter_mut().map(|b| Arc::new(b.finish()) as _));
            let batch = RecordBatch::try_new(schema.clone(), columns)
                .map_err(encode_err("a staged batch"))?;
            writer.write(&batch).map_err(encode_err("a staging file"))
        };
    while let Some(record) = reader.next_record(&source.path)? {
        match open_end.take() {
            Some(Ok(())) => extra[2].append_value(record.start),
            Some(Err(i)) => result.rejected[i].end = record.start,
            None => {}
        }
        // Every staged row's end is known here, so a full batch can go.
        if validator.len() >= BATCH_ROWS {
            flush(&mut validator, &mut extra)?;
        }
        result.read += 1;
        match record
            .decoded
            .and_then(|()| validator.check(&reader.values))
        {
            Ok(()) => {
                validator.append(&reader.values);
                let keys = RowKeys::of(table, &reader.values);
                extra[0].append_value(record.line);
                extra[1].append_value(record.start);
                extra[3].append_value(keys.primary);
                for (b, h) in extra[4..].iter_mut().zip(&keys.foreign) {
                    b.append_option(*h);
                }
                open_end = Some(Ok(()));
            }
            Err(rejection) => {
                result.rejected.push(Rejected {
                    line: record.line,
                    start: record.start,
                    end: segment.end,
                    rejection,
                });
                open_end = Some(Err(result.rejected.len() - 1));
            }
        }
    }
    match open_end {
        Some(Ok(())) => extra[2].append_value(segment.end),
        Some(Err(i)) => result.rejected[i].end = segment.end,
        None => {}
    }
    if !validator.is_empty() {
        flush(&mut validator, &mut extra)?;
    }
    drop(flush);
    writer.finish().map_err(encode_err("a staging file"))?;
    Ok(result)
}

fn ingest_file(
    source: &SourceFile,
    encoding: Encoding,
    keys: &mut KeyRegistry,
    stage: &mut Stage,
    staging: &Path,
    quarantine: &mut QuarantineBuilder,
    max_date: i32,
    split_bytes: u64,
) -> Result<FileReport, IngestError> {
    let table = source.table;
    let head = RecordReader::open(source, encoding)?;
    let segments = source::segments(&source.path, head.data_start(), 2, split_bytes)?;
    let stem = &source.sha256[..16.min(source.sha256.len())];

    // Phase one: the segments in parallel.
    let results: Vec<Result<SegmentResult, IngestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = segments
            .iter()
            .enumerate()
            .map(|(i, seg)| {
                let staged = staging.join(format!("{}-{stem}-{i}.candidates.arrow", table.name()));
                let head = &head;
                scope.spawn(move || validate_segment(source, head, seg, max_date, staged))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("validation threads do not panic"))
            .collect()
    });

    // Phase two: keys in file order, then quarantine and stage.
    let raw_file = File::open(&source.path).map_err(io_error("open", &source.path))?;
    let display = source.path.display().to_string();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut reject = |r: Rejected, quarantine: &mut QuarantineBuilder| {
        let reason = match r.rejection.column {
            Some(c) => format!("{} ({c})", r.rejection.rule),
            None => r.rejection.rule.to_owned(),
        };
        *reasons.entry(reason).or_default() += 1;
        let raw = read_raw(&raw_file, r.start, r.end);
        quarantine.push(&display, &source.sha256, table, r.line, &r.rejection, raw);
    };
    let (mut read, mut published) = (0u64, 0u64);
    let base_width = RowValidator::batch_schema(table).fields().len();
    for result in results {
        let result = result?;
        read += result.read;
        for r in result.rejected {
            reject(r, quarantine);
        }
        let batches = IpcReader::try_new(
            File::open(&result.staged).map_err(io_error("open", &result.staged))?,
            None,
        )
        .map_err(encode_err("a staging file"))?;
        for batch in batches {
            let batch = batch.map_err(encode_err("a staging file"))?;
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .expect("candidate column")
                    .as_primitive::<UInt64Type>()
                    .clone()
            };
            let (lines, starts, ends, pks) = (col(LINE), col(START), col(END), col(PK));
            let fks: Vec<_> = (0..table.foreign_keys().len())
                .map(|i| col(&format!("__fk{i}")))
                .collect();
            // Only a rejection needs a value as text, for its message.
            let text = |row: usize| {
                let batch = &batch;
                move |i: usize| {
                    datafusion::arrow::compute::cast(
                        &batch.column(i).slice(row, 1),
                        &DataType::Utf8,
                    )
                    .map(|a| a.as_string::<i32>().value(0).to_owned())
                    .unwrap_or_default()
                }
            };
            let mut keep = BooleanBuilder::with_capacity(batch.num_rows());
            for row in 0..batch.num_rows() {
                let row_keys = RowKeys {
                    primary: pks.value(row),
                    foreign: fks
                        .iter()
                        .map(|f| f.is_valid(row).then(|| f.value(row)))
                        .collect(),
                };
                match keys.check(table, &row_keys, text(row)) {
                    Ok(()) => {
                        keep.append_value(true);
                        published += 1;
                    }
                    Err(rejection) => {
                        keep.append_value(false);
                        let r = Rejected {
                            line: lines.value(row),
                            start: starts.value(row),
                            end: ends.value(row),
                            rejection,
                        };
                        reject(r, quarantine);
                    }
                }
            }
            let kept = filter_record_batch(&batch, &keep.finish())
                .map_err(encode_err("a staged batch"))?;
            let kept = kept
                .project(&(0..base_width).collect::<Vec<_>>())
                .map_err(encode_err("a staged batch"))?;
            stage.write(table, staging, kept)?;
        }
        fs::remove_file(&result.staged).map_err(io_error("remove", &result.staged))?;
    }
    let quarantined: u64 = reasons.values().sum();
    if read != published + quarantined {
        return Err(IngestError::Reconcile(format!(
            "{display}: read {read} rows, published {published}, quarantined {quarantined}"
        )));
    }
    let mut top_reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    top_reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(FileReport {
        path: source.path.clone(),
        table: table.name(),
        format: source.format.name(),
        encoding: encoding.name(),
        sha256: source.sha256.clone(),
        status: "ingested",
        rows_read: read,
        rows_published: published,
        rows_quarantined: quarantined,
        top_reasons,
        notes: head.header_notes.clone(),
    })
}

/// The bytes of one record, without its line end.
fn read_raw(file: &File, start: u64, end: u64) -> Vec<u8> {
    let mut buf = vec![0u8; end.saturating_sub(start).min(1 << 20) as usize];
    let n = file.read_at(&mut buf, start).unwrap_or(0);
    buf.truncate(n);
    while buf.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        buf.pop();
    }
    buf
}

/// Accepted rows staged per table as Arrow IPC files.
#[derive(Default)]
struct Stage {
    writers: BTreeMap<Table, (PathBuf, IpcWriter<std::io::BufWriter<File>>, u64)>,
}

struct Staged {
    path: PathBuf,
    rows: u64,
}

impl Stage {
    /// Appends accepted rows to the table's staging file.
    fn write(
        &mut self,
        table: Table,
        staging: &Path,
        batch: RecordBatch,
    ) -> Result<(), IngestError> {
        if !self.writers.contains_key(&table) {
            let path = staging.join(format!("{}.arrow", table.name()));
            let file = File::create(&path).map_err(io_error("create", &path))?;
            let writer = IpcWriter::try_new(
                std::io::BufWriter::new(file),
                &RowValidator::batch_schema(table),
            )
            .map_err(encode_err("a staging file"))?;
            self.writers.insert(table, (path, writer, 0));
        }
        let (_, writer, rows) = self.writers.get_mut(&table).expect("inserted above");
        *rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(encode_err("a staging file"))
    }

    fn finish(self) -> Result<Vec<(Table, Staged)>, IngestError> {
        self.writers
            .into_iter()
            .map(|(table, (path, mut writer, rows))| {
                writer.finish().map_err(encode_err("a staging file"))?;
                Ok((table, Staged { path, rows }))
            })
            .collect()
    }
}

/// Rejected rows of a batch, in the quarantine dataset's layout.
struct QuarantineBuilder {
    batch: u64,
    source_file: StringBuilder,
    source_sha256: StringBuilder,
    table: StringBuilder,
    line: Int64Builder,
    column: StringBuilder,
    rule: StringBuilder,
    message: StringBuilder,
    raw: BinaryBuilder,
    raw_text: StringBuilder,
    rows: usize,
}

impl QuarantineBuilder {
    fn new(batch: u64) -> Self {
        QuarantineBuilder {
            batch,
            source_file: StringBuilder::new(),
            source_sha256: StringBuilder::new(),
            table: StringBuilder::new(),
            line: Int64Builder::new(),
            column: StringBuilder::new(),
            rule: StringBuilder::new(),
            message: StringBuilder::new(),
            raw: BinaryBuilder::new(),
            raw_text: StringBuilder::new(),
            rows: 0,
        }
    }

    /// The schema of the quarantine dataset.
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("batch", DataType::Int64, false),
            Field::new("source_file", DataType::Utf8, false),
            Field::new("source_sha256", DataType::Utf8, false),
            Field::new("table", DataType::Utf8, false),
            Field::new("line", DataType::Int64, false),
            Field::new("column", DataType::Utf8, true),
            Field::new("rule", DataType::Utf8, false),
            Field::new("message", DataType::Utf8, false),
            Field::new("raw", DataType::Binary, false),
            Field::new("raw_text", DataType::Utf8, false),
        ]))
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn push(
        &mut self,
        file: &str,
        sha: &str,
        table: Table,
        line: u64,
        r: &Rejection,
        raw: Vec<u8>,
    ) {
        self.source_file.append_value(file);
        self.source_sha256.append_value(sha);
        self.table.append_value(table.name());
        self.line.append_value(line as i64);
        self.column.append_option(r.column);
        self.rule.append_value(r.rule);
        self.message.append_value(&r.message);
        self.raw_text.append_value(String::from_utf8_lossy(&raw));
        self.raw.append_value(raw);
        self.rows += 1;
    }

    fn write(mut self, path: &Path) -> Result<(), IngestError> {
        let batch_col = Int64Builder::with_capacity(self.rows);
        let mut batch_col = batch_col;
        batch_col.append_slice(&vec![self.batch as i64; self.rows]);
        let batch = RecordBatch::try_new(
            Self::schema(),
            vec![
                Arc::new(batch_col.finish()),
                Arc::new(self.source_file.finish()),
                Arc::new(self.source_sha256.finish()),
                Arc::new(self.table.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.column.finish()),
                Arc::new(self.rule.finish()),
                Arc::new(self.message.finish()),
                Arc::new(self.raw.finish()),
                Arc::new(self.raw_text.finish()),
            ],
        )
        .map_err(encode_err::<ArrowError>("the quarantine"))?;
        let file = File::create(path).map_err(io_error("create", path))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(1).expect("level 1 is valid"),
            ))
            .build();
        let mut writer = ArrowWriter::try_new(file, Self::schema(), Some(props))
            .map_err(encode_err::<ParquetError>("the quarantine"))?;
        writer
            .write(&batch)
            .map_err(encode_err::<ParquetError>("the quarantine"))?;
        writer
            .close()
            .map_err(encode_err::<ParquetError>("the quarantine"))?;
        Ok(())
    }
}
