//! Warranty intelligence that looks forward. So far: emerging-issue alarms
//! with false-discovery control ([`alerts`]), read from the queries in
//! `queries/warranty/`.

pub mod alerts;

use std::path::Path;

use crate::sql::{QueryFile, SqlError, library};

/// `(name, text)` of `queries/warranty/<name>.sql`, compiled in.
macro_rules! embed_warranty {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/warranty/", $name, ".sql")))),*]
    };
}

/// The warranty queries as compiled into the binary (a test keeps them equal to the folder).
pub const EMBEDDED: &[(&str, &str)] = embed_warranty!["cohort_registrations", "component_failures"];

/// Errors of the warranty module.
#[derive(Debug, thiserror::Error)]
pub enum WarrantyError {
    /// A query failed or could not be bound.
    #[error(transparent)]
    Sql(#[from] SqlError),
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
}

/// The warranty queries: `QUERIES/warranty/` when that folder exists, else the compiled-in copies.
pub fn queries(library_dir: Option<&Path>) -> Result<Vec<QueryFile>, SqlError> {
    library::load_subfolder(library_dir, "warranty", EMBEDDED)
}
