//! Nevada charts: the shipments-and-returns table warranty analysts keep in
//! spreadsheets, fitted with a two-parameter Weibull law.
//!
//! A row is a shipment period with its units shipped and, in one column per
//! later period, the returns counted then (blank where not yet observed). A
//! return `j` periods after shipment is a failure at age `j`; the units not
//! returned are suspensions at the age of the row's last observed period.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dates::Period;
use crate::models::reliability::{FitError, Life, WeibullFit, fit_weibull};

/// Why a Nevada table was rejected or could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum NevadaError {
    /// The file could not be read.
    #[error("could not read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A cell, header or row breaks the layout.
    #[error("{}:{line}: column `{column}`: {expected}", path.display())]
    Rejected {
        /// The file.
        path: PathBuf,
        /// Line in the file (the header is line 1).
        line: u64,
        /// Column name (or number, for a header cell).
        column: String,
        /// What was expected there.
        expected: String,
    },
    /// The returns do not identify a Weibull law.
    #[error("{}: the returns cannot be fitted", path.display())]
    Fit {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: FitError,
    },
}

/// One shipment row of a Nevada table.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    /// The shipment period.
    pub period: Period,
    /// Units shipped.
    pub shipped: u64,
    /// Returns by return period, in order, up to the last observed one.
    pub returns: Vec<(Period, u64)>,
}

impl Shipment {
    /// Units never returned.
    fn survivors(&self) -> u64 {
        self.shipped - self.returns.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// Age (periods after shipment) of the last observed period.
    fn observed_age(&self) -> Option<i64> {
        self.returns.last().map(|(p, _)| age(self.period, *p))
    }
}

fn age(shipped: Period, returned: Period) -> i64 {
    returned.index() - shipped.index()
}

/// One observed cell: the returns of a shipment in a later period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    /// Shipment period.
    pub period: Period,
    /// Return period.
    pub return_period: Period,
    /// Returns counted.
    pub observed: u64,
    /// Expected returns: the survivors at the start of the period times the
    /// fitted chance of failing in it.
    pub expected: f64,
    /// Expected minus observed.
    pub error: f64,
    /// The error over the sample standard deviation of all cells' errors.
    pub z: f64,
}

/// The expected returns of a shipment in a future period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Forecast {
    /// Shipment period.
    pub period: Period,
    /// Future return period.
    pub return_period: Period,
    /// Expected returns.
    pub expected: f64,
}

/// A fitted Nevada chart.
#[derive(Debug, Clone, Serialize)]
pub struct Nevada {
    /// Weibull shape β.
    pub beta: f64,
    /// Weibull scale η, in periods.
    pub eta: f64,
    /// The full fit, with bounds.
    pub fit: WeibullFit,
    /// Every observed cell.
    pub cells: Vec<Cell>,
    /// Expected returns of every shipment for the requested future periods.
    pub forecast: Vec<Forecast>,
}

/// Reads a Nevada table in the wide layout: `period`, `shipped`, then one
/// `YYYY-MM` column per return period.
pub fn read(path: &Path) -> Result<Vec<Shipment>, NevadaError> {
    let bytes = std::fs::read(path).map_err(|source| NevadaError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &bytes)
}

/// Parses the bytes of a Nevada table (see [`read`]); `path` names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Shipment>, NevadaError> {
    let reject = |line: u64, column: &str, expected: String| NevadaError::Rejected {
        path: path.to_owned(),
        line,
        column: column.to_owned(),
        expected,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(reject(1, "1", format!("a CSV header ({e})"))),
        None => {
            return Err(reject(
                1,
                "1",
                "a header `period,shipped,YYYY-MM,...`".into(),
            ));
        }
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    let position = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let (Some(period_col), Some(shipped_col)) = (position("period"), position("shipped")) else {
        return Err(reject(
            1,
            "header",
            "the columns `period` and `shipped`".into(),
        ));
    };
    let mut return_cols: Vec<(usize, Period)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i == period_col || i == shipped_col {
            continue;
        }
        let p: Period = name.parse().map_err(|_| {
            reject(
                1,
                name,
                "a return period `YYYY-MM` as the column name".into(),
            )
        })?;
        if return_cols.iter().any(|(_, q)| *q == p) {
            return Err(reject(1, name, "each return period once".into()));
        }
        return_cols.push((i, p));
    }
    return_cols.sort_by_key(|(_, p)| *p);
    if return_cols.is_empty() {
        return Err(reject(
            1,
            "header",
            "at least one return period column".into(),
        ));
    }

    let mut shipments: Vec<Shipment> = Vec::new();
    for record in records {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            reject(line, "row", format!("a CSV row ({e})"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != names.len() {
            return Err(reject(
                line,
                "row",
                format!(
                    "{} cells like the header, got {}",
                    names.len(),
                    record.len()
                ),
            ));
        }
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let period: Period = cell(period_col)
            .parse()
            .map_err(|_| reject(line, &names[period_col], "a period `YYYY-MM`".into()))?;
        if shipments.iter().any(|s| s.period == period) {
            return Err(reject(line, &names[period_col], format!("{period} once")));
        }
        let count = |i: usize| -> Result<u64, NevadaError> {
            cell(i).parse::<u64>().map_err(|_| {
                reject(
                    line,
                    &names[i],
                    format!("a whole number of units, got `{}`", cell(i)),
                )
            })
        };
        let shipped = count(shipped_col)?;
        let mut returns = Vec::new();
        let mut gap: Option<usize> = None;
        for &(i, p) in &return_cols {
            if cell(i).is_empty() {
                if age(period, p) > 0 {
                    gap.get_or_insert(i);
                }
                continue;
            }
            let n = count(i)?;
            if age(period, p) <= 0 {
                if n > 0 {
                    return Err(reject(
                        line,
                        &names[i],
                        format!("returns only in periods after the shipment period {period}"),
                    ));
                }
                continue;
            }
            if let Some(blank) = gap {
                return Err(reject(
                    line,
                    &names[blank],
                    "a count (blank cells may only follow the last observed period)".into(),
                ));
            }
            returns.push((p, n));
        }
        let returned: u64 = returns.iter().map(|(_, n)| n).sum();
        if returned > shipped {
            return Err(reject(
                line,
                &names[shipped_col],
                format!("at least the {returned} units returned, got {shipped}"),
            ));
        }
        shipments.push(Shipment {
            period,
            shipped,
            returns,
        });
    }
    if shipments.is_empty() {
        return Err(reject(2, "row", "at least one shipment row".into()));
    }
    shipments.sort_by_key(|s| s.period);
    Ok(shipments)
}

/// The failures and suspensions of a Nevada table, in periods.
pub fn lives(shipments: &[Shipment]) -> Vec<Life> {
    let mut lives = Vec::new();
    for s in shipments {
        for &(p, n) in &s.returns {
            let time = age(s.period, p) as f64;
            lives.extend(std::iter::repeat_n(Life { time, failed: true }, n as usize));
        }
        if let Some(observed) = s.observed_age() {
            let suspension = Life {
                time: observed as f64,
                failed: false,
            };
            lives.extend(std::iter::repeat_n(suspension, s.survivors() as usize));
        }
    }
    lives
}

/// Fits the table and forecasts each shipment `forecast_periods` past its
/// last observed period. `path` names the table in errors.
pub fn analyse(
    path: &Path,
    shipments: &[Shipment],
    forecast_periods: u32,
) -> Result<Nevada, NevadaError> {
    let fit = fit_weibull(&lives(shipments)).map_err(|source| NevadaError::Fit {
        path: path.to_owned(),
        source,
    })?;
    let mut cells = Vec::new();
    for s in shipments {
        let mut at_risk = s.shipped as f64;
        for &(p, n) in &s.returns {
            let start = (age(s.period, p) - 1) as f64;
            let expected = at_risk * fit.conditional_failure(start, 1.0);
            cells.push(Cell {
                period: s.period,
                return_period: p,
                observed: n,
                expected,
                error: expected - n as f64,
                z: 0.0,
            });
            at_risk -= n as f64;
        }
    }
    let sd = sample_sd(cells.iter().map(|c| c.error));
    for c in &mut cells {
        c.z = if sd > 0.0 { c.error / sd } else { 0.0 };
    }
    let mut forecast = Vec::new();
    for s in shipments {
        let Some(last) = s.returns.last().map(|(p, _)| *p) else {
            continue;
        };
        let mut at_risk = s.survivors() as f64;
        for k in 1..=i64::from(forecast_periods) {
            let p = last.plus_months(k as i32);
            let expected = at_risk * fit.conditional_failure((age(s.period, p) - 1) as f64, 1.0);
            forecast.push(Forecast {
                period: s.period,
                return_period: p,
                expected,
            });
            at_risk -= expected;
        }
    }
    Ok(Nevada {
        beta: fit.shape,
        eta: fit.scale,
        fit,
        cells,
        forecast,
    })
}

fn sample_sd(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "period,shipped,2024-02,2024-03,2024-04\n\
                         2024-01,100,2,3,4\n\
                         2024-02,50,,1,2\n\
                         2024-03,80,,,\n";

    fn parsed() -> Vec<Shipment> {
        parse(Path::new("t.csv"), TABLE.as_bytes()).unwrap()
    }

    #[test]
    fn returns_become_failures_at_their_age_and_the_rest_suspensions() {
        let lives = lives(&parsed());
        let failed_at = |t: f64| lives.iter().filter(|l| l.failed && l.time == t).count();
        let suspended_at = |t: f64| lives.iter().filter(|l| !l.failed && l.time == t).count();
        assert_eq!((failed_at(1.0), failed_at(2.0), failed_at(3.0)), (3, 5, 4));
        // 2024-01: 91 survivors seen to age 3; 2024-02: 47 to age 2; 2024-03 has no observed period.
        assert_eq!((suspended_at(3.0), suspended_at(2.0)), (91, 47));
        assert_eq!(lives.len(), 12 + 91 + 47);
    }

    #[test]
    fn expected_returns_are_survivors_times_the_conditional_chance() {
        let shipments = parsed();
        let nevada = analyse(Path::new("t.csv"), &shipments, 2).unwrap();
        let f = &nevada.fit;
        let first = &nevada.cells[1]; // 2024-01 shipped, returned 2024-03: age 2, 98 at risk.
        assert_eq!(first.return_period, "2024-03".parse().unwrap());
        let expected =
            98.0 * (1.0 - ((1.0 / f.scale).powf(f.shape) - (2.0 / f.scale).powf(f.shape)).exp());
        assert!((first.expected - expected).abs() < 1e-12);
        assert!((first.error - (expected - 3.0)).abs() < 1e-12);
        let errors: Vec<f64> = nevada.cells.iter().map(|c| c.error).collect();
        let mean = errors.iter().sum::<f64>() / 5.0;
        let sd = (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        assert!((first.z - first.error / sd).abs() < 1e-12);
        // 2024-01 forecast: 91 at risk at age 3, then what is left at age 4.
        let next = &nevada.forecast[0];
        assert_eq!(next.return_period, "2024-05".parse().unwrap());
        let p3 = f.conditional_failure(3.0, 1.0);
        assert!((next.expected - 91.0 * p3).abs() < 1e-12);
        let after = &nevada.forecast[1];
        assert!(
            (after.expected - 91.0 * (1.0 - p3) * f.conditional_failure(4.0, 1.0)).abs() < 1e-12
        );
        // 2024-03 was never observed, so it has no forecast.
        assert_eq!(nevada.forecast.len(), 4);
    }

    #[test]
    fn bad_tables_are_rejected_by_line_and_column() {
        let check = |text: &str, line: u64, column: &str| match parse(
            Path::new("t.csv"),
            text.as_bytes(),
        ) {
            Err(NevadaError::Rejected {
                line: l, column: c, ..
            }) => {
                assert_eq!((l, c.as_str()), (line, column), "{text}")
            }
            other => panic!("{text}: {other:?}"),
        };
        check("period,units,2024-02\n2024-01,1,0\n", 1, "header");
        check("period,shipped,Feb\n2024-01,1,0\n", 1, "Feb");
        check("period,shipped,2024-02\n2024-01,1,x\n", 2, "2024-02");
        check(
            "period,shipped,2024-02\n2024-01,1,0\n2024-13,1,0\n",
            3,
            "period",
        );
        check("period,shipped,2024-02\n2024-01,1,2\n", 2, "shipped");
        check("period,shipped,2024-02\n2024-02,5,1\n", 2, "2024-02");
        check(
            "period,shipped,2024-02,2024-03\n2024-01,5,,1\n",
            2,
            "2024-02",
        );
        check("period,shipped,2024-02\n2024-01,5\n", 2, "row");
    }
}
