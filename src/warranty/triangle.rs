//! The months-in-service (MIS) triangle: for each coverage cohort and month in
//! service, the vehicles at risk, claims, repairs and cost.
//!
//! Exposure counts only the days a vehicle was covered (by time and by its
//! estimated odometer) and observed: "vehicles at risk" in a cell is its
//! vehicle-months of cover, the average number of vehicles covered during
//! that month. A cohort's cell exists once the cohort has lived through that
//! calendar month by the as-of day (complete months only).

use std::collections::HashMap;

use polars::prelude::*;

use crate::dates::{Period, days_in_month};

use super::WarrantyError;
use super::coverage::{
    CoverageTerms, CoverageType, Covered, Odometer, Scope, fallback_paces, timeline,
};
use super::fleet::{Fleet, Vehicle};

/// Whether a vehicle carries a traction battery (plug-in hybrids and battery-electric vehicles).
pub fn has_traction_battery(vehicle: &Vehicle) -> bool {
    matches!(vehicle.powertrain.as_str(), "PHEV" | "BEV")
}

/// The scopes a vehicle's claims can fall under.
pub fn scopes(vehicle: &Vehicle) -> &'static [Scope] {
    if has_traction_battery(vehicle) {
        &[Scope::Vehicle, Scope::TractionBattery]
    } else {
        &[Scope::Vehicle]
    }
}

/// Each vehicle's odometer and coverage timelines per scope.
pub struct CoverageBook {
    /// Odometer per vehicle, as in [`Fleet::vehicles`].
    pub odometers: Vec<Odometer>,
    /// Timelines per vehicle and scope.
    pub timelines: Vec<Vec<(Scope, Vec<Covered>)>>,
}

impl CoverageBook {
    /// Builds the odometers and timelines of a fleet.
    pub fn new(fleet: &Fleet, terms: &CoverageTerms) -> CoverageBook {
        let fallback = fallback_paces(&fleet.vehicles);
        let odometers: Vec<Odometer> = fleet
            .vehicles
            .iter()
            .map(|v| Odometer::of(v, fallback(v)))
            .collect();
        let timelines = fleet
            .vehicles
            .iter()
            .zip(&odometers)
            .map(|(v, odo)| {
                scopes(v)
                    .iter()
                    .map(|&s| (s, timeline(v, odo, terms, s)))
                    .collect()
            })
            .collect();
        CoverageBook {
            odometers,
            timelines,
        }
    }

    /// The covered stretch of a vehicle's scope that holds `day`.
    pub fn covering(&self, vehicle: usize, scope: Scope, day: i32) -> Option<&Covered> {
        self.timelines[vehicle]
            .iter()
            .find(|(s, _)| *s == scope)?
            .1
            .iter()
            .find(|c| c.start <= day && day < c.end)
    }
}

/// The last complete month on `as_of`: its own month when it is the month's last day.
pub fn last_complete_month(as_of: i32) -> Period {
    let month = Period::containing(as_of);
    if as_of + 1 == month.end() {
        month
    } else {
        month.plus_months(-1)
    }
}

type CellKey = (CoverageType, Scope, i64, i64);

/// Builds the triangle as a Polars frame, one row per observed cell:
/// `coverage`, `scope`, `cohort` (`YYYY-MM`), `mis`, `vehicles_at_risk`,
/// `claims`, `repairs`, `cost_cny`, `claims_per_thousand`,
/// `cumulative_claims_per_vehicle`.
pub fn build(fleet: &Fleet, book: &CoverageBook) -> Result<DataFrame, WarrantyError> {
    let last = last_complete_month(fleet.as_of);
    let observed_end = last.end();
    let mut exposure: HashMap<CellKey, f64> = HashMap::new();
    let mut repairs: HashMap<CellKey, u64> = HashMap::new();
    for (i, vehicle) in fleet.vehicles.iter().enumerate() {
        for (scope, stretches) in &book.timelines[i] {
            for c in stretches {
                let cohort = Period::containing(c.origin).index();
                let (start, end) = (c.start, c.end.min(observed_end));
                let mut day = start;
                while day < end {
                    let month = Period::containing(day);
                    let until = month.end().min(end);
                    let length = f64::from(days_in_month(month.year(), month.month()));
                    *exposure
                        .entry((c.coverage, *scope, cohort, month.index() - cohort))
                        .or_default() += f64::from(until - day) / length;
                    day = until;
                }
            }
        }
        for f in &vehicle.failures {
            let scope = Scope::of(&f.component);
            if f.day >= observed_end {
                continue;
            }
            if let Some(c) = book.covering(i, scope, f.day) {
                let cohort = Period::containing(c.origin).index();
                let mis = Period::containing(f.day).index() - cohort;
                *repairs.entry((c.coverage, scope, cohort, mis)).or_default() += 1;
            }
        }
    }
    // Claims: the cohort of the claim's own coverage (registration, or the sale in effect).
    let mut claim_rows: Vec<(CellKey, f64)> = Vec::new();
    for claim in &fleet.claims {
        if claim.day >= observed_end {
            continue;
        }
        let vehicle = &fleet.vehicles[claim.vehicle];
        let origin = match claim.coverage {
            CoverageType::Factory => Some(vehicle.registered),
            _ => vehicle.sale_on(claim.day).map(|(_, s)| s.day),
        };
        let Some(origin) = origin else { continue };
        let cohort = Period::containing(origin).index();
        let mis = Period::containing(claim.day).index() - cohort;
        claim_rows.push(((claim.coverage, claim.scope(), cohort, mis), claim.cost));
    }

    let mut keys: Vec<&CellKey> = exposure.keys().collect();
    keys.sort();
    let frame_of = |keys: &[&CellKey]| -> Result<DataFrame, PolarsError> {
        df!(
            "coverage" => keys.iter().map(|k| k.0.code()).collect::<Vec<_>>(),
            "scope" => keys.iter().map(|k| k.1.code()).collect::<Vec<_>>(),
            "cohort" => keys.iter().map(|k| Period::from_index(k.2).to_string()).collect::<Vec<_>>(),
            "mis" => keys.iter().map(|k| k.3).collect::<Vec<_>>(),
        )
    };
    let polars = |what: &'static str| {
        move |source| WarrantyError::Polars {
            what: what.to_owned(),
            source,
        }
    };
    let mut cells = frame_of(&keys).map_err(polars("triangle cells"))?;
    cells
        .with_column(Column::new(
            "vehicles_at_risk".into(),
            keys.iter().map(|k| exposure[*k]).collect::<Vec<f64>>(),
        ))
        .map_err(polars("triangle cells"))?;
    cells
        .with_column(Column::new(
            "repairs".into(),
            keys.iter()
                .map(|k| repairs.get(*k).copied().unwrap_or(0) as i64)
                .collect::<Vec<i64>>(),
        ))
        .map_err(polars("triangle cells"))?;
    let claim_keys: Vec<&CellKey> = claim_rows.iter().map(|(k, _)| k).collect();
    let mut claims = frame_of(&claim_keys).map_err(polars("claims"))?;
    claims
        .with_column(Column::new(
            "cost".into(),
            claim_rows.iter().map(|(_, c)| *c).collect::<Vec<f64>>(),
        ))
        .map_err(polars("claims"))?;

    let key = [col("coverage"), col("scope"), col("cohort"), col("mis")];
    let per_cell = claims.lazy().group_by(key.clone()).agg([
        len().cast(DataType::Int64).alias("claims"),
        col("cost").sum().alias("cost_cny"),
    ]);
    let cumulative = (col("claims_per_thousand") / lit(1000.0))
        .cum_sum(false)
        .over([col("coverage"), col("scope"), col("cohort")])
        .map_err(polars("cumulate claims"))?;
    cells
        .lazy()
        .join(per_cell, key.clone(), key, JoinArgs::new(JoinType::Left))
        .with_columns([
            col("claims").fill_null(lit(0i64)),
            col("cost_cny").fill_null(lit(0.0)),
        ])
        .with_column(
            (col("claims").cast(DataType::Float64) / col("vehicles_at_risk") * lit(1000.0))
                .alias("claims_per_thousand"),
        )
        .sort(
            ["coverage", "scope", "cohort", "mis"],
            SortMultipleOptions::default(),
        )
        .with_column(cumulative.alias("cumulative_claims_per_vehicle"))
        .select([
            col("coverage"),
            col("scope"),
            col("cohort"),
            col("mis"),
            col("vehicles_at_risk"),
            col("claims"),
            col("repairs"),
            col("cost_cny"),
            col("claims_per_thousand"),
            col("cumulative_claims_per_vehicle"),
        ])
        .collect()
        .map_err(polars("triangle"))
}

/// The factory triangle of the vehicle's terms in its usual wide layout: one
/// row per cohort, one column per month in service, claims per thousand
/// vehicles at risk (null where the cohort has not reached that age).
pub fn wide(triangle: &DataFrame) -> Result<DataFrame, WarrantyError> {
    let polars = |source| WarrantyError::Polars {
        what: "triangle pivot".to_owned(),
        source,
    };
    let factory = triangle
        .clone()
        .lazy()
        .filter(
            col("coverage")
                .eq(lit(CoverageType::Factory.code()))
                .and(col("scope").eq(lit(Scope::Vehicle.code()))),
        )
        .select([
            col("cohort"),
            col("mis").cast(DataType::String),
            col("claims_per_thousand"),
        ]);
    let months = factory
        .clone()
        .select([col("mis")])
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()
        .map_err(polars)?;
    factory
        .pivot(
            by_name(["mis"], true, false),
            Arc::new(months),
            by_name(["cohort"], true, false),
            by_name(["claims_per_thousand"], true, false),
            element().first(),
            true,
            "_".into(),
            polars::frame::PivotColumnNaming::Auto,
        )
        .sort(["cohort"], SortMultipleOptions::default())
        .collect()
        .map_err(polars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;
    use crate::warranty::coverage::Limit;
    use crate::warranty::fleet::{Claim, FailureOrder};

    fn day(s: &str) -> i32 {
        parse_date(s).unwrap()
    }

    fn vehicle(vin: &str, registered: &str, readings: &[(&str, f64)]) -> Vehicle {
        Vehicle {
            vin: vin.into(),
            make: "Toyota".into(),
            model: "Corolla".into(),
            powertrain: "ICE".into(),
            registered: day(registered),
            sales: Vec::new(),
            readings: readings.iter().map(|(d, k)| (day(d), *k)).collect(),
            failures: Vec::new(),
            visits: Vec::new(),
            first_owner: "C1".into(),
        }
    }

    fn claim(vehicle: usize, on: &str, cost: f64) -> Claim {
        Claim {
            vehicle,
            component: "water_pump".into(),
            day: day(on),
            coverage: CoverageType::Factory,
            cost,
        }
    }

    /// As of 2024-03-31, factory terms of 36 months / 5,000 km:
    /// A (registered 2024-01-01, 100 km a day) leaves cover by mileage on 2024-02-20;
    /// B (2024-01-16, 10 km a day) stays covered; C (2024-03-10, pace unknown, so the fleet
    /// median of 100) has only reached month 0.
    fn fixture() -> (Fleet, CoverageBook) {
        let mut a = vehicle("A", "2024-01-01", &[("2024-02-01", 3100.0)]);
        for on in ["2024-01-20", "2024-02-25"] {
            a.failures.push(FailureOrder {
                component: "water_pump".into(),
                day: day(on),
                station: "S1".into(),
            });
        }
        let b = vehicle("B", "2024-01-16", &[("2024-03-01", 450.0)]);
        let c = vehicle("C", "2024-03-10", &[]);
        let fleet = Fleet {
            as_of: day("2024-03-31"),
            vehicles: vec![a, b, c],
            claims: vec![
                claim(0, "2024-01-20", 100.0),
                claim(1, "2024-03-05", 200.0),
                claim(1, "2024-03-20", 50.0),
            ],
        };
        let mut terms = CoverageTerms::catalog();
        terms.factory.insert(
            "Toyota".into(),
            Limit {
                months: 36,
                km: 5000.0,
            },
        );
        let book = CoverageBook::new(&fleet, &terms);
        (fleet, book)
    }

    fn column_f64(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
        df.column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn exposure_counts_only_covered_observed_days() {
        let (fleet, book) = fixture();
        assert_eq!(book.timelines[0][0].1[0].end, day("2024-02-20"));
        let t = build(&fleet, &book).unwrap();
        let cohorts: Vec<String> = t
            .column("cohort")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|c| c.unwrap().to_owned())
            .collect();
        // Cohort 2024-03 has lived through month 0 only.
        assert_eq!(cohorts, ["2024-01", "2024-01", "2024-01", "2024-03"]);
        let at_risk = column_f64(&t, "vehicles_at_risk");
        let want = [1.0 + 16.0 / 31.0, 19.0 / 29.0 + 1.0, 1.0, 22.0 / 31.0];
        for (got, want) in at_risk.iter().zip(want) {
            assert!((got.unwrap() - want).abs() < 1e-12, "{got:?} vs {want}");
        }
        let claims = column_f64(&t, "claims");
        assert_eq!(claims, [Some(1.0), Some(0.0), Some(2.0), Some(0.0)]);
        assert_eq!(
            column_f64(&t, "cost_cny"),
            [Some(100.0), Some(0.0), Some(250.0), Some(0.0)]
        );
        // A's second failure came after its cover ended: not a warranty repair.
        assert_eq!(
            column_f64(&t, "repairs"),
            [Some(1.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        let per_thousand = column_f64(&t, "claims_per_thousand");
        assert!((per_thousand[0].unwrap() - 1000.0 / want[0]).abs() < 1e-9);
        assert!((per_thousand[2].unwrap() - 2000.0).abs() < 1e-9);
        let cumulative = column_f64(&t, "cumulative_claims_per_vehicle");
        assert!((cumulative[2].unwrap() - (1.0 / want[0] + 2.0)).abs() < 1e-9);
        assert_eq!(cumulative[3], Some(0.0));

        let w = wide(&t).unwrap();
        assert_eq!(w.height(), 2);
        assert!((column_f64(&w, "2")[0].unwrap() - 2000.0).abs() < 1e-9);
        assert_eq!(column_f64(&w, "2")[1], None);
    }
}
