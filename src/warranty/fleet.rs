//! The fleet as the warranty module sees it, read with Polars from the
//! Parquet files the warehouse manifest lists: each vehicle with its sales,
//! odometer readings and failure repairs, and every claim.
//!
//! Everything is cut at an as-of day, so a forecast made "as of T" sees the
//! warehouse as it was at T.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use polars_io::parquet::read::ParquetReader;

use crate::schema::Table;
use crate::warehouse::Manifest;

use super::WarrantyError;
use super::coverage::{CoverageType, Scope};

/// A used-car sale: the start of an owner's ownership.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    /// Day of the sale (days since 1970-01-01).
    pub day: i32,
    /// Odometer at the sale.
    pub km: f64,
    /// Sold as certified used (12 months / 20,000 km of cover).
    pub certified: bool,
    /// Months of extended warranty bought with the car (0: none).
    pub extended_months: u32,
    /// The buyer, the new owner.
    pub buyer: String,
}

/// A repair or warranty repair order for a component.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureOrder {
    /// Component code.
    pub component: String,
    /// Day the order opened.
    pub day: i32,
    /// Station it was opened at.
    pub station: String,
}

/// A vehicle with everything known about it by the as-of day.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    /// VIN.
    pub vin: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Powertrain code (`ICE`, `HEV`, `PHEV`, `BEV`).
    pub powertrain: String,
    /// Day of first registration.
    pub registered: i32,
    /// Used-car sales, oldest first.
    pub sales: Vec<Sale>,
    /// Odometer readings `(day, km)` of repair orders, oldest first.
    pub readings: Vec<(i32, f64)>,
    /// Repair and warranty orders naming a component, oldest first.
    pub failures: Vec<FailureOrder>,
    /// Repair orders of any kind: day and station, oldest first.
    pub visits: Vec<(i32, String)>,
    /// The customer who first owned it.
    pub first_owner: String,
}

impl Vehicle {
    /// The sale in effect on `day` (the owner's purchase), if the vehicle was resold by then.
    pub fn sale_on(&self, day: i32) -> Option<(usize, &Sale)> {
        self.sales
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| s.day <= day)
    }

    /// The station the vehicle visits most (ties: the smallest id).
    pub fn home_station(&self) -> Option<&str> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for (_, station) in &self.visits {
            *counts.entry(station.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(s, _)| s)
    }

    /// Its owner: the last buyer, else the first owner.
    pub fn owner(&self) -> &str {
        self.sales
            .last()
            .map_or(self.first_owner.as_str(), |s| s.buyer.as_str())
    }

    /// The vehicle as it was known at the end of `day`.
    fn as_of(&self, day: i32) -> Vehicle {
        Vehicle {
            vin: self.vin.clone(),
            make: self.make.clone(),
            model: self.model.clone(),
            powertrain: self.powertrain.clone(),
            registered: self.registered,
            sales: self
                .sales
                .iter()
                .filter(|s| s.day <= day)
                .cloned()
                .collect(),
            readings: self
                .readings
                .iter()
                .copied()
                .filter(|r| r.0 <= day)
                .collect(),
            failures: self
                .failures
                .iter()
                .filter(|f| f.day <= day)
                .cloned()
                .collect(),
            visits: self.visits.iter().filter(|v| v.0 <= day).cloned().collect(),
            first_owner: self.first_owner.clone(),
        }
    }
}

/// A warranty claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Index of the vehicle in [`Fleet::vehicles`].
    pub vehicle: usize,
    /// Component code.
    pub component: String,
    /// Day of the failure.
    pub day: i32,
    /// Coverage it was claimed under.
    pub coverage: CoverageType,
    /// What it costs the warranty: the amount of an approved or pending
    /// claim, 0 for a rejected one.
    pub cost: f64,
}

impl Claim {
    /// Whether the claim falls under the traction-battery terms or the vehicle's.
    pub fn scope(&self) -> Scope {
        Scope::of(&self.component)
    }
}

/// The fleet and its claims as of a day.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// The as-of day: nothing after its end is seen.
    pub as_of: i32,
    /// Vehicles registered by the as-of day.
    pub vehicles: Vec<Vehicle>,
    /// Claims with a failure on or before the as-of day.
    pub claims: Vec<Claim>,
}

impl Fleet {
    /// The fleet as it was known at the end of `day` (an earlier day than its own).
    pub fn as_of(&self, day: i32) -> Fleet {
        let mut index = vec![None; self.vehicles.len()];
        let mut vehicles = Vec::new();
        for (i, v) in self.vehicles.iter().enumerate() {
            if v.registered <= day {
                index[i] = Some(vehicles.len());
                vehicles.push(v.as_of(day));
            }
        }
        let claims = self
            .claims
            .iter()
            .filter(|c| c.day <= day)
            .filter_map(|c| {
                Some(Claim {
                    vehicle: index[c.vehicle]?,
                    ..c.clone()
                })
            })
            .collect();
        Fleet {
            as_of: day.min(self.as_of),
            vehicles,
            claims,
        }
    }

    /// The fleet without the vehicles of these owners (and their claims).
    pub fn without_owners(self, owners: &std::collections::HashSet<String>) -> Fleet {
        let mut index = vec![None; self.vehicles.len()];
        let mut vehicles = Vec::new();
        for (i, v) in self.vehicles.into_iter().enumerate() {
            if !owners.contains(v.owner()) {
                index[i] = Some(vehicles.len());
                vehicles.push(v);
            }
        }
        let claims = self
            .claims
            .into_iter()
            .filter_map(|c| {
                Some(Claim {
                    vehicle: index[c.vehicle]?,
                    ..c
                })
            })
            .collect();
        Fleet {
            as_of: self.as_of,
            vehicles,
            claims,
        }
    }
}

/// Reads every file of a table that the manifest lists, keeping `columns`.
fn read_table(
    root: &Path,
    manifest: &Manifest,
    table: Table,
    columns: &[&str],
) -> Result<DataFrame, WarrantyError> {
    let mut frame: Option<DataFrame> = None;
    for file in &manifest.table(table).files {
        let path = root.join(file);
        let failed = |e: PolarsError| WarrantyError::Polars {
            what: format!("read `{}`", path.display()),
            source: e,
        };
        let handle = File::open(&path).map_err(|source| WarrantyError::Read {
            path: path.clone(),
            source,
        })?;
        let mut part = ParquetReader::new(handle)
            .with_columns(Some(columns.iter().map(|c| (*c).to_owned()).collect()))
            .finish()
            .map_err(failed)?;
        // Money is exact decimal in the warehouse (floating point in warehouses
        // written before it); the forecasts work in floating point, and files
        // of either layout must stack.
        for name in part.get_column_names_owned() {
            if matches!(
                part.column(&name).map_err(failed)?.dtype(),
                DataType::Decimal(..)
            ) {
                let as_float = part.column(&name).map_err(failed)?.cast(&DataType::Float64);
                part.replace(&name, as_float.map_err(failed)?)
                    .map_err(failed)?;
            }
        }
        match &mut frame {
            Some(f) => {
                f.vstack_mut(&part).map_err(failed)?;
            }
            None => frame = Some(part),
        }
    }
    frame.ok_or(WarrantyError::NoData)
}

fn polars_err(what: &str) -> impl Fn(PolarsError) -> WarrantyError + '_ {
    move |source| WarrantyError::Polars {
        what: what.to_owned(),
        source,
    }
}

fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, WarrantyError> {
    let column = df
        .column(name)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(polars_err(name))?;
    let values = column.str().map_err(polars_err(name))?;
    Ok(values.iter().map(|v| v.map(str::to_owned)).collect())
}

/// Days since 1970 of a date or timestamp column.
fn days(df: &DataFrame, name: &str) -> Result<Vec<Option<i32>>, WarrantyError> {
    let column = df.column(name).map_err(polars_err(name))?;
    let per_day: i64 = match column.dtype() {
        DataType::Date => 1,
        DataType::Datetime(TimeUnit::Nanoseconds, _) => 86_400_000_000_000,
        DataType::Datetime(TimeUnit::Microseconds, _) => 86_400_000_000,
        DataType::Datetime(TimeUnit::Milliseconds, _) => 86_400_000,
        other => {
            return Err(WarrantyError::Column {
                column: name.to_owned(),
                expected: format!("a date or timestamp, found {other}"),
            });
        }
    };
    let physical = column.cast(&DataType::Int64).map_err(polars_err(name))?;
    let values = physical.i64().map_err(polars_err(name))?;
    Ok(values
        .iter()
        .map(|v| v.map(|x| x.div_euclid(per_day) as i32))
        .collect())
}

fn numbers(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, WarrantyError> {
    let column = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(polars_err(name))?;
    Ok(column.f64().map_err(polars_err(name))?.iter().collect())
}

fn flags(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>, WarrantyError> {
    let column = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Boolean))
        .map_err(polars_err(name))?;
    Ok(column.bool().map_err(polars_err(name))?.iter().collect())
}

/// Reads the fleet of the warehouse at `root` as of the end of `as_of`.
pub fn load(root: &Path, as_of: i32) -> Result<Fleet, WarrantyError> {
    let manifest = Manifest::load(root).map_err(|e| WarrantyError::Warehouse(e.to_string()))?;
    let vehicles_df = read_table(
        root,
        &manifest,
        Table::Vehicles,
        &[
            "vin",
            "make",
            "model",
            "powertrain",
            "first_registration_date",
            "original_owner_id",
        ],
    )?;
    let mut vehicles = Vec::new();
    let mut by_vin: HashMap<String, usize> = HashMap::new();
    let vin = strings(&vehicles_df, "vin")?;
    let make = strings(&vehicles_df, "make")?;
    let model = strings(&vehicles_df, "model")?;
    let powertrain = strings(&vehicles_df, "powertrain")?;
    let registered = days(&vehicles_df, "first_registration_date")?;
    let first_owner = strings(&vehicles_df, "original_owner_id")?;
    for i in 0..vin.len() {
        let (Some(v), Some(day)) = (&vin[i], registered[i]) else {
            continue;
        };
        if day > as_of {
            continue;
        }
        by_vin.insert(v.clone(), vehicles.len());
        vehicles.push(Vehicle {
            vin: v.clone(),
            make: make[i].clone().unwrap_or_default(),
            model: model[i].clone().unwrap_or_default(),
            powertrain: powertrain[i].clone().unwrap_or_default(),
            registered: day,
            sales: Vec::new(),
            readings: Vec::new(),
            failures: Vec::new(),
            visits: Vec::new(),
            first_owner: first_owner[i].clone().unwrap_or_default(),
        });
    }

    let sales = read_table(
        root,
        &manifest,
        Table::Transactions,
        &[
            "vin",
            "sale_date",
            "odometer_km",
            "certified",
            "extended_warranty_months",
            "buyer_id",
        ],
    )?;
    let (vin, day, km) = (
        strings(&sales, "vin")?,
        days(&sales, "sale_date")?,
        numbers(&sales, "odometer_km")?,
    );
    let certified = flags(&sales, "certified")?;
    let extended = numbers(&sales, "extended_warranty_months")?;
    let buyer = strings(&sales, "buyer_id")?;
    for i in 0..vin.len() {
        let (Some(v), Some(d)) = (&vin[i], day[i]) else {
            continue;
        };
        let Some(&at) = by_vin.get(v) else { continue };
        if d > as_of {
            continue;
        }
        vehicles[at].sales.push(Sale {
            day: d,
            km: km[i].unwrap_or(f64::NAN),
            certified: certified[i].unwrap_or(false),
            extended_months: extended[i].unwrap_or(0.0).max(0.0) as u32,
            buyer: buyer[i].clone().unwrap_or_default(),
        });
    }

    let orders = read_table(
        root,
        &manifest,
        Table::RepairOrders,
        &[
            "vin",
            "station_id",
            "opened_at",
            "odometer_km",
            "job_type",
            "component",
        ],
    )?;
    let (vin, station, day) = (
        strings(&orders, "vin")?,
        strings(&orders, "station_id")?,
        days(&orders, "opened_at")?,
    );
    let (km, job, component) = (
        numbers(&orders, "odometer_km")?,
        strings(&orders, "job_type")?,
        strings(&orders, "component")?,
    );
    for i in 0..vin.len() {
        let (Some(v), Some(d)) = (&vin[i], day[i]) else {
            continue;
        };
        let Some(&at) = by_vin.get(v) else { continue };
        if d > as_of {
            continue;
        }
        let vehicle = &mut vehicles[at];
        if let Some(k) = km[i] {
            vehicle.readings.push((d, k));
        }
        let station = station[i].clone().unwrap_or_default();
        vehicle.visits.push((d, station.clone()));
        let failure = matches!(job[i].as_deref(), Some("repair" | "warranty"));
        if let (true, Some(c)) = (failure, &component[i]) {
            vehicle.failures.push(FailureOrder {
                component: c.clone(),
                day: d,
                station,
            });
        }
    }

    let claims_df = read_table(
        root,
        &manifest,
        Table::WarrantyClaims,
        &[
            "vin",
            "component",
            "failure_date",
            "amount_cny",
            "status",
            "coverage",
        ],
    )?;
    let (vin, component, day) = (
        strings(&claims_df, "vin")?,
        strings(&claims_df, "component")?,
        days(&claims_df, "failure_date")?,
    );
    let (amount, status, coverage) = (
        numbers(&claims_df, "amount_cny")?,
        strings(&claims_df, "status")?,
        strings(&claims_df, "coverage")?,
    );
    let mut claims = Vec::new();
    for i in 0..vin.len() {
        let (Some(v), Some(d), Some(c)) = (&vin[i], day[i], &component[i]) else {
            continue;
        };
        let Some(&at) = by_vin.get(v) else { continue };
        let Some(kind) = coverage[i].as_deref().and_then(CoverageType::parse) else {
            continue;
        };
        if d > as_of {
            continue;
        }
        let paid = status[i].as_deref() != Some("rejected");
        claims.push(Claim {
            vehicle: at,
            component: c.clone(),
            day: d,
            coverage: kind,
            cost: if paid { amount[i].unwrap_or(0.0) } else { 0.0 },
        });
    }
    for v in &mut vehicles {
        v.sales.sort_by_key(|s| s.day);
        v.readings.sort_by(|a, b| a.0.cmp(&b.0));
        v.failures.sort_by_key(|f| f.day);
        v.visits.sort();
    }
    claims.sort_by_key(|c| (c.vehicle, c.day));
    Ok(Fleet {
        as_of,
        vehicles,
        claims,
    })
}
