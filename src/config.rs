//! `aftersight.toml`: the settings file, one layer of [`crate::settings`].
//!
//! Unknown keys are errors that name the key, its line, and the closest valid
//! key. `aftersight init` writes [`STARTER`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name looked for in the working directory.
pub const FILE_NAME: &str = "aftersight.toml";

/// The commented starter file `aftersight init` writes.
pub const STARTER: &str = r#"# aftersight.toml: settings of every aftersight command.
# Precedence: command line, then AFTERSIGHT_* environment variables, then this file, then defaults.
# Every key is optional; the values below are the defaults unless marked as an example.

# Raw export to ingest (a directory of CSV / NDJSON files). Default: the bundled sample.
# raw = "exports/latest"                       # env AFTERSIGHT_RAW

# Output root: warehouse/, kpis/, reports/, reliability/, models/, predictions/, executive/, run.json.
out = "aftersight-out"                          # env AFTERSIGHT_OUT

# The Parquet warehouse. Default: OUT/warehouse.
# warehouse = "/srv/aftersight/warehouse"      # env AFTERSIGHT_WAREHOUSE

# Query library (KPI queries, features/, reports/). Default: ./queries if present, else the built-in copy.
# queries = "queries"                          # env AFTERSIGHT_QUERIES

# See the data as it was at the end of this day, for a reproducible historical run. Default: all data.
# as_of = "2026-06-30"                          # env AFTERSIGHT_AS_OF

# Seed of every random choice in the models.
seed = 42                                       # env AFTERSIGHT_SEED

# Reports to write for the month the data is valid through (specs in queries/reports/NAME.toml).
reports = ["monthly"]

# Languages of the executive summary: "en", "zh".
languages = ["en", "zh"]

# Header row of the KPI and report CSVs: "keys" (labour_cny), "en" (Labour (CNY)) or "zh" (工时费（元）).
# The values stay raw. Also `--csv-headers`.
csv_headers = "keys"                            # env AFTERSIGHT_CSV_HEADERS

[engine]
# Partitions a query runs in parallel; one per core.
threads = 2                                     # env AFTERSIGHT_THREADS
# Memory DataFusion may use before it spills to disk: a number of bytes, or with KiB, MiB, GiB (or KB, MB, GB).
memory_limit = "4GiB"                           # env AFTERSIGHT_MEMORY_LIMIT
# Where queries run: "local" (this process), "ballista" (a cluster's scheduler at `url`; every
# executor must see the warehouse at the same path), or "standalone" (Ballista inside this process).
kind = "local"                                  # env AFTERSIGHT_ENGINE
# The Ballista scheduler, for kind = "ballista". Setting it alone selects "ballista".
# url = "df://localhost:50050"                  # env AFTERSIGHT_ENGINE_URL
"#;

/// Errors of the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a value has the wrong type.
    #[error("`{path}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A key the file format does not have.
    #[error("`{path}` line {line}: unknown key `{key}`{hint}")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key, with its table (`engine.thread`).
        key: String,
        /// 1-based line.
        line: usize,
        /// "; did you mean `…`?", or the valid keys.
        hint: String,
    },
    /// A value is out of range or malformed.
    #[error("{setting}: {message}")]
    Value {
        /// Where the value came from (`--as-of`, `AFTERSIGHT_THREADS`, `aftersight.toml: engine.threads`).
        setting: String,
        /// What is wrong.
        message: String,
    },
    /// `init` could not write the file.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// `init` would overwrite a file.
    #[error("`{0}` exists; pass --force to overwrite it")]
    Exists(PathBuf),
}

/// The file's contents; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Raw export directory.
    pub raw: Option<PathBuf>,
    /// Output root.
    pub out: Option<PathBuf>,
    /// Warehouse directory.
    pub warehouse: Option<PathBuf>,
    /// Query library.
    pub queries: Option<PathBuf>,
    /// As-of date, `YYYY-MM-DD`.
    pub as_of: Option<String>,
    /// Model seed.
    pub seed: Option<u64>,
    /// Reports to write.
    pub reports: Option<Vec<String>>,
    /// Summary languages.
    pub languages: Option<Vec<String>>,
    /// Header row of the CSVs: `keys`, `en` or `zh`.
    pub csv_headers: Option<String>,
    /// Engine settings.
    pub engine: Option<EngineSection>,
}

/// `[engine]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// Query partitions.
    pub threads: Option<usize>,
    /// Memory before spilling, e.g. `4GiB`.
    pub memory_limit: Option<String>,
    /// `local`, `ballista` or `standalone`.
    pub kind: Option<String>,
    /// The Ballista scheduler, `df://HOST:PORT`.
    pub url: Option<String>,
}

const TOP_KEYS: &[&str] = &[
    "raw",
    "out",
    "warehouse",
    "queries",
    "as_of",
    "seed",
    "reports",
    "languages",
    "csv_headers",
    "engine",
];
const ENGINE_KEYS: &[&str] = &["threads", "memory_limit", "kind", "url"];

/// Reads a configuration file, refusing unknown keys.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parses configuration text (`path` names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message: message.trim().replace('\n', " "),
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    for (key, value) in &table {
        check_key(path, text, "", key, TOP_KEYS)?;
        if key == "engine"
            && let Some(engine) = value.as_table()
        {
            for inner in engine.keys() {
                check_key(path, text, "engine.", inner, ENGINE_KEYS)?;
            }
        }
    }
    toml::from_str(text).map_err(|e| parse_error(e.to_string()))
}

fn check_key(
    path: &Path,
    text: &str,
    prefix: &str,
    key: &str,
    known: &[&str],
) -> Result<(), ConfigError> {
    if known.contains(&key) {
        return Ok(());
    }
    let closest = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .min()
        .filter(|(d, _)| *d <= 3);
    let hint = match closest {
        Some((_, k)) => format!("; did you mean `{prefix}{k}`?"),
        None => format!(
            "; valid keys: {}",
            known
                .iter()
                .map(|k| format!("{prefix}{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let line = text
        .lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1);
    Err(ConfigError::UnknownKey {
        path: path.to_path_buf(),
        key: format!("{prefix}{key}"),
        line,
        hint,
    })
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Parses `4GiB`, `512 MiB`, `2GB` or a plain number of bytes.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 4GiB, 512MiB, 2000000000)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    let bytes = value * factor;
    if bytes < 64.0 * 1024.0 * 1024.0 {
        return Err(format!(
            "`{text}` is below the 64 MiB DataFusion needs to run the queries"
        ));
    }
    Ok(bytes as usize)
}

/// Writes the starter file; refuses to overwrite unless `force`.
pub fn init(path: &Path, force: bool) -> Result<(), ConfigError> {
    if path.exists() && !force {
        return Err(ConfigError::Exists(path.to_path_buf()));
    }
    crate::fsutil::write_atomically(path, STARTER.as_bytes()).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_file_parses_to_the_defaults() {
        let file = parse(Path::new(FILE_NAME), STARTER).unwrap();
        assert_eq!(file.out, Some(PathBuf::from("aftersight-out")));
        assert_eq!(file.seed, Some(42));
        assert_eq!(file.engine.unwrap().memory_limit.as_deref(), Some("4GiB"));
    }

    #[test]
    fn unknown_keys_name_the_line_and_the_closest_key() {
        let err = parse(Path::new("a.toml"), "seed = 1\nouput = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "`a.toml` line 2: unknown key `ouput`; did you mean `out`?"
        );
        let err = parse(Path::new("a.toml"), "[engine]\nthread = 4\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`engine.thread`; did you mean `engine.threads`?"),
            "{err}"
        );
        let err = parse(Path::new("a.toml"), "colour = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("valid keys: raw, out, warehouse"), "{err}");
        let err = parse(Path::new("a.toml"), "seed = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn every_field_is_a_known_key() {
        let text = "raw = \"r\"\nout = \"o\"\nwarehouse = \"w\"\nqueries = \"q\"\nas_of = \"2026-01-31\"\nseed = 1\nreports = []\nlanguages = []\n[engine]\nthreads = 1\nmemory_limit = \"1GiB\"\n";
        let file = parse(Path::new("a.toml"), text).unwrap();
        assert_eq!(file.warehouse, Some(PathBuf::from("w")));
    }

    #[test]
    fn sizes_read_in_binary_and_decimal_units() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert!(parse_bytes("1MiB").unwrap_err().contains("64 MiB"));
        assert!(
            parse_bytes("4 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
    }
}
