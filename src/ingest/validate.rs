//! Row validation: text fields in, typed Arrow columns out, or the first
//! rule the row breaks.
//!
//! Checked here, per row: required fields, types (numbers, booleans, strict
//! ISO dates and timestamps), ranges (no negative amounts or odometers,
//! plausible dates, scores within their scale), enumerations, VIN format and
//! check digit, and that a repair order closes after it opens. Keys (primary
//! and foreign) need the other rows and are checked by [`super::keys`].

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::source::{Fields, Rejection};
use crate::dates::{days_from_civil, format_date, parse_date, parse_timestamp};
use crate::schema::{ColumnType, Table, enum_values};

/// Earliest plausible date in any export.
const MIN_DATE: i32 = days_from_civil(1990, 1, 1);

/// A parsed field.
#[derive(Debug, Clone, Copy)]
enum Parsed {
    Null,
    Text,
    Int(i64),
    Float(f64),
    /// An amount in fen.
    Money(i64),
    Bool(bool),
    Date(i32),
    Timestamp(i64),
}

enum Builder {
    Text(StringBuilder),
    Int(Int32Builder),
    BigInt(Int64Builder),
    Float(Float64Builder),
    Money(Decimal128Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    /// A builder for `ty` with room for `rows` values (and `text` bytes of them).
    fn with_capacity(ty: ColumnType, rows: usize, text: usize) -> Builder {
        match ty {
            ColumnType::Text => Builder::Text(StringBuilder::with_capacity(rows, text)),
            ColumnType::Int => Builder::Int(Int32Builder::with_capacity(rows)),
            ColumnType::BigInt => Builder::BigInt(Int64Builder::with_capacity(rows)),
            ColumnType::Float => Builder::Float(Float64Builder::with_capacity(rows)),
            ColumnType::Money => Builder::Money(
                Decimal128Builder::with_capacity(rows)
                    .with_data_type(ColumnType::Money.arrow_type()),
            ),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            ColumnType::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
        }
    }
}

/// The rules of one column, looked up once per table rather than per row.
struct ColumnRules {
    /// Allowed values of an enumerated column.
    allowed: Option<&'static [&'static str]>,
    /// Whether the column holds VINs.
    vin: bool,
    /// Allowed range of an integer column.
    bounds: (i64, i64),
}

/// Accumulates validated rows of one table as Arrow columns.
pub struct RowValidator {
    table: Table,
    rules: Vec<ColumnRules>,
    builders: Vec<Builder>,
    parsed: Vec<Parsed>,
    max_date: i32,
    rows: usize,
}

fn range(column: &'static str, value: i64, lo: i64, hi: i64) -> Result<(), Rejection> {
    if value < lo || value > hi {
        let rule = if value < 0 && lo >= 0 {
            "negative_value"
        } else {
            "out_of_range"
        };
        return Err(Rejection::column(
            column,
            rule,
            format!("{value} is outside {lo}..={hi}"),
        ));
    }
    Ok(())
}

/// Allowed integer range of a column.
fn int_bounds(table: Table, column: &str) -> (i64, i64) {
    match (table, column) {
        (_, "odometer_km") => (0, 3_000_000),
        (Table::Stations, "bays") => (1, 500),
        (Table::Vehicles, "model_year") => (1980, 2035),
        (Table::Transactions, "extended_warranty_months") => (0, 120),
        (Table::Surveys, "recommend") => (0, 10),
        (Table::Surveys, _) => (1, 10),
        _ => (i64::MIN, i64::MAX),
    }
}

impl RowValidator {
    /// A validator for `table`; dates later than `max_date` (a day number) are implausible.
    pub fn new(table: Table, max_date: i32) -> RowValidator {
        let builders = table
            .columns()
            .iter()
            .map(|c| Builder::with_capacity(c.ty, 0, 0))
            .collect();
        let rules = table
            .columns()
            .iter()
            .map(|c| ColumnRules {
                allowed: enum_values(table, c.name),
                vin: c.name == "vin",
                bounds: int_bounds(table, c.name),
            })
            .collect();
        RowValidator {
            table,
            rules,
            builders,
            parsed: vec![Parsed::Null; table.columns().len()],
            max_date,
            rows: 0,
        }
    }

    /// Rows accumulated since the last [`RowValidator::finish_batch`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Checks one row's fields (in schema order). Call [`RowValidator::append`]
    /// with the same values to keep the row. One arm per column rule in one
    /// function: this runs for every field of every row ingested.
    pub fn check<F: Fields + ?Sized>(&mut self, values: &F) -> Result<(), Rejection> {
        let table = self.table;
        for (i, (col, rules)) in table.columns().iter().zip(&self.rules).enumerate() {
            let v = values.value(i);
            if v.is_empty() {
                if col.required {
                    return Err(Rejection::column(
                        col.name,
                        "missing_required",
                        "a value is required".into(),
                    ));
                }
                self.parsed[i] = Parsed::Null;
                continue;
            }
            self.parsed[i] = match col.ty {
                ColumnType::Text => {
                    if let Some(allowed) = rules.allowed
                        && !allowed.contains(&v)
                    {
                        return Err(Rejection::column(
                            col.name,
                            "invalid_value",
                            format!("`{v}` is not one of {}", allowed.join(", ")),
                        ));
                    }
                    if rules.vin {
                        crate::vin::validate(v).map_err(|e| {
                            Rejection::column(col.name, "invalid_vin", format!("`{v}`: {e}"))
                        })?;
                    }
                    Parsed::Text
                }
                ColumnType::Int | ColumnType::BigInt => {
                    let n: i64 = v.parse().map_err(|_| {
                        Rejection::column(
                            col.name,
                            "invalid_number",
                            format!("`{v}` is not a whole number"),
                        )
                    })?;
                    let (lo, hi) = rules.bounds;
                    range(col.name, n, lo, hi)?;
                    if col.ty == ColumnType::Int && i32::try_from(n).is_err() {
                        return Err(Rejection::column(
                            col.name,
                            "out_of_range",
                            format!("{n} does not fit 32 bits"),
                        ));
                    }
                    Parsed::Int(n)
                }
                ColumnType::Float => {
                    let x: f64 =
                        v.parse()
                            .ok()
                            .filter(|x: &f64| x.is_finite())
                            .ok_or_else(|| {
                                Rejection::column(
                                    col.name,
                                    "invalid_number",
                                    format!("`{v}` is not a number"),
                                )
                            })?;
                    if x < 0.0 {
                        let rule = if col.unit == Some("CNY") {
                            "negative_amount"
                        } else {
                            "negative_value"
                        };
                        return Err(Rejection::column(
                            col.name,
                            rule,
                            format!("{v} is negative"),
                        ));
                    }
                    Parsed::Float(x)
                }
                ColumnType::Money => {
                    let fen = parse_fen(v).map_err(|reason| {
                        Rejection::column(col.name, reason.rule(), reason.explain(v))
                    })?;
                    if fen < 0 {
                        return Err(Rejection::column(
                            col.name,
                            "negative_amount",
                            format!("{v} is negative"),
                        ));
                    }
                    Parsed::Money(fen)
                }
                ColumnType::Bool => Parsed::Bool(match v.to_ascii_lowercase().as_str() {
                    "true" | "t" | "1" | "yes" | "y" => true,
                    "false" | "f" | "0" | "no" | "n" => false,
                    _ => {
                        return Err(Rejection::column(
                            col.name,
                            "invalid_bool",
                            format!("`{v}` is not true or false"),
                        ));
                    }
                }),
                ColumnType::Date => {
                    let d = parse_date(v).ok_or_else(|| {
                        Rejection::column(
                            col.name,
                            "invalid_date",
                            format!("`{v}` is not a real date in YYYY-MM-DD form"),
                        )
                    })?;
                    self.plausible(col.name, d)?;
                    Parsed::Date(d)
                }
                ColumnType::Timestamp => {
                    let t = parse_timestamp(v).ok_or_else(|| {
                        Rejection::column(
                            col.name,
                            "invalid_timestamp",
                            format!("`{v}` is not a real time in YYYY-MM-DDTHH:MM:SS form"),
                        )
                    })?;
                    self.plausible(col.name, t.div_euclid(86_400) as i32)?;
                    Parsed::Timestamp(t)
                }
            };
        }
        if table == Table::RepairOrders
            && let (Parsed::Timestamp(opened), Parsed::Timestamp(closed)) =
                (self.parsed[4], self.parsed[5])
            && closed < opened
        {
            return Err(Rejection::column(
                "closed_at",
                "closed_before_opened",
                format!(
                    "closed at {} before it was opened at {}",
                    values.value(5),
                    values.value(4)
                ),
            ));
        }
        Ok(())
    }

    fn plausible(&self, column: &'static str, day: i32) -> Result<(), Rejection> {
        if day < MIN_DATE || day > self.max_date {
            return Err(Rejection::column(
                column,
                "implausible_date",
                format!(
                    "{} is outside {}..={}",
                    format_date(day),
                    format_date(MIN_DATE),
                    format_date(self.max_date)
                ),
            ));
        }
        Ok(())
    }

    /// Appends the row last accepted by [`RowValidator::check`].
    pub fn append<F: Fields + ?Sized>(&mut self, values: &F) {
        for (i, (b, p)) in self.builders.iter_mut().zip(&self.parsed).enumerate() {
            match (b, *p) {
                (Builder::Text(b), Parsed::Text) => b.append_value(values.value(i)),
                (Builder::Text(b), _) => b.append_null(),
                (Builder::Int(b), Parsed::Int(n)) => b.append_value(n as i32),
                (Builder::Int(b), _) => b.append_null(),
                (Builder::BigInt(b), Parsed::Int(n)) => b.append_value(n),
                (Builder::BigInt(b), _) => b.append_null(),
                (Builder::Float(b), Parsed::Float(x)) => b.append_value(x),
                (Builder::Float(b), _) => b.append_null(),
                (Builder::Money(b), Parsed::Money(fen)) => b.append_value(i128::from(fen)),
                (Builder::Money(b), _) => b.append_null(),
                (Builder::Bool(b), Parsed::Bool(x)) => b.append_value(x),
                (Builder::Bool(b), _) => b.append_null(),
                (Builder::Date(b), Parsed::Date(d)) => b.append_value(d),
                (Builder::Date(b), _) => b.append_null(),
                (Builder::Timestamp(b), Parsed::Timestamp(t)) => b.append_value(t * 1_000_000),
                (Builder::Timestamp(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    /// Takes the accumulated rows as a batch. The builders start again with
    /// room for as many rows and as much text as this batch had, and an
    /// eighth more: a validator kept from chunk to chunk (of even sizes) then
    /// rarely grows a buffer, which would copy it.
    pub fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::BigInt(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                    Builder::Money(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::Timestamp(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let room = |n: usize| n + n / 8;
        for ((builder, column), spec) in self
            .builders
            .iter_mut()
            .zip(&columns)
            .zip(self.table.columns())
        {
            let text = column
                .as_string_opt::<i32>()
                .map_or(0, |s| s.values().len());
            *builder = Builder::with_capacity(spec.ty, room(column.len()), room(text));
        }
        self.rows = 0;
        RecordBatch::try_new(self.table.arrow_schema(), columns)
    }
}

/// Why a field is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoneyError {
    /// Not a plain decimal number.
    NotAnAmount,
    /// A non-zero digit after the second decimal: below a fen.
    BelowAFen,
    /// 10^16 CNY or more.
    TooLarge,
}

impl MoneyError {
    /// The quarantine rule.
    fn rule(self) -> &'static str {
        match self {
            MoneyError::NotAnAmount => "invalid_number",
            MoneyError::BelowAFen => "below_a_fen",
            MoneyError::TooLarge => "out_of_range",
        }
    }

    /// What is wrong with `text`, and what was expected.
    fn explain(self, text: &str) -> String {
        match self {
            MoneyError::NotAnAmount => format!("`{text}` is not an amount such as 1234.50"),
            MoneyError::BelowAFen => {
                format!("`{text}` has a non-zero digit below the fen (more than two decimals)")
            }
            MoneyError::TooLarge => format!("`{text}` is 10^16 CNY or more"),
        }
    }
}

/// Parses an amount written as a plain decimal (`1234`, `1234.5`, `-0.50`)
/// into fen, exactly: no binary floating point on the way, so the warehouse
/// holds the digits of the export. Zeros after the second decimal are allowed.
fn parse_fen(text: &str) -> Result<i64, MoneyError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return Err(MoneyError::NotAnAmount);
    }
    if fraction.bytes().skip(2).any(|b| b != b'0') {
        return Err(MoneyError::BelowAFen);
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > usize::from(crate::schema::MONEY_PRECISION) - 2 {
        return Err(MoneyError::TooLarge);
    }
    let mut fen: i64 = 0;
    for b in whole.bytes().chain(fraction.bytes().chain(*b"00").take(2)) {
        fen = fen * 10 + i64::from(b - b'0');
    }
    Ok(if negative { -fen } else { fen })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    fn ro(opened: &str, closed: &str, labour: &str) -> Vec<String> {
        row(&[
            "RO1",
            "LGXCE4CC9RA000164",
            "C1",
            "ST1",
            opened,
            closed,
            "1000",
            "repair",
            "brake_pads",
            "",
            "1.0",
            labour,
            "10",
        ])
    }

    #[test]
    fn good_rows_become_typed_columns() {
        let mut v = RowValidator::new(Table::RepairOrders, days_from_civil(2030, 1, 1));
        let good = ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "150.5");
        assert_eq!(v.check(&good), Ok(()));
        v.append(&good);
        let batch = v.finish_batch().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.schema(), Table::RepairOrders.arrow_schema());
    }

    #[test]
    fn each_rule_names_its_column() {
        let mut v = RowValidator::new(Table::RepairOrders, days_from_civil(2030, 1, 1));
        let rule =
            |r: Result<(), Rejection>| r.map_err(|e| (e.column.unwrap_or(""), e.rule)).unwrap_err();
        assert_eq!(
            rule(v.check(&ro("2024-02-30T09:00:00", "2024-03-01T12:00:00", "1"))),
            ("opened_at", "invalid_timestamp")
        );
        assert_eq!(
            rule(v.check(&ro("2024-03-01T09:00:00", "2024-03-01T08:00:00", "1"))),
            ("closed_at", "closed_before_opened")
        );
        assert_eq!(
            rule(v.check(&ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "-5"))),
            ("labour_cny", "negative_amount")
        );
        assert_eq!(
            rule(v.check(&ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "abc"))),
            ("labour_cny", "invalid_number")
        );
        assert_eq!(
            rule(v.check(&ro("2050-03-01T09:00:00", "2050-03-01T12:00:00", "1"))),
            ("opened_at", "implausible_date")
        );
        let mut bad_vin = ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "1");
        bad_vin[1] = "LGXCE4CC1RA000164".into();
        assert_eq!(rule(v.check(&bad_vin)), ("vin", "invalid_vin"));
        let mut bad_job = ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "1");
        bad_job[7] = "tuning".into();
        assert_eq!(rule(v.check(&bad_job)), ("job_type", "invalid_value"));
        assert_eq!(
            rule(v.check(&ro("2024-03-01T09:00:00", "2024-03-01T12:00:00", "12.345"))),
            ("labour_cny", "below_a_fen")
        );
        assert!(v.is_empty(), "checking alone appends nothing");
    }

    #[test]
    fn amounts_become_fen_exactly() {
        for (text, fen) in [
            ("0", 0),
            ("1234", 123_400),
            ("1234.5", 123_450),
            ("1234.56", 123_456),
            ("0.10", 10),
            (".5", 50),
            ("7.", 700),
            ("+3.20", 320),
            ("-0.01", -1),
            ("19.990000", 1_999),
            ("0001.07", 107),
            ("9999999999999999.99", 999_999_999_999_999_999),
        ] {
            assert_eq!(parse_fen(text), Ok(fen), "{text}");
        }
        for (text, error) in [
            ("", MoneyError::NotAnAmount),
            (".", MoneyError::NotAnAmount),
            ("1e3", MoneyError::NotAnAmount),
            ("1,5", MoneyError::NotAnAmount),
            ("NaN", MoneyError::NotAnAmount),
            ("--1", MoneyError::NotAnAmount),
            ("1.2.3", MoneyError::NotAnAmount),
            ("0.005", MoneyError::BelowAFen),
            ("10000000000000000", MoneyError::TooLarge),
        ] {
            assert_eq!(parse_fen(text), Err(error), "{text}");
        }
    }
}
