//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aftersight::generate::export::ExportFormat;
use aftersight::generate::{GenerateConfig, generate};
use aftersight::schema::Table;

/// Generates an export into `dir/name` and returns its path.
pub fn gen_into(
    dir: &Path,
    name: &str,
    scale: f64,
    seed: u64,
    dirt: f64,
    format: ExportFormat,
) -> PathBuf {
    let out = dir.join(name);
    generate(&GenerateConfig {
        scale,
        seed,
        format,
        dirt,
        out: out.clone(),
        progress: false,
    })
    .expect("generate");
    out
}

/// A CSV table read as strings, keyed by column name.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.col(name);
        self.rows.iter().map(move |r| r[i].as_str())
    }

    /// Rows as maps, for readable assertions.
    pub fn records(&self) -> Vec<HashMap<&str, &str>> {
        self.rows
            .iter()
            .map(|r| {
                self.header
                    .iter()
                    .map(String::as_str)
                    .zip(r.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }
}

/// Reads `dir/<table>.csv` of a clean export.
pub fn read_csv(dir: &Path, table: Table) -> Rows {
    let mut rdr =
        csv::Reader::from_path(dir.join(format!("{}.csv", table.name()))).expect("open csv");
    let header = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("clean row").iter().map(str::to_owned).collect())
        .collect();
    Rows { header, rows }
}

/// The truth file.
pub fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json"))
        .expect("json")
}

/// Ingests a clean export directory into `warehouse` (split into two
/// segments whatever its size) and checks that nothing was quarantined.
pub fn ingest_clean(input: &Path, warehouse: &Path) -> PathBuf {
    use aftersight::ingest::source::Encoding;
    use aftersight::ingest::{IngestConfig, ingest};
    let config = IngestConfig {
        inputs: vec![input.to_path_buf()],
        warehouse: warehouse.to_path_buf(),
        encoding: Encoding::Auto,
        max_bad_fraction: 0.0,
        progress: false,
        split_bytes: 1,
    };
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&config))
        .unwrap();
    assert_eq!(report.rows_quarantined, 0, "{} is clean", input.display());
    warehouse.to_path_buf()
}
