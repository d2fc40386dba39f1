//! Model features, built by the SQL files in `queries/features/` and run by
//! DataFusion over the warehouse.
//!
//! A feature query follows one convention, so that a data scientist can add
//! a feature by adding a column: text columns identify the row, a boolean
//! column named `label` is the target, and every other column is a numeric
//! feature. Every query takes a `cutoff` (or `as_of`) date and reads nothing
//! dated after it except for the label.

use crate::sql::{self, QueryFile, SqlError};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::prelude::SessionContext;
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// Days of history before the cutoff that the churn and segment features
/// read (`window_start`): two years, long enough to see a customer's yearly
/// service rhythm twice.
pub const HISTORY_DAYS: i32 = 730;

/// `(name, text)` of `queries/features/<name>.sql`, compiled in.
macro_rules! embed_features {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/features/", $name, ".sql")))),*]
    };
}

/// The feature queries as compiled into the binary (a test keeps them equal to the folder).
pub const EMBEDDED: &[(&str, &str)] = embed_features![
    "churn",
    "failure",
    "first_failures",
    "oracle_vehicles",
    "repair_events",
    "segments",
];

/// Errors while building features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The query failed or could not be loaded.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// A feature query failed.
    #[error("feature query `{query}`")]
    Query {
        /// Query name.
        query: String,
        /// Cause.
        source: SqlError,
    },
    /// The result breaks the feature convention.
    #[error("feature query `{query}`: {reason}")]
    Shape {
        /// Query name.
        query: String,
        /// What is wrong.
        reason: String,
    },
}

/// Loads one feature query: from `dir/<name>.sql` when a directory is given,
/// else the compiled-in copy.
pub fn load(dir: Option<&Path>, name: &str) -> Result<QueryFile, FeatureError> {
    match dir {
        Some(dir) => {
            let path = dir.join(format!("{name}.sql"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| SqlError::Library(format!("cannot read `{}`: {e}", path.display())))?;
            Ok(QueryFile::parse(&path, &text)?)
        }
        None => {
            let (_, text) = EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| SqlError::Library(format!("no feature query `{name}`")))?;
            Ok(QueryFile::parse(
                &PathBuf::from(format!("queries/features/{name}.sql")),
                text,
            )?)
        }
    }
}

/// The folder of feature queries to use: `features/` under the query
/// library (see [`crate::settings::query_library`]) when it exists, else
/// `None` for the compiled-in copies.
pub fn default_dir(queries: Option<&Path>) -> Option<PathBuf> {
    queries.map(|q| q.join("features")).filter(|d| d.is_dir())
}

/// Runs a feature query with its parameters (`name=value`, typed by the header).
pub async fn run(
    ctx: &SessionContext,
    query: &QueryFile,
    params: &[(String, String)],
) -> Result<Vec<RecordBatch>, FeatureError> {
    let bound = query.bind(params)?;
    sql::query(ctx, &query.sql, bound)
        .await
        .map_err(|source| FeatureError::Query {
            query: query.name.clone(),
            source,
        })
}

/// A feature matrix with its row identifiers and (when present) labels.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// Names of the identifier columns.
    pub id_names: Vec<String>,
    /// Identifier values, one vector per identifier column.
    pub ids: Vec<Vec<String>>,
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// One row per entity, one column per feature.
    pub x: Array2<f64>,
    /// Targets, when the query has a `label` column.
    pub labels: Option<Vec<bool>>,
}

impl FeatureTable {
    /// Splits query results by the convention. Nulls in a feature are an
    /// error: the query must say what a missing value means (`coalesce`).
    pub fn from_batches(
        query: &str,
        batches: &[RecordBatch],
    ) -> Result<FeatureTable, FeatureError> {
        let shape = |reason: String| FeatureError::Shape {
            query: query.to_string(),
            reason,
        };
        let Some(first) = batches.first() else {
            return Err(shape("returned no rows".into()));
        };
        let schema = first.schema();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return Err(shape("returned no rows".into()));
        }
        let mut table = FeatureTable {
            id_names: Vec::new(),
            ids: Vec::new(),
            names: Vec::new(),
            x: Array2::zeros((0, 0)),
            labels: None,
        };
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let name = field.name().clone();
            match field.data_type() {
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                    let mut values = Vec::with_capacity(rows);
                    for b in batches {
                        let array = cast(b.column(index), &DataType::Utf8)
                            .map_err(|e| shape(e.to_string()))?;
                        let array = array.as_string::<i32>();
                        values.extend((0..array.len()).map(|i| array.value(i).to_string()));
                    }
                    table.id_names.push(name);
                    table.ids.push(values);
                }
                DataType::Boolean if name == "label" => {
                    let mut values = Vec::with_capacity(rows);
                    for b in batches {
                        let array = b.column(index).as_boolean();
                        if array.null_count() > 0 {
                            return Err(shape("`label` has nulls".into()));
                        }
                        values.extend(array.iter().map(|v| v.unwrap_or(false)));
                    }
                    table.labels = Some(values);
                }
                _ => {
                    let mut values = Vec::with_capacity(rows);
                    for b in batches {
                        let array = cast(b.column(index), &DataType::Float64)
                            .map_err(|e| shape(format!("column `{name}` is not numeric: {e}")))?;
                        let array = array.as_primitive::<Float64Type>();
                        if array.null_count() > 0 {
                            return Err(shape(format!(
                                "feature `{name}` has {} null value(s); fill them in the query (coalesce)",
                                array.null_count()
                            )));
                        }
                        values.extend(array.values().iter().copied());
                    }
                    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                        return Err(shape(format!("feature `{name}` has the value {bad}")));
                    }
                    table.names.push(name);
                    columns.push(values);
                }
            }
        }
        if table.names.is_empty() {
            return Err(shape("has no numeric feature column".into()));
        }
        table.x = Array2::from_shape_fn((rows, columns.len()), |(r, c)| columns[c][r]);
        Ok(table)
    }

    /// Rows in the table.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// The table as it was queried: identifiers, features, then the label.
    pub fn to_result_table(&self) -> super::ResultTable {
        let mut out = super::ResultTable::new();
        for (name, values) in self.id_names.iter().zip(&self.ids) {
            out = out.text(name, values.iter().cloned());
        }
        for (c, name) in self.names.iter().enumerate() {
            out = out.float(name, self.x.column(c).iter().copied());
        }
        if let Some(labels) = &self.labels {
            out = out.flag("label", labels.iter().copied());
        }
        out
    }

    /// The values of one identifier column.
    pub fn id(&self, name: &str) -> Option<&[String]> {
        self.id_names
            .iter()
            .position(|n| n == name)
            .map(|i| self.ids[i].as_slice())
    }
}

/// A column of query results as `f64` (nulls as `None`).
pub fn float_column(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for b in batches {
        let column = b
            .column_by_name(name)
            .ok_or_else(|| format!("no column `{name}`"))?;
        let array = cast(column, &DataType::Float64)
            .map_err(|e| format!("column `{name}` is not numeric: {e}"))?;
        out.extend(array.as_primitive::<Float64Type>().iter());
    }
    Ok(out)
}

/// A column of query results as text (nulls as empty text).
pub fn text_column(batches: &[RecordBatch], name: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for b in batches {
        let column = b
            .column_by_name(name)
            .ok_or_else(|| format!("no column `{name}`"))?;
        let array = cast(column, &DataType::Utf8).map_err(|e| e.to_string())?;
        out.extend(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap_or_default().to_string()),
        );
    }
    Ok(out)
}

/// A column of query results as flags: a boolean, or a number (non-zero is
/// true), or text `true`/`false`/`1`/`0`.
pub fn flag_column(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<bool>>, String> {
    let mut out = Vec::new();
    for b in batches {
        let column = b
            .column_by_name(name)
            .ok_or_else(|| format!("no column `{name}`"))?;
        let array = cast(column, &DataType::Boolean)
            .map_err(|e| format!("column `{name}` is not a flag (true/false or 1/0): {e}"))?;
        out.extend(array.as_boolean().iter());
    }
    Ok(out)
}
