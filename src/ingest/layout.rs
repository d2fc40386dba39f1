//! From accepted rows to warehouse files, in bounded memory.
//!
//! While files are read, the parsing threads group each chunk's accepted rows
//! by month ([`ChunkRows::split`]; one part for a dimension table), and
//! [`TableSpill`] collects them by part, in file order, in memory while the
//! batch's tables hold less than a [`SpillBudget`]; beyond it, a table that
//! holds a quarter of the budget itself moves its rows to its Arrow IPC
//! spill file (one per table, not per part: creating
//! and deleting hundreds of small files costs the file system more than
//! reading one file's batches by index). A thread per spill file writes it,
//! so that committing chunks never waits for the disk; one spill at a time
//! is in flight. Spill files, and the Parquet files too, bypass the page
//! cache (`src/ingest/direct.rs`). Once every file is read, [`write_parts`]
//! turns each part into one Parquet file in the warehouse, on one thread
//! more than there are cores, so that a thread waiting for its spilled rows
//! leaves no core idle. A month is sorted by
//! its event column (ties in file order); a dimension table streams straight
//! through. Only one month per core is in memory (about 85,000 repair orders
//! at scale 10).
//!
//! Parquet settings: zstd level 1 (as fast to read as level 3, faster to
//! write), a dictionary only where values repeat, delta encoding for
//! timestamps and odometers (see `writer_properties`), page-level statistics
//! (for page-index pruning) except on the text of fact tables, row groups of
//! up to 1 Mi rows.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Date32Type, TimestampMicrosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use super::direct::{DirectWriter, SpillReader, SpillWriter};
use super::gather::take_rows;
use super::{IngestError, encode_err, text_value};
use crate::dates::civil_from_days;
use crate::fsutil::io_error;
use crate::schema::{ColumnType, Table};

/// Name of the Hive partition key of fact tables (`month=YYYY-MM`).
pub const MONTH_COLUMN: &str = "month";
/// Rows per Parquet row group at most.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Threads writing parts beyond one per core, to keep the cores busy while
/// some threads wait for their spill reads and Parquet writes; each one
/// costs a part's worth of memory.
const EXTRA_WRITERS: usize = 3;
/// Default [`SpillBudget`]: bytes of accepted rows a batch keeps in memory,
/// besides the one spill on its way to disk (and, past it, up to a quarter
/// of it in the table being read). A scale 1 export
/// (about 250 MB of rows) stays in memory; at scale 10 most rows are spilled.
pub const MEMORY_BUDGET: usize = 256 << 20;

/// A table spills only once it holds at least 1/N of the [`SpillBudget`]
/// itself, even when the tables read before it hold the rest: each spill
/// adds a batch per part to the spill file, and each batch is one read when
/// the part is written. Without this rule, tables that stay in memory (the
/// customers and vehicles) would leave the fact tables a sliver of the
/// budget, and many small spills would keep the writing threads waiting on
/// reads; a quarter trades a little peak memory for far fewer batches.
const MIN_SPILL_SHARE: usize = 4;

/// How many bytes of accepted rows the tables of a batch may keep in memory,
/// and how many they keep.
#[derive(Debug)]
pub struct SpillBudget {
    limit: usize,
    held: AtomicUsize,
}

impl SpillBudget {
    /// A budget of `limit` bytes (0: spill everything).
    pub fn new(limit: usize) -> Arc<SpillBudget> {
        Arc::new(SpillBudget {
            limit,
            held: AtomicUsize::new(0),
        })
    }
}

/// One Parquet file written for a table.
#[derive(Debug)]
pub struct WrittenFile {
    /// The table.
    pub table: Table,
    /// Its path in the warehouse: `data/TABLE/[month=YYYY-MM/]bBATCH-INDEX.parquet`.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
}

/// The rows of one partition of a table, read: in memory or in a spill file.
#[derive(Debug)]
pub struct SpillPart {
    table: Table,
    /// The part's place among its table's parts, in month order.
    index: usize,
    partition: Option<String>,
    rows: u64,
    source: PartSource,
}

#[derive(Debug)]
enum PartSource {
    Memory(Vec<RecordBatch>),
    /// Batches of the table's spill file, by index, in arrival order.
    File(PathBuf, Vec<usize>),
}

#[derive(Default)]
struct OpenPart {
    /// Indexes of this part's batches in the table's spill file.
    spilled: Vec<usize>,
    /// Rows in memory: slices of the batches they came from.
    pending: Vec<RecordBatch>,
    rows: u64,
}

/// A table's spill file, once the table has had to spill. A thread of its
/// own writes it, so that committing chunks does not wait for the disk.
struct SpillFile {
    /// One message per spill: for each part that had rows in memory, its
    /// slices, which become one batch of the file. A send waits until the
    /// writer has taken the previous spill, so at most one is in flight.
    spills: Option<SyncSender<Vec<Vec<RecordBatch>>>>,
    writer: Option<JoinHandle<Result<(), IngestError>>>,
    /// Batches sent so far.
    batches: usize,
}

impl SpillFile {
    /// Starts the thread that writes `path`.
    fn create(path: &Path, table: Table) -> Result<SpillFile, IngestError> {
        let mut writer = SpillWriter::create(path, &table.arrow_schema())
            .map_err(encode_err(format!("creating {}", path.display())))?;
        let (spills, received) = std::sync::mpsc::sync_channel::<Vec<Vec<RecordBatch>>>(0);
        let writer = std::thread::Builder::new()
            .name(format!("spill {table}"))
            .spawn(move || {
                let schema = table.arrow_schema();
                for parts in received {
                    for slices in parts {
                        let batch = concat_batches(&schema, &slices)
                            .map_err(encode_err("a spill batch"))?;
                        writer.write(&batch).map_err(encode_err("a spill file"))?;
                    }
                }
                writer.finish().map_err(encode_err("a spill file"))
            })
            .map_err(io_error("start a thread to write", path))?;
        Ok(SpillFile {
            spills: Some(spills),
            writer: Some(writer),
            batches: 0,
        })
    }

    /// Moves the rows in memory of these parts to the end of the file.
    fn spill<'a>(
        &mut self,
        parts: impl Iterator<Item = &'a mut OpenPart>,
    ) -> Result<(), IngestError> {
        let mut message = Vec::new();
        for part in parts.filter(|p| !p.pending.is_empty()) {
            message.push(std::mem::take(&mut part.pending));
            part.spilled.push(self.batches);
            self.batches += 1;
        }
        if message.is_empty() {
            return Ok(());
        }
        let sent = self.spills.as_ref().map(|s| s.send(message));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => {
                // The writer stopped early: its result says why.
                self.finish()?;
                Err(IngestError::Reconcile(
                    "the spill writer stopped early".into(),
                ))
            }
        }
    }

    /// Waits for the writer to write everything and close the file.
    fn finish(&mut self) -> Result<(), IngestError> {
        self.spills = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(IngestError::Reconcile("the spill writer panicked".into())),
            None => Err(IngestError::Reconcile("the spill file is closed".into())),
        }
    }
}

/// Accepted rows of one table, spilled by partition until they are written as Parquet.
pub struct TableSpill {
    table: Table,
    path: PathBuf,
    file: Option<SpillFile>,
    /// Parts by month number (`year * 12 + month - 1`; 0 for a dimension table).
    parts: BTreeMap<i32, OpenPart>,
    budget: Arc<SpillBudget>,
    /// Bytes this table holds in memory.
    held: usize,
}

impl TableSpill {
    /// A spill for `table` under the staging directory.
    pub fn new(
        table: Table,
        staging: &Path,
        budget: Arc<SpillBudget>,
    ) -> Result<TableSpill, IngestError> {
        let dir = staging.join("spill");
        fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
        Ok(TableSpill {
            table,
            path: dir.join(format!("{}.arrow", table.name())),
            file: None,
            parts: BTreeMap::new(),
            budget,
            held: 0,
        })
    }

    /// Adds the accepted rows of a chunk.
    pub fn write(&mut self, rows: ChunkRows) -> Result<(), IngestError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.hold(rows.batch.get_array_memory_size());
        for &(month, from, len) in &rows.months {
            if len == 0 {
                continue;
            }
            let part = self.part(month);
            part.pending.push(rows.batch.slice(from, len));
            part.rows += len as u64;
        }
        self.spill_if_over_budget()
    }

    fn hold(&mut self, bytes: usize) {
        self.held += bytes;
        self.budget.held.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Past the budget, moves every part's rows in memory to its spill file,
    /// once this table holds at least a [`MIN_SPILL_SHARE`] of the budget.
    fn spill_if_over_budget(&mut self) -> Result<(), IngestError> {
        if self.budget.held.load(Ordering::Relaxed) <= self.budget.limit
            || self.held < self.budget.limit / MIN_SPILL_SHARE
        {
            return Ok(());
        }
        if self.file.is_none() {
            self.file = Some(SpillFile::create(&self.path, self.table)?);
        }
        let file = self.file.as_mut().expect("created above");
        file.spill(self.parts.values_mut())?;
        self.budget.held.fetch_sub(self.held, Ordering::Relaxed);
        self.held = 0;
        Ok(())
    }

    fn part(&mut self, month: i32) -> &mut OpenPart {
        self.parts.entry(month).or_default()
    }

    /// The table's parts: those that spilled have the rest of their rows
    /// spilled too and their files closed; the others stay in memory.
    pub fn finish(mut self) -> Result<Vec<SpillPart>, IngestError> {
        let table = self.table;
        let fact = table.event_column().is_some();
        if let Some(file) = self.file.as_mut() {
            file.spill(self.parts.values_mut().filter(|p| !p.spilled.is_empty()))?;
            file.finish()?;
        }
        let path = self.path;
        self.parts
            .into_iter()
            .enumerate()
            .map(|(index, (month, part))| {
                let source = if part.spilled.is_empty() {
                    PartSource::Memory(part.pending)
                } else {
                    PartSource::File(path.clone(), part.spilled)
                };
                Ok(SpillPart {
                    table,
                    index,
                    partition: fact.then(|| {
                        format!(
                            "{MONTH_COLUMN}={:04}-{:02}",
                            month.div_euclid(12),
                            month.rem_euclid(12) + 1
                        )
                    }),
                    rows: part.rows,
                    source,
                })
            })
            .collect()
    }
}

/// The accepted rows of a chunk, grouped by month (one group for a
/// dimension table), and where each row went.
pub struct ChunkRows {
    batch: RecordBatch,
    /// `(month number, first row, rows)` of each group, in month order.
    months: Vec<(i32, usize, usize)>,
    /// Per row in arrival order, its row in `batch` (`None`: the same).
    place: Option<Vec<u32>>,
}

impl ChunkRows {
    /// Groups accepted rows (in the table's schema) by the month of their
    /// event, ties in arrival order. This runs on the parsing threads, so
    /// that committing a chunk in file order only appends slices.
    pub fn split(table: Table, batch: RecordBatch) -> Result<ChunkRows, IngestError> {
        let Some(event) = table.event_column() else {
            let months = vec![(0, 0, batch.num_rows())];
            return Ok(ChunkRows {
                batch,
                months,
                place: None,
            });
        };
        let event = table.column_index(event).expect("event column exists");
        let months = month_numbers(batch.column(event));
        let Some((lo, hi)) = months.iter().fold(None, |range, &m| match range {
            None => Some((m, m)),
            Some((lo, hi)) => Some((m.min(lo), m.max(hi))),
        }) else {
            return Ok(ChunkRows {
                batch,
                months: Vec::new(),
                place: None,
            });
        };
        // A counting sort by month.
        let mut starts = vec![0usize; (hi - lo) as usize + 2];
        for &m in &months {
            starts[(m - lo) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let groups = starts
            .windows(2)
            .zip(lo..)
            .map(|(w, month)| (month, w[0], w[1] - w[0]))
            .filter(|&(_, _, len)| len > 0)
            .collect();
        if starts[1] == months.len() {
            return Ok(ChunkRows {
                batch,
                months: groups,
                place: None,
            });
        }
        let mut next = starts;
        let mut place = vec![0u32; months.len()];
        let mut order = vec![0u32; months.len()];
        for (row, &m) in months.iter().enumerate() {
            let slot = &mut next[(m - lo) as usize];
            place[row] = *slot as u32;
            order[*slot] = row as u32;
            *slot += 1;
        }
        let batch = take_rows(&batch, &order).map_err(encode_err("a month split"))?;
        Ok(ChunkRows {
            batch,
            months: groups,
            place: Some(place),
        })
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn row(&self, row: usize) -> usize {
        self.place.as_ref().map_or(row, |p| p[row] as usize)
    }

    /// The text of the value in `column` of row `row` (arrival order), whatever its type.
    pub fn text(&self, row: usize, column: usize) -> String {
        text_value(self.batch.column(column), self.row(row))
    }

    /// Drops the rows whose `keep` is false (arrival order).
    pub fn retain(&mut self, keep: &[bool]) -> Result<(), IngestError> {
        let mut mask = vec![true; self.len()];
        for (row, &k) in keep.iter().enumerate() {
            mask[self.row(row)] = k;
        }
        if let Some(place) = &mut self.place {
            // Each kept row's new place: the kept rows before its old one.
            let mut kept_before = Vec::with_capacity(mask.len());
            let mut kept = 0u32;
            for &k in &mask {
                kept_before.push(kept);
                kept += u32::from(k);
            }
            *place = place
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(&p, _)| kept_before[p as usize])
                .collect();
        }
        for (_, from, len) in &mut self.months {
            let kept = mask[*from..*from + *len].iter().filter(|&&k| k).count();
            *len = kept;
        }
        let mut from = 0;
        for (_, start, len) in &mut self.months {
            *start = from;
            from += *len;
        }
        self.batch = filter_record_batch(&self.batch, &BooleanArray::from(mask))
            .map_err(encode_err("a checked batch"))?;
        Ok(())
    }
}

/// `year * 12 + month - 1` of each value of a date or timestamp column.
fn month_numbers(column: &ArrayRef) -> Vec<i32> {
    let month = |day: i32| {
        let (y, m, _) = civil_from_days(day);
        y * 12 + m as i32 - 1
    };
    match column.data_type() {
        DataType::Date32 => column
            .as_primitive::<Date32Type>()
            .values()
            .iter()
            .map(|&d| month(d))
            .collect(),
        DataType::Timestamp(..) => column
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .iter()
            .map(|&t| month(t.div_euclid(86_400_000_000) as i32))
            .collect(),
        other => unreachable!("event columns are dates or timestamps, not {other}"),
    }
}

/// The row order that sorts a date or timestamp column, ties in arrival
/// order (which is file order, so the result does not depend on chunking).
fn order_by_time(column: &ArrayRef) -> Vec<u32> {
    match column.data_type() {
        DataType::Date32 => order_of(
            column
                .as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|&d| i64::from(d)),
        ),
        DataType::Timestamp(..) => order_of(
            column
                .as_primitive::<TimestampMicrosecondType>()
                .values()
                .iter()
                .copied(),
        ),
        other => unreachable!("event columns are dates or timestamps, not {other}"),
    }
}

/// The order that sorts `times`, ties in their order.
///
/// Where they fit, each time (less the earliest) and its index are packed
/// into one `u64` (a month of microseconds takes 42 bits, which leaves 22
/// for the index): 8-byte keys sort faster than (time, index) pairs, which
/// are the fallback.
fn order_of(times: impl ExactSizeIterator<Item = i64> + Clone) -> Vec<u32> {
    let (Some(earliest), Some(latest)) = (times.clone().min(), times.clone().max()) else {
        return Vec::new();
    };
    let index_bits = u64::BITS - (times.len() as u64).leading_zeros();
    if latest.abs_diff(earliest) >> (u64::BITS - index_bits) == 0 {
        let mut keys: Vec<u64> = times
            .zip(0u64..)
            .map(|(t, i)| (t.abs_diff(earliest) << index_bits) | i)
            .collect();
        keys.sort_unstable();
        let index = (1u64 << index_bits) - 1;
        keys.into_iter().map(|k| (k & index) as u32).collect()
    } else {
        let mut keyed: Vec<(i64, u32)> = times.zip(0u32..).collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, i)| i).collect()
    }
}

/// Parquet settings for a table's files.
///
/// A dictionary pays off on columns with few distinct values (stations,
/// enums, dates, scores). The rest would fill a dictionary only to fall back
/// to plain pages, so they skip it:
/// - the primary key, and references to a vehicle, customer or repair order
///   (nearly unique within a file): plain;
/// - timestamps and odometers: delta-encoded (files are sorted by date, so
///   event timestamps differ by seconds from row to row). The deltas of the
///   other timestamps and of odometers are noise that zstd cannot shrink,
///   so their pages skip it;
/// - amounts of money: plain.
///
/// Text columns of a fact table go without statistics. Its files are sorted
/// by date, so every page spans nearly every key, station and enum value,
/// and min/max would never prune a page, while comparing each value for
/// them costs encoding time. A dimension table
/// keeps them, for lookups by key in an export that lists keys in order.
fn writer_properties(table: Table) -> WriterProperties {
    let nearly_unique: Vec<&str> = std::iter::once(table.primary_key())
        .chain(
            table
                .foreign_keys()
                .iter()
                .filter(|(_, target)| *target != Table::Stations)
                .map(|(column, _)| *column),
        )
        .collect();
    let mut builder = WriterProperties::builder();
    for column in table.columns() {
        let path = ColumnPath::from(column.name);
        builder = match (column.ty, column.unit) {
            (ColumnType::Timestamp | ColumnType::BigInt, _) => {
                let builder = builder
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED);
                if table.event_column() == Some(column.name) {
                    builder
                } else {
                    builder.set_column_compression(path, Compression::UNCOMPRESSED)
                }
            }
            (ColumnType::Money, _) => builder.set_column_dictionary_enabled(path, false),
            _ if nearly_unique.contains(&column.name) => {
                builder.set_column_dictionary_enabled(path, false)
            }
            _ => builder,
        };
        if column.ty == ColumnType::Text && table.event_column().is_some() {
            builder = builder.set_column_statistics_enabled(
                ColumnPath::from(column.name),
                EnabledStatistics::None,
            );
        }
    }
    builder
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 is valid"),
        ))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("aftersight {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes every part of batch `batch` as one Parquet file in the warehouse
/// at `root`, straight to its place: readers go by the manifest, which
/// lists the files only once they are all written (and the next run
/// removes files it does not list).
///
/// Parts are written on [`EXTRA_WRITERS`] threads more than `cores`:
/// spilled parts are read from disk around the page cache, and while some
/// threads wait for their reads the others keep the cores busy. Dimension
/// tables come first, then fact tables from the largest, each largest month
/// first: the small parts of each table come last, and a spill file is
/// removed while the tables after it are still being written, not at the
/// end of the batch (on a file system mounted with `discard`, removing a
/// large file stalls every thread's reads). The files come back in table
/// and partition order.
pub fn write_parts(
    mut parts: Vec<SpillPart>,
    root: &Path,
    batch: u64,
    cores: usize,
) -> Result<Vec<WrittenFile>, IngestError> {
    let mut table_rows: BTreeMap<Table, u64> = BTreeMap::new();
    for part in &parts {
        *table_rows.entry(part.table).or_default() += part.rows;
    }
    parts.sort_by_key(|p| {
        let fact = p.table.event_column().is_some();
        (fact, std::cmp::Reverse((table_rows[&p.table], p.rows)))
    });
    // Parts left to write per spill file: the last one removes the file.
    let mut unread: BTreeMap<&Path, AtomicUsize> = BTreeMap::new();
    for part in &parts {
        if let PartSource::File(path, _) = &part.source {
            unread
                .entry(path)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<WrittenFile, IngestError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..cores.max(1) + EXTRA_WRITERS {
            scope.spawn(|| {
                let mut scratch = Scratch::default();
                while let Some(part) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = write_part(part, root, batch, &mut scratch);
                    if let (Ok(_), PartSource::File(path, _)) = (&result, &part.source)
                        && unread[path.as_path()].fetch_sub(1, Ordering::Relaxed) == 1
                    {
                        // Best effort: the staging directory goes anyway once the batch ends.
                        let _ = fs::remove_file(path);
                    }
                    let failed = result.is_err();
                    results
                        .lock()
                        .expect("no thread panics while holding the lock")
                        .push(result);
                    if failed {
                        next.store(parts.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut files = results
        .into_inner()
        .expect("no thread panicked")
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    files.sort_by(|a, b| (a.table, &a.path).cmp(&(b.table, &b.path)));
    Ok(files)
}

/// Memory a thread writing parts keeps from part to part.
#[derive(Default)]
struct Scratch {
    /// Where spilled batches are read into.
    read: Vec<u8>,
    /// The Parquet file's write buffer.
    write: Vec<u8>,
}

/// Writes one part.
fn write_part(
    part: &SpillPart,
    root: &Path,
    batch: u64,
    scratch: &mut Scratch,
) -> Result<WrittenFile, IngestError> {
    let table = part.table;
    let what = match &part.partition {
        Some(p) => format!("{p} of {table}"),
        None => table.to_string(),
    };
    let (dir, name) = (
        match &part.partition {
            Some(p) => format!("data/{table}/{p}"),
            None => format!("data/{table}"),
        },
        format!("b{batch:06}-{:04}.parquet", part.index),
    );
    fs::create_dir_all(root.join(&dir)).map_err(io_error("create directory", &root.join(&dir)))?;
    let path = root.join(&dir).join(&name);
    let file = DirectWriter::create(&path, std::mem::take(&mut scratch.write))
        .map_err(io_error("create", &path))?;
    let schema = table.arrow_schema();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(writer_properties(table)))
        .map_err(encode_err(format!("writing {what}")))?;
    // Spilled rows come back by group of batches: a month whole, to be
    // sorted; a dimension table a batch at a time. Rows in memory are there.
    let (reader, groups, in_memory): (_, Vec<&[usize]>, &[RecordBatch]) = match &part.source {
        PartSource::Memory(batches) => (None, vec![&[]], batches),
        PartSource::File(path, indexes) => {
            let reader = SpillReader::open(path, schema.clone())
                .map_err(encode_err(format!("reading spilled {what}")))?;
            let groups = match table.event_column() {
                Some(_) => vec![indexes.as_slice()],
                None => indexes.chunks(1).collect(),
            };
            (Some(reader), groups, &[])
        }
    };
    let mut rows = 0u64;
    for group in groups {
        let (batches, read_into) = match &reader {
            Some(reader) => {
                let (batches, buffer) = reader
                    .read(group, std::mem::take(&mut scratch.read))
                    .map_err(encode_err(format!("reading spilled {what}")))?;
                (batches, Some(buffer))
            }
            None => (in_memory.to_vec(), None),
        };
        let out = match table.event_column() {
            None => batches,
            Some(event) => {
                let all = concat_batches(&schema, &batches).map_err(encode_err(what.clone()))?;
                drop(batches);
                let event = table.column_index(event).expect("event column exists");
                let order = order_by_time(all.column(event));
                vec![take_rows(&all, &order).map_err(encode_err(format!("sorting {what}")))?]
            }
        };
        for batch in &out {
            rows += batch.num_rows() as u64;
            writer
                .write(batch)
                .map_err(encode_err(format!("writing {what}")))?;
        }
        drop(out);
        // The batches were the last users of the memory they were read into.
        if let Some(Ok(memory)) = read_into.map(Buffer::into_vec) {
            scratch.read = memory;
        }
    }
    scratch.write = writer
        .into_inner()
        .map_err(encode_err(format!("writing {what}")))?
        .finish()
        .map_err(io_error("write", &path))?;
    if rows != part.rows {
        return Err(IngestError::Reconcile(format!(
            "{what}: spilled {} rows, Parquet holds {rows}",
            part.rows
        )));
    }
    Ok(WrittenFile {
        table,
        path: format!("{dir}/{name}"),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, TimestampMicrosecondArray};

    /// Repair orders with these ids and opening days (other columns empty).
    /// Repair orders with these ids and opening days, in the table's schema;
    /// every other column holds one plain value.
    fn orders(rows: &[(&str, i32)]) -> RecordBatch {
        let schema = Table::RepairOrders.arrow_schema();
        let columns = schema
            .fields()
            .iter()
            .map(|field| -> ArrayRef {
                match field.name().as_str() {
                    "ro_id" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                    "opened_at" => Arc::new(TimestampMicrosecondArray::from_iter_values(
                        rows.iter().map(|r| i64::from(r.1) * 86_400_000_000),
                    )),
                    _ => {
                        let text = match field.data_type() {
                            DataType::Timestamp(..) => "2024-03-10T12:00:00",
                            DataType::Utf8 => "x",
                            _ => "1",
                        };
                        let text = StringArray::from(vec![text; rows.len()]);
                        datafusion::arrow::compute::cast(&text, field.data_type()).unwrap()
                    }
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn ids(rows: &ChunkRows) -> Vec<String> {
        (0..rows.len()).map(|i| rows.text(i, 0)).collect()
    }

    #[test]
    fn a_table_spills_only_once_it_holds_its_share_of_the_budget() {
        // Repair orders of one day (a spill checks the table's schema).
        let day = crate::dates::days_from_civil(2024, 3, 10);
        let chunk = |rows: usize| {
            let ids: Vec<String> = (0..rows).map(|i| format!("RO{i:08}")).collect();
            let rows: Vec<(&str, i32)> = ids.iter().map(|id| (id.as_str(), day)).collect();
            ChunkRows::split(Table::RepairOrders, orders(&rows)).unwrap()
        };
        let (earlier, small) = (chunk(4000), chunk(10));
        // The table read earlier fills the budget on its own.
        let budget = SpillBudget::new(earlier.batch.get_array_memory_size());
        let small_bytes = small.batch.get_array_memory_size();
        assert!(
            small_bytes * 8 < budget.limit,
            "{small_bytes} of {}",
            budget.limit
        );
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut full = TableSpill::new(Table::RepairOrders, dir_a.path(), budget.clone()).unwrap();
        full.write(earlier).unwrap();
        assert!(full.file.is_none(), "at the budget, not past it");
        let mut next = TableSpill::new(Table::RepairOrders, dir_b.path(), budget.clone()).unwrap();
        let mut written = 0;
        while next.file.is_none() {
            next.write(chunk(10)).unwrap();
            written += small_bytes;
            assert!(written < budget.limit, "never spilled");
        }
        // Past the budget from the first chunk on, it spilled once it held a quarter.
        assert!(
            written >= budget.limit / MIN_SPILL_SHARE,
            "spilled at {written} bytes"
        );
        assert!(written - small_bytes < budget.limit / MIN_SPILL_SHARE);
        assert_eq!(next.held, 0);
        assert!(next.parts.values().all(|p| p.pending.is_empty()));
        let parts = next.finish().unwrap();
        assert_eq!(
            parts.iter().map(|p| p.rows).sum::<u64>(),
            written as u64 / small_bytes as u64 * 10
        );
    }

    #[test]
    fn times_sort_with_ties_in_arrival_order_whether_they_pack_or_not() {
        // Stable sorting of (time, index) is the reference.
        let expected = |times: &[i64]| {
            let mut order: Vec<u32> = (0..times.len() as u32).collect();
            order.sort_by_key(|&i| times[i as usize]);
            order
        };
        let month = [7_000, 3_000, 7_000, -2_000, 3_000, 7_000, 0, -2_000];
        // Times a unit apart, and an index that needs every bit it is given.
        let close: Vec<i64> = (0..17).map(|i| i * 7 % 5).collect();
        // Too far apart to pack beside an index: the pairs are sorted.
        let wide = [i64::MAX, 5, i64::MIN, 5, i64::MAX, -1, i64::MIN];
        for times in [&month[..], &close, &wide[..], &[42][..], &[][..]] {
            assert_eq!(
                order_of(times.iter().copied()),
                expected(times),
                "{times:?}"
            );
        }
        let column: ArrayRef = Arc::new(TimestampMicrosecondArray::from(month.to_vec()));
        assert_eq!(order_by_time(&column), expected(&month));
    }

    #[test]
    fn a_chunk_is_grouped_by_month_and_filtered_through_each_rows_place() {
        let march = crate::dates::days_from_civil(2024, 3, 10);
        let january = crate::dates::days_from_civil(2024, 1, 31);
        let rows = [
            ("A", march),
            ("B", january),
            ("C", march + 5),
            ("D", january - 3),
        ];
        let mut split = ChunkRows::split(Table::RepairOrders, orders(&rows)).unwrap();
        let month = |y: i32, m: i32| y * 12 + m - 1;
        assert_eq!(
            split.months,
            vec![(month(2024, 1), 0, 2), (month(2024, 3), 2, 2)],
            "January's rows first, then March's; ties in arrival order"
        );
        // `text` and `retain` take rows in arrival order, whatever their group.
        assert_eq!(ids(&split), ["A", "B", "C", "D"]);
        split.retain(&[true, false, true, true]).unwrap();
        assert_eq!(ids(&split), ["A", "C", "D"]);
        assert_eq!(
            split.months,
            vec![(month(2024, 1), 0, 1), (month(2024, 3), 1, 2)]
        );
        let grouped = split.batch.column(0).as_string::<i32>();
        assert_eq!(
            grouped.iter().flatten().collect::<Vec<_>>(),
            ["D", "A", "C"]
        );
        split.retain(&[false, true, true]).unwrap();
        assert_eq!(ids(&split), ["C", "D"]);
    }
}
