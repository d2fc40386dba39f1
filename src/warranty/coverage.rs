//! Who is covered when: the warranty terms, each vehicle's estimated odometer,
//! and the coverage timeline that both bring about.
//!
//! Coverage ends by time or by mileage, whichever comes first. A claim is
//! booked under the first coverage that applies on its day: factory, then
//! certified used, then extended; so the timeline gives each day one type.

use std::collections::HashMap;

use serde::Serialize;

use crate::dates::add_months;
use crate::generate::catalog::MAKES;

use super::fleet::Vehicle;

/// The coverage a claim is booked under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageType {
    /// The maker's warranty from first registration.
    Factory,
    /// A dealer's cover on a certified used car, from its sale.
    CertifiedUsed,
    /// Extended warranty bought with a used car, from its sale.
    Extended,
}

impl CoverageType {
    /// Every type, in order of precedence.
    pub const ALL: [CoverageType; 3] = [
        CoverageType::Factory,
        CoverageType::CertifiedUsed,
        CoverageType::Extended,
    ];

    /// The code as exported in `warranty_claims.coverage`.
    pub fn code(self) -> &'static str {
        match self {
            CoverageType::Factory => "factory",
            CoverageType::CertifiedUsed => "certified_used",
            CoverageType::Extended => "extended",
        }
    }

    /// Parses an exported code.
    pub fn parse(code: &str) -> Option<CoverageType> {
        CoverageType::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Which terms a component's claims fall under: the vehicle's, or the longer
/// terms of a traction battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every component but the traction battery.
    Vehicle,
    /// The traction battery of a plug-in or battery-electric vehicle.
    TractionBattery,
}

impl Scope {
    /// The scope of a component code.
    pub fn of(component: &str) -> Scope {
        if component == "traction_battery" {
            Scope::TractionBattery
        } else {
            Scope::Vehicle
        }
    }

    /// Parses a code written to the outputs.
    pub fn parse(code: &str) -> Option<Scope> {
        [Scope::Vehicle, Scope::TractionBattery]
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// The code written to the outputs.
    pub fn code(self) -> &'static str {
        match self {
            Scope::Vehicle => "vehicle",
            Scope::TractionBattery => "traction_battery",
        }
    }
}

/// A limit of months and kilometres, whichever is reached first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Months from the start.
    pub months: i32,
    /// Kilometres on the odometer (absolute for factory and extended terms,
    /// added to the odometer at the sale for certified terms).
    pub km: f64,
}

/// The warranty terms of the market.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageTerms {
    /// Factory terms per make.
    pub factory: HashMap<String, Limit>,
    /// Factory terms of a make not listed.
    pub factory_default: Limit,
    /// Factory terms of the traction battery.
    pub traction_battery: Limit,
    /// Certified-used terms from the sale (km added to the odometer at the sale).
    pub certified: Limit,
    /// The odometer limit of extended warranties (their months are bought per sale).
    pub extended_km: f64,
}

impl CoverageTerms {
    /// The terms of the generator's market (`src/generate/catalog.rs`): each
    /// make's factory warranty, 96 months / 150,000 km on a traction battery,
    /// 12 months / 20,000 km on a certified used car, extended warranties up
    /// to 200,000 km.
    pub fn catalog() -> CoverageTerms {
        CoverageTerms {
            factory: MAKES
                .iter()
                .map(|m| {
                    let limit = Limit {
                        months: m.warranty_months as i32,
                        km: f64::from(m.warranty_km),
                    };
                    (m.name.to_owned(), limit)
                })
                .collect(),
            factory_default: Limit {
                months: 36,
                km: 100_000.0,
            },
            traction_battery: Limit {
                months: 96,
                km: 150_000.0,
            },
            certified: Limit {
                months: 12,
                km: 20_000.0,
            },
            extended_km: 200_000.0,
        }
    }

    fn factory_for(&self, make: &str, scope: Scope) -> Limit {
        match scope {
            Scope::TractionBattery => self.traction_battery,
            Scope::Vehicle => *self.factory.get(make).unwrap_or(&self.factory_default),
        }
    }
}

/// A vehicle's estimated odometer over time, from its readings.
///
/// Between two readings it is interpolated; after the last one it grows at
/// the current owner's pace (the kilometres per day between the owner's first
/// reading, the sale or registration at 0 km, and their latest, when at least
/// 30 days apart), else at `fallback` (the median pace of the make and model's
/// current owners). Readings that run backwards are held at the highest so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Odometer {
    points: Vec<(i32, f64)>,
    /// Kilometres per day after the last reading.
    pub km_per_day: f64,
}

impl Odometer {
    /// The owner's own pace, if their readings span 30 days or more.
    pub fn owner_pace(vehicle: &Vehicle) -> Option<f64> {
        let points = Odometer::points(vehicle);
        let since = vehicle.sales.last().map_or(vehicle.registered, |s| s.day);
        let own: Vec<&(i32, f64)> = points.iter().filter(|p| p.0 >= since).collect();
        let (first, last) = (own.first()?, own.last()?);
        (last.0 - first.0 >= 30).then(|| (last.1 - first.1) / f64::from(last.0 - first.0))
    }

    fn points(vehicle: &Vehicle) -> Vec<(i32, f64)> {
        let mut points = vec![(vehicle.registered, 0.0)];
        points.extend(
            vehicle
                .sales
                .iter()
                .filter(|s| s.km.is_finite())
                .map(|s| (s.day, s.km)),
        );
        points.extend(vehicle.readings.iter().copied());
        points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut highest = 0.0f64;
        for p in &mut points {
            highest = highest.max(p.1);
            p.1 = highest;
        }
        points
    }

    /// The odometer of `vehicle`, growing at `fallback` km per day where the
    /// owner's own pace is unknown.
    pub fn of(vehicle: &Vehicle, fallback: f64) -> Odometer {
        Odometer {
            points: Odometer::points(vehicle),
            km_per_day: Odometer::owner_pace(vehicle).unwrap_or(fallback).max(0.0),
        }
    }

    /// Kilometres on `day`.
    pub fn km_at(&self, day: i32) -> f64 {
        let i = self.points.partition_point(|p| p.0 <= day);
        if i == 0 {
            return 0.0;
        }
        let (d0, k0) = self.points[i - 1];
        match self.points.get(i) {
            Some(&(d1, k1)) => k0 + (k1 - k0) * f64::from(day - d0) / f64::from(d1 - d0),
            None => k0 + self.km_per_day * f64::from(day - d0),
        }
    }

    /// The first day the odometer reaches `km` (`i32::MAX` if it never does).
    pub fn day_at(&self, km: f64) -> i32 {
        for w in self.points.windows(2) {
            let ((d0, k0), (d1, k1)) = (w[0], w[1]);
            if k1 >= km && k1 > k0 {
                let t = ((km - k0) / (k1 - k0)).max(0.0);
                return d0 + (t * f64::from(d1 - d0)).ceil() as i32;
            }
        }
        let &(d, k) = self.points.last().expect("registration is a point");
        if k >= km {
            return d;
        }
        if self.km_per_day <= 0.0 {
            return i32::MAX;
        }
        let days = ((km - k) / self.km_per_day).ceil();
        if days > f64::from(i32::MAX - d) {
            i32::MAX
        } else {
            d + days as i32
        }
    }
}

/// The median owner pace (km per day) per make and model, and over the fleet,
/// for vehicles whose owner has no pace of their own yet.
pub fn fallback_paces(vehicles: &[Vehicle]) -> impl Fn(&Vehicle) -> f64 {
    let mut by_model: HashMap<(String, String), Vec<f64>> = HashMap::new();
    let mut all = Vec::new();
    for v in vehicles {
        if let Some(pace) = Odometer::owner_pace(v) {
            by_model
                .entry((v.make.clone(), v.model.clone()))
                .or_default()
                .push(pace);
            all.push(pace);
        }
    }
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        if xs.is_empty() { 0.0 } else { xs[xs.len() / 2] }
    };
    let overall = median(all);
    let by_model: HashMap<(String, String), f64> =
        by_model.into_iter().map(|(k, v)| (k, median(v))).collect();
    move |v: &Vehicle| {
        *by_model
            .get(&(v.make.clone(), v.model.clone()))
            .unwrap_or(&overall)
    }
}

/// A stretch of days `[start, end)` under one coverage type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covered {
    /// The coverage.
    pub coverage: CoverageType,
    /// First day.
    pub start: i32,
    /// The day after the last.
    pub end: i32,
    /// The day the coverage began: registration for factory cover, the sale for the others.
    pub origin: i32,
}

/// The days a vehicle's `scope` is covered, by type, oldest first: each day
/// gets the first type that applies (factory, certified used, extended). The
/// covers of a sale end when the car is sold again; mileage limits are
/// reached on the days the odometer estimate says.
pub fn timeline(
    vehicle: &Vehicle,
    odometer: &Odometer,
    terms: &CoverageTerms,
    scope: Scope,
) -> Vec<Covered> {
    let mut windows: Vec<Covered> = Vec::new();
    let factory = terms.factory_for(&vehicle.make, scope);
    windows.push(Covered {
        coverage: CoverageType::Factory,
        start: vehicle.registered,
        end: add_months(vehicle.registered, factory.months).min(odometer.day_at(factory.km)),
        origin: vehicle.registered,
    });
    for (i, sale) in vehicle.sales.iter().enumerate() {
        let next = vehicle.sales.get(i + 1).map_or(i32::MAX, |s| s.day);
        let km = if sale.km.is_finite() {
            sale.km
        } else {
            odometer.km_at(sale.day)
        };
        if sale.certified {
            let end = add_months(sale.day, terms.certified.months)
                .min(odometer.day_at(km + terms.certified.km))
                .min(next);
            windows.push(Covered {
                coverage: CoverageType::CertifiedUsed,
                start: sale.day,
                end,
                origin: sale.day,
            });
        }
        if sale.extended_months > 0 {
            let end = add_months(sale.day, sale.extended_months as i32)
                .min(odometer.day_at(terms.extended_km))
                .min(next);
            windows.push(Covered {
                coverage: CoverageType::Extended,
                start: sale.day,
                end,
                origin: sale.day,
            });
        }
    }
    windows.retain(|w| w.end > w.start);
    // Sweep the windows' edges; each stretch takes the first type that covers it.
    let mut edges: Vec<i32> = windows.iter().flat_map(|w| [w.start, w.end]).collect();
    edges.sort_unstable();
    edges.dedup();
    let mut out: Vec<Covered> = Vec::new();
    for pair in edges.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let best = windows
            .iter()
            .filter(|w| w.start <= start && w.end >= end)
            .min_by_key(|w| (w.coverage, std::cmp::Reverse(w.origin)));
        let Some(best) = best else { continue };
        match out.last_mut() {
            Some(last)
                if last.end == start
                    && last.coverage == best.coverage
                    && last.origin == best.origin =>
            {
                last.end = end;
            }
            _ => out.push(Covered {
                coverage: best.coverage,
                start,
                end,
                origin: best.origin,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_date;
    use crate::warranty::fleet::Sale;

    fn day(s: &str) -> i32 {
        parse_date(s).unwrap()
    }

    pub(crate) fn vehicle(registered: &str, readings: &[(&str, f64)], sales: Vec<Sale>) -> Vehicle {
        Vehicle {
            vin: "V1".into(),
            make: "Toyota".into(),
            model: "Corolla".into(),
            powertrain: "ICE".into(),
            registered: day(registered),
            sales,
            readings: readings.iter().map(|(d, k)| (day(d), *k)).collect(),
            failures: Vec::new(),
            visits: Vec::new(),
            first_owner: "C1".into(),
        }
    }

    #[test]
    fn the_odometer_interpolates_then_runs_at_the_owners_pace() {
        // 0 km at 2024-01-01, 3,000 on 2024-03-01 (60 days: 50 km a day), 9,000 on 2024-07-29 (150 days).
        let v = vehicle(
            "2024-01-01",
            &[("2024-03-01", 3000.0), ("2024-07-29", 9000.0)],
            vec![],
        );
        let odo = Odometer::of(&v, 10.0);
        assert!((odo.km_per_day - 9000.0 / 210.0).abs() < 1e-12);
        assert_eq!(odo.km_at(day("2024-01-31")), 1500.0);
        assert_eq!(odo.day_at(1500.0), day("2024-01-31"));
        // After the last reading: 42.857 km a day.
        let later = day("2024-07-29") + 70;
        assert!((odo.km_at(later) - 12_000.0).abs() < 1e-9);
        assert_eq!(odo.day_at(12_000.0), later);
        // Without a span of 30 days the make's pace is used.
        let new = vehicle("2024-01-01", &[("2024-01-10", 400.0)], vec![]);
        assert_eq!(Odometer::of(&new, 25.0).km_per_day, 25.0);
    }

    #[test]
    fn coverage_ends_by_mileage_and_types_follow_precedence() {
        let terms = CoverageTerms::catalog();
        let toyota = terms.factory["Toyota"];
        // A heavy user: 200 km a day reaches the factory km limit well before its months.
        let v = vehicle("2022-01-01", &[("2022-03-02", 12_000.0)], vec![]);
        let odo = Odometer::of(&v, 0.0);
        let t = timeline(&v, &odo, &terms, Scope::Vehicle);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].coverage, CoverageType::Factory);
        assert_eq!(
            t[0].end,
            day("2022-01-01") + (toyota.km / 200.0).ceil() as i32
        );
        // Its traction-battery terms are 150,000 km: 750 days.
        let t = timeline(&v, &odo, &terms, Scope::TractionBattery);
        assert_eq!(t[0].end, day("2022-01-01") + 750);

        // A light user resold certified with 24 months extended before the factory cover ends:
        // factory first, then certified to 12 months after the sale, then extended to 24.
        let sale = Sale {
            day: day("2024-06-01"),
            km: 20_000.0,
            certified: true,
            extended_months: 24,
            buyer: "C2".into(),
        };
        let v = vehicle(
            "2022-01-01",
            &[("2024-06-01", 20_000.0)],
            vec![sale.clone()],
        );
        let odo = Odometer::of(&v, 10.0);
        let t = timeline(&v, &odo, &terms, Scope::Vehicle);
        let kinds: Vec<CoverageType> = t.iter().map(|c| c.coverage).collect();
        assert_eq!(
            kinds,
            [
                CoverageType::Factory,
                CoverageType::CertifiedUsed,
                CoverageType::Extended
            ]
        );
        assert_eq!(t[0].end, add_months(day("2022-01-01"), toyota.months));
        assert_eq!((t[1].start, t[1].end), (t[0].end, day("2025-06-01")));
        assert_eq!(
            (t[2].start, t[2].end, t[2].origin),
            (day("2025-06-01"), day("2026-06-01"), sale.day)
        );
    }
}
