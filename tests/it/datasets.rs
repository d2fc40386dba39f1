//! The committed sample and the data dictionary stay in step with the code.

use std::path::Path;

use aftersight::generate::export::ExportFormat;
use aftersight::pipeline::{SAMPLE, SAMPLE_DIR};
use aftersight::schema::Table;

use crate::support::gen_into;

#[test]
fn data_dictionary_documents_every_column() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/README.md"))
            .unwrap();
    for table in Table::ALL {
        let section = readme
            .split("\n### ")
            .find(|s| s.starts_with(&format!("`{}`", table.name())))
            .unwrap_or_else(|| panic!("datasets/README.md has no section ### `{table}`"));
        for col in table.columns() {
            assert!(
                section.contains(&format!("| `{}` | {} |", col.name, col.ty.name())),
                "datasets/README.md, `{table}`: column `{}` ({}) is not documented",
                col.name,
                col.ty.name()
            );
        }
    }
}

#[test]
fn bundled_sample_is_what_the_generator_makes_today() {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE_DIR);
    let tmp = tempfile::tempdir().unwrap();
    let fresh = gen_into(
        tmp.path(),
        "sample",
        SAMPLE.scale,
        SAMPLE.seed,
        SAMPLE.dirt,
        ExportFormat::Csv,
    );
    for entry in std::fs::read_dir(&fresh).unwrap() {
        let name = entry.unwrap().file_name();
        let a = std::fs::read(fresh.join(&name)).unwrap();
        let b = std::fs::read(bundled.join(&name)).unwrap_or_default();
        assert!(
            a == b,
            "{SAMPLE_DIR}/{} differs from a fresh generation: regenerate it with `cargo run -- generate --scale {} --seed {} --dirt {} --out {SAMPLE_DIR}`",
            name.to_string_lossy(),
            SAMPLE.scale,
            SAMPLE.seed,
            SAMPLE.dirt
        );
    }
}
