//! The KPI library: one statement per `.sql` file, each opening with a
//! header of `-- key: value` lines.
//!
//! ```sql
//! -- name: effective_labour_rate
//! -- title: Effective labour rate by month and station
//! -- title_zh: 按月和服务站的有效工时单价
//! -- description: Labour sales divided by labour hours billed.
//! -- param: start date 2026-01-01
//! -- param: end date 2026-12-31
//! -- unit: CNY per hour
//! SELECT ... WHERE opened_at >= CAST($start AS TIMESTAMP) ...
//! ```
//!
//! Parameters are `name type default`; types are `date`, `int`, `float` and
//! `text`. Values given on the command line are parsed with the declared
//! type and bound as typed values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::common::ScalarValue;
use serde::Serialize;

use super::SqlError;

/// Type of a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// `YYYY-MM-DD`, bound as a `DATE`.
    Date,
    /// Whole number, bound as `BIGINT`.
    Int,
    /// Number, bound as `DOUBLE`.
    Float,
    /// Text, bound as `VARCHAR`.
    Text,
}

/// A declared parameter.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    /// Name (`$name` in the SQL).
    pub name: String,
    /// Type.
    pub ty: ParamType,
    /// Default value, as text.
    pub default: String,
}

/// One query of the library.
#[derive(Debug, Clone, Serialize)]
pub struct QueryFile {
    /// Name (also the file stem).
    pub name: String,
    /// English title.
    pub title: String,
    /// Chinese title.
    pub title_zh: String,
    /// What it computes.
    pub description: String,
    /// Declared parameters.
    pub params: Vec<ParamSpec>,
    /// Unit of the main measure.
    pub unit: String,
    /// The statement.
    pub sql: String,
    /// Where it was read from.
    pub path: PathBuf,
}

impl ParamType {
    fn parse(name: &str) -> Option<ParamType> {
        Some(match name {
            "date" => ParamType::Date,
            "int" => ParamType::Int,
            "float" => ParamType::Float,
            "text" => ParamType::Text,
            _ => return None,
        })
    }

    /// Parses a value of this type into a typed scalar.
    pub fn bind(self, name: &str, value: &str) -> Result<ScalarValue, SqlError> {
        let bad = |expected: &str| SqlError::Parameter {
            name: name.to_owned(),
            reason: format!("`{value}` is not {expected}"),
        };
        Ok(match self {
            ParamType::Date => ScalarValue::Date32(Some(
                crate::dates::parse_date(value.trim()).ok_or_else(|| bad("a date (YYYY-MM-DD)"))?,
            )),
            ParamType::Int => ScalarValue::Int64(Some(
                value.trim().parse().map_err(|_| bad("a whole number"))?,
            )),
            ParamType::Float => {
                ScalarValue::Float64(Some(value.trim().parse().map_err(|_| bad("a number"))?))
            }
            ParamType::Text => ScalarValue::Utf8(Some(value.to_owned())),
        })
    }
}

impl QueryFile {
    /// Parses a query file's text.
    pub fn parse(path: &Path, text: &str) -> Result<QueryFile, SqlError> {
        let err = |msg: String| SqlError::Library(format!("`{}`: {msg}", path.display()));
        let mut q = QueryFile {
            name: String::new(),
            title: String::new(),
            title_zh: String::new(),
            description: String::new(),
            params: Vec::new(),
            unit: String::new(),
            sql: String::new(),
            path: path.to_path_buf(),
        };
        let mut body = Vec::new();
        let mut in_header = true;
        for (i, line) in text.lines().enumerate() {
            let header = line
                .strip_prefix("--")
                .map(str::trim)
                .and_then(|l| l.split_once(':'));
            match header {
                Some((key, value)) if in_header => {
                    let value = value.trim().to_owned();
                    match key.trim() {
                        "name" => q.name = value,
                        "title" => q.title = value,
                        "title_zh" => q.title_zh = value,
                        "description" => q.description = value,
                        "unit" => q.unit = value,
                        "param" => {
                            let parts: Vec<&str> = value.splitn(3, ' ').collect();
                            let [name, ty, default] = parts[..] else {
                                return Err(err(format!(
                                    "line {}: expected `-- param: name type default`",
                                    i + 1
                                )));
                            };
                            let ty = ParamType::parse(ty).ok_or_else(|| {
                                err(format!("line {}: unknown parameter type `{ty}`", i + 1))
                            })?;
                            ty.bind(name, default)?;
                            q.params.push(ParamSpec {
                                name: name.to_owned(),
                                ty,
                                default: default.to_owned(),
                            });
                        }
                        other => {
                            return Err(err(format!(
                                "line {}: unknown header key `{other}`",
                                i + 1
                            )));
                        }
                    }
                }
                _ => {
                    if !line.trim().is_empty() {
                        in_header = false;
                    }
                    if !in_header {
                        body.push(line);
                    }
                }
            }
        }
        q.sql = body
            .join("\n")
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_owned();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if q.name != stem {
            return Err(err(format!(
                "header name `{}` does not match the file name `{stem}`",
                q.name
            )));
        }
        if q.title.is_empty() || q.title_zh.is_empty() || q.sql.is_empty() {
            return Err(err("needs `title`, `title_zh` and a statement".into()));
        }
        if q.sql.contains(';') {
            return Err(err("holds more than one statement (one per file)".into()));
        }
        Ok(q)
    }

    /// Binds parameters: declared defaults, overridden by `given` (`name=value`).
    pub fn bind(
        &self,
        given: &[(String, String)],
    ) -> Result<HashMap<String, ScalarValue>, SqlError> {
        let mut out = HashMap::new();
        for p in &self.params {
            out.insert(p.name.clone(), p.ty.bind(&p.name, &p.default)?);
        }
        for (name, value) in given {
            let spec = self
                .params
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| SqlError::Parameter {
                    name: name.clone(),
                    reason: format!(
                        "`{}` declares no such parameter (it has: {})",
                        self.name,
                        self.params
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            out.insert(name.clone(), spec.ty.bind(name, value)?);
        }
        Ok(out)
    }
}

/// `(name, text)` of `queries/<name>.sql` files, compiled in.
macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/", $name, ".sql")))),*]
    };
}

/// The library as compiled into the binary, so that `aftersight run` works
/// without the `queries/` folder (a test keeps it equal to the folder).
pub const EMBEDDED: &[(&str, &str)] = embed![
    "comeback_rate",
    "csi_nps",
    "effective_labour_rate",
    "emerging_quality_risks",
    "headline_kpis",
    "iptv_by_mis",
    "repair_volume_by_month",
    "retention_by_cohort",
    "rfm_scores",
    "station_scorecard",
    "top_failing_components",
    "turnaround",
    "turnaround_histogram",
    "used_car_price_by_age_mileage",
    "used_car_sales_by_channel",
    "warranty_claim_rate",
];

/// Parses the embedded library.
pub fn embedded() -> Result<Vec<QueryFile>, SqlError> {
    EMBEDDED
        .iter()
        .map(|(name, text)| {
            QueryFile::parse(&Path::new("queries").join(format!("{name}.sql")), text)
        })
        .collect()
}

/// Reads every `*.sql` file of a directory (not recursive), sorted by name.
pub fn load(dir: &Path) -> Result<Vec<QueryFile>, SqlError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        SqlError::Library(format!(
            "cannot read the query library `{}`: {e}",
            dir.display()
        ))
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| SqlError::Library(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| SqlError::Library(format!("cannot read `{}`: {e}", path.display())))?;
            out.push(QueryFile::parse(&path, &text)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The queries of a library subfolder (`executive`, `warranty`):
/// `dir/folder/` when that folder exists, else the compiled-in copies.
pub fn load_subfolder(
    dir: Option<&Path>,
    folder: &str,
    embedded: &[(&str, &str)],
) -> Result<Vec<QueryFile>, SqlError> {
    match dir.map(|d| d.join(folder)).filter(|d| d.is_dir()) {
        Some(sub) => load(&sub),
        None => embedded
            .iter()
            .map(|(name, text)| {
                let path = Path::new("queries")
                    .join(folder)
                    .join(format!("{name}.sql"));
                QueryFile::parse(&path, text)
            })
            .collect(),
    }
}

/// The library in `dir`, or the embedded copy when there is none.
pub fn load_or_embedded(dir: Option<&Path>) -> Result<Vec<QueryFile>, SqlError> {
    match dir {
        Some(dir) => load(dir),
        None => embedded(),
    }
}

/// Finds a query by name in `dir`, or in the embedded copy when there is none.
pub fn find_in(dir: Option<&Path>, name: &str) -> Result<QueryFile, SqlError> {
    match dir {
        Some(dir) => find(dir, name),
        None => embedded()?
            .into_iter()
            .find(|q| q.name == name)
            .ok_or_else(|| SqlError::Library(format!("no query `{name}` in the built-in library"))),
    }
}

/// Finds a query by name in the library.
pub fn find(dir: &Path, name: &str) -> Result<QueryFile, SqlError> {
    let all = load(dir)?;
    let names: Vec<String> = all.iter().map(|q| q.name.clone()).collect();
    all.into_iter().find(|q| q.name == name).ok_or_else(|| {
        SqlError::Library(format!(
            "no query `{name}` in `{}` (available: {})",
            dir.display(),
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "-- name: q\n-- title: T\n-- title_zh: 标题\n-- description: d\n-- param: start date 2026-01-01\n-- param: top int 10\n-- unit: CNY\nSELECT 1 WHERE $top > 0;\n";

    #[test]
    fn headers_parse_and_parameters_bind_typed() {
        let q = QueryFile::parse(Path::new("queries/q.sql"), TEXT).unwrap();
        assert_eq!(q.sql, "SELECT 1 WHERE $top > 0");
        let p = q.bind(&[("top".into(), "3".into())]).unwrap();
        assert_eq!(p["top"], ScalarValue::Int64(Some(3)));
        assert!(matches!(p["start"], ScalarValue::Date32(Some(_))));
        assert!(q.bind(&[("top".into(), "3; DROP TABLE x".into())]).is_err());
        assert!(q.bind(&[("nope".into(), "1".into())]).is_err());
    }

    #[test]
    fn malformed_files_are_refused() {
        assert!(
            QueryFile::parse(Path::new("other.sql"), TEXT).is_err(),
            "name must match file"
        );
        let two = TEXT.replace("SELECT 1 WHERE $top > 0;", "SELECT 1; SELECT 2");
        assert!(QueryFile::parse(Path::new("q.sql"), &two).is_err());
    }
}
