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

/// Writes CSV for spreadsheets: every cell that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or carriage return, and
/// not a plain number) is prefixed with `'`.
pub fn write_safe_csv(out: &mut dyn Write, batches: &[RecordBatch]) -> Result<(), OutputError> {
    let mut w = csv::Writer::from_writer(out);
    if let Some(first) = batches.first() {
        let schema = first.schema();
        w.write_record(schema.fields().iter().map(|f| f.name().as_str()))
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
