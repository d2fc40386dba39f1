//! Writes rows as a dealer-management-system export would: CSV with a header
//! (RFC 4180 quoting) or NDJSON, one record per line, UTF-8.
//!
//! [`ExportWriter`] also plants dirt: after a clean row it may add a faulty
//! row derived from it (see [`DirtKind`]) and record its file, line and kind.
//! Dirt is only ever *added*: the clean rows are the same bytes with or
//! without dirt, so removing the listed lines gives back the clean export.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::dates::{push_date, push_timestamp};
use crate::schema::{ColumnType, Table};

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// Newline-delimited JSON objects.
    Ndjson,
}

impl ExportFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// Raw bytes written as they are (used for wrongly encoded text).
    Bytes(Vec<u8>),
    /// Integer.
    Int(i64),
    /// Amount or hours, written with two decimals.
    Decimal(f64),
    /// Boolean.
    Bool(bool),
    /// Day number.
    Date(i32),
    /// Seconds since epoch.
    Timestamp(i64),
    /// Literal text that replaces a value of another type (bad dates and the like).
    Raw(&'static str),
    /// Missing value.
    Null,
}

/// Kinds of faulty rows real exports contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirtKind {
    /// A date that is malformed or does not exist.
    BadDate,
    /// A negative amount.
    NegativeAmount,
    /// A value outside its allowed range (scores, bays, odometer).
    OutOfRange,
    /// A VIN that is well-formed but unknown to the vehicles table.
    UnknownVin,
    /// A customer id unknown to the customers table.
    UnknownCustomer,
    /// A primary key that an earlier row already used.
    DuplicateId,
    /// Too few fields (CSV) or a truncated object (NDJSON).
    RaggedLine,
    /// A required field left empty.
    MissingRequired,
    /// A VIN whose check digit is wrong.
    InvalidVinCheckDigit,
    /// Text in GBK instead of UTF-8.
    WrongEncoding,
    /// A repair order closed before it was opened.
    ClosedBeforeOpened,
}

impl DirtKind {
    /// The kinds that make sense for a table.
    pub fn for_table(table: Table) -> &'static [DirtKind] {
        use DirtKind::*;
        match table {
            Table::Stations => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                WrongEncoding,
                OutOfRange,
            ],
            Table::Customers => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                WrongEncoding,
            ],
            Table::Vehicles => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                InvalidVinCheckDigit,
                UnknownCustomer,
            ],
            Table::Transactions => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                NegativeAmount,
                UnknownVin,
                UnknownCustomer,
                InvalidVinCheckDigit,
            ],
            Table::RepairOrders => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                NegativeAmount,
                UnknownVin,
                UnknownCustomer,
                InvalidVinCheckDigit,
                ClosedBeforeOpened,
                OutOfRange,
            ],
            Table::WarrantyClaims => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                NegativeAmount,
                UnknownVin,
            ],
            Table::Surveys => &[
                BadDate,
                MissingRequired,
                RaggedLine,
                DuplicateId,
                OutOfRange,
            ],
        }
    }
}

/// One planted faulty row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirtyRow {
    /// Table.
    pub table: &'static str,
    /// File name within the export directory.
    pub file: String,
    /// 1-based line number in the file.
    pub line: u64,
    /// What is wrong.
    pub kind: DirtKind,
    /// Primary-key text of the row as written (empty if the row has none).
    pub key: String,
}

/// Supplies replacement keys that never collide with clean ones.
pub trait FreshKeys {
    /// A fresh primary key for `table`.
    fn fresh_key(&mut self, table: Table) -> String;
    /// A well-formed VIN that no vehicle has.
    fn unknown_vin(&mut self) -> String;
    /// A customer id that no customer has.
    fn unknown_customer(&mut self) -> String;
}

/// Writes one table's export file, planting dirt at `rate`.
pub struct ExportWriter {
    table: Table,
    format: ExportFormat,
    file_name: String,
    out: BufWriter<File>,
    line: u64,
    rows: u64,
    buf: Vec<u8>,
    dirt_rate: f64,
    dirt_rng: ChaCha8Rng,
    /// Faulty rows written so far.
    pub dirt: Vec<DirtyRow>,
}

impl ExportWriter {
    /// Creates `dir/<table>.<ext>` and writes the CSV header.
    pub fn create(
        dir: &Path,
        table: Table,
        format: ExportFormat,
        dirt_rate: f64,
        dirt_seed: u64,
    ) -> io::Result<Self> {
        let file_name = format!("{}.{}", table.name(), format.extension());
        let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join(&file_name))?);
        let mut line = 0;
        if format == ExportFormat::Csv {
            let header: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
            out.write_all(header.join(",").as_bytes())?;
            out.write_all(b"\n")?;
            line = 1;
        }
        Ok(ExportWriter {
            table,
            format,
            file_name,
            out,
            line,
            rows: 0,
            buf: Vec::with_capacity(512),
            dirt_rate,
            dirt_rng: ChaCha8Rng::seed_from_u64(dirt_seed),
            dirt: Vec::new(),
        })
    }

    /// Writes a clean row, then possibly a faulty row derived from it.
    pub fn write(&mut self, row: &[Value], keys: &mut dyn FreshKeys) -> io::Result<()> {
        debug_assert_eq!(row.len(), self.table.columns().len(), "{}", self.table);
        self.emit(row, None)?;
        if self.dirt_rate > 0.0 && self.dirt_rng.random_bool(self.dirt_rate) {
            let kinds = DirtKind::for_table(self.table);
            let kind = kinds[self.dirt_rng.random_range(0..kinds.len())];
            let dirty = self.corrupt(row, kind, keys);
            let key = match &dirty[0] {
                Value::Text(s) => s.clone(),
                _ => String::new(),
            };
            let truncate = (kind == DirtKind::RaggedLine).then_some(row.len() - 2);
            self.emit(&dirty, truncate)?;
            self.dirt.push(DirtyRow {
                table: self.table.name(),
                file: self.file_name.clone(),
                line: self.line,
                kind,
                key,
            });
        }
        Ok(())
    }

    /// Builds the faulty variant of `row`. Every variant but `DuplicateId`
    /// gets a fresh key, so each faulty row breaks exactly one rule.
    fn corrupt(&mut self, row: &[Value], kind: DirtKind, keys: &mut dyn FreshKeys) -> Vec<Value> {
        let cols = self.table.columns();
        let mut r = row.to_vec();
        if kind != DirtKind::DuplicateId {
            r[0] = Value::Text(keys.fresh_key(self.table));
        }
        let rng = &mut self.dirt_rng;
        let find = |pred: &dyn Fn(usize) -> bool| (1..cols.len()).find(|&i| pred(i));
        match kind {
            DirtKind::BadDate => {
                let i = find(&|i| matches!(cols[i].ty, ColumnType::Date | ColumnType::Timestamp))
                    .expect("tables with bad_date dirt have a date column");
                const BAD: [&str; 5] = [
                    "2024-13-45",
                    "31/02/2024",
                    "2023-02-29",
                    "yesterday",
                    "0000-00-00",
                ];
                r[i] = Value::Raw(BAD[rng.random_range(0..BAD.len())]);
            }
            DirtKind::NegativeAmount => {
                let i = find(&|i| cols[i].unit == Some("CNY")).expect("amount column");
                let amount = match r[i] {
                    Value::Decimal(v) => v.abs().max(1.0),
                    _ => 100.0,
                };
                r[i] = Value::Decimal(-amount);
            }
            DirtKind::OutOfRange => match self.table {
                Table::Surveys => {
                    let i = rng.random_range(3..9);
                    r[i] = Value::Int(if rng.random_bool(0.5) { 11 } else { -1 });
                }
                Table::Stations => r[7] = Value::Int(-rng.random_range(1..5)),
                _ => {
                    let i = find(&|i| cols[i].unit == Some("km")).expect("odometer column");
                    r[i] = Value::Int(-rng.random_range(1..100_000));
                }
            },
            DirtKind::UnknownVin => {
                let i = self
                    .table
                    .column_index("vin")
                    .expect("tables with unknown_vin dirt have a vin");
                r[i] = Value::Text(keys.unknown_vin());
            }
            DirtKind::UnknownCustomer => {
                let i = find(&|i| {
                    matches!(
                        cols[i].name,
                        "customer_id" | "buyer_id" | "original_owner_id"
                    )
                })
                .expect("tables with unknown_customer dirt refer to a customer");
                r[i] = Value::Text(keys.unknown_customer());
            }
            DirtKind::DuplicateId => {
                // Same key, different content: a re-exported, edited record.
                let i =
                    find(&|i| !matches!(r[i], Value::Null) && cols[i].unit.is_some()).unwrap_or(1);
                r[i] = match &r[i] {
                    Value::Decimal(v) => Value::Decimal((v * 1.1 * 100.0).round() / 100.0 + 1.0),
                    Value::Int(v) if *v > 1 => Value::Int(v - 1),
                    Value::Int(v) => Value::Int(v + 1),
                    other => other.clone(),
                };
            }
            DirtKind::RaggedLine => {}
            DirtKind::MissingRequired => {
                let required: Vec<usize> = (1..cols.len()).filter(|&i| cols[i].required).collect();
                r[required[rng.random_range(0..required.len())]] = Value::Null;
            }
            DirtKind::InvalidVinCheckDigit => {
                // Vehicles get a new VIN (their own is the key); others mistype the vehicle's.
                let i = self
                    .table
                    .column_index("vin")
                    .expect("tables with VIN dirt have a vin");
                let vin = match (&r[i], self.table) {
                    (Value::Text(v), t) if t != Table::Vehicles => v.clone(),
                    _ => keys.unknown_vin(),
                };
                let mut b = vin.into_bytes();
                b[8] = match b[8] {
                    b'X' => b'0',
                    b'9' => b'X',
                    d => d + 1,
                };
                r[i] = Value::Text(String::from_utf8(b).expect("ASCII VIN"));
            }
            DirtKind::WrongEncoding => {
                let i = 1; // `name`, Chinese text
                if let Value::Text(s) = &r[i] {
                    let mut gbk = encoding_rs::GBK.encode(s).0.into_owned();
                    if std::str::from_utf8(&gbk).is_ok() {
                        // GBK never uses 0xFF; it keeps the line undecodable as UTF-8.
                        gbk.push(0xFF);
                    }
                    r[i] = Value::Bytes(gbk);
                }
            }
            DirtKind::ClosedBeforeOpened => {
                if let (Value::Timestamp(opened), Value::Timestamp(_)) = (&r[4], &r[5]) {
                    r[5] = Value::Timestamp(opened - rng.random_range(3600..86_400 * 3));
                }
            }
        }
        r
    }

    fn emit(&mut self, row: &[Value], truncate_to: Option<usize>) -> io::Result<()> {
        self.buf.clear();
        let cols = self.table.columns();
        match self.format {
            ExportFormat::Csv => {
                for (i, v) in row
                    .iter()
                    .take(truncate_to.unwrap_or(row.len()))
                    .enumerate()
                {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    push_csv(&mut self.buf, v);
                }
            }
            ExportFormat::Ndjson => {
                self.buf.push(b'{');
                for (i, (v, c)) in row.iter().zip(cols).enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    self.buf.push(b'"');
                    self.buf.extend_from_slice(c.name.as_bytes());
                    self.buf.extend_from_slice(b"\":");
                    push_json(&mut self.buf, v);
                }
                self.buf.push(b'}');
                if let Some(n) = truncate_to {
                    // A record cut off mid-way, as a broken transfer leaves it.
                    let cut = self.buf.len() * n / (n + 2);
                    self.buf.truncate(cut);
                    while self.buf.last().is_some_and(|b| *b >= 0x80) {
                        self.buf.pop();
                    }
                }
            }
        }
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)?;
        self.line += 1;
        self.rows += 1;
        Ok(())
    }

    /// Flushes the file; returns `(file name, lines of data written)`.
    pub fn finish(mut self) -> io::Result<(String, u64, Vec<DirtyRow>)> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok((self.file_name, self.rows, self.dirt))
    }
}

fn push_decimal(buf: &mut Vec<u8>, v: f64) {
    use std::io::Write as _;
    write!(buf, "{v:.2}").expect("writing to a Vec cannot fail");
}

fn push_csv(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Text(s) => {
            if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                buf.push(b'"');
                for b in s.bytes() {
                    if b == b'"' {
                        buf.push(b'"');
                    }
                    buf.push(b);
                }
                buf.push(b'"');
            } else {
                buf.extend_from_slice(s.as_bytes());
            }
        }
        Value::Bytes(b) => buf.extend_from_slice(b),
        Value::Int(i) => buf.extend_from_slice(i.to_string().as_bytes()),
        Value::Decimal(d) => push_decimal(buf, *d),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Date(d) => push_date(buf, *d),
        Value::Timestamp(t) => push_timestamp(buf, *t),
        Value::Raw(s) => buf.extend_from_slice(s.as_bytes()),
        Value::Null => {}
    }
}

fn push_json(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Text(s) => {
            serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
        }
        Value::Bytes(b) => {
            buf.push(b'"');
            buf.extend_from_slice(b);
            buf.push(b'"');
        }
        Value::Int(i) => buf.extend_from_slice(i.to_string().as_bytes()),
        Value::Decimal(d) => push_decimal(buf, *d),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Date(_) | Value::Timestamp(_) => {
            buf.push(b'"');
            push_csv(buf, v);
            buf.push(b'"');
        }
        Value::Raw(s) => {
            serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
        }
        Value::Null => buf.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut b = Vec::new();
        push_csv(&mut b, &Value::Text("速驰快修(浦东, 张江店)".into()));
        assert_eq!(String::from_utf8(b).unwrap(), "\"速驰快修(浦东, 张江店)\"");
        let mut b = Vec::new();
        push_csv(&mut b, &Value::Text("say \"hi\"".into()));
        assert_eq!(String::from_utf8(b).unwrap(), "\"say \"\"hi\"\"\"");
        let mut b = Vec::new();
        push_csv(&mut b, &Value::Text("plain".into()));
        assert_eq!(b, b"plain");
    }

    #[test]
    fn json_values_are_typed() {
        let mut b = Vec::new();
        for v in [
            Value::Text("王\"伟".into()),
            Value::Decimal(1.5),
            Value::Null,
            Value::Date(0),
        ] {
            push_json(&mut b, &v);
            b.push(b' ');
        }
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "\"王\\\"伟\" 1.50 null \"1970-01-01\" "
        );
    }
}
