//! Tables a user brings to the commands that analyse them (`reliability fit`,
//! `reliability mcf`, `chart --input`): a CSV file with a header row, or a
//! Parquet file. Columns are found by name (the closest name is suggested when
//! one is missing) and every value is checked for what the command needs, so
//! each rejection names the file, the line (the header is line 1, as in an
//! editor; a Parquet file's rows count the same way) and the column, and shows
//! the value.

use std::fmt;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::charts::Frame;

/// Why a user's table was not used.
#[derive(Debug, thiserror::Error)]
pub enum UserTableError {
    /// The file could not be opened or read.
    #[error("`{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a CSV or Parquet table this reader can decode.
    #[error("`{}`: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The table as a whole does not allow the method (too few failures, say).
    #[error("`{}`: {reason}", path.display())]
    Method {
        /// The file.
        path: PathBuf,
        /// What the method needs and what the table has.
        reason: String,
    },
    /// A line, column or value does not meet what the command needs.
    #[error("{at}: {reason}")]
    Rejected {
        /// Where.
        at: Place,
        /// What is wrong and what was expected.
        reason: String,
    },
}

/// A place in a user's table: file, line and, when one is meant, column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub path: PathBuf,
    /// The line, counting the header as line 1.
    pub line: u64,
    /// The column, when the place is a cell.
    pub column: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        Ok(())
    }
}

/// What a time column may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// Finite and above zero (a life: Weibull needs its logarithm).
    Positive,
    /// Finite and at least zero (an age at a repair or at the end of observation).
    NonNegative,
}

/// A user's table, every cell as text (empty cells as `None`), with the line each row starts on.
#[derive(Debug, Clone)]
pub struct UserTable {
    path: PathBuf,
    header: Vec<String>,
    rows: Vec<(u64, Vec<Option<String>>)>,
}

impl UserTable {
    /// Reads a CSV (any extension but `.parquet`) or Parquet file.
    pub fn read(path: &Path) -> Result<UserTable, UserTableError> {
        let is_parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let file = std::fs::File::open(path).map_err(|source| UserTableError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if is_parquet {
            return read_parquet(path, file);
        }
        // The rows are kept anyway, so the text is read whole: line numbers
        // are then counted from the bytes, the same for any line ending.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::BufReader::new(file), &mut bytes).map_err(
            |source| UserTableError::Read {
                path: path.to_path_buf(),
                source,
            },
        )?;
        read_csv(path, &bytes)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True without data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The line data row `row` starts on.
    pub fn line(&self, row: usize) -> u64 {
        self.rows[row].0
    }

    /// A rejection at data row `row` (or the header, `None`), in `column` when given.
    pub fn reject(
        &self,
        row: Option<usize>,
        column: Option<&str>,
        reason: impl Into<String>,
    ) -> UserTableError {
        UserTableError::Rejected {
            at: Place {
                path: self.path.clone(),
                line: row.map_or(1, |r| self.line(r)),
                column: column.map(str::to_owned),
            },
            reason: reason.into(),
        }
    }

    /// A rejection of the table as a whole.
    pub fn reject_table(&self, reason: impl Into<String>) -> UserTableError {
        UserTableError::Method {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// The index of a column, or a rejection that suggests the closest name.
    pub fn column(&self, name: &str) -> Result<usize, UserTableError> {
        if let Some(i) = self.header.iter().position(|h| h == name) {
            return Ok(i);
        }
        let closest = self
            .header
            .iter()
            .map(|h| (edit_distance(&h.to_lowercase(), &name.to_lowercase()), h))
            .min_by_key(|(d, _)| *d)
            .filter(|(d, h)| *d <= (h.chars().count().max(name.chars().count()) / 2).max(1));
        let hint = closest.map_or_else(String::new, |(_, h)| format!("; did you mean `{h}`?"));
        Err(self.reject(
            None,
            None,
            format!(
                "no column `{name}`{hint} (the columns are {})",
                self.header
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    /// A column's values, each required to be present.
    fn present(&self, name: &str) -> Result<Vec<&str>, UserTableError> {
        let c = self.column(name)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(r, (_, cells))| {
                cells[c]
                    .as_deref()
                    .ok_or_else(|| self.reject(Some(r), Some(name), "the value is missing"))
            })
            .collect()
    }

    /// A time column: every value a finite number, above zero or at least zero.
    pub fn times(&self, name: &str, allowed: Times) -> Result<Vec<f64>, UserTableError> {
        let expected = match allowed {
            Times::Positive => "a finite number above 0",
            Times::NonNegative => "a finite number of at least 0",
        };
        let values = self.present(name)?;
        values
            .iter()
            .enumerate()
            .map(|(r, text)| {
                let value: Option<f64> = text.trim().parse().ok();
                match value {
                    Some(v)
                        if v.is_finite()
                            && (v > 0.0 || (allowed == Times::NonNegative && v == 0.0)) =>
                    {
                        Ok(v)
                    }
                    _ => {
                        Err(self.reject(Some(r), Some(name), format!("`{text}` is not {expected}")))
                    }
                }
            })
            .collect()
    }

    /// An event column: exactly `1`/`0` or `true`/`false` in any case.
    pub fn flags(&self, name: &str) -> Result<Vec<bool>, UserTableError> {
        let values = self.present(name)?;
        values
            .iter()
            .enumerate()
            .map(|(r, text)| match text.to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(self.reject(
                    Some(r),
                    Some(name),
                    format!("`{text}` is not an event flag; expected 1 or 0, true or false"),
                )),
            })
            .collect()
    }

    /// A text column (a group or a unit): every value present.
    pub fn texts(&self, name: &str) -> Result<Vec<String>, UserTableError> {
        Ok(self.present(name)?.into_iter().map(str::to_owned).collect())
    }

    /// The table as a chart frame. Each checked column must hold what its
    /// [`Check`] says (flags become 1/0 numbers); any other column is numeric
    /// when all its values are numbers (or empty), else text.
    pub fn frame(&self, checks: &[(&str, Check)]) -> Result<Frame, UserTableError> {
        let mut checked: Vec<(usize, Vec<Option<f64>>)> = Vec::new();
        for &(name, check) in checks {
            let c = self.column(name)?;
            let values: Vec<Option<f64>> = match check {
                Check::Any => continue,
                Check::Number => self
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(r, (_, cells))| match cells[c].as_deref() {
                        None => Ok(None),
                        Some(text) => match text.trim().parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(Some(v)),
                            _ => Err(self.reject(
                                Some(r),
                                Some(name),
                                format!("`{text}` is not a finite number"),
                            )),
                        },
                    })
                    .collect::<Result<_, _>>()?,
                Check::Time(allowed) => self.times(name, allowed)?.into_iter().map(Some).collect(),
                Check::Flag => self
                    .flags(name)?
                    .into_iter()
                    .map(|f| Some(f64::from(u8::from(f))))
                    .collect(),
            };
            checked.push((c, values));
        }
        let mut frame = Frame::new();
        for (c, name) in self.header.iter().enumerate() {
            if let Some((_, values)) = checked.iter().find(|(i, _)| *i == c) {
                frame = frame.optional_number(name, values.clone());
                continue;
            }
            let cells = self.rows.iter().map(|(_, cells)| cells[c].as_deref());
            let numbers: Option<Vec<Option<f64>>> = cells
                .clone()
                .map(|cell| match cell {
                    None => Some(None),
                    Some(text) => text.trim().parse::<f64>().ok().map(Some),
                })
                .collect();
            frame = match numbers {
                Some(numbers) if numbers.iter().any(Option::is_some) => {
                    frame.optional_number(name, numbers)
                }
                _ => frame.text(name, cells.map(|v| v.unwrap_or_default().to_owned())),
            };
        }
        Ok(frame)
    }
}

/// What a chart's column must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Only that it exists.
    Any,
    /// Finite numbers (empty cells allowed).
    Number,
    /// Times, every value present.
    Time(Times),
    /// Event flags: 1/0, true/false.
    Flag,
}

fn read_csv(path: &Path, bytes: &[u8]) -> Result<UserTable, UserTableError> {
    // Line of a byte offset: 1 + the newlines before it, counted forward once.
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    // A record's offset can point at blank lines before it; its line is its first byte's.
    let mut line_at = |offset: u64| -> u64 {
        let mut offset = (offset as usize).min(bytes.len()).max(counted_to);
        while offset < bytes.len() && matches!(bytes[offset], b'\n' | b'\r') {
            offset += 1;
        }
        newlines += memchr::memchr_iter(b'\n', &bytes[counted_to..offset]).count() as u64;
        counted_to = offset;
        newlines + 1
    };
    let rejected = |line: u64, reason: String| UserTableError::Rejected {
        at: Place {
            path: path.to_path_buf(),
            line,
            column: None,
        },
        reason,
    };
    let text = |line: u64, field: &[u8]| -> Result<String, UserTableError> {
        String::from_utf8(field.to_vec())
            .map_err(|_| rejected(line, "the line is not valid UTF-8 text".into()))
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header: Vec<String> = match records.next() {
        None => {
            return Err(rejected(
                1,
                "the file is empty; expected a header row".into(),
            ));
        }
        Some(Err(e)) => return Err(rejected(1, format!("not a CSV header: {e}"))),
        Some(Ok(record)) => record
            .iter()
            .map(|f| text(1, f).map(|t| t.trim().trim_start_matches('\u{feff}').to_owned()))
            .collect::<Result<_, _>>()?,
    };
    if let Some(i) = header.iter().position(String::is_empty) {
        return Err(rejected(
            1,
            format!("column {} of the header has no name", i + 1),
        ));
    }
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::Io(io) => UserTableError::Unreadable {
                path: path.to_path_buf(),
                reason: io.to_string(),
            },
            _ => rejected(
                line_at(e.position().map_or(0, |p| p.byte())),
                format!("not a CSV record: {e}"),
            ),
        })?;
        let line = line_at(record.position().map_or(0, |p| p.byte()));
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue; // a blank line
        }
        if record.len() != header.len() {
            return Err(rejected(
                line,
                format!("{} fields; the header has {}", record.len(), header.len()),
            ));
        }
        let cells = record
            .iter()
            .map(|f| {
                let t = text(line, f)?;
                Ok((!t.trim().is_empty()).then_some(t))
            })
            .collect::<Result<_, UserTableError>>()?;
        rows.push((line, cells));
    }
    Ok(UserTable {
        path: path.to_path_buf(),
        header,
        rows,
    })
}

fn read_parquet(path: &Path, file: std::fs::File) -> Result<UserTable, UserTableError> {
    let unreadable = |reason: String| UserTableError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| unreadable(format!("not a Parquet file: {e}")))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let reader = builder
        .build()
        .map_err(|e| unreadable(format!("cannot read the Parquet file: {e}")))?;
    let mut rows: Vec<(u64, Vec<Option<String>>)> = Vec::new();
    for batch in reader {
        let batch =
            batch.map_err(|e| unreadable(format!("cannot decode the Parquet file: {e}")))?;
        let columns = batch
            .columns()
            .iter()
            .zip(&header)
            .map(|(column, name)| {
                cast(column, &DataType::Utf8)
                    .map_err(|e| unreadable(format!("column `{name}` cannot be read as text: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            let line = rows.len() as u64 + 2;
            let cells = columns
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    c.is_valid(r).then(|| c.value(r).to_owned())
                })
                .collect();
            rows.push((line, cells));
        }
    }
    Ok(UserTable {
        path: path.to_path_buf(),
        header,
        rows,
    })
}

/// Levenshtein distance, for suggesting a column name.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(csv: &str) -> Result<UserTable, UserTableError> {
        read_csv(Path::new("lives.csv"), csv.as_bytes())
    }

    #[test]
    fn rejections_name_the_file_line_and_column() {
        let t = table("unit,time,event\nA,5,1\nB,-5,0\nC,3,2\n").unwrap();
        let err = t.times("time", Times::Positive).unwrap_err().to_string();
        assert_eq!(
            err,
            "lives.csv:3, column `time`: `-5` is not a finite number above 0"
        );
        let err = t.flags("event").unwrap_err().to_string();
        assert_eq!(
            err,
            "lives.csv:4, column `event`: `2` is not an event flag; expected 1 or 0, true or false"
        );
        let err = t.column("tmie").unwrap_err().to_string();
        assert_eq!(
            err,
            "lives.csv:1: no column `tmie`; did you mean `time`? (the columns are `unit`, `time`, `event`)"
        );
    }

    #[test]
    fn lines_count_the_header_and_quoted_newlines() {
        let t = table("unit,time,event\n\"A\nB\",1,TRUE\n\nC,NaN,false\n").unwrap();
        assert_eq!(t.flags("event").unwrap(), vec![true, false]);
        let err = t.times("time", Times::NonNegative).unwrap_err().to_string();
        assert_eq!(
            err,
            "lives.csv:5, column `time`: `NaN` is not a finite number of at least 0"
        );
        let err = table("a,b\n1,2,3\n").unwrap_err().to_string();
        assert_eq!(err, "lives.csv:2: 3 fields; the header has 2");
        let err = table("a,b\n1,\n")
            .unwrap()
            .texts("b")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "lives.csv:2, column `b`: the value is missing");
    }

    /// Every way the commands read a table, on one table; errors are returned as text.
    fn use_every_reader(table: &UserTable) -> Vec<String> {
        let mut errors = Vec::new();
        let mut keep = |r: Result<(), UserTableError>| {
            if let Err(e) = r {
                errors.push(e.to_string());
            }
        };
        keep(table.times("time", Times::Positive).map(drop));
        keep(table.times("time", Times::NonNegative).map(drop));
        keep(table.flags("event").map(drop));
        keep(table.texts("unit").map(drop));
        keep(
            table
                .frame(&[
                    ("time", Check::Number),
                    ("event", Check::Flag),
                    ("unit", Check::Any),
                ])
                .map(drop),
        );
        keep(crate::models::life::fit_user_table(table, "time", "event", Some("unit")).map(drop));
        keep(
            crate::models::life::user_units(
                table,
                "unit",
                "time",
                "event",
                crate::models::life::MissingEnd::Reject,
            )
            .map(drop),
        );
        errors
    }

    /// Property: whatever bytes a CSV or Parquet file holds, reading and
    /// checking it never panics, and every failure names the file.
    #[test]
    fn the_readers_survive_arbitrary_and_mutated_files() {
        use rand::{Rng, SeedableRng};
        let dir = tempfile::tempdir().unwrap();
        let csv =
            b"unit,time,event\na,2,1\na,3,1\na,5.5,0\n\"b, c\",3,TRUE\n\"b, c\",4,1\n\"b, c\",9,false\n"
                .to_vec();
        let parquet = {
            use datafusion::arrow::array::{BooleanArray, Float64Array, StringArray};
            use datafusion::arrow::record_batch::RecordBatch;
            use std::sync::Arc;
            let batch = RecordBatch::try_from_iter([
                (
                    "unit",
                    Arc::new(StringArray::from(vec!["a", "a", "b", "b"])) as _,
                ),
                (
                    "time",
                    Arc::new(Float64Array::from(vec![2.0, 5.0, 3.0, 8.0])) as _,
                ),
                (
                    "event",
                    Arc::new(BooleanArray::from(vec![true, false, true, false])) as _,
                ),
            ])
            .unwrap();
            let mut bytes = Vec::new();
            let mut w =
                datafusion::parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None)
                    .unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            bytes
        };
        let clean = use_every_reader(&read_csv(Path::new("t.csv"), &csv).unwrap());
        assert!(clean.is_empty(), "{clean:?}");
        const NASTY: &[u8] = b",\"\n\r-0.eE1xNaN\xff\xe4 ";
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(30);
        for case in 0..400 {
            let (name, base) = if case % 2 == 0 {
                ("t.csv", &csv)
            } else {
                ("t.parquet", &parquet)
            };
            let mut bytes: Vec<u8> = if case % 10 == 9 {
                (0..rng.random_range(0..400))
                    .map(|_| rng.random::<u8>())
                    .collect()
            } else {
                base.clone()
            };
            for _ in 0..rng.random_range(1..8) {
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
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let shown = path.display().to_string();
            let errors = match UserTable::read(&path) {
                Ok(table) => use_every_reader(&table),
                Err(e) => vec![e.to_string()],
            };
            for e in errors {
                assert!(e.contains(&shown), "case {case}: {e}");
            }
        }
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("time", "time"), 0);
    }
}
