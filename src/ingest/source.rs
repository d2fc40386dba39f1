//! Source files: which table a file feeds, its content hash, its text
//! encoding, and a streaming reader that yields each record's fields in
//! schema order, decoded to text, with the record's first line number.
//!
//! CSV headers are matched by name (order-independent, case- and
//! whitespace-tolerant, BOM stripped); quoted fields may hold commas, quotes
//! and newlines; CRLF and LF both end records. NDJSON records are matched by
//! key the same way. Undecodable text is reported per record, never replaced.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::schema::{Column, Table};

/// Format of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// Decide per file: UTF-8 unless most non-ASCII records only decode as GBK.
    Auto,
    /// UTF-8, with or without BOM.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK / GB18030, common in Chinese systems.
    #[value(alias = "gb18030")]
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
    /// SHA-256 of the content, hex.
    pub sha256: String,
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

/// Hashes a file's content.
pub fn sha256_file(path: &Path) -> Result<String, SourceError> {
    let io_err = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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

/// One record read from a file.
pub struct Record {
    /// First line of the record (1-based, the CSV header is line 1).
    pub line: u64,
    /// Byte offset where the record starts.
    pub start: u64,
    /// `Ok` when the fields were decoded into [`RecordReader::values`] (schema
    /// order, empty string = missing); otherwise why they could not be.
    pub decoded: Result<(), Rejection>,
}

/// Streams the records of one source file.
pub struct RecordReader {
    table: Table,
    encoding: Encoding,
    kind: ReaderKind,
    /// Decoded fields of the current record in schema order.
    pub values: Vec<String>,
    /// Columns the header lacks (optional ones only) or extra columns it has.
    pub header_notes: Vec<String>,
}

enum ReaderKind {
    Csv {
        reader: csv::Reader<std::io::Take<File>>,
        record: csv::ByteRecord,
        /// For each source column, the schema column index it feeds.
        mapping: Vec<Option<usize>>,
        width: usize,
        /// Line numbers of record starts, counted on the raw bytes.
        lines: LineTracker,
        /// Byte offset of the reader's first byte in the file.
        byte_base: u64,
    },
    Ndjson {
        reader: BufReader<std::io::Take<File>>,
        line: u64,
        offset: u64,
        buf: Vec<u8>,
    },
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

/// Decodes into a reused buffer (no allocation for UTF-8 input).
fn decode_into(bytes: &[u8], encoding: Encoding, out: &mut String) -> Option<()> {
    out.clear();
    match encoding {
        Encoding::Gbk if !bytes.is_ascii() => out.push_str(&decode(bytes, encoding)?),
        _ => out.push_str(std::str::from_utf8(bytes).ok()?),
    }
    Some(())
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
    /// Opens a file, reads and maps its header (CSV).
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
        let columns = table.columns();
        let kind = match source.format {
            SourceFormat::Csv => {
                let mut reader = csv_reader(file.take(u64::MAX));
                let mut header = csv::ByteRecord::new();
                let ok = reader
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
                let mapping = names
                    .iter()
                    .map(|n| columns.iter().position(|c| c.name == n))
                    .collect();
                let kind = ReaderKind::Csv {
                    reader,
                    record: csv::ByteRecord::new(),
                    mapping,
                    width: names.len(),
                    lines: LineTracker::new(path, 0, 1)?,
                    byte_base: 0,
                };
                let mut notes = Vec::new();
                check_columns(path, table, &names, &mut notes)?;
                return Ok(RecordReader {
                    table,
                    encoding,
                    kind,
                    values: vec![String::new(); columns.len()],
                    header_notes: notes,
                });
            }
            SourceFormat::Ndjson => ReaderKind::Ndjson {
                reader: BufReader::with_capacity(1 << 20, file.take(u64::MAX)),
                line: 0,
                offset: 0,
                buf: Vec::new(),
            },
        };
        Ok(RecordReader {
            table,
            encoding,
            kind,
            values: vec![String::new(); columns.len()],
            header_notes: Vec::new(),
        })
    }

    /// Byte offset where the data records start (after the CSV header).
    pub fn data_start(&self) -> u64 {
        match &self.kind {
            ReaderKind::Csv { reader, .. } => reader.position().byte(),
            ReaderKind::Ndjson { .. } => 0,
        }
    }

    /// A reader for one [`Segment`] of the same file, with this reader's header mapping.
    pub fn segment(&self, path: &Path, segment: &Segment) -> Result<RecordReader, SourceError> {
        use std::io::{Seek, SeekFrom};
        let io_err = |source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        file.seek(SeekFrom::Start(segment.start)).map_err(io_err)?;
        let limited = file.take(segment.end - segment.start);
        let kind = match &self.kind {
            ReaderKind::Csv { mapping, width, .. } => ReaderKind::Csv {
                reader: csv_reader(limited),
                record: csv::ByteRecord::new(),
                mapping: mapping.clone(),
                width: *width,
                lines: LineTracker::new(path, segment.start, segment.first_line)?,
                byte_base: segment.start,
            },
            ReaderKind::Ndjson { .. } => ReaderKind::Ndjson {
                reader: BufReader::with_capacity(1 << 20, limited),
                line: segment.first_line - 1,
                offset: segment.start,
                buf: Vec::new(),
            },
        };
        Ok(RecordReader {
            table: self.table,
            encoding: self.encoding,
            kind,
            values: vec![String::new(); self.values.len()],
            header_notes: Vec::new(),
        })
    }

    /// Reads the next record into [`RecordReader::values`]; `None` at the end.
    pub fn next_record(&mut self, path: &Path) -> Result<Option<Record>, SourceError> {
        let columns = self.table.columns();
        match &mut self.kind {
            ReaderKind::Csv {
                reader,
                record,
                mapping,
                width,
                lines,
                byte_base,
            } => {
                if !reader
                    .read_byte_record(record)
                    .map_err(|e| csv_io(path, e))?
                {
                    return Ok(None);
                }
                let pos = record.position().expect("csv records carry positions");
                let (start, line) =
                    lines
                        .record_start(*byte_base + pos.byte())
                        .map_err(|source| SourceError::Io {
                            path: path.to_path_buf(),
                            source,
                        })?;
                for v in &mut self.values {
                    v.clear(); // a rejected record never shows the previous record's values
                }
                if record.len() != *width {
                    let found = record.len();
                    let decoded = Err(Rejection {
                        column: None,
                        rule: "ragged_line",
                        message: format!("expected {width} fields as in the header, found {found}"),
                    });
                    return Ok(Some(Record {
                        line,
                        start,
                        decoded,
                    }));
                }
                for (field, target) in record.iter().zip(mapping.iter()) {
                    let Some(i) = *target else { continue };
                    if decode_into(field, self.encoding, &mut self.values[i]).is_none() {
                        let decoded = Err(Rejection::column(
                            columns[i].name,
                            "undecodable_text",
                            format!("bytes are not valid {} text", self.encoding.name()),
                        ));
                        return Ok(Some(Record {
                            line,
                            start,
                            decoded,
                        }));
                    }
                }
                Ok(Some(Record {
                    line,
                    start,
                    decoded: Ok(()),
                }))
            }
            ReaderKind::Ndjson {
                reader,
                line,
                offset,
                buf,
            } => loop {
                use std::io::BufRead as _;
                buf.clear();
                let n = reader
                    .read_until(b'\n', buf)
                    .map_err(|source| SourceError::Io {
                        path: path.to_path_buf(),
                        source,
                    })?;
                if n == 0 {
                    return Ok(None);
                }
                *line += 1;
                let start = *offset;
                *offset += n as u64;
                let text = trim_line_end(buf);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue; // blank lines are not records
                }
                for v in &mut self.values {
                    v.clear(); // a rejected record never shows the previous record's values
                }
                let decoded = match decode(text, self.encoding) {
                    None => Err(Rejection {
                        column: None,
                        rule: "undecodable_text",
                        message: format!("bytes are not valid {} text", self.encoding.name()),
                    }),
                    Some(text) => fill_from_json(&text, columns, &mut self.values),
                };
                return Ok(Some(Record {
                    line: *line,
                    start,
                    decoded,
                }));
            },
        }
    }
}

/// Counts newlines in a file's raw bytes to give the line number of any
/// later offset (the csv crate's own counter does not count newlines inside
/// quoted fields the same way). Offsets must not decrease.
struct LineTracker {
    reader: BufReader<File>,
    offset: u64,
    line: u64,
}

impl LineTracker {
    fn new(path: &Path, offset: u64, line: u64) -> Result<LineTracker, SourceError> {
        use std::io::{Seek, SeekFrom};
        let io_err = |source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
        Ok(LineTracker {
            reader: BufReader::with_capacity(1 << 20, file),
            offset,
            line,
        })
    }

    /// The true start and line of a record that the csv crate places at
    /// `target`: it may point at the `\n` of a CRLF or at blank lines, which
    /// belong before the record.
    fn record_start(&mut self, target: u64) -> io::Result<(u64, u64)> {
        use std::io::BufRead as _;
        while self.offset < target {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min((target - self.offset) as usize);
            self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            self.reader.consume(n);
            self.offset += n as u64;
        }
        loop {
            let buf = self.reader.fill_buf()?;
            match buf.first() {
                Some(b'\n') => self.line += 1,
                Some(b'\r') => {}
                _ => return Ok((self.offset, self.line)),
            }
            self.reader.consume(1);
            self.offset += 1;
        }
    }
}

fn csv_reader(input: std::io::Take<File>) -> csv::Reader<std::io::Take<File>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(input)
}

/// Files with less data than this are read by one thread.
pub const MIN_SPLIT_BYTES: u64 = 8 << 20;

/// A byte range of a file that starts and ends at record boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Line number of the first byte (1-based).
    pub first_line: u64,
}

/// Splits the records of a file, from byte `from` on, into up to `parts`
/// segments of similar size that can be parsed independently; files with
/// fewer than `min_bytes` of records stay whole.
///
/// A split point is a newline outside any quoted field: with RFC 4180
/// quoting (`""` escapes a quote), a newline is outside quotes exactly when
/// the number of quote characters before it is even. Files too small to be
/// worth splitting give one segment.
pub fn segments(
    path: &Path,
    from: u64,
    parts: usize,
    min_bytes: u64,
) -> Result<Vec<Segment>, SourceError> {
    let io_err = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io_err)?.len();
    let whole = |first_line| {
        vec![Segment {
            start: from,
            end: len,
            first_line,
        }]
    };
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err)?);
    if parts < 2 || len - from < min_bytes.max(1) {
        let mut head = vec![0u8; from as usize];
        file.read_exact(&mut head).map_err(io_err)?;
        return Ok(whole(
            head.iter().filter(|b| **b == b'\n').count() as u64 + 1,
        ));
    }
    let (mut offset, mut newlines, mut quotes) = (0u64, 0u64, 0u64);
    let mut first_line = None;
    let mut cuts = Vec::new();
    let mut next_target = from + (len - from) / parts as u64;
    loop {
        use std::io::BufRead as _;
        let buf = file.fill_buf().map_err(io_err)?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        for (i, &b) in buf.iter().enumerate() {
            let at = offset + i as u64;
            if at == from {
                first_line = Some(newlines + 1);
            }
            match b {
                b'"' => quotes += 1,
                b'\n' => {
                    newlines += 1;
                    if at >= next_target
                        && quotes % 2 == 0
                        && cuts.len() + 1 < parts
                        && at + 1 < len
                    {
                        cuts.push((at + 1, newlines + 1));
                        next_target = from + (len - from) * (cuts.len() as u64 + 1) / parts as u64;
                    }
                }
                _ => {}
            }
        }
        offset += n as u64;
        file.consume(n);
    }
    let first_line = first_line.unwrap_or(newlines + 1);
    if cuts.is_empty() {
        return Ok(whole(first_line));
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let (mut start, mut line) = (from, first_line);
    for (cut, cut_line) in cuts {
        out.push(Segment {
            start,
            end: cut,
            first_line: line,
        });
        (start, line) = (cut, cut_line);
    }
    out.push(Segment {
        start,
        end: len,
        first_line: line,
    });
    Ok(out)
}

fn trim_line_end(buf: &[u8]) -> &[u8] {
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

    #[test]
    fn gbk_decodes_and_invalid_bytes_do_not() {
        let (gbk, _, _) = encoding_rs::GBK.encode("王伟");
        assert_eq!(decode(&gbk, Encoding::Gbk).as_deref(), Some("王伟"));
        assert_eq!(decode(&gbk, Encoding::Utf8), None);
        assert_eq!(decode(&[0xFF, 0xFF], Encoding::Gbk), None);
    }
}
