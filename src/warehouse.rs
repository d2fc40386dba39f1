//! The Parquet warehouse on disk and its manifest.
//!
//! ```text
//! WAREHOUSE/
//!   manifest.json                      the only source of truth: which files make up each table
//!   data/<table>/month=YYYY-MM/*.parquet   fact tables, partitioned by month
//!   data/<table>/*.parquet             dimension tables
//!   quarantine/*.parquet               rejected rows with file, line, column, rule and raw text
//! ```
//!
//! Readers must use the files the manifest lists (files that are not listed
//! are leftovers of an interrupted run and are removed by the next ingest).
//! The manifest is replaced with an atomic rename, so a reader always sees
//! one complete version.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{FsError, io_error as io_err};
use crate::schema::Table;

/// Manifest file name inside a warehouse.
pub const MANIFEST: &str = "manifest.json";
/// The value of [`Manifest::kind`].
pub const WAREHOUSE_KIND: &str = "aftersight-warehouse";

/// Errors reading or writing a warehouse.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The manifest exists but cannot be used.
    #[error("warehouse manifest `{path}` is unreadable: {reason}")]
    BadManifest {
        /// Manifest path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the warehouse lock.
    #[error(
        "warehouse `{0}` is locked by another aftersight process (pid {1}); if no such process runs, remove `{0}/.lock`"
    )]
    Locked(PathBuf, String),
    /// A filesystem operation failed.
    #[error(transparent)]
    Io(#[from] FsError),
}

/// The files and row count of one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableFiles {
    /// Files relative to the warehouse root.
    pub files: Vec<String>,
    /// Rows over all files.
    pub rows: u64,
    /// Hive partition column, if partitioned.
    pub partition_by: Option<String>,
    /// Column the rows of each file are sorted by.
    pub sorted_by: Option<String>,
}

/// One ingested source file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceRecord {
    /// BLAKE3 of the file's bytes, hex: identifies the file across renames.
    /// Empty for a file recorded by an older version, which kept only `sha256`.
    #[serde(default)]
    pub blake3: String,
    /// SHA-256 of the file's bytes, hex, as older versions recorded it; empty
    /// (and left out of the manifest) for files ingested since.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Path as given when ingested.
    pub path: String,
    /// Table it fed.
    pub table: String,
    /// `csv` or `ndjson`.
    pub format: String,
    /// Text encoding used.
    pub encoding: String,
    /// Data rows read (lines or records, without the header).
    pub rows_read: u64,
    /// Rows published to the table.
    pub rows_published: u64,
    /// Rows sent to quarantine.
    pub rows_quarantined: u64,
    /// Ingest batch that read it.
    pub batch: u64,
    /// File size in bytes (0 in manifests written before sizes were recorded).
    #[serde(default)]
    pub bytes: u64,
}

/// The warehouse manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always [`WAREHOUSE_KIND`].
    pub kind: String,
    /// Number of the last published ingest batch (0: empty warehouse).
    pub batch: u64,
    /// Tables by name.
    pub tables: BTreeMap<String, TableFiles>,
    /// The quarantine dataset.
    pub quarantine: TableFiles,
    /// Every source file ever ingested.
    pub sources: Vec<SourceRecord>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            kind: WAREHOUSE_KIND.into(),
            batch: 0,
            tables: Table::ALL
                .iter()
                .map(|t| (t.name().to_owned(), TableFiles::default()))
                .collect(),
            quarantine: TableFiles::default(),
            sources: Vec::new(),
        }
    }
}

impl Manifest {
    /// Reads the manifest of `root`; an absent manifest is an empty warehouse.
    pub fn load(root: &Path) -> Result<Manifest, WarehouseError> {
        let path = root.join(MANIFEST);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(io_err("read", &path)(e).into()),
        };
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| WarehouseError::BadManifest {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if m.kind != WAREHOUSE_KIND {
            return Err(WarehouseError::BadManifest {
                path,
                reason: format!("kind is `{}`, expected `{WAREHOUSE_KIND}`", m.kind),
            });
        }
        Ok(m)
    }

    /// Writes the manifest through a temporary file and an atomic rename.
    pub fn store(&self, root: &Path) -> Result<(), WarehouseError> {
        let bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        crate::fsutil::write_atomically(&root.join(MANIFEST), &bytes)
            .map_err(io_err("write", &root.join(MANIFEST)))?;
        Ok(())
    }

    /// The files of a table.
    pub fn table(&self, table: Table) -> &TableFiles {
        static EMPTY: TableFiles = TableFiles {
            files: Vec::new(),
            rows: 0,
            partition_by: None,
            sorted_by: None,
        };
        self.tables.get(table.name()).unwrap_or(&EMPTY)
    }

    /// Every file the manifest references, relative to the root.
    pub fn all_files(&self) -> impl Iterator<Item = &str> {
        self.tables
            .values()
            .chain(std::iter::once(&self.quarantine))
            .flat_map(|t| t.files.iter().map(String::as_str))
    }
}

/// An exclusive lock on a warehouse, released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock, clearing a stale one left by a process that no longer runs.
    pub fn acquire(root: &Path) -> Result<Lock, WarehouseError> {
        fs::create_dir_all(root).map_err(io_err("create warehouse directory", root))?;
        let path = root.join(".lock");
        for _ in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use io::Write as _;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let pid = fs::read_to_string(&path).unwrap_or_default();
                    let alive = pid
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|p| Path::new(&format!("/proc/{p}")).exists());
                    if alive {
                        return Err(WarehouseError::Locked(
                            root.to_path_buf(),
                            pid.trim().to_owned(),
                        ));
                    }
                    fs::remove_file(&path).map_err(io_err("remove stale lock", &path))?;
                }
                Err(e) => return Err(io_err("create lock", &path)(e).into()),
            }
        }
        Err(WarehouseError::Locked(root.to_path_buf(), "unknown".into()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Removes files under `data/` and `quarantine/` that the manifest does not
/// list, and staging directories: the leftovers of an interrupted run.
/// Returns how many files were removed.
pub fn remove_unlisted(root: &Path, manifest: &Manifest) -> Result<usize, WarehouseError> {
    let listed: std::collections::HashSet<PathBuf> =
        manifest.all_files().map(|f| root.join(f)).collect();
    let mut removed = 0;
    for entry in fs::read_dir(root).map_err(io_err("list", root))? {
        let entry = entry.map_err(io_err("list", root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".staging-") {
            fs::remove_dir_all(entry.path())
                .map_err(io_err("remove staging directory", &entry.path()))?;
        }
    }
    for dir in ["data", "quarantine"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = fs::read_dir(&d) else {
                continue;
            };
            for entry in entries {
                let path = entry.map_err(io_err("list", &d))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if !listed.contains(&path) {
                    fs::remove_file(&path).map_err(io_err("remove unlisted file", &path))?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}
