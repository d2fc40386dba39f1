//! `aftersight ingest`: raw CSV / NDJSON exports into the Parquet warehouse,
//! validated row by row, with every rejected row kept in quarantine.
//!
//! # How a batch runs
//! 1. Lock the warehouse, read its manifest, and remove leftovers of an
//!    interrupted run (files the manifest does not list).
//! 2. Find the input files, name each one's table from its file name, hash
//!    its content (BLAKE3), and skip files already ingested (same hash).
//! 3. Load the keys already in the warehouse, then read the new files in
//!    table dependency order. Each file is cut into chunks of whole records
//!    ([`source`]); every core takes chunks in turn, decodes and validates
//!    their records ([`validate`]) and checks their references ([`keys`]).
//!    One thread at a time commits chunks in file order while the others
//!    parse on: primary keys are checked in file order, rejected rows go to
//!    the quarantine batch with their file, line, column, rule and raw bytes,
//!    and accepted rows are spilled by month ([`layout`]). For every file,
//!    `read = published + quarantined` is checked.
//! 4. If the batch's rejected share exceeds `--max-bad-fraction`, or every
//!    row of some file is bad, stop: nothing is published.
//! 5. [`layout`] writes each spilled part as Parquet, on a few threads more
//!    than there are cores: fact tables partitioned by month and sorted by
//!    their event date; zstd(1), dictionaries, page statistics (not on text
//!    in fact tables), row groups of up to 1 Mi rows.
//! 6. New files go into `data/` and `quarantine/` under fresh names; the
//!    manifest is then replaced atomically. Until that rename, readers see the
//!    previous warehouse; after it, the new one.

mod cache;
mod direct;
mod gather;
pub(crate) mod keys;
pub(crate) mod layout;
pub mod source;
pub mod validate;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Int64Builder, StringBuilder,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use serde::Serialize;

use self::keys::{KeyRegistry, PrimaryKeys};
use self::layout::{ChunkRows, MONTH_COLUMN, SpillBudget, TableSpill};
use self::source::{
    Chunk, Encoding, RecordReader, Rejection, SourceError, SourceFile, SourceFormat,
};
use self::validate::RowValidator;
use crate::fsutil::{FsError, io_error};
use crate::schema::Table;
use crate::warehouse::{self, Lock, Manifest, SourceRecord, WarehouseError};

/// Default `--max-bad-fraction`.
pub const DEFAULT_MAX_BAD_FRACTION: f64 = 0.01;

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
    /// Files are read in chunks of about this many bytes, one chunk per thread at a time
    /// ([`source::CHUNK_BYTES`] by default).
    pub chunk_bytes: usize,
    /// Bytes of accepted rows the batch keeps in memory before it spills them
    /// to disk ([`DEFAULT_MEMORY_BUDGET`] by default; 0 spills everything).
    pub memory_budget: usize,
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
    /// The file's format.
    pub format: SourceFormat,
    /// Encoding used.
    pub encoding: &'static str,
    /// Content hash (BLAKE3, hex).
    pub blake3: String,
    /// Whether the file was read now or skipped as ingested before.
    pub status: FileStatus,
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

/// What ingest did with one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Read and validated in this batch.
    Ingested,
    /// The same content (BLAKE3) was ingested before; skipped.
    Unchanged,
}

/// Bytes of accepted rows a batch keeps in memory before spilling, unless configured.
pub const DEFAULT_MEMORY_BUDGET: usize = layout::MEMORY_BUDGET;

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

    let mut sources = discover(&config.inputs)?;
    hash_possible_repeats(&mut sources, &manifest)?;
    let known = |hash: fn(&SourceRecord) -> &str| -> HashSet<&str> {
        manifest
            .sources
            .iter()
            .map(hash)
            .filter(|h| !h.is_empty())
            .collect()
    };
    let (known_blake3, known_sha256) = (known(|s| &s.blake3), known(|s| &s.sha256));
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
        let repeated = s
            .sha256
            .as_ref()
            .is_some_and(|h| known_sha256.contains(h.as_str()))
            || s.blake3
                .as_ref()
                .is_some_and(|h| known_blake3.contains(h.as_str()) || !seen.insert(h.clone()));
        if repeated {
            report.files.push(FileReport {
                path: s.path.clone(),
                table: s.table.name(),
                format: s.format,
                encoding: "",
                blake3: s.blake3.clone().unwrap_or_default(),
                status: FileStatus::Unchanged,
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
    if result.is_err() {
        // Best effort, or the next run does it: remove what the failed batch wrote.
        if let Ok(published) = Manifest::load(root) {
            let _ = warehouse::remove_unlisted(root, &published);
        }
    }
    result?;
    Ok(report)
}

/// Reads the fresh files into spills and quarantine, writes the tables'
/// Parquet files, and publishes the batch with one manifest rename.
async fn run_batch(
    config: &IngestConfig,
    manifest: &mut Manifest,
    fresh: &[SourceFile],
    staging: &Path,
    batch: u64,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let root = &config.warehouse;
    let mut quarantine = QuarantineBuilder::new(batch);
    let (spills, new_sources) = {
        let mut keys = load_keys(root, manifest)?;
        // The keys are dropped once checked: their tables would only crowd the writing threads.
        read_sources(
            config,
            fresh,
            staging,
            batch,
            &mut keys,
            &mut quarantine,
            report,
        )?
    };
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
    let added = write_tables(spills, root, batch, &new_sources)?;
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

/// Accepted rows per table, spilled where they outgrow the budget.
type Spills = BTreeMap<Table, TableSpill>;

/// Validates every fresh file into the tables' spills and the quarantine,
/// and records each file's counts; a file whose every row is bad stops the batch.
fn read_sources(
    config: &IngestConfig,
    fresh: &[SourceFile],
    staging: &Path,
    batch: u64,
    keys: &mut KeyRegistry,
    quarantine: &mut QuarantineBuilder,
    report: &mut IngestReport,
) -> Result<(Spills, Vec<SourceRecord>), IngestError> {
    let max_date = crate::dates::today() + 366;
    let mut spills = Spills::new();
    let budget = SpillBudget::new(config.memory_budget);
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
        let spill = match spills.entry(source.table) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(TableSpill::new(source.table, staging, budget.clone())?)
            }
        };
        let file_report = ingest_file(
            source,
            encoding,
            keys,
            spill,
            quarantine,
            max_date,
            config.chunk_bytes,
            &bar,
        )?;
        let (read, bad) = (file_report.rows_read, file_report.rows_quarantined);
        new_sources.push(SourceRecord {
            blake3: file_report.blake3.clone(),
            sha256: String::new(),
            bytes: source.bytes,
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
    Ok((spills, new_sources))
}

/// Files and rows written per table.
type Written = BTreeMap<&'static str, (Vec<String>, u64)>;

/// Writes the tables' Parquet files into the warehouse under fresh names,
/// unlisted until publication, and checks that they hold exactly the rows
/// the sources published.
fn write_tables(
    spills: Spills,
    root: &Path,
    batch: u64,
    new_sources: &[SourceRecord],
) -> Result<Written, IngestError> {
    let mut parts = Vec::new();
    for spill in spills.into_values() {
        parts.extend(spill.finish()?);
    }
    let mut added = Written::new();
    for w in layout::write_parts(parts, root, batch, threads())? {
        let (files, rows) = added.entry(w.table.name()).or_default();
        files.push(w.path);
        *rows += w.rows;
    }
    for table in Table::ALL {
        let published: u64 = new_sources
            .iter()
            .filter(|s| s.table == table.name())
            .map(|s| s.rows_published)
            .sum();
        let written = added.get(table.name()).map_or(0, |(_, rows)| *rows);
        if written != published {
            return Err(IngestError::Reconcile(format!(
                "{table}: published {published} rows, Parquet holds {written}"
            )));
        }
    }
    Ok(added)
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
            let bytes = fs::metadata(&path)
                .map_err(|source| SourceError::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            Ok(SourceFile {
                path,
                table,
                format,
                bytes,
                blake3: None,
                sha256: None,
            })
        })
        .collect()
}

/// Hashes the files that could repeat an ingested file or each other: those
/// whose size matches another's (every file, if the manifest predates sizes).
/// The others are hashed while they are read. A file whose size matches one
/// that an older manifest recorded by SHA-256 alone gets its SHA-256 too.
fn hash_possible_repeats(
    sources: &mut [SourceFile],
    manifest: &Manifest,
) -> Result<(), IngestError> {
    let sizes_unknown = manifest.sources.iter().any(|s| s.bytes == 0);
    let sha256_only: HashSet<u64> = manifest
        .sources
        .iter()
        .filter(|s| s.blake3.is_empty())
        .map(|s| s.bytes)
        .collect();
    let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
    for size in manifest
        .sources
        .iter()
        .map(|s| s.bytes)
        .chain(sources.iter().map(|s| s.bytes))
    {
        *sizes.entry(size).or_default() += 1;
    }
    for s in sources {
        if sizes_unknown || sizes[&s.bytes] > 1 {
            s.blake3 = Some(source::blake3_file(&s.path)?);
        }
        if sizes_unknown || sha256_only.contains(&s.bytes) {
            s.sha256 = Some(source::sha256_file(&s.path)?);
        }
    }
    Ok(())
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

/// What a parsing thread made of one chunk: rows that passed every check
/// but the primary key, which needs the rows before them in file order.
struct ChunkOutcome {
    seq: u64,
    /// Size of the chunk in bytes.
    bytes: u64,
    read: u64,
    /// Rejected records: line, reason and raw bytes.
    rejected: Vec<(u64, Rejection, Vec<u8>)>,
    /// The candidate rows, typed, grouped by month.
    rows: ChunkRows,
    /// Per candidate row: line, byte range and primary-key hash.
    positions: Vec<RowPosition>,
}

struct RowPosition {
    line: u64,
    start: u64,
    end: u64,
    key: u64,
}

/// Parses, validates and checks the references of one chunk, with a
/// validator (of `table`) that each thread keeps from chunk to chunk.
fn validate_chunk(
    head: &RecordReader,
    chunk: &Chunk,
    table: Table,
    keys: &KeyRegistry,
    validator: &mut RowValidator,
) -> Result<ChunkOutcome, IngestError> {
    let mut records = head.records(chunk);
    let mut references = keys.references(table);
    let (mut read, mut rejected, mut positions) = (0, Vec::new(), Vec::new());
    while let Some(record) = records.next_record() {
        read += 1;
        let fields = records.fields();
        let verdict = record.decoded.and_then(|()| validator.check(&fields));
        let position = RowPosition {
            line: record.line,
            start: record.start,
            end: record.end,
            key: keys::primary_hash(&fields),
        };
        match verdict {
            Ok(()) => {
                validator.append(&fields);
                references.record(&fields);
                positions.push(position);
            }
            Err(rejection) => {
                let raw = chunk.raw(position.start, position.end).to_vec();
                rejected.push((record.line, rejection, raw));
            }
        }
    }
    let mut rows = validator
        .finish_batch()
        .map_err(encode_err("a validated batch"))?;
    let missing = references.missing();
    if !missing.is_empty() {
        let mut keep = vec![true; rows.num_rows()];
        for (row, reference) in missing {
            let value = text_value(rows.column(references.column(reference)), row);
            let p = &positions[row];
            let raw = chunk.raw(p.start, p.end).to_vec();
            rejected.push((p.line, references.unknown(reference, &value), raw));
            keep[row] = false;
        }
        rejected.sort_by_key(|(line, _, _)| *line);
        positions = positions
            .into_iter()
            .zip(&keep)
            .filter_map(|(p, &k)| k.then_some(p))
            .collect();
        rows = filter_record_batch(&rows, &BooleanArray::from(keep))
            .map_err(encode_err("a checked batch"))?;
    }
    Ok(ChunkOutcome {
        seq: chunk.seq,
        bytes: chunk.bytes.len() as u64,
        read,
        rejected,
        rows: ChunkRows::split(table, rows)?,
        positions,
    })
}

/// The text of one value of a column, whatever its type.
fn text_value(column: &ArrayRef, row: usize) -> String {
    datafusion::arrow::compute::cast(&column.slice(row, 1), &DataType::Utf8)
        .map(|a| a.as_string::<i32>().value(0).to_owned())
        .unwrap_or_default()
}

/// Chunks that are parsed and wait for their turn to be committed.
#[derive(Default)]
struct Finished {
    /// Sequence number of the next chunk to commit.
    next: u64,
    waiting: BTreeMap<u64, ChunkOutcome>,
    /// Whether a thread is committing: it takes every chunk that becomes
    /// next in file order before it stops.
    committing: bool,
}

/// A parsing thread goes on parsing while a committing thread takes care of
/// its chunk, unless this many chunks wait already (this bounds memory).
const MAX_WAITING: usize = 8;

impl Finished {
    /// Takes the next chunk in file order if it is parsed; if not, the
    /// committing thread stops.
    fn pop_or_stop(&mut self) -> Option<ChunkOutcome> {
        let outcome = self.waiting.remove(&self.next);
        match outcome {
            Some(_) => self.next += 1,
            None => self.committing = false,
        }
        outcome
    }
}

/// Hands a parsed chunk to the committer. If no thread is committing, this
/// one commits every chunk that is next in file order; otherwise it returns
/// at once (or, with a long queue, once the committing thread stops).
fn hand_over(
    outcome: ChunkOutcome,
    finished: &Mutex<Finished>,
    committer: &Mutex<Committer>,
) -> Result<(), IngestError> {
    let commit_here = {
        let mut finished = finished
            .lock()
            .expect("no thread panics while holding the lock");
        finished.waiting.insert(outcome.seq, outcome);
        if finished.committing {
            if finished.waiting.len() <= MAX_WAITING {
                return Ok(());
            }
            false
        } else {
            finished.committing = true;
            true
        }
    };
    let mut committer = committer
        .lock()
        .expect("no thread panics while holding the lock");
    if commit_here {
        loop {
            let next = finished
                .lock()
                .expect("no thread panics while holding the lock")
                .pop_or_stop();
            let Some(outcome) = next else {
                break;
            };
            committer.commit(outcome)?;
        }
    }
    Ok(())
}

/// Commits chunk outcomes in file order: primary keys, quarantine, and the
/// spill of accepted rows.
struct Committer<'a> {
    source: &'a SourceFile,
    display: String,
    /// The file's number in the quarantine batch.
    quarantine_source: usize,
    raw_file: File,
    file_bytes: u64,
    primary: PrimaryKeys,
    spill: &'a mut TableSpill,
    quarantine: &'a mut QuarantineBuilder,
    reasons: BTreeMap<String, u64>,
    read: u64,
    published: u64,
}

impl Committer<'_> {
    fn reject(&mut self, line: u64, rejection: &Rejection, raw: Vec<u8>) {
        let reason = match rejection.column {
            Some(c) => format!("{} ({c})", rejection.rule),
            None => rejection.rule.to_owned(),
        };
        *self.reasons.entry(reason).or_default() += 1;
        let table = self.source.table;
        self.quarantine
            .push(self.quarantine_source, table, line, rejection, raw);
    }

    fn commit(&mut self, outcome: ChunkOutcome) -> Result<(), IngestError> {
        if outcome.seq == 0 {
            // Room for the file's keys, estimated from the first chunk, so the set never rehashes.
            let rows = outcome.read as f64 * self.file_bytes as f64 / outcome.bytes.max(1) as f64;
            self.primary.reserve((rows * 1.05) as usize);
        }
        self.read += outcome.read;
        for (line, rejection, raw) in outcome.rejected {
            self.reject(line, &rejection, raw);
        }
        let mut rows = outcome.rows;
        let hashes: Vec<u64> = outcome.positions.iter().map(|p| p.key).collect();
        let duplicates = self.primary.insert_all(&hashes);
        if !duplicates.is_empty() {
            let mut keep = vec![true; rows.len()];
            for i in duplicates {
                keep[i] = false;
                let p = &outcome.positions[i];
                let value = rows.text(i, 0);
                let raw = read_raw(&self.raw_file, p.start, p.end);
                self.reject(p.line, &keys::duplicate(self.source.table, &value), raw);
            }
            rows.retain(&keep)?;
        }
        self.published += rows.len() as u64;
        self.spill.write(rows)
    }
}

/// Reads one file: chunks are parsed and validated by every thread, and
/// committed in file order by one thread at a time ([`hand_over`]).
#[allow(clippy::too_many_arguments)]
fn ingest_file(
    source: &SourceFile,
    encoding: Encoding,
    keys: &mut KeyRegistry,
    spill: &mut TableSpill,
    quarantine: &mut QuarantineBuilder,
    max_date: i32,
    chunk_bytes: usize,
    bar: &indicatif::ProgressBar,
) -> Result<FileReport, IngestError> {
    let table = source.table;
    let head = RecordReader::open(source, encoding)?;
    let chunks = Mutex::new(head.chunks(&source.path, chunk_bytes, source.blake3.is_none())?);
    let quarantine_source = quarantine.add_source(source.path.display().to_string());
    let primary = keys.take_primary(table);
    let committer = Mutex::new(Committer {
        source,
        display: source.path.display().to_string(),
        quarantine_source,
        raw_file: File::open(&source.path).map_err(io_error("open", &source.path))?,
        file_bytes: fs::metadata(&source.path).map_or(0, |m| m.len()),
        primary,
        spill,
        quarantine,
        reasons: BTreeMap::new(),
        read: 0,
        published: 0,
    });
    let finished = Mutex::new(Finished::default());
    let failed = AtomicBool::new(false);
    let keys_read_only: &KeyRegistry = keys;
    let work = || -> Result<(), IngestError> {
        let mut validator = RowValidator::new(table, max_date);
        while !failed.load(Ordering::Relaxed) {
            let next = chunks
                .lock()
                .expect("no thread panics while holding the lock")
                .next_chunk();
            let Some(chunk) = next else {
                return Ok(());
            };
            let outcome = validate_chunk(&head, &chunk, table, keys_read_only, &mut validator)?;
            bar.inc(chunk.bytes.len() as u64);
            drop(chunk);
            hand_over(outcome, &finished, &committer)?;
        }
        Ok(())
    };
    on_every_core(work, &failed)?;
    let committer = committer
        .into_inner()
        .expect("no thread panicked while holding the lock");
    let uncommitted = finished
        .into_inner()
        .expect("no thread panicked while holding the lock")
        .waiting
        .len();
    if uncommitted > 0 {
        return Err(IngestError::Reconcile(format!(
            "{}: {uncommitted} chunks were never committed",
            committer.display,
        )));
    }
    let Committer {
        display,
        primary,
        reasons,
        read,
        published,
        quarantine,
        ..
    } = committer;
    keys.put_primary(table, primary);
    let blake3 = match &source.blake3 {
        Some(h) => h.clone(),
        None => chunks
            .into_inner()
            .expect("no thread panicked while holding the lock")
            .blake3()
            .ok_or_else(|| IngestError::Reconcile(format!("{display}: not read to its end")))?,
    };
    quarantine.set_blake3(quarantine_source, &blake3);
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
        format: source.format,
        encoding: encoding.name(),
        blake3,
        status: FileStatus::Ingested,
        rows_read: read,
        rows_published: published,
        rows_quarantined: quarantined,
        top_reasons,
        notes: head.header_notes.clone(),
    })
}

/// Runs `work` on one thread per core; the first error raises `failed`, so
/// the other threads stop at their next chunk, and is returned.
fn on_every_core(
    work: impl Fn() -> Result<(), IngestError> + Sync,
    failed: &AtomicBool,
) -> Result<(), IngestError> {
    let results: Vec<Result<(), IngestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads())
            .map(|_| {
                scope.spawn(|| {
                    let result = work();
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ingest threads do not panic"))
            .collect()
    });
    results.into_iter().collect()
}

/// Threads that parse and write: one per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The bytes of one record, without its line end.
fn read_raw(file: &File, start: u64, end: u64) -> Vec<u8> {
    let mut buf = vec![0u8; end.saturating_sub(start).min(1 << 20) as usize];
    let n = file.read_at(&mut buf, start).unwrap_or(0);
    buf.truncate(n);
    source::trim_line_end(&buf).to_vec()
}

/// Rejected rows of a batch, in the quarantine dataset's layout.
struct QuarantineBuilder {
    batch: u64,
    /// Source files (path, SHA-256 once known) and each row's file.
    sources: Vec<(String, String)>,
    source: Vec<usize>,
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
            sources: Vec::new(),
            source: Vec::new(),
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
            Field::new("source_blake3", DataType::Utf8, false),
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

    /// Registers a source file; its hash may follow once it is read.
    fn add_source(&mut self, path: String) -> usize {
        self.sources.push((path, String::new()));
        self.sources.len() - 1
    }

    fn set_blake3(&mut self, source: usize, blake3: &str) {
        blake3.clone_into(&mut self.sources[source].1);
    }

    fn push(&mut self, source: usize, table: Table, line: u64, r: &Rejection, raw: Vec<u8>) {
        self.source.push(source);
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
        let mut batch_col = Int64Builder::with_capacity(self.rows);
        batch_col.append_slice(&vec![self.batch as i64; self.rows]);
        let (mut file_col, mut hash_col) = (StringBuilder::new(), StringBuilder::new());
        for &i in &self.source {
            let (file, hash) = &self.sources[i];
            file_col.append_value(file);
            hash_col.append_value(hash);
        }
        let batch = RecordBatch::try_new(
            Self::schema(),
            vec![
                Arc::new(batch_col.finish()),
                Arc::new(file_col.finish()),
                Arc::new(hash_col.finish()),
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
