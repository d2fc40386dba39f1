//! Query results as text for people (`table`), or as CSV, JSON and Parquet
//! for other programs.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;

/// How to write results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// Parquet (to `--output FILE`).
    Parquet,
}

/// Errors writing results.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Arrow failed to format.
    #[error("cannot format the results")]
    Arrow(#[from] ArrowError),
    /// Parquet failed to encode.
    #[error("cannot write Parquet")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// Writing failed.
    #[error("cannot write the results")]
    Io(#[from] std::io::Error),
}

/// Writes batches in a text format (table, CSV or JSON). Each batch is
/// formatted in memory first, so that a closed pipe surfaces as an
/// [`std::io::Error`] of kind `BrokenPipe`.
pub fn write_text(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    format: ResultFormat,
) -> Result<(), OutputError> {
    let mut buf = Vec::new();
    match format {
        ResultFormat::Table => {
            writeln!(buf, "{}", pretty_format_batches(batches)?)?;
            out.write_all(&buf)?;
        }
        ResultFormat::Csv => {
            for (i, b) in batches.iter().enumerate() {
                buf.clear();
                let mut w = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(i == 0)
                    .build(&mut buf);
                w.write(b)?;
                drop(w);
                out.write_all(&buf)?;
            }
        }
        ResultFormat::Json | ResultFormat::Parquet => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut buf);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            w.write_batches(&refs)?;
            w.finish()?;
            drop(w);
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes batches to a Parquet file (zstd).
pub fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<(), OutputError> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let file = std::fs::File::create(path)?;
    let mut w = ArrowWriter::try_new(file, first.schema(), None)?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(())
}

/// The header row of a CSV: the column keys (`labour_cny`), or their names
/// in English or Chinese with units from `src/terms/columns.csv` ("Labour
/// (CNY)", "工时费（元）"; a column the registry lacks keeps its key). The
/// values stay raw either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvHeaders {
    /// The column keys, as the queries name them.
    #[default]
    Keys,
    /// English names with units.
    English,
    /// Chinese names with units.
    Chinese,
}

impl CsvHeaders {
    /// Parses a setting's value: `keys`, `en` or `zh`.
    pub fn parse(text: &str) -> Option<CsvHeaders> {
        match text {
            "keys" => Some(CsvHeaders::Keys),
            "en" => Some(CsvHeaders::English),
            "zh" => Some(CsvHeaders::Chinese),
            _ => None,
        }
    }

    /// The batches with their columns renamed to these headers (for `sql --format csv`).
    pub fn rename(self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, ArrowError> {
        if self == CsvHeaders::Keys {
            return Ok(batches);
        }
        batches
            .into_iter()
            .map(|b| {
                let fields: Vec<_> = b
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_name(self.name(f.name())))
                    .collect();
                let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
                RecordBatch::try_new(schema, b.columns().to_vec())
            })
            .collect()
    }

    /// The header of a column.
    pub fn name(self, key: &str) -> String {
        let lang = match self {
            CsvHeaders::Keys => return key.to_owned(),
            CsvHeaders::English => crate::charts::Lang::En,
            CsvHeaders::Chinese => crate::charts::Lang::Zh,
        };
        crate::terms::columns::column(key).map_or_else(|| key.to_owned(), |t| t.header(lang))
    }
}

/// Writes CSV for spreadsheets: every cell that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or carriage return, and
/// not a plain number) is prefixed with `'`.
pub fn write_safe_csv(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    headers: CsvHeaders,
) -> Result<(), OutputError> {
    let mut w = csv::Writer::from_writer(out);
    if let Some(first) = batches.first() {
        let schema = first.schema();
        w.write_record(schema.fields().iter().map(|f| headers.name(f.name())))
            .map_err(csv_err)?;
    }
    for b in batches {
        let columns: Vec<StringArray> = b
            .columns()
            .iter()
            .map(|c| {
                let s = cast(c, &DataType::Utf8)?;
                Ok(s.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8")
                    .clone())
            })
            .collect::<Result<_, ArrowError>>()?;
        for row in 0..b.num_rows() {
            let cells = columns.iter().map(|c| {
                if c.is_null(row) {
                    String::new()
                } else {
                    neutralise(c.value(row))
                }
            });
            w.write_record(cells).map_err(csv_err)?;
        }
    }
    w.flush()?;
    Ok(())
}

fn csv_err(e: csv::Error) -> OutputError {
    OutputError::Io(std::io::Error::other(e.to_string()))
}

/// Prefixes a cell that a spreadsheet would evaluate as a formula.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    if risky {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-12.5"), "-12.5");
        assert_eq!(neutralise("上海"), "上海");
    }
}
