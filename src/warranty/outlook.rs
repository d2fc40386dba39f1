//! The warranty outlook as of a day: the triangle, the forecast, the reserve
//! and parts demand, with what actually happened after the day where the
//! warehouse already has it (a backtest), written under `OUT/warranty/`.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_io::parquet::write::ParquetWriter;
use serde::Serialize;

use crate::dates::{Period, format_date};

use super::WarrantyError;
use super::coverage::{CoverageTerms, CoverageType, Scope};
use super::fleet::{self, Fleet};
use super::forecast::{self, Forecast};
use super::triangle::{self, CoverageBook};

/// What to forecast.
#[derive(Debug, Clone)]
pub struct OutlookConfig {
    /// Forecast from the warehouse as it was at the end of this day.
    pub as_of: i32,
    /// Months forecast month by month.
    pub horizon: usize,
    /// Months of parts demand.
    pub parts_horizon: usize,
    /// The warranty terms.
    pub terms: CoverageTerms,
    /// Owners whose vehicles are left out of the forecast and the actuals
    /// (the planted truth's defected customers, to show what their leaving cost the forecast).
    pub without_owners: std::collections::HashSet<String>,
}

/// How a forecast fared against what followed (months the warehouse has in full).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Backtest {
    /// Months compared.
    pub months: usize,
    /// Claims forecast over those months.
    pub forecast_claims: f64,
    /// Claims booked.
    pub actual_claims: u64,
    /// (forecast − actual) / actual.
    pub total_error: f64,
    /// Claims the triangle's rates forecast over those months.
    pub triangle_claims: f64,
    /// Per component with at least [`Backtest::MIN_COMPONENT_CLAIMS`] actual claims: (component, forecast, actual, error).
    pub components: Vec<(String, f64, u64, f64)>,
    /// Month × component cells compared.
    pub cells: usize,
    /// Share of them whose 90 % interval held the actual.
    pub interval_coverage: f64,
    /// Station × component × month cells of parts demand compared.
    pub parts_cells: usize,
    /// Share of them where demand stayed within the 95 % stock.
    pub parts_within_stock: f64,
    /// Stock that was not used, summed over those cells.
    pub parts_unused: u64,
    /// Orders those cells needed.
    pub parts_actual: u64,
}

impl Backtest {
    /// Components with at least this many actual claims get their own error.
    pub const MIN_COMPONENT_CLAIMS: u64 = 200;
}

/// The outlook.
pub struct Outlook {
    /// The months-in-service triangle (long).
    pub triangle: DataFrame,
    /// The factory triangle, wide.
    pub wide: DataFrame,
    /// The forecast, reserve and parts demand, with actuals where known.
    pub forecast: Forecast,
    /// The comparison with the actuals, when the warehouse has any month after the as-of day.
    pub backtest: Option<Backtest>,
    /// The last day of data in the warehouse.
    pub data_end: i32,
}

/// Claims per vehicle-month by coverage, scope and months in service, pooled over the triangle's cohorts.
fn triangle_rates(
    triangle: &DataFrame,
) -> Result<HashMap<(CoverageType, Scope, i64), f64>, WarrantyError> {
    let polars = |source| WarrantyError::Polars {
        what: "pool the triangle's claim rates".into(),
        source,
    };
    let pooled = triangle
        .clone()
        .lazy()
        .group_by([col("coverage"), col("scope"), col("mis")])
        .agg([col("claims").sum(), col("vehicles_at_risk").sum()])
        .collect()
        .map_err(polars)?;
    let coverage = pooled
        .column("coverage")
        .map_err(polars)?
        .str()
        .map_err(polars)?
        .clone();
    let scope = pooled
        .column("scope")
        .map_err(polars)?
        .str()
        .map_err(polars)?
        .clone();
    let mis = pooled
        .column("mis")
        .map_err(polars)?
        .i64()
        .map_err(polars)?
        .clone();
    let claims = pooled
        .column("claims")
        .map_err(polars)?
        .i64()
        .map_err(polars)?
        .clone();
    let at_risk = pooled
        .column("vehicles_at_risk")
        .map_err(polars)?
        .f64()
        .map_err(polars)?
        .clone();
    let mut rates = HashMap::new();
    for i in 0..pooled.height() {
        let (Some(c), Some(s), Some(m), Some(n), Some(r)) = (
            coverage.get(i),
            scope.get(i),
            mis.get(i),
            claims.get(i),
            at_risk.get(i),
        ) else {
            continue;
        };
        let (Some(c), Some(s)) = (CoverageType::parse(c), Scope::parse(s)) else {
            continue;
        };
        if r > 0.0 {
            rates.insert((c, s, m), n as f64 / r);
        }
    }
    Ok(rates)
}

/// Months of recent experience that calibrate the forecast.
pub const RECENT_MONTHS: i64 = 6;

/// Actual over expected claims in the last [`RECENT_MONTHS`] complete months:
/// expected from the claim rates pooled over every cohort and month
/// ([`triangle_rates`]). Below 1 when fewer covered vehicles come to the
/// network than the history implies (owners who left), above 1 when claims
/// are rising. With fewer than 20 expected claims it is 1.
fn recent_ratio(
    triangle: &DataFrame,
    rates: &HashMap<(CoverageType, Scope, i64), f64>,
    as_of: i32,
) -> Result<f64, WarrantyError> {
    let polars = |source| WarrantyError::Polars {
        what: "compare recent claims with the triangle's rates".into(),
        source,
    };
    let last = triangle::last_complete_month(as_of).index();
    let get = |name: &str| triangle.column(name).map_err(polars);
    let coverage = get("coverage")?.str().map_err(polars)?.clone();
    let scope = get("scope")?.str().map_err(polars)?.clone();
    let cohort = get("cohort")?.str().map_err(polars)?.clone();
    let mis = get("mis")?.i64().map_err(polars)?.clone();
    let claims = get("claims")?.i64().map_err(polars)?.clone();
    let at_risk = get("vehicles_at_risk")?.f64().map_err(polars)?.clone();
    let (mut actual, mut expected) = (0.0, 0.0);
    for i in 0..triangle.height() {
        let (Some(c), Some(s), Some(h), Some(m), Some(n), Some(r)) = (
            coverage.get(i),
            scope.get(i),
            cohort.get(i),
            mis.get(i),
            claims.get(i),
            at_risk.get(i),
        ) else {
            continue;
        };
        let Ok(h) = h.parse::<Period>() else { continue };
        if h.index() + m <= last - RECENT_MONTHS {
            continue;
        }
        let (Some(c), Some(s)) = (CoverageType::parse(c), Scope::parse(s)) else {
            continue;
        };
        actual += n as f64;
        expected += rates.get(&(c, s, m)).copied().unwrap_or(0.0) * r;
    }
    Ok(if expected >= 20.0 {
        actual / expected
    } else {
        1.0
    })
}

/// The last day with a repair order in a fleet.
fn last_day(fleet: &Fleet) -> i32 {
    fleet
        .vehicles
        .iter()
        .flat_map(|v| {
            v.readings
                .iter()
                .map(|r| r.0)
                .chain(v.failures.iter().map(|f| f.day))
        })
        .max()
        .unwrap_or(fleet.as_of)
}

/// Builds the outlook of the warehouse at `root`.
pub fn outlook(root: &Path, config: &OutlookConfig) -> Result<Outlook, WarrantyError> {
    outlook_of(&fleet::load(root, i32::MAX)?, config)
}

/// Builds the outlook from the whole fleet (everything the warehouse holds).
pub fn outlook_of(full: &Fleet, config: &OutlookConfig) -> Result<Outlook, WarrantyError> {
    let mut fleet = full.as_of(config.as_of);
    if !config.without_owners.is_empty() {
        fleet = fleet.without_owners(&config.without_owners);
    }
    if fleet.vehicles.is_empty() {
        return Err(WarrantyError::NoData);
    }
    let book = CoverageBook::new(&fleet, &config.terms);
    let triangle_frame = triangle::build(&fleet, &book)?;
    let wide = triangle::wide(&triangle_frame)?;
    let rates = triangle_rates(&triangle_frame)?;
    let ratio = recent_ratio(&triangle_frame, &rates, fleet.as_of)?;
    let mut forecast = forecast::forecast(
        &fleet,
        &book,
        config.horizon,
        config.parts_horizon,
        &rates,
        ratio,
    );
    let data_end = last_day(full);
    let backtest = attach_actuals(&mut forecast, &fleet, full, data_end);
    Ok(Outlook {
        triangle: triangle_frame,
        wide,
        forecast,
        backtest,
        data_end,
    })
}

/// Fills in the claims and orders booked after the as-of day, for months the
/// warehouse has in full. Only the fleet of the as-of day counts: vehicles
/// registered by then, and no cover from a sale after it.
fn attach_actuals(
    forecast: &mut Forecast,
    fleet: &Fleet,
    full: &Fleet,
    data_end: i32,
) -> Option<Backtest> {
    let known: Vec<Period> = forecast
        .months
        .iter()
        .map(|m| m.month)
        .filter(|m| m.end() <= data_end + 1)
        .collect();
    if known.is_empty() {
        return None;
    }
    let in_fleet: HashMap<&str, ()> = fleet
        .vehicles
        .iter()
        .map(|v| (v.vin.as_str(), ()))
        .collect();
    let mut claims: HashMap<(Period, Period, &str, CoverageType), u64> = HashMap::new();
    for c in &full.claims {
        let v = &full.vehicles[c.vehicle];
        let month = Period::containing(c.day);
        if c.day <= fleet.as_of || !known.contains(&month) || !in_fleet.contains_key(v.vin.as_str())
        {
            continue;
        }
        let later_sale = c.coverage != CoverageType::Factory
            && v.sale_on(c.day).is_some_and(|(_, s)| s.day > fleet.as_of);
        if later_sale {
            continue;
        }
        let origin = match c.coverage {
            CoverageType::Factory => v.registered,
            _ => v.sale_on(c.day).map_or(v.registered, |(_, s)| s.day),
        };
        let key = (
            month,
            Period::containing(origin),
            c.component.as_str(),
            c.coverage,
        );
        *claims.entry(key).or_default() += 1;
    }
    let mut orders: HashMap<(&str, &str, Period), u64> = HashMap::new();
    for v in full
        .vehicles
        .iter()
        .filter(|v| in_fleet.contains_key(v.vin.as_str()))
    {
        for f in v.failures.iter().filter(|f| f.day > fleet.as_of) {
            let month = Period::containing(f.day);
            if known.contains(&month) {
                *orders
                    .entry((f.station.as_str(), f.component.as_str(), month))
                    .or_default() += 1;
            }
        }
    }
    let mut by_component: BTreeMap<(Period, &str), u64> = BTreeMap::new();
    for (&(m, _, c, _), &n) in &claims {
        *by_component.entry((m, c)).or_default() += n;
    }
    for cell in &mut forecast.cells {
        if known.contains(&cell.month) {
            let key = (
                cell.month,
                cell.cohort,
                cell.component.as_str(),
                cell.coverage,
            );
            cell.actual_claims = Some(*claims.get(&key).unwrap_or(&0));
        }
    }
    // Cells with actual claims but no forecast are misses too.
    let mut compared = 0;
    let mut held = 0;
    let forecast_keys: HashMap<(Period, String), ()> = forecast
        .component_months
        .iter()
        .map(|c| ((c.month, c.component.clone()), ()))
        .collect();
    for cell in &mut forecast.component_months {
        if known.contains(&cell.month) {
            let actual = *by_component
                .get(&(cell.month, cell.component.as_str()))
                .unwrap_or(&0);
            cell.actual_claims = Some(actual);
            compared += 1;
            if cell.lower_90 <= actual && actual <= cell.upper_90 {
                held += 1;
            }
        }
    }
    compared += by_component
        .keys()
        .filter(|(m, c)| !forecast_keys.contains_key(&(*m, (*c).to_owned())))
        .count();
    let mut forecast_total = 0.0;
    let mut triangle_total = 0.0;
    for m in &mut forecast.months {
        if known.contains(&m.month) {
            let actual: u64 = by_component
                .iter()
                .filter(|((p, _), _)| *p == m.month)
                .map(|(_, n)| n)
                .sum();
            m.actual_claims = Some(actual);
            forecast_total += m.expected_claims;
            triangle_total += m.triangle_claims;
        }
    }
    let actual_total: u64 = by_component.values().sum();
    let mut per_component: BTreeMap<&str, (f64, u64)> = BTreeMap::new();
    for cell in forecast
        .component_months
        .iter()
        .filter(|c| c.actual_claims.is_some())
    {
        per_component.entry(cell.component.as_str()).or_default().0 += cell.expected_claims;
    }
    for (&(_, c), &n) in &by_component {
        per_component.entry(c).or_default().1 += n;
    }
    let components = per_component
        .into_iter()
        .filter(|(_, (_, a))| *a >= Backtest::MIN_COMPONENT_CLAIMS)
        .map(|(c, (f, a))| (c.to_owned(), f, a, (f - a as f64) / a as f64))
        .collect();
    let (mut parts_cells, mut within, mut unused, mut parts_actual) = (0, 0, 0, 0);
    for cell in &mut forecast.parts {
        if known.contains(&cell.month) {
            let actual = *orders
                .get(&(cell.station.as_str(), cell.component.as_str(), cell.month))
                .unwrap_or(&0);
            cell.actual = Some(actual);
            parts_cells += 1;
            parts_actual += actual;
            if actual <= cell.stock_95 {
                within += 1;
            }
            unused += cell.stock_95.saturating_sub(actual);
        }
    }
    Some(Backtest {
        months: known.len(),
        forecast_claims: forecast_total,
        actual_claims: actual_total,
        total_error: if actual_total > 0 {
            (forecast_total - actual_total as f64) / actual_total as f64
        } else {
            f64::NAN
        },
        triangle_claims: triangle_total,
        components,
        cells: compared,
        interval_coverage: if compared > 0 {
            held as f64 / compared as f64
        } else {
            f64::NAN
        },
        parts_cells,
        parts_within_stock: if parts_cells > 0 {
            within as f64 / parts_cells as f64
        } else {
            f64::NAN
        },
        parts_unused: unused,
        parts_actual,
    })
}

/// The run's warranty outlook: as of `data_end` into [`super::outlook_dir`],
/// as of the end of the month before into [`super::previous_dir`] (for the
/// reserve's change), and as of the end of the month six months earlier
/// into [`super::backtest_dir`], so the report can set the forecast against
/// what followed. Forecasts run six months, parts demand three.
pub fn standard(
    root: &Path,
    out: &Path,
    data_end: i32,
) -> Result<(OutlookManifest, OutlookManifest), WarrantyError> {
    let config = |as_of| OutlookConfig {
        as_of,
        horizon: 6,
        parts_horizon: 3,
        terms: CoverageTerms::catalog(),
        without_owners: Default::default(),
    };
    let full = fleet::load(root, i32::MAX)?;
    let live = config(data_end);
    let live_manifest = write(&super::outlook_dir(out), &outlook_of(&full, &live)?, &live)?;
    let last = triangle::last_complete_month(data_end);
    let before = config(last.start() - 1);
    write(
        &super::previous_dir(out),
        &outlook_of(&full, &before)?,
        &before,
    )?;
    let earlier = last.plus_months(-(RECENT_MONTHS as i32)).end() - 1;
    let back = config(earlier);
    let back_manifest = write(&super::backtest_dir(out), &outlook_of(&full, &back)?, &back)?;
    Ok((live_manifest, back_manifest))
}

// ---------------------------------------------------------------------------
// Frames and files

fn polars(what: &'static str) -> impl Fn(PolarsError) -> WarrantyError {
    move |source| WarrantyError::Polars {
        what: what.to_owned(),
        source,
    }
}

fn months_text(periods: impl Iterator<Item = Period>) -> Vec<String> {
    periods.map(|p| p.to_string()).collect()
}

/// The forecast cells (month, cohort, component, coverage) as a frame.
pub fn forecast_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let c = &f.cells;
    df!(
        "month" => months_text(c.iter().map(|x| x.month)),
        "cohort" => months_text(c.iter().map(|x| x.cohort)),
        "component" => c.iter().map(|x| x.component.clone()).collect::<Vec<_>>(),
        "coverage" => c.iter().map(|x| x.coverage.code()).collect::<Vec<_>>(),
        "expected_claims" => c.iter().map(|x| x.expected_claims).collect::<Vec<_>>(),
        "lower_90" => c.iter().map(|x| x.lower_90 as i64).collect::<Vec<_>>(),
        "upper_90" => c.iter().map(|x| x.upper_90 as i64).collect::<Vec<_>>(),
        "expected_cost_cny" => c.iter().map(|x| x.expected_cost_cny).collect::<Vec<_>>(),
        "actual_claims" => c.iter().map(|x| x.actual_claims.map(|n| n as i64)).collect::<Vec<_>>(),
    )
    .map_err(polars("build the forecast frame"))
}

/// Claims per month and component, with actuals.
pub fn component_months_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let c = &f.component_months;
    df!(
        "month" => months_text(c.iter().map(|x| x.month)),
        "component" => c.iter().map(|x| x.component.clone()).collect::<Vec<_>>(),
        "expected_claims" => c.iter().map(|x| x.expected_claims).collect::<Vec<_>>(),
        "lower_90" => c.iter().map(|x| x.lower_90 as i64).collect::<Vec<_>>(),
        "upper_90" => c.iter().map(|x| x.upper_90 as i64).collect::<Vec<_>>(),
        "actual_claims" => c.iter().map(|x| x.actual_claims.map(|n| n as i64)).collect::<Vec<_>>(),
    )
    .map_err(polars("build the component-month frame"))
}

/// Claims per month: the laws' forecast with its interval, the triangle's, and the actuals.
pub fn months_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let m = &f.months;
    df!(
        "month" => months_text(m.iter().map(|x| x.month)),
        "expected_claims" => m.iter().map(|x| x.expected_claims).collect::<Vec<_>>(),
        "lower_90" => m.iter().map(|x| x.lower_90 as i64).collect::<Vec<_>>(),
        "upper_90" => m.iter().map(|x| x.upper_90 as i64).collect::<Vec<_>>(),
        "triangle_claims" => m.iter().map(|x| x.triangle_claims).collect::<Vec<_>>(),
        "actual_claims" => m.iter().map(|x| x.actual_claims.map(|n| n as i64)).collect::<Vec<_>>(),
    )
    .map_err(polars("build the monthly forecast frame"))
}

/// The reserve per component and coverage type.
pub fn reserve_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let r = &f.reserve;
    df!(
        "component" => r.iter().map(|x| x.component.clone()).collect::<Vec<_>>(),
        "coverage" => r.iter().map(|x| x.coverage.code()).collect::<Vec<_>>(),
        "expected_claims" => r.iter().map(|x| x.expected_claims).collect::<Vec<_>>(),
        "expected_cost_cny" => r.iter().map(|x| x.expected_cost_cny).collect::<Vec<_>>(),
        "lower_90_cny" => r.iter().map(|x| x.lower_90_cny).collect::<Vec<_>>(),
        "upper_90_cny" => r.iter().map(|x| x.upper_90_cny).collect::<Vec<_>>(),
    )
    .map_err(polars("build the reserve frame"))
}

/// Parts demand per station, component and month.
pub fn parts_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let p = &f.parts;
    df!(
        "station_id" => p.iter().map(|x| x.station.clone()).collect::<Vec<_>>(),
        "component" => p.iter().map(|x| x.component.clone()).collect::<Vec<_>>(),
        "month" => months_text(p.iter().map(|x| x.month)),
        "expected_orders" => p.iter().map(|x| x.expected).collect::<Vec<_>>(),
        "stock_95" => p.iter().map(|x| x.stock_95 as i64).collect::<Vec<_>>(),
        "actual_orders" => p.iter().map(|x| x.actual.map(|n| n as i64)).collect::<Vec<_>>(),
    )
    .map_err(polars("build the parts frame"))
}

/// The life laws the forecast used.
pub fn laws_frame(f: &Forecast) -> Result<DataFrame, WarrantyError> {
    let l = &f.laws;
    df!(
        "component" => l.iter().map(|x| x.component.clone()).collect::<Vec<_>>(),
        "group" => l.iter().map(|x| x.group.clone()).collect::<Vec<_>>(),
        "basis" => l.iter().map(|x| x.basis.code()).collect::<Vec<_>>(),
        "failures" => l.iter().map(|x| x.fit.failures as i64).collect::<Vec<_>>(),
        "units" => l.iter().map(|x| x.fit.n as i64).collect::<Vec<_>>(),
        "beta" => l.iter().map(|x| x.fit.shape).collect::<Vec<_>>(),
        "eta" => l.iter().map(|x| x.fit.scale).collect::<Vec<_>>(),
        "beta_se" => l.iter().map(|x| x.fit.shape_se).collect::<Vec<_>>(),
        "eta_se" => l.iter().map(|x| x.fit.scale_se).collect::<Vec<_>>(),
    )
    .map_err(polars("build the laws frame"))
}

/// What `OUT/warranty/` holds besides the alarms; also its `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct OutlookManifest {
    /// Always `aftersight-warranty`.
    pub kind: &'static str,
    /// The as-of day.
    pub as_of: String,
    /// The last day of data.
    pub data_end: String,
    /// Months forecast.
    pub horizon: usize,
    /// Months of parts demand.
    pub parts_horizon: usize,
    /// The whole reserve, CNY: expected, lower and upper 90 %.
    pub reserve_cny: (f64, f64, f64),
    /// Recent actual over expected claims, which scaled the forecast.
    pub recent_ratio: f64,
    /// The backtest, when actuals were known.
    pub backtest: Option<Backtest>,
    /// Files written, relative to the folder.
    pub files: Vec<String>,
}

fn write_frame(path: &Path, frame: &mut DataFrame) -> Result<(), WarrantyError> {
    let dir = path.parent().expect("a file in a folder");
    let name = path.file_name().expect("a file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |source| WarrantyError::Write {
        path: path.to_owned(),
        source,
    };
    let file = File::create(&tmp).map_err(io)?;
    ParquetWriter::new(file)
        .finish(frame)
        .map_err(polars("write a warranty table"))?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes the outlook under `dir` (the triangle, forecast, reserve, parts and
/// laws as Parquet, then `manifest.json`), each file atomically.
pub fn write(
    dir: &Path,
    outlook: &Outlook,
    config: &OutlookConfig,
) -> Result<OutlookManifest, WarrantyError> {
    std::fs::create_dir_all(dir).map_err(|source| WarrantyError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let f = &outlook.forecast;
    let mut tables: Vec<(&str, DataFrame)> = vec![
        ("triangle", outlook.triangle.clone()),
        ("triangle_wide", outlook.wide.clone()),
        ("forecast", forecast_frame(f)?),
        ("forecast_by_component", component_months_frame(f)?),
        ("forecast_by_month", months_frame(f)?),
        ("reserve", reserve_frame(f)?),
        ("parts", parts_frame(f)?),
        ("laws", laws_frame(f)?),
    ];
    let mut files = Vec::new();
    for (name, frame) in &mut tables {
        let file = format!("{name}.parquet");
        write_frame(&dir.join(&file), frame)?;
        files.push(file);
    }
    let manifest = OutlookManifest {
        kind: "aftersight-warranty",
        as_of: format_date(config.as_of),
        data_end: format_date(outlook.data_end),
        horizon: config.horizon,
        parts_horizon: config.parts_horizon,
        reserve_cny: f.total_reserve,
        recent_ratio: f.recent_ratio,
        backtest: outlook.backtest.clone(),
        files,
    };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    let path: PathBuf = dir.join(crate::fsutil::MANIFEST_FILE);
    crate::fsutil::write_atomically(&path, &bytes).map_err(|source| WarrantyError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(manifest)
}
