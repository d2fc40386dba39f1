//! A chart's input: named columns of numbers or text, converted once from
//! Arrow record batches (a query result or a Parquet/CSV file).

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;

use super::ChartError;

/// One column of a [`Frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers (integers, decimals, floats; booleans as 0 and 1). `None` is null.
    Number(Vec<Option<f64>>),
    /// Everything else as text (dates, strings). `None` is null.
    Text(Vec<Option<String>>),
}

/// Named columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Adds a numeric column.
    pub fn number(mut self, name: &str, values: impl IntoIterator<Item = f64>) -> Frame {
        self.names.push(name.to_owned());
        self.columns
            .push(Column::Number(values.into_iter().map(Some).collect()));
        self
    }

    /// Adds a numeric column whose missing values stay missing.
    pub fn optional_number(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Frame {
        self.names.push(name.to_owned());
        self.columns
            .push(Column::Number(values.into_iter().collect()));
        self
    }

    /// Adds a text column.
    pub fn text<S: Into<String>>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Frame {
        self.names.push(name.to_owned());
        self.columns.push(Column::Text(
            values.into_iter().map(|v| Some(v.into())).collect(),
        ));
        self
    }

    /// Converts query results. Numeric and boolean columns become numbers,
    /// everything else text.
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Frame, ChartError> {
        let Some(first) = batches.first() else {
            return Ok(Frame::new());
        };
        let schema = first.schema();
        let mut frame = Frame::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let numeric = field.data_type().is_numeric() || *field.data_type() == DataType::Boolean;
            let column = if numeric {
                let mut values = Vec::new();
                for batch in batches {
                    let array = cast(batch.column(index), &DataType::Float64)
                        .map_err(|e| ChartError::Data(format!("column `{}`: {e}", field.name())))?;
                    let array = array.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                    values.extend(
                        (0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i))),
                    );
                }
                Column::Number(values)
            } else {
                let mut values = Vec::new();
                for batch in batches {
                    let array = cast(batch.column(index), &DataType::Utf8)
                        .map_err(|e| ChartError::Data(format!("column `{}`: {e}", field.name())))?;
                    let array = array.as_string::<i32>();
                    values.extend(
                        (0..array.len())
                            .map(|i| array.is_valid(i).then(|| array.value(i).to_owned())),
                    );
                }
                Column::Text(values)
            };
            frame.names.push(field.name().clone());
            frame.columns.push(column);
        }
        Ok(frame)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self.columns.first() {
            Some(Column::Number(v)) => v.len(),
            Some(Column::Text(v)) => v.len(),
            None => 0,
        }
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column called `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Result<&Column, ChartError> {
        self.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| &self.columns[i])
            .ok_or_else(|| {
                ChartError::Data(format!(
                    "no column `{name}`; the data has {}",
                    self.names.join(", ")
                ))
            })
    }

    /// Whether the column is numeric.
    pub fn is_number(&self, name: &str) -> bool {
        matches!(self.column(name), Ok(Column::Number(_)))
    }

    /// The column as numbers; an error names a text column.
    pub fn numbers(&self, name: &str) -> Result<&[Option<f64>], ChartError> {
        match self.column(name)? {
            Column::Number(values) => Ok(values),
            Column::Text(_) => Err(ChartError::Data(format!(
                "column `{name}` is text, a number was expected"
            ))),
        }
    }

    /// The column as labels; numbers are printed (whole numbers without decimals).
    pub fn labels(&self, name: &str) -> Result<Vec<String>, ChartError> {
        Ok(match self.column(name)? {
            Column::Text(values) => values
                .iter()
                .map(|v| v.clone().unwrap_or_else(|| "(none)".into()))
                .collect(),
            Column::Number(values) => values
                .iter()
                .map(|v| match v {
                    Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
                    Some(x) => format!("{x}"),
                    None => "(none)".into(),
                })
                .collect(),
        })
    }

    /// The first text column, if any.
    pub fn first_text(&self) -> Option<&str> {
        self.names
            .iter()
            .zip(&self.columns)
            .find(|(_, c)| matches!(c, Column::Text(_)))
            .map(|(n, _)| n.as_str())
    }

    /// Numeric columns, except those named in `skip`.
    pub fn numeric_names(&self, skip: &[&str]) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.columns)
            .filter(|(n, c)| {
                matches!(c, Column::Number(_)) && !skip.iter().any(|s| s.eq_ignore_ascii_case(n))
            })
            .map(|(n, _)| n.clone())
            .collect()
    }
}
