//! Printing for people (aligned tables) and for scripts (JSON), in one place.

use serde::Serialize;

use aftersight::ingest::{FileStatus, IngestReport};
use aftersight::models::ResultTable;
use aftersight::sql::output::{self, ResultFormat};

use super::args::SummaryFormat;
use super::usage;

/// Pretty JSON on standard output.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A result table as text, CSV or JSON on standard output.
pub fn result_table(table: ResultTable, format: ResultFormat) -> anyhow::Result<()> {
    if format == ResultFormat::Parquet {
        usage!("use --format table, csv or json here (--out writes Parquet)");
    }
    output::write_text(&mut std::io::stdout().lock(), &[table.batch()], format)?;
    Ok(())
}

/// The ingest summary: per file, per table, and what was quarantined.
pub fn ingest(report: &IngestReport, format: SummaryFormat) -> anyhow::Result<()> {
    if format == SummaryFormat::Json {
        return json(report);
    }
    println!(
        "{:<40} {:<16} {:>10} {:>10} {:>8}  top reasons",
        "file", "table", "read", "published", "bad"
    );
    for f in &report.files {
        let name = f.path.file_name().map_or_else(
            || f.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let reasons: Vec<String> = f
            .top_reasons
            .iter()
            .take(3)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let unchanged = f.status == FileStatus::Unchanged;
        let status = if unchanged {
            " (unchanged, skipped)"
        } else {
            ""
        };
        println!(
            "{:<40} {:<16} {:>10} {:>10} {:>8}  {}{status}",
            name,
            f.table,
            f.rows_read,
            f.rows_published,
            f.rows_quarantined,
            reasons.join(", ")
        );
        for note in &f.notes {
            if !unchanged {
                println!("    note: {note}");
            }
        }
    }
    if report.published {
        println!(
            "\npublished batch {} to {}",
            report.batch,
            report.warehouse.display()
        );
    } else {
        println!("\nnothing new to publish in {}", report.warehouse.display());
    }
    println!("{:<16} {:>12} {:>12}", "table", "added", "total");
    for t in &report.tables {
        println!("{:<16} {:>12} {:>12}", t.table, t.rows_added, t.rows_total);
    }
    if report.rows_quarantined > 0 {
        println!(
            "{} rows quarantined (see {}/quarantine)",
            report.rows_quarantined,
            report.warehouse.display()
        );
    }
    if report.leftovers_removed > 0 {
        println!(
            "removed {} leftover files of an interrupted run",
            report.leftovers_removed
        );
    }
    Ok(())
}

/// The tables of an export: rows, planted faulty rows and size.
pub fn tables<'a>(rows: impl Iterator<Item = (&'a str, u64, u64, u64)>) {
    println!(
        "{:<16} {:>12} {:>8} {:>10}",
        "table", "rows", "faulty", "MB"
    );
    for (table, rows, faulty, bytes) in rows {
        println!(
            "{table:<16} {rows:>12} {faulty:>8} {:>10.2}",
            bytes as f64 / 1e6
        );
    }
}

/// A Polars frame (the warranty module's tables) as an aligned table, CSV or JSON on standard output.
pub fn frame(frame: &polars::prelude::DataFrame, format: ResultFormat) -> anyhow::Result<()> {
    use polars::prelude::AnyValue;
    use std::io::Write as _;
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let cell = |v: AnyValue| -> serde_json::Value {
        match v {
            AnyValue::Null => serde_json::Value::Null,
            AnyValue::Boolean(b) => b.into(),
            AnyValue::String(s) => s.into(),
            AnyValue::StringOwned(s) => s.as_str().into(),
            AnyValue::Float64(x) => {
                serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)
            }
            AnyValue::Float32(x) => serde_json::Number::from_f64(f64::from(x))
                .map_or(serde_json::Value::Null, Into::into),
            AnyValue::Int64(x) => x.into(),
            AnyValue::Int32(x) => x.into(),
            AnyValue::UInt32(x) => x.into(),
            AnyValue::UInt64(x) => x.into(),
            other => other.to_string().into(),
        }
    };
    let mut rows: Vec<Vec<serde_json::Value>> = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let row = frame.get_row(i)?;
        rows.push(row.0.into_iter().map(cell).collect());
    }
    let text = |v: &serde_json::Value, round: bool| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if round && n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            format!("{:.3}", x)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
        other => other.to_string(),
    };
    let mut out = std::io::stdout().lock();
    match format {
        ResultFormat::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .into_iter()
                .map(|r| names.iter().cloned().zip(r).collect())
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&objects)?)?;
        }
        ResultFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(&names)?;
            for r in &rows {
                writer.write_record(r.iter().map(|v| text(v, false)))?;
            }
            writer.flush()?;
        }
        ResultFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|v| text(v, true)).collect())
                .collect();
            let widths: Vec<usize> = (0..names.len())
                .map(|j| {
                    cells
                        .iter()
                        .map(|r| r[j].chars().count())
                        .chain([names[j].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let numeric: Vec<bool> = (0..names.len())
                .map(|j| rows.iter().all(|r| r[j].is_number() || r[j].is_null()))
                .collect();
            let line = |values: &[String]| {
                values
                    .iter()
                    .enumerate()
                    .map(|(j, v)| {
                        if numeric[j] {
                            format!("{v:>w$}", w = widths[j])
                        } else {
                            format!("{v:<w$}", w = widths[j])
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            writeln!(out, "{}", line(&names))?;
            for r in &cells {
                writeln!(out, "{}", line(r).trim_end())?;
            }
        }
        ResultFormat::Parquet => usage!(
            "use --format table, csv or json here (the tables are written as Parquet under --out)"
        ),
    }
    Ok(())
}
