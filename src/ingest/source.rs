//! Source files: which table a file feeds, its content hash, its text
//! encoding, and a chunked reader. A file is cut into chunks of whole
//! records ([`ChunkReader`]) that threads parse independently
//! ([`ChunkRecords`]): each record's fields in schema order, decoded to
//! text, with its first line number and byte range.
//!
//! Files are read through a memory map. A file must not be truncated while
//! it is ingested (the reads past its new end would fault); files that are
//! still growing are read up to their length when ingest opened them.
//!
//! CSV headers are matched by name (order-independent, case- and
//! whitespace-tolerant, BOM stripped); quoted fields may hold commas, quotes
//! and newlines; CRLF and LF both end records. NDJSON records are matched by
//! key the same way. Undecodable text is reported per record, never replaced.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::{Advice, Mmap, UncheckedAdvice};

use sha2::{Digest, Sha256};

use crate::schema::{Column, Table};

/// Format of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// CSV with a header line.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl SourceFormat {
    /// Name as recorded in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Ndjson => "ndjson",
        }
    }
}

/// Text encoding of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Decide per file: UTF-8 unless most non-ASCII records only decode as GBK.
    Auto,
    /// UTF-8, with or without BOM.
    Utf8,
    /// GBK / GB18030, common in Chinese systems.
    Gbk,
}

impl Encoding {
    /// Name as recorded in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "utf-8",
            Encoding::Gbk => "gb18030",
        }
    }
}

/// Why a source file cannot be read at all (as opposed to a bad record).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file name names no table.
    #[error(
        "`{0}`: cannot tell which table this file holds; name it after a table (e.g. `repair_orders.csv`, `repair_orders_2026-10.ndjson`): {1}"
    )]
    UnknownTable(PathBuf, String),
    /// The file is empty.
    #[error("`{0}`: the file is empty (expected a header line)")]
    Empty(PathBuf),
    /// A required column is missing from the header.
    #[error(
        "`{path}` line 1: required column `{column}` of table `{table}` is missing from the header (found: {found})"
    )]
    MissingColumn {
        /// File.
        path: PathBuf,
        /// Table.
        table: Table,
        /// Missing column.
        column: &'static str,
        /// Header as found.
        found: String,
    },
    /// The header is not readable text.
    #[error("`{0}` line 1: the header is not valid text in the file's encoding")]
    BadHeader(PathBuf),
    /// Reading failed.
    #[error("cannot read `{path}`")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// An input file, identified.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path.
    pub path: PathBuf,
    /// Table it feeds.
    pub table: Table,
    /// Format.
    pub format: SourceFormat,
    /// Size in bytes.
    pub bytes: u64,
    /// BLAKE3 of the content, hex; `None` until computed. A file whose size
    /// matches no ingested file cannot be one of them, so its hash is
    /// computed while it is read rather than in a pass of its own.
    pub blake3: Option<String>,
    /// SHA-256 of the content, hex: computed only for a file whose size
    /// matches a file that an older manifest recorded by SHA-256 alone.
    pub sha256: Option<String>,
}

/// Identifies a file's table and format from its name; `None` for files that are not exports.
pub fn classify(path: &Path) -> Result<Option<(Table, SourceFormat)>, SourceError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let format = if name.ends_with(".csv") {
        SourceFormat::Csv
    } else if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        SourceFormat::Ndjson
    } else {
        return Ok(None);
    };
    let table = Table::ALL
        .iter()
        .filter(|t| {
            name.strip_prefix(t.name())
                .is_some_and(|rest| rest.starts_with(['.', '_', '-']))
        })
        .max_by_key(|t| t.name().len())
        .copied();
    match table {
        Some(t) => Ok(Some((t, format))),
        None => Err(SourceError::UnknownTable(
            path.to_path_buf(),
            format!("tables are {}", Table::ALL.map(|t| t.name()).join(", ")),
        )),
    }
}

/// The BLAKE3 hash of a file's content, hex.
pub fn blake3_file(path: &Path) -> Result<String, SourceError> {
    let hasher = hash_file(path, blake3::Hasher::new())?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// The SHA-256 hash of a file's content, hex: what manifests recorded before
/// files were identified by BLAKE3.
pub fn sha256_file(path: &Path) -> Result<String, SourceError> {
    let hasher = hash_file(path, Sha256::new())?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Streams a file's content into `hasher`.
fn hash_file<H: io::Write>(path: &Path, mut hasher: H) -> Result<H, SourceError> {
    File::open(path)
        .and_then(|mut f| io::copy(&mut f, &mut hasher))
        .map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(hasher)
}

/// Decides the encoding of a file from its first records: UTF-8 unless most
/// lines with non-ASCII bytes are invalid UTF-8.
pub fn detect_encoding(path: &Path) -> Result<Encoding, SourceError> {
    let mut head = Vec::with_capacity(1 << 20);
    File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let (mut utf8, mut other) = (0, 0);
    let mut lines: Vec<&[u8]> = head.split(|b| *b == b'\n').collect();
    if head.len() == 1 << 20 {
        lines.pop(); // possibly cut mid-character
    }
    for line in lines.into_iter().filter(|l| !l.is_ascii()) {
        if std::str::from_utf8(line).is_ok() {
            utf8 += 1;
        } else {
            other += 1;
        }
    }
    Ok(if other > utf8 {
        Encoding::Gbk
    } else {
        Encoding::Utf8
    })
}

/// A record's problem that sends it to quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Column at fault, if one is.
    pub column: Option<&'static str>,
    /// Rule broken (stable code, e.g. `invalid_date`).
    pub rule: &'static str,
    /// What was found and what was expected.
    pub message: String,
}

impl Rejection {
    /// A rejection for one column.
    pub fn column(column: &'static str, rule: &'static str, message: String) -> Rejection {
        Rejection {
            column: Some(column),
            rule,
            message,
        }
    }
}

/// One record of a [`Chunk`].
#[derive(Debug)]
pub struct Record {
    /// First line of the record (1-based, the CSV header is line 1).
    pub line: u64,
    /// Byte offset in the file where the record starts.
    pub start: u64,
    /// Byte offset in the file one past the record's end.
    pub end: u64,
    /// `Ok` when the fields were decoded ([`ChunkRecords::fields`], schema
    /// order, empty string = missing); otherwise why they could not be.
    pub decoded: Result<(), Rejection>,
}

/// A run of whole records of one file. Chunks are cut at newlines outside
/// quoted fields, so each one parses on its own.
#[derive(Debug)]
pub struct Chunk {
    /// Position among the file's chunks (0-based).
    pub seq: u64,
    /// Byte offset of the first byte in the file.
    pub start: u64,
    /// Line number of the first byte (1-based).
    pub first_line: u64,
    /// The bytes.
    pub bytes: ChunkBytes,
}

impl Chunk {
    /// The raw bytes of a record of this chunk from its file offsets, without its line end.
    pub fn raw(&self, start: u64, end: u64) -> &[u8] {
        let from = (start - self.start) as usize;
        let to = (end - self.start) as usize;
        trim_line_end(&self.bytes[from..to])
    }
}

/// A chunk's bytes: a range of its file's memory map.
///
/// Mapping the file spares copying every byte out of the page cache (a
/// third of the system time of a large ingest). Dropping a chunk gives its
/// pages back, so resident memory stays at the chunks in flight, however
/// large the file.
pub struct ChunkBytes {
    map: Arc<Mmap>,
    range: Range<usize>,
}

impl Deref for ChunkBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

impl Drop for ChunkBytes {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the map is read-only and nothing writes through it, so
        // dropping its pages loses nothing: a later access (a neighbouring
        // chunk sharing a page at the boundary) reads them back from the file.
        let _ = unsafe {
            self.map.unchecked_advise_range(
                UncheckedAdvice::DontNeed,
                self.range.start,
                self.range.len(),
            )
        };
    }
}

impl std::fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkBytes({:?})", self.range)
    }
}

/// The header of a source file and how its columns map to the table's schema.
pub struct RecordReader {
    table: Table,
    format: SourceFormat,
    encoding: Encoding,
    /// For each source column, the schema column index it feeds (CSV).
    mapping: Vec<Option<usize>>,
    /// Byte offset and line number where the records start.
    data_start: (u64, u64),
    /// Columns the header lacks (optional ones only) or extra columns it has.
    pub header_notes: Vec<String>,
}

/// Normalises a header name: BOM and surrounding spaces removed, lowercase, inner spaces as `_`.
pub fn normalise_name(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
}

fn decode(bytes: &[u8], encoding: Encoding) -> Option<String> {
    match encoding {
        Encoding::Gbk => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|c| c.into_owned()),
        _ => std::str::from_utf8(bytes).ok().map(str::to_owned),
    }
}

impl RecordReader {
    /// Opens a file and reads and maps its header (CSV).
    pub fn open(source: &SourceFile, encoding: Encoding) -> Result<RecordReader, SourceError> {
        let path = &source.path;
        let io_err = |source| SourceError::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        if file.metadata().map_err(io_err)?.len() == 0 {
            return Err(SourceError::Empty(path.clone()));
        }
        let table = source.table;
        let mut reader = RecordReader {
            table,
            format: source.format,
            encoding,
            mapping: Vec::new(),
            data_start: (0, 1),
            header_notes: Vec::new(),
        };
        if source.format == SourceFormat::Ndjson {
            return Ok(reader);
        }
        let mut csv = csv_reader(BufReader::new(file));
        let mut header = csv::ByteRecord::new();
        let ok = csv
            .read_byte_record(&mut header)
            .map_err(|e| csv_io(path, e))?;
        if !ok {
            return Err(SourceError::Empty(path.clone()));
        }
        let names: Vec<String> = header
            .iter()
            .map(|f| decode(f, encoding).map(|s| normalise_name(&s)))
            .collect::<Option<_>>()
            .ok_or_else(|| SourceError::BadHeader(path.clone()))?;
        check_columns(path, table, &names, &mut reader.header_notes)?;
        let columns = table.columns();
        reader.mapping = names
            .iter()
            .map(|n| columns.iter().position(|c| c.name == n))
            .collect();
        let start = csv.position().byte();
        let mut head = vec![0u8; start as usize];
        File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .map_err(io_err)?;
        let line = 1 + memchr::memchr_iter(b'\n', &head).count() as u64;
        reader.data_start = (start, line);
        Ok(reader)
    }

    /// Cuts the file's records into chunks of about `target` bytes; with
    /// `hash`, the reader also computes the BLAKE3 hash of the whole file
    /// ([`ChunkReader::blake3`]).
    #[allow(unsafe_code)]
    pub fn chunks(
        &self,
        path: &Path,
        target: usize,
        hash: bool,
    ) -> Result<ChunkReader, SourceError> {
        let io_err = |source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        // SAFETY: the map is only read. Another process truncating the file
        // while it is ingested would fault the read (the module docs say so).
        let map = unsafe { Mmap::map(&file) }.map_err(io_err)?;
        let start = (self.data_start.0 as usize).min(map.len());
        let hasher = hash.then(|| {
            let mut hasher = blake3::Hasher::new();
            hasher.update(&map[..start]);
            hasher
        });
        let mut reader = ChunkReader {
            hasher,
            map: Arc::new(map),
            quoted: self.format == SourceFormat::Csv,
            target: target.max(1),
            offset: start,
            line: self.data_start.1,
            seq: 0,
            read_ahead_to: start,
        };
        reader.read_ahead();
        Ok(reader)
    }

    /// The records of one chunk of this file.
    pub fn records<'a>(&'a self, chunk: &'a Chunk) -> ChunkRecords<'a> {
        let width = self.table.columns().len();
        ChunkRecords {
            head: self,
            chunk,
            parser: (self.format == SourceFormat::Csv).then(|| {
                let mut parser = csv_core::Reader::new();
                parser.set_line(chunk.first_line);
                parser
            }),
            consumed: 0,
            pos: 0,
            line: chunk.first_line,
            plain_lines: true,
            out: vec![0; 1 << 12],
            out_len: 0,
            line_bytes: None,
            line_text: None,
            ends: vec![0; 64],
            text: String::new(),
            from_out: false,
            spans: vec![(0, 0); width],
            values: vec![String::new(); width],
        }
    }
}

/// Cuts a file into [`Chunk`]s at newlines outside quoted fields.
///
/// With RFC 4180 quoting (`""` escapes a quote), a newline is outside quotes
/// exactly when the number of quote characters before it is even. Chunks
/// start at record boundaries, so the parity is counted from each chunk's
/// start. NDJSON has no quoting: every newline ends a record.
pub struct ChunkReader {
    hasher: Option<blake3::Hasher>,
    map: Arc<Mmap>,
    quoted: bool,
    target: usize,
    /// Where the next chunk starts, and its line.
    offset: usize,
    line: u64,
    seq: u64,
    /// The end of the bytes the kernel was asked to read ahead.
    read_ahead_to: usize,
}

impl ChunkReader {
    /// The next chunk: the records up to the first record end at or after
    /// the target size; `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        let rest = &self.map[self.offset..];
        if rest.is_empty() {
            return None;
        }
        let (len, newlines) = chunk_end(rest, self.target, self.quoted);
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&rest[..len]);
        }
        let chunk = Chunk {
            seq: self.seq,
            start: self.offset as u64,
            first_line: self.line,
            bytes: ChunkBytes {
                map: Arc::clone(&self.map),
                range: self.offset..self.offset + len,
            },
        };
        self.seq += 1;
        self.offset += len;
        self.line += newlines;
        self.read_ahead();
        Some(chunk)
    }

    /// Asks the kernel to start reading the next [`READ_AHEAD_CHUNKS`]
    /// chunks' bytes into the page cache, so that cutting them finds them
    /// there. Without it, the part of a large export that was not cached was
    /// read by page faults while a thread cut chunks, and the other threads
    /// waited for it.
    fn read_ahead(&mut self) {
        let from = self.read_ahead_to.max(self.offset);
        let ahead = READ_AHEAD_CHUNKS.saturating_mul(self.target);
        let to = self.offset.saturating_add(ahead).min(self.map.len());
        if to > from {
            // A hint only: a refusal changes nothing but speed.
            let _ = self.map.advise_range(Advice::WillNeed, from, to - from);
            self.read_ahead_to = to;
        }
    }

    /// The BLAKE3 hash of the file, hex, once every chunk has been read (if asked for).
    pub fn blake3(self) -> Option<String> {
        (self.offset == self.map.len())
            .then_some(self.hasher?)
            .map(|hasher| hasher.finalize().to_hex().to_string())
    }
}

/// Where the chunk at the start of `rest` ends (the whole of `rest` when no
/// record ends at or past `target` bytes), and the newlines in it.
///
/// This runs under the lock the parsing threads share, so it scans with
/// counts rather than stopping at every newline: the quotes before the
/// target give the quoting state there (`quoted`: CSV), and only from the
/// target on is each quote and newline looked at.
fn chunk_end(rest: &[u8], target: usize, quoted: bool) -> (usize, u64) {
    let newlines = |bytes: &[u8]| memchr::memchr_iter(b'\n', bytes).count() as u64;
    // A record ending at `at` (its newline) ends the chunk if `at + 1 >= target`.
    let from = target.saturating_sub(1);
    if rest.len() <= from {
        return (rest.len(), newlines(rest));
    }
    let end = if quoted {
        let mut in_quotes = memchr::memchr_iter(b'"', &rest[..from]).count() % 2 == 1;
        memchr::memchr2_iter(b'"', b'\n', &rest[from..]).find(|&at| {
            if rest[from + at] == b'"' {
                in_quotes = !in_quotes;
                return false;
            }
            !in_quotes
        })
    } else {
        memchr::memchr(b'\n', &rest[from..])
    };
    let len = end.map_or(rest.len(), |at| from + at + 1);
    (len, newlines(&rest[..len]))
}

/// Iterates the records of one [`Chunk`].
pub struct ChunkRecords<'a> {
    head: &'a RecordReader,
    chunk: &'a Chunk,
    /// csv-core's parser (CSV chunks); its line count is the file's line at `consumed`.
    parser: Option<csv_core::Reader>,
    /// Bytes of the chunk parsed so far (CSV).
    consumed: usize,
    /// Start of the next NDJSON record; the line of the next record (NDJSON)
    /// or of the next byte to parse (CSV).
    pos: usize,
    line: u64,
    /// Whether a record on one line without quotes is split at its commas
    /// without csv-core (see [`plain_line`]); tests turn this off to compare.
    plain_lines: bool,
    /// The current record's field bytes (CSV) and their ends: unescaped by
    /// csv-core into `out`, or a plain line of the chunk (`line_bytes`),
    /// where the ends are the commas' places.
    out: Vec<u8>,
    out_len: usize,
    line_bytes: Option<Range<usize>>,
    /// A plain line's text, once found to be UTF-8.
    line_text: Option<&'a str>,
    ends: Vec<usize>,
    /// The current record's text when it is not its field bytes as they are (NDJSON, GBK).
    text: String,
    /// Whether the fields are read from the field bytes (UTF-8 CSV) or from `text`.
    from_out: bool,
    /// Per schema column, the field's byte range in the record's text (empty when missing).
    spans: Vec<(usize, usize)>,
    /// NDJSON values, by schema column.
    values: Vec<String>,
}

/// A record's fields in schema order, as text (empty = missing).
pub trait Fields {
    /// Field `i` of the schema, as read.
    fn field(&self, i: usize) -> &str;

    /// Field `i` without surrounding whitespace.
    fn value(&self, i: usize) -> &str {
        trim_field(self.field(i))
    }
}

/// `s` without surrounding whitespace; a field that starts and ends with a
/// visible ASCII character (nearly all) is returned without a closer look.
fn trim_field(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

impl<S: AsRef<str>> Fields for [S] {
    fn field(&self, i: usize) -> &str {
        self[i].as_ref()
    }
}

impl<S: AsRef<str>> Fields for Vec<S> {
    fn field(&self, i: usize) -> &str {
        self[i].as_ref()
    }
}

/// The fields of the record [`ChunkRecords::next_record`] last read.
pub struct RecordFields<'r> {
    text: &'r str,
    spans: &'r [(usize, usize)],
}

impl Fields for RecordFields<'_> {
    fn field(&self, i: usize) -> &str {
        let (from, to) = self.spans[i];
        self.text.get(from..to).unwrap_or("")
    }
}

impl<'a> ChunkRecords<'a> {
    /// Reads the next record; `None` at the chunk's end. Its fields are then
    /// [`ChunkRecords::fields`].
    pub fn next_record(&mut self) -> Option<Record> {
        match self.parser {
            Some(_) => self.next_csv(),
            None => self.next_ndjson(),
        }
    }

    /// The fields of the record last read (all empty if it could not be decoded).
    pub fn fields(&self) -> RecordFields<'_> {
        let text = if self.from_out {
            match self.line_text {
                Some(text) => text,
                None => std::str::from_utf8(&self.out[..self.out_len]).unwrap_or(""),
            }
        } else {
            &self.text
        };
        RecordFields {
            text,
            spans: &self.spans,
        }
    }

    fn clear_fields(&mut self) {
        self.spans.iter_mut().for_each(|s| *s = (0, 0));
    }

    /// The CSV state machine (quotes, escapes, line ends) as one loop over a
    /// chunk's bytes: ingest's hottest code, kept free of calls per byte.
    fn next_csv(&mut self) -> Option<Record> {
        let chunk = self.chunk;
        let from = self.consumed;
        let input = chunk.bytes.get(from..).unwrap_or_default();
        let plain = if self.plain_lines {
            plain_line(input, &mut self.ends)
        } else {
            None
        };
        let (start, line, end, nend) = match plain {
            Some(PlainLine {
                len,
                consumed,
                fields,
            }) => {
                self.consumed = from + consumed;
                self.line_bytes = Some(from..from + len);
                let line = self.line;
                self.line += 1;
                // The end csv-core gives: past the line's `\n`, or past its
                // `\r` (the `\n` after it then counts as the next record's start).
                (from, line, from + len + 1, fields)
            }
            None => {
                let parser = self.parser.as_mut().expect("CSV chunks have a parser");
                parser.set_line(self.line);
                let (mut nin, mut nout, mut nend) = (0, 0, 0);
                loop {
                    let input = chunk.bytes.get(from + nin..).unwrap_or_default();
                    let (result, i, o, e) =
                        parser.read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
                    (nin, nout, nend) = (nin + i, nout + o, nend + e);
                    match result {
                        csv_core::ReadRecordResult::InputEmpty => {}
                        csv_core::ReadRecordResult::OutputFull => {
                            let len = self.out.len();
                            self.out.resize(len * 2, 0);
                        }
                        csv_core::ReadRecordResult::OutputEndsFull => {
                            let len = self.ends.len();
                            self.ends.resize(len * 2, 0);
                        }
                        csv_core::ReadRecordResult::Record => break,
                        csv_core::ReadRecordResult::End => return None,
                    }
                }
                self.consumed = from + nin;
                self.out_len = nout;
                self.line_bytes = None;
                let (start, line) = record_start(&chunk.bytes, from, self.line);
                self.line = parser.line();
                (start, line, (from + nin).max(start), nend)
            }
        };
        let record = |decoded| Record {
            line,
            start: chunk.start + start as u64,
            end: chunk.start + end as u64,
            decoded,
        };
        let width = self.head.mapping.len();
        if nend != width {
            self.clear_fields();
            return Some(record(Err(Rejection {
                column: None,
                rule: "ragged_line",
                message: format!("expected {width} fields as in the header, found {nend}"),
            })));
        }
        let encoding = self.head.encoding;
        let line_bytes = self.line_bytes.clone().map(|line| &chunk.bytes[line]);
        let bytes = line_bytes.unwrap_or(&self.out[..self.out_len]);
        let columns = self.head.table.columns();
        // A plain line's fields are apart by their commas; csv-core's touch.
        let gap = usize::from(self.line_bytes.is_some());
        let field_range = |f: usize| {
            let from = if f == 0 { 0 } else { self.ends[f - 1] + gap };
            (from, self.ends[f])
        };
        self.from_out = encoding != Encoding::Gbk || bytes.is_ascii();
        self.line_text = None;
        if self.from_out {
            let valid = match line_bytes {
                Some(line) => std::str::from_utf8(line).map(|text| self.line_text = Some(text)),
                None => std::str::from_utf8(bytes).map(|_| ()),
            };
            if let Err(e) = valid {
                let bad = (0..width)
                    .find(|&f| field_range(f).1 > e.valid_up_to())
                    .unwrap_or(0);
                let name = self.head.mapping[bad].map_or("", |i| columns[i].name);
                self.clear_fields();
                return Some(record(Err(undecodable(name, encoding))));
            }
            for (f, target) in self.head.mapping.iter().enumerate() {
                if let Some(i) = *target {
                    self.spans[i] = field_range(f);
                }
            }
        } else {
            self.text.clear();
            for (f, target) in self.head.mapping.iter().enumerate() {
                let Some(i) = *target else { continue };
                let (a, b) = field_range(f);
                let Some(value) = decode(&bytes[a..b], encoding) else {
                    self.clear_fields();
                    return Some(record(Err(undecodable(columns[i].name, encoding))));
                };
                let at = self.text.len();
                self.text.push_str(&value);
                self.spans[i] = (at, self.text.len());
            }
        }
        Some(record(Ok(())))
    }

    fn next_ndjson(&mut self) -> Option<Record> {
        let bytes = &self.chunk.bytes;
        loop {
            if self.pos >= bytes.len() {
                return None;
            }
            let start = self.pos;
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            let line = self.line;
            self.pos = end;
            self.line += 1;
            let text = trim_line_end(&bytes[start..end]);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue; // blank lines are not records
            }
            for v in &mut self.values {
                v.clear(); // a rejected record never shows the previous record's values
            }
            let encoding = self.head.encoding;
            let decoded = match decode(text, encoding) {
                None => Err(Rejection {
                    column: None,
                    rule: "undecodable_text",
                    message: format!("bytes are not valid {} text", encoding.name()),
                }),
                Some(text) => fill_from_json(&text, self.head.table.columns(), &mut self.values),
            };
            self.text.clear();
            self.from_out = false;
            for (value, span) in self.values.iter().zip(&mut self.spans) {
                let at = self.text.len();
                self.text.push_str(value);
                *span = (at, self.text.len());
            }
            return Some(Record {
                line,
                start: self.chunk.start + start as u64,
                end: self.chunk.start + end as u64,
                decoded,
            });
        }
    }
}

fn undecodable(column: &'static str, encoding: Encoding) -> Rejection {
    Rejection {
        column: (!column.is_empty()).then_some(column),
        rule: "undecodable_text",
        message: format!("bytes are not valid {} text", encoding.name()),
    }
}

/// A record that [`plain_line`] found.
struct PlainLine {
    /// Bytes of the record, without its line end.
    len: usize,
    /// Bytes of the record with its line end (`\n` or `\r\n`).
    consumed: usize,
    /// Fields: as many as the record's commas, plus one.
    fields: usize,
}

/// The record at the start of `input` if it is a plain line: no quotes and
/// no carriage return before its `\n` (other than one right before it), not
/// blank. Nearly every record of an export is one, and csv-core would read
/// it byte by byte and copy it; here it is split at its commas, found (like
/// the line end) by SIMD searches, and its fields stay in place: field `f`
/// ends at `ends[f]`. Anything else is left to csv-core.
fn plain_line(input: &[u8], ends: &mut Vec<usize>) -> Option<PlainLine> {
    let at = memchr::memchr3(b'\n', b'"', b'\r', input)?;
    let (len, consumed) = match input[at] {
        b'\n' => (at, at + 1),
        b'\r' if input.get(at + 1) == Some(&b'\n') => (at, at + 2),
        _ => return None,
    };
    if len == 0 {
        return None;
    }
    let line = &input[..len];
    if ends.len() <= len {
        ends.resize(len + 1, 0);
    }
    let mut fields = 0;
    let mut blocks = line.chunks_exact(COMMA_BLOCK);
    for (block, base) in (&mut blocks).zip((0..).step_by(COMMA_BLOCK)) {
        let block: &[u8; COMMA_BLOCK] = block.try_into().expect("an exact chunk");
        let mut commas = comma_mask(block);
        while commas != 0 {
            ends[fields] = base + commas.trailing_zeros() as usize;
            fields += 1;
            commas &= commas - 1;
        }
    }
    let base = len - blocks.remainder().len();
    for (at, &b) in blocks.remainder().iter().enumerate() {
        if b == b',' {
            ends[fields] = base + at;
            fields += 1;
        }
    }
    ends[fields] = len;
    fields += 1;
    Some(PlainLine {
        len,
        consumed,
        fields,
    })
}

/// Bytes [`plain_line`] looks for commas in at a time.
const COMMA_BLOCK: usize = 32;

/// Bit `i` set where `block[i]` is a comma. The compiler turns this into a
/// few vector compares; finding the commas one search at a time cost more
/// than csv-core's parsing, as fields are short.
fn comma_mask(block: &[u8; COMMA_BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | (u32::from(b == b',') << i))
}

/// The true start and line of a record whose bytes begin at `at`, on line
/// `line`: they may begin with the `\n` of a CRLF or with blank lines, which
/// belong before the record.
fn record_start(bytes: &[u8], at: usize, mut line: u64) -> (usize, u64) {
    let mut start = at.min(bytes.len());
    while let Some(&b) = bytes.get(start) {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
        start += 1;
    }
    (start, line)
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// Default size of the chunks files are read in: large enough that each
/// thread works a while on its own, small enough to keep memory low.
pub const CHUNK_BYTES: usize = 8 << 20;
/// Chunks a [`ChunkReader`] asks the kernel to read ahead of the next one.
const READ_AHEAD_CHUNKS: usize = 4;

/// The bytes without their line end (`\n`, `\r\n` or `\r`).
pub fn trim_line_end(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
}

fn fill_from_json(text: &str, columns: &[Column], values: &mut [String]) -> Result<(), Rejection> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| Rejection {
            column: None,
            rule: "malformed_json",
            message: format!("not a complete JSON object: {e}"),
        })?;
    for (key, value) in &object {
        let name = normalise_name(key);
        let Some(i) = columns.iter().position(|c| c.name == name) else {
            continue;
        };
        use serde_json::Value as J;
        values[i] = match value {
            J::Null => String::new(),
            J::String(s) => s.clone(),
            J::Number(n) => n.to_string(),
            J::Bool(b) => b.to_string(),
            J::Array(_) | J::Object(_) => {
                return Err(Rejection::column(
                    columns[i].name,
                    "invalid_type",
                    "expected a scalar, found an array or object".into(),
                ));
            }
        };
    }
    Ok(())
}

fn check_columns(
    path: &Path,
    table: Table,
    names: &[String],
    notes: &mut Vec<String>,
) -> Result<(), SourceError> {
    for c in table.columns() {
        if !names.iter().any(|n| n == c.name) {
            if c.required {
                return Err(SourceError::MissingColumn {
                    path: path.to_path_buf(),
                    table,
                    column: c.name,
                    found: names.join(","),
                });
            }
            notes.push(format!(
                "optional column `{}` is absent; stored as missing",
                c.name
            ));
        }
    }
    for n in names {
        if table.column_index(n).is_none() {
            notes.push(format!(
                "column `{n}` is not part of `{table}` and was ignored"
            ));
        }
    }
    Ok(())
}

fn csv_io(path: &Path, e: csv::Error) -> SourceError {
    let source = match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
    };
    SourceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn values_are_trimmed_like_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a\t",
            "\u{3000}北京\u{3000}",
            "é ",
            " 上海",
            "a b",
            "\r\n",
        ] {
            assert_eq!(trim_field(s), s.trim(), "{s:?}");
        }
        assert_eq!(vec![" RO1 "].value(0), "RO1");
    }

    #[test]
    fn file_names_map_to_tables() {
        let c = |n: &str| classify(Path::new(n)).unwrap();
        assert_eq!(
            c("repair_orders.csv"),
            Some((Table::RepairOrders, SourceFormat::Csv))
        );
        assert_eq!(
            c("dir/Repair_Orders_2026-10.NDJSON"),
            Some((Table::RepairOrders, SourceFormat::Ndjson))
        );
        assert_eq!(
            c("surveys-part1.jsonl"),
            Some((Table::Surveys, SourceFormat::Ndjson))
        );
        assert_eq!(c("truth.json"), None);
        assert!(classify(Path::new("orders.csv")).is_err());
        assert!(classify(Path::new("repair_ordersX.csv")).is_err());
    }

    #[test]
    fn header_names_are_normalised() {
        assert_eq!(normalise_name("\u{feff} Station ID "), "station_id");
        assert_eq!(normalise_name("opened at"), "opened_at");
    }

    /// The chunk end the way it is defined: the first newline outside
    /// quotes at or after `target - 1`, counting quotes from the start.
    fn naive_split(rest: &[u8], target: usize, quoted: bool) -> (usize, u64) {
        let (mut in_quotes, mut newlines) = (false, 0);
        for (at, &b) in rest.iter().enumerate() {
            match b {
                b'"' if quoted => in_quotes = !in_quotes,
                b'\n' => {
                    newlines += 1;
                    if !in_quotes && at + 1 >= target {
                        return (at + 1, newlines);
                    }
                }
                _ => {}
            }
        }
        (rest.len(), newlines)
    }

    #[test]
    fn chunks_end_at_the_first_record_end_past_the_target() {
        // Deterministic pseudo-random text, dense in quotes and newlines.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let text: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match state % 10 {
                    0 => b'"',
                    1 | 2 => b'\n',
                    3 => b',',
                    _ => b'a',
                }
            })
            .collect();
        for quoted in [true, false] {
            for target in [0, 1, 2, 3, 7, 64, 333, 4999, 5000, 5001, 9000] {
                for start in [0, 1, 17, 2500, 4999, 5000] {
                    let rest = &text[start..];
                    assert_eq!(
                        chunk_end(rest, target, quoted),
                        naive_split(rest, target, quoted),
                        "quoted {quoted}, target {target}, start {start}"
                    );
                }
            }
        }
    }

    /// Property: splitting plain lines at their commas reads every record
    /// (line, byte range, fields, verdict) as csv-core alone reads it, among
    /// quoted fields with commas, quotes and newlines, CRLF and lone CR line
    /// ends, blank and ragged lines, GBK text, and a last line without end.
    #[test]
    fn plain_lines_read_as_csv_core_reads_them() {
        let header = "ro_id,vin,customer_id,station_id,opened_at,closed_at,odometer_km,\
                      job_type,component,complaint_code,labour_hours,labour_cny,parts_cny";
        let mut text = format!("{header}\n").into_bytes();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..4000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let name = match state % 3 {
                0 => "王伟".as_bytes().to_vec(),
                1 => encoding_rs::GBK.encode("王伟").0.into_owned(),
                _ => b"brakes".to_vec(),
            };
            let mut row = format!("RO{i:010},LVVDA21B9MA000000,C00000001,ST000001,").into_bytes();
            row.extend_from_slice(match (state >> 8) % 14 {
                0 => b"\"2024-01-02T10:00:00\"",
                1 => b"\"a, \"\"quoted\"\"\nline\"",
                2 => b"2024-01-02T10:00:00\r",
                _ => b"2024-01-02T10:00:00",
            });
            row.extend_from_slice(b",2024-01-02T11:00:00,100,repair,");
            row.extend_from_slice(&name);
            row.extend_from_slice(b",,1.5,100.00,20.00");
            row.extend_from_slice(match (state >> 16) % 12 {
                0 => b"\r\n",
                1 => b"\n\n",
                2 => b",extra\n",
                3 => b"\r\n\r\n",
                _ => b"\n",
            });
            text.extend_from_slice(&row);
        }
        text.extend_from_slice(b"RO9,LVVDA21B9MA000000,C1,ST1,,,,,,,,,");
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("repair_orders.csv");
        fs::write(&path, &text).unwrap();
        let source = SourceFile {
            path: path.clone(),
            table: Table::RepairOrders,
            format: SourceFormat::Csv,
            bytes: 0,
            blake3: None,
            sha256: None,
        };
        for encoding in [Encoding::Utf8, Encoding::Gbk] {
            let head = RecordReader::open(&source, encoding).unwrap();
            let read = |plain_lines: bool, target: usize| {
                let mut out = Vec::new();
                let mut chunks = head.chunks(&path, target, false).unwrap();
                while let Some(chunk) = chunks.next_chunk() {
                    let mut records = head.records(&chunk);
                    records.plain_lines = plain_lines;
                    while let Some(r) = records.next_record() {
                        let fields = (0..Table::RepairOrders.columns().len())
                            .map(|i| records.fields().field(i).to_owned())
                            .collect::<Vec<_>>();
                        out.push((
                            r.line,
                            r.start,
                            r.end,
                            r.decoded.map_err(|e| e.rule),
                            fields,
                        ));
                    }
                }
                out
            };
            for target in [usize::MAX / 2, 4096] {
                // The kernel is asked for the next chunks, never past the end.
                let mut chunks = head.chunks(&path, target, false).unwrap();
                while chunks.next_chunk().is_some() {
                    let window = chunks
                        .offset
                        .saturating_add(READ_AHEAD_CHUNKS * target.min(4096));
                    assert_eq!(chunks.read_ahead_to, window.min(text.len()));
                }
                let (got, expected) = (read(true, target), read(false, target));
                assert!(expected.len() > 4000, "{encoding:?}");
                if let Some(i) = (0..expected.len()).find(|&i| got.get(i) != expected.get(i)) {
                    panic!(
                        "{encoding:?}, chunks of {target}: record {i}: plain {:?}, csv-core {:?}",
                        got.get(i),
                        expected[i]
                    );
                }
                assert_eq!(got.len(), expected.len(), "{encoding:?}");
            }
        }
    }

    #[test]
    fn gbk_decodes_and_invalid_bytes_do_not() {
        let (gbk, _, _) = encoding_rs::GBK.encode("王伟");
        assert_eq!(decode(&gbk, Encoding::Gbk).as_deref(), Some("王伟"));
        assert_eq!(decode(&gbk, Encoding::Utf8), None);
        assert_eq!(decode(&[0xFF, 0xFF], Encoding::Gbk), None);
    }
}
