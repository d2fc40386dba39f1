//! Warranty intelligence that looks forward: emerging-issue alarms with
//! false-discovery control ([`alerts`], read from the queries in
//! `queries/warranty/`) and Nevada charts of spreadsheets ([`nevada`]).

pub mod alerts;
pub mod coverage;
pub mod fleet;
pub mod forecast;
pub mod nevada;
pub mod outlook;
pub mod triangle;

use std::path::{Path, PathBuf};

use crate::sql::{QueryFile, SqlError, library};

/// `(name, text)` of `queries/warranty/<name>.sql`, compiled in.
macro_rules! embed_warranty {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/warranty/", $name, ".sql")))),*]
    };
}

/// The warranty queries as compiled into the binary (a test keeps them equal to the folder).
pub const EMBEDDED: &[(&str, &str)] = embed_warranty![
    "cohort_registrations",
    "component_failures",
    "outlook_backtest",
    "outlook_backtest_components",
    "outlook_forecast",
    "outlook_parts",
    "outlook_reserve",
    "outlook_triangle",
];

/// Errors of the warranty module.
#[derive(Debug, thiserror::Error)]
pub enum WarrantyError {
    /// A query failed or could not be bound.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// A query of the module failed.
    #[error("`warranty/{query}.sql`")]
    Query {
        /// The query.
        query: &'static str,
        /// Cause.
        source: SqlError,
    },
    /// The query library lacks a query this module needs.
    #[error("the query library has no `warranty/{0}.sql`")]
    MissingQuery(&'static str),
    /// A query returned columns of the wrong shape.
    #[error("`warranty/{query}.sql` returned an unexpected table")]
    Shape {
        /// The query.
        query: &'static str,
        /// Cause.
        #[source]
        source: crate::charts::ChartError,
    },
    /// The alarm rule is out of range.
    #[error("alarm rule: {0}")]
    Rule(String),
    /// The warehouse has no repair orders to judge.
    #[error("the warehouse has no repair orders")]
    NoData,
    /// A warehouse file could not be opened.
    #[error("could not read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("could not write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Polars failed on a step of the warranty frames.
    #[error("could not {what}")]
    Polars {
        /// The step.
        what: String,
        /// Cause.
        #[source]
        source: polars::prelude::PolarsError,
    },
    /// A warehouse column has an unexpected type.
    #[error("column `{column}`: expected {expected}")]
    Column {
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
    },
    /// The warehouse manifest could not be read.
    #[error("{0}")]
    Warehouse(String),
    /// The alarms could not be encoded as Parquet.
    #[error("could not encode the alarms")]
    Encode(#[source] crate::sql::output::OutputError),
}

/// Where the warranty stage publishes its alarms under an output root.
pub fn alarms_path(out: &Path) -> PathBuf {
    out.join("warranty").join("alarms.parquet")
}

/// Where the warranty stage publishes the outlook as of the last day of data.
pub fn outlook_dir(out: &Path) -> PathBuf {
    out.join("warranty").join("outlook")
}

/// Where the warranty stage publishes the outlook as of the end of the month before the last.
pub fn previous_dir(out: &Path) -> PathBuf {
    out.join("warranty").join("previous")
}

/// Where the warranty stage publishes its backtest (the outlook as of an earlier day).
pub fn backtest_dir(out: &Path) -> PathBuf {
    out.join("warranty").join("backtest")
}

/// Writes the alarms to `OUT/warranty/alarms.parquet` atomically and returns the path.
pub fn write_alarms(out: &Path, alarms: &[alerts::Alarm]) -> Result<PathBuf, WarrantyError> {
    let path = alarms_path(out);
    let dir = path.parent().unwrap_or(out);
    let failed = |source| WarrantyError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let tmp = dir.join(format!(".alarms.parquet.tmp-{}", std::process::id()));
    crate::sql::output::write_parquet(&tmp, &[alerts::alarms_table(alarms).batch()])
        .map_err(WarrantyError::Encode)?;
    std::fs::rename(&tmp, &path).map_err(failed)?;
    Ok(path)
}

/// The warranty queries: `QUERIES/warranty/` when that folder exists, else the compiled-in copies.
pub fn queries(library_dir: Option<&Path>) -> Result<Vec<QueryFile>, SqlError> {
    library::load_subfolder(library_dir, "warranty", EMBEDDED)
}
