//! The kpis stage: every query of the KPI library with its default
//! parameters, one spreadsheet-safe CSV each, published to `OUT/kpis/`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsutil::MANIFEST_FILE;
use crate::sql::SessionSettings;

/// Errors of the KPI stage.
#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    /// A query failed.
    #[error("query `{name}` failed")]
    Query {
        /// Query name.
        name: String,
        /// Cause.
        #[source]
        source: crate::sql::SqlError,
    },
    /// The library or warehouse could not be opened.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// Writing the outputs failed.
    #[error("cannot write `{path}`")]
    Write {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Publishing the outputs failed.
    #[error(transparent)]
    Publish(#[from] crate::fsutil::PublishError),
}

/// One query's output in `OUT/kpis/manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct KpiFile {
    /// Query name.
    pub name: String,
    /// English title.
    pub title: String,
    /// Chinese title.
    pub title_zh: String,
    /// CSV file name.
    pub file: String,
    /// Rows.
    pub rows: usize,
}

/// The manifest of `OUT/kpis/`.
#[derive(Debug, Clone, Serialize)]
pub struct KpiManifest {
    /// Always `aftersight-kpis`.
    pub kind: &'static str,
    /// Warehouse batch the KPIs were computed from.
    pub warehouse_batch: u64,
    /// Outputs.
    pub queries: Vec<KpiFile>,
}

const KPI_KIND: &str = "aftersight-kpis";

/// Runs the library over `warehouse` and publishes `out/kpis/`.
pub(crate) async fn run_kpis(
    out: &Path,
    warehouse: &Path,
    queries: Option<&Path>,
    settings: &SessionSettings,
    headers: crate::sql::output::CsvHeaders,
) -> Result<KpiManifest, KpiError> {
    let library = crate::sql::library::load_or_embedded(queries)?;
    let ctx = crate::sql::open(warehouse, settings).await?;
    let dest = out.join("kpis");
    let staging = crate::fsutil::Staging::new(&dest)?;
    let mut manifest = KpiManifest {
        kind: KPI_KIND,
        warehouse_batch: crate::warehouse::Manifest::load(warehouse)
            .map_err(crate::sql::SqlError::from)?
            .batch,
        queries: Vec::new(),
    };
    for q in library {
        let params = q.bind(&[])?;
        let batches = crate::sql::query(&ctx, &q.sql, params)
            .await
            .map_err(|source| KpiError::Query {
                name: q.name.clone(),
                source,
            })?;
        let file = format!("{}.csv", q.name);
        let path = staging.path().join(&file);
        write_csv(&path, &batches, headers)?;
        manifest.queries.push(KpiFile {
            name: q.name,
            title: q.title,
            title_zh: q.title_zh,
            file,
            rows: batches.iter().map(|b| b.num_rows()).sum(),
        });
    }
    let path = staging.path().join(MANIFEST_FILE);
    fs::write(
        &path,
        serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )
    .map_err(|e| KpiError::Write {
        path: path.clone(),
        source: Box::new(e),
    })?;
    staging.publish(KPI_KIND)?;
    Ok(manifest)
}

fn write_csv(
    path: &Path,
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    headers: crate::sql::output::CsvHeaders,
) -> Result<(), KpiError> {
    let write_err = |e: Box<dyn std::error::Error + Send + Sync>| KpiError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let mut out =
        std::io::BufWriter::new(fs::File::create(path).map_err(|e| write_err(Box::new(e)))?);
    crate::sql::output::write_safe_csv(&mut out, batches, headers)
        .map_err(|e| write_err(Box::new(e)))?;
    std::io::Write::flush(&mut out).map_err(|e| write_err(Box::new(e)))
}
