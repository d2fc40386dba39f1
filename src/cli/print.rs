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
