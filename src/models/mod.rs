//! Models over the warehouse: reliability (Weibull, Kaplan-Meier, MCF),
//! failure prediction, churn and customer segmentation, with evaluation,
//! tuning, saved artifacts and scoring.
//!
//! The learners implement linfa's `Fit` and `PredictInplace` traits; features
//! come from the SQL files in `queries/features/`.

pub mod boost;
pub mod classifier;
pub mod features;
pub mod jobs;
pub mod kmeans;
pub mod life;
pub mod linear;
pub mod metrics;
pub mod oracle;
pub mod reliability;
pub mod segment;
pub mod store;
pub(crate) mod tree;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Errors of the model commands.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Building features failed.
    #[error(transparent)]
    Features(#[from] features::FeatureError),
    /// Opening the warehouse or a query failed.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// A learner refused the data or its settings.
    #[error("training failed")]
    Fit(#[from] linfa::Error),
    /// An input table does not have what the command needs.
    #[error("{0}")]
    Input(String),
    /// Reading or writing model files failed.
    #[error("`{path}`")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing results failed.
    #[error(transparent)]
    Output(#[from] crate::sql::output::OutputError),
    /// Publishing a model or predictions directory failed.
    #[error(transparent)]
    Publish(#[from] crate::fsutil::PublishError),
    /// A manifest aftersight wrote does not read back.
    #[error("`{path}` is not a manifest this version can read")]
    Manifest {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

impl ModelError {
    fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
        move |source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A small column-oriented table for results, turned into one Arrow batch
/// so that it prints, exports and saves like query results.
#[derive(Debug, Default)]
pub struct ResultTable {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl ResultTable {
    /// An empty table.
    pub fn new() -> ResultTable {
        ResultTable::default()
    }

    /// Adds a text column.
    pub fn text(mut self, name: &str, values: impl IntoIterator<Item = String>) -> ResultTable {
        let array: StringArray = values.into_iter().map(Some).collect();
        self.fields.push(Field::new(name, DataType::Utf8, false));
        self.columns.push(Arc::new(array));
        self
    }

    /// Adds a number column (non-finite values become nulls).
    pub fn float(mut self, name: &str, values: impl IntoIterator<Item = f64>) -> ResultTable {
        let array: Float64Array = values
            .into_iter()
            .map(|v| v.is_finite().then_some(v))
            .collect();
        self.fields.push(Field::new(name, DataType::Float64, true));
        self.columns.push(Arc::new(array));
        self
    }

    /// Adds a count column.
    pub fn int(mut self, name: &str, values: impl IntoIterator<Item = i64>) -> ResultTable {
        let array: Int64Array = values.into_iter().map(Some).collect();
        self.fields.push(Field::new(name, DataType::Int64, false));
        self.columns.push(Arc::new(array));
        self
    }

    /// Adds a flag column.
    pub fn flag(mut self, name: &str, values: impl IntoIterator<Item = bool>) -> ResultTable {
        let array: BooleanArray = values.into_iter().map(Some).collect();
        self.fields.push(Field::new(name, DataType::Boolean, false));
        self.columns.push(Arc::new(array));
        self
    }

    /// The table as one record batch.
    pub fn batch(self) -> RecordBatch {
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.columns)
            .expect("columns of a result table have equal length")
    }
}
