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
//! 5. DataFusion sorts each table's staged rows (fact tables by their event
//!    date, partitioned by month) and writes Parquet: zstd(1), dictionaries,
//!    page statistics, row groups of up to 1 Mi rows.
//! 6. New files move into `data/` and `quarantine/` under fresh names; the
//!    manifest is then replaced atomically. Until that rename, readers see the
//!    previous warehouse; after it, the new one.

pub mod keys;
pub mod source;
pub mod validate;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{BinaryBuilder, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::writer::FileWriter as IpcWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{SessionConfig, SessionContext, col};
use serde::Serialize;

use self::keys::KeyRegistry;
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
    /// The query engine failed while writing Parquet.
    #[error("writing Parquet for `{table}` failed")]
    DataFusion {
        /// Table.
        table: &'static str,
        /// Cause.
        #[source]
        source: DataFusionError,
    },
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

    // Write Parquet with DataFusion, then move the files into place.
    let ctx = session(staging)?;
    let mut added: BTreeMap<&'static str, (Vec<String>, u64)> = BTreeMap::new();
    for (table, staged) in stage.finish()? {
        let written = write_table(
            &ctx,
            table,
            &staged.path,
            &staging.join("out").join(table.name()),
        )
        .await?;
        if written.rows != staged.rows {
            return Err(IngestError::Reconcile(format!(
                "{table}: staged {} rows, Parquet holds {}",
                staged.rows, written.rows
            )));
        }
        let mut files = Vec::new();
        for (i, (file, partition)) in written.files.iter().enumerate() {
            let rel = match partition {
                Some(p) => format!("data/{}/{p}/b{batch:06}-{i:04}.parquet", table.name()),
                None => format!("data/{}/b{batch:06}-{i:04}.parquet", table.name()),
            };
            move_into(file, &root.join(&rel))?;
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
        entry.sorted_by = Some(t.event_column().unwrap_or(t.primary_key()).to_owned());
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

fn ingest_file(
    source: &SourceFile,
    encoding: Encoding,
    keys: &mut KeyRegistry,
    stage: &mut Stage,
    staging: &Path,
    quarantine: &mut QuarantineBuilder,
    max_date: i32,
) -> Result<FileReport, IngestError> {
    let table = source.table;
    let mut reader = RecordReader::open(source, encoding)?;
    let raw_file = File::open(&source.path).map_err(|e| SourceError::Io {
        path: source.path.clone(),
        source: e,
    })?;
    let file_len = raw_file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut validator = RowValidator::new(table, max_date);
    let (mut read, mut published) = (0u64, 0u64);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    // A rejected record's raw bytes end where the next record starts.
    let mut pending: Option<(u64, u64, Rejection)> = None;
    let display = source.path.display().to_string();
    let mut flush_pending = |pending: &mut Option<(u64, u64, Rejection)>, end: u64| {
        if let Some((line, start, rejection)) = pending.take() {
            let raw = read_raw(&raw_file, start, end);
            quarantine.push(&display, &source.sha256, table, line, &rejection, raw);
        }
    };
    while let Some(record) = reader.next_record(&source.path)? {
        flush_pending(&mut pending, record.start);
        read += 1;
        let outcome = record
            .decoded
            .and_then(|()| validator.check(&reader.values))
            .and_then(|()| keys.check_and_insert(table, &reader.values));
        match outcome {
            Ok(()) => {
                validator.append(&reader.values);
                published += 1;
                if validator.len() >= BATCH_ROWS {
                    stage.flush(table, staging, &mut validator)?;
                }
            }
            Err(rejection) => {
                let reason = match rejection.column {
                    Some(c) => format!("{} ({c})", rejection.rule),
                    None => rejection.rule.to_owned(),
                };
                *reasons.entry(reason).or_default() += 1;
                pending = Some((record.line, record.start, rejection));
            }
        }
    }
    flush_pending(&mut pending, file_len);
    if !validator.is_empty() {
        stage.flush(table, staging, &mut validator)?;
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
        notes: reader.header_notes.clone(),
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
    /// Moves the validator's accumulated rows into the table's staging file.
    fn flush(
        &mut self,
        table: Table,
        staging: &Path,
        validator: &mut RowValidator,
    ) -> Result<(), IngestError> {
        let batch = validator
            .finish_batch()
            .map_err(encode_err("a staged batch"))?;
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

/// Memory DataFusion may use to sort a table before spilling to the staging directory.
const SORT_MEMORY: usize = 512 << 20;

fn session(spill_dir: &Path) -> Result<SessionContext, IngestError> {
    let config = SessionConfig::new().with_target_partitions(2);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(SORT_MEMORY, 1.0)
        .with_temp_file_path(spill_dir)
        .build_arc()
        .map_err(|source| IngestError::DataFusion {
            table: "(session)",
            source,
        })?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

struct Written {
    /// Files written, with their hive partition directory (`month=YYYY-MM`).
    files: Vec<(PathBuf, Option<String>)>,
    rows: u64,
}

/// Sorts a table's staged rows and writes them as Parquet under `out`.
async fn write_table(
    ctx: &SessionContext,
    table: Table,
    staged: &Path,
    out: &Path,
) -> Result<Written, IngestError> {
    let df_err = |source| IngestError::DataFusion {
        table: table.name(),
        source,
    };
    let staged_str = staged.to_str().expect("staging paths are UTF-8");
    let options = ArrowReadOptions {
        file_extension: ".arrow",
        ..Default::default()
    };
    let df = ctx.read_arrow(staged_str, options).await.map_err(df_err)?;
    let sort_column = table.event_column().unwrap_or(table.primary_key());
    let mut write_options =
        DataFrameWriteOptions::new().with_sort_by(vec![col(sort_column).sort(true, false)]);
    if table.event_column().is_some() {
        write_options = write_options.with_partition_by(vec![MONTH_COLUMN.to_owned()]);
    }
    let mut parquet = TableParquetOptions::default();
    parquet.global.compression = Some("zstd(1)".into());
    parquet.global.dictionary_enabled = Some(true);
    parquet.global.statistics_enabled = Some("page".into());
    parquet.global.max_row_group_size = 1 << 20;
    fs::create_dir_all(out).map_err(io_error("create directory", out))?;
    let out_str = format!("{}/", out.to_str().expect("staging paths are UTF-8"));
    let counts = df
        .write_parquet(&out_str, write_options, Some(parquet))
        .await
        .map_err(df_err)?;
    let rows = counts
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        })
        .flat_map(|a| a.iter().flatten())
        .sum();
    let mut files = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
            let path = entry.map_err(io_error("list", &dir))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let partition = (dir != out).then(|| {
                    dir.file_name()
                        .expect("subdirectory")
                        .to_string_lossy()
                        .into_owned()
                });
                files.push((path, partition));
            }
        }
    }
    files.sort();
    Ok(Written { files, rows })
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
