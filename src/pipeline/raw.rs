//! The raw stage: a given export, the bundled sample, or the embedded default
//! generated once into `OUT/raw/`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::stage::{Outcome, Stage, StageReport};
use super::{RunConfig, RunError};
use crate::fsutil::MANIFEST_FILE;
use crate::generate::export::ExportFormat;
use crate::generate::{self, EXPORT_KIND, GenerateConfig};

/// Parameters of the bundled sample (and of the embedded default).
pub struct SampleSpec {
    /// Scale.
    pub scale: f64,
    /// Seed.
    pub seed: u64,
    /// Dirt rate.
    pub dirt: f64,
}

/// The bundled sample: about 2,000 vehicles and 20,000 repair orders, with a little dirt.
pub const SAMPLE: SampleSpec = SampleSpec {
    scale: 0.02,
    seed: 42,
    dirt: 0.005,
};

/// Where the bundled sample lives, relative to the repository root.
pub const SAMPLE_DIR: &str = "datasets/sample";

/// Rows of one table in the raw export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableCount {
    /// Table.
    pub table: String,
    /// File.
    pub file: String,
    /// Data rows.
    pub rows: u64,
    /// Planted faulty rows.
    pub faulty_rows: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The parts of an export's manifest the run reads.
#[derive(Deserialize)]
pub(crate) struct ExportManifestView {
    kind: String,
    pub(crate) data_valid_through: String,
    pub(crate) files: Vec<TableCount>,
}

/// Reads an export's manifest and checks that every file it lists is whole.
pub(crate) fn read_export_manifest(dir: &Path) -> Result<ExportManifestView, RunError> {
    let bad = |reason: String| RunError::BadExport {
        path: dir.to_path_buf(),
        reason,
    };
    let bytes =
        fs::read(dir.join(MANIFEST_FILE)).map_err(|e| bad(format!("{MANIFEST_FILE}: {e}")))?;
    let m: ExportManifestView =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{MANIFEST_FILE}: {e}")))?;
    if m.kind != EXPORT_KIND {
        return Err(bad(format!(
            "manifest kind is `{}`, expected `{EXPORT_KIND}`",
            m.kind
        )));
    }
    for f in &m.files {
        let len = fs::metadata(dir.join(&f.file))
            .map_err(|e| bad(format!("{}: {e}", f.file)))?
            .len();
        if len != f.bytes {
            return Err(bad(format!(
                "{} has {len} bytes, the manifest says {}",
                f.file, f.bytes
            )));
        }
    }
    Ok(m)
}

/// Finds the export to start from, generating the embedded default when there is none.
pub(crate) fn raw_stage(config: &RunConfig) -> Result<(PathBuf, StageReport), RunError> {
    let found =
        |path: PathBuf, outcome, detail| Ok((path, StageReport::new(Stage::Raw, outcome, detail)));
    if let Some(raw) = &config.raw {
        read_export_manifest(raw)?;
        let detail = format!("using the export in {}", raw.display());
        return found(raw.clone(), Outcome::Reused, detail);
    }
    let bundled = PathBuf::from(SAMPLE_DIR);
    if read_export_manifest(&bundled).is_ok() {
        let detail = format!("using the bundled sample in {SAMPLE_DIR}");
        return found(bundled, Outcome::Reused, detail);
    }
    let generated = config.out.join("raw");
    if read_export_manifest(&generated).is_ok() {
        let detail = format!(
            "the embedded sample was already generated in {}",
            generated.display()
        );
        return found(generated, Outcome::Skipped, detail);
    }
    let m = generate::generate(&GenerateConfig {
        scale: SAMPLE.scale,
        seed: SAMPLE.seed,
        format: ExportFormat::Csv,
        dirt: SAMPLE.dirt,
        out: generated.clone(),
        progress: config.progress,
        emerging: Some(crate::generate::EmergingIssue::PLANTED),
    })?;
    let detail = format!(
        "no bundled sample found; generated the embedded default (scale {}, seed {}) into {}",
        m.scale,
        m.seed,
        generated.display()
    );
    found(generated, Outcome::Ran, detail)
}
