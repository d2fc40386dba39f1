//! The population: stations, customers (with their latent segment) and each
//! vehicle's plan (what it is, when it was registered, who owned it when).
//!
//! The population is drawn once, sequentially, from one seeded stream and
//! kept in memory in compact form (a few dozen bytes per entity: about 150 MB
//! at scale 10). The events of each vehicle are then simulated from the plan
//! by [`super::simulate`].

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use serde::Serialize;

use super::catalog::{CITIES, MAKES, Powertrain};
use super::{DATA_END, FIRST_REGISTRATION, LAST_REGISTRATION};
use crate::dates::{civil_from_days, days_from_civil};

/// Kind of service outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StationKind {
    /// Franchised 4S dealer of one make.
    Dealer4s,
    /// Outlet of a service chain.
    Chain,
    /// Independent workshop.
    Independent,
}

impl StationKind {
    /// Code as exported.
    pub fn code(self) -> &'static str {
        match self {
            StationKind::Dealer4s => "dealer_4s",
            StationKind::Chain => "chain",
            StationKind::Independent => "independent",
        }
    }
}

/// A service station and its hidden quality.
#[derive(Debug, Clone)]
pub struct Station {
    /// Index into [`CITIES`].
    pub city: u16,
    /// Kind of outlet.
    pub kind: StationKind,
    /// Franchised make (index into [`MAKES`]) for dealers.
    pub brand: Option<u8>,
    /// Network grade.
    pub grade: &'static str,
    /// Hidden workmanship quality in [0, 1]: drives comebacks, turnaround and CSI.
    pub quality: f64,
    /// Labour rate in CNY per hour.
    pub labour_rate: f64,
    /// Turnaround multiplier (1.0 typical, larger is slower).
    pub slowness: f64,
    /// Service bays.
    pub bays: u32,
    /// Opening date.
    pub opened: i32,
    /// District index used in the name.
    pub district: u8,
    /// Chain brand index (chains) or surname index (independents).
    pub name_pick: u8,
}

impl Station {
    /// Probability that a repair here needs a comeback within 30 days.
    pub fn comeback_probability(&self) -> f64 {
        0.015 + 0.16 * (1.0 - self.quality)
    }
}

/// A latent customer segment with its behaviour.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// Segment code, used in the truth file.
    pub name: &'static str,
    /// Plain-words description.
    pub description: &'static str,
    /// Median kilometres driven per day.
    pub daily_km: f64,
    /// Probability of coming in when maintenance is due.
    pub maintenance_compliance: f64,
    /// Multiplier on parts spend (premium parts, extras).
    pub spend: f64,
    /// Preference for dealer, chain and independent stations.
    pub station_preference: [u32; 3],
    /// Preference for online, in-store and O2O channels.
    pub channel_preference: [u32; 3],
    /// Insurance-claim accidents per year.
    pub accidents_per_year: f64,
    /// Share of customers.
    pub weight: u32,
}

/// The planted customer segments.
pub const SEGMENTS: &[Segment] = &[
    Segment {
        name: "urban_commuter",
        description: "short daily commutes, regular maintenance, average spend, mostly O2O",
        daily_km: 25.0,
        maintenance_compliance: 0.85,
        spend: 1.0,
        station_preference: [45, 40, 15],
        channel_preference: [30, 25, 45],
        accidents_per_year: 0.10,
        weight: 35,
    },
    Segment {
        name: "ride_hailing",
        description: "very high mileage, frequent cheap visits, chains, online",
        daily_km: 180.0,
        maintenance_compliance: 0.95,
        spend: 0.75,
        station_preference: [10, 55, 35],
        channel_preference: [65, 10, 25],
        accidents_per_year: 0.30,
        weight: 10,
    },
    Segment {
        name: "premium_loyal",
        description: "premium makes, dealer-serviced, high spend, in store",
        daily_km: 45.0,
        maintenance_compliance: 0.97,
        spend: 2.0,
        station_preference: [90, 8, 2],
        channel_preference: [10, 75, 15],
        accidents_per_year: 0.07,
        weight: 20,
    },
    Segment {
        name: "budget_diy",
        description: "skips maintenance, independent shops, low spend",
        daily_km: 40.0,
        maintenance_compliance: 0.40,
        spend: 0.5,
        station_preference: [5, 30, 65],
        channel_preference: [30, 55, 15],
        accidents_per_year: 0.12,
        weight: 20,
    },
    Segment {
        name: "family_long_distance",
        description: "long weekend trips, high mileage, mixed stations",
        daily_km: 90.0,
        maintenance_compliance: 0.80,
        spend: 1.25,
        station_preference: [45, 40, 15],
        channel_preference: [25, 35, 40],
        accidents_per_year: 0.12,
        weight: 15,
    },
];

/// Preferred contact channel of a customer.
pub const CHANNELS: [&str; 3] = ["online", "in_store", "o2o"];

/// A customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// City index.
    pub city: u16,
    /// Latent segment (index into [`SEGMENTS`]).
    pub segment: u8,
    /// Preferred channel (index into [`CHANNELS`]).
    pub channel: u8,
    /// Station the customer normally uses.
    pub home_station: u32,
    /// First day the customer owned a vehicle.
    pub first_seen: i32,
}

/// Terms of a used-car sale (the price and odometer follow from simulation).
#[derive(Debug, Clone)]
pub struct Sale {
    /// Selling station.
    pub station: u32,
    /// `online_direct`, `dealer` or `auction`.
    pub channel: &'static str,
    /// Financed purchase.
    pub financed: bool,
    /// Certified pre-owned.
    pub certified: bool,
    /// Extended warranty months bought.
    pub extended_months: u32,
}

/// One span of ownership.
#[derive(Debug, Clone)]
pub struct Ownership {
    /// Owning customer.
    pub customer: u32,
    /// First day of ownership.
    pub start: i32,
    /// The sale that started it (`None` for the original owner).
    pub sale: Option<Sale>,
}

/// Everything fixed about a vehicle before its events are simulated.
#[derive(Debug, Clone)]
pub struct VehiclePlan {
    /// Make index.
    pub make: u8,
    /// Model index within the make.
    pub model: u8,
    /// Powertrain.
    pub powertrain: Powertrain,
    /// Model year.
    pub model_year: i32,
    /// First registration day.
    pub registered: i32,
    /// VIN.
    pub vin: String,
    /// Ownership spans in time order.
    pub owners: Vec<Ownership>,
}

/// The whole drawn population.
pub struct Population {
    /// Stations, index = id - 1.
    pub stations: Vec<Station>,
    /// Customers, index = id - 1.
    pub customers: Vec<Customer>,
    /// Vehicle plans in VIN-serial order.
    pub vehicles: Vec<VehiclePlan>,
    /// Cities in use (prefix of [`CITIES`]).
    pub city_count: usize,
}

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut x = rng.random::<f64>() * total;
    for item in items {
        x -= weight(item);
        if x < 0.0 {
            return item;
        }
    }
    items.last().expect("weighted choice from a non-empty list")
}

fn weighted_index(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Used-car sales are seasonal: slow around Spring Festival, peaks in spring and in "golden September, silver October".
const SALES_SEASON: [f64; 12] = [
    0.8, 0.55, 1.05, 1.05, 0.95, 0.95, 0.9, 0.95, 1.15, 1.15, 1.0, 1.05,
];

impl Population {
    /// Draws the population for `vehicle_count` vehicles and `station_count` stations.
    /// One function, top to bottom: the order of the draws from `rng` is what
    /// makes a seed reproduce the same files, so it stays in one place.
    pub fn draw(rng: &mut ChaCha8Rng, vehicle_count: usize, station_count: usize) -> Population {
        let city_count = (station_count / 10).clamp(3, CITIES.len());
        let cities = &CITIES[..city_count];
        let stations = draw_stations(rng, cities, station_count);
        let mut pop = Population {
            stations,
            customers: Vec::with_capacity(vehicle_count * 6 / 5),
            vehicles: Vec::with_capacity(vehicle_count),
            city_count,
        };
        let mut by_city: Vec<Vec<u32>> = vec![Vec::new(); city_count];
        for (i, s) in pop.stations.iter().enumerate() {
            by_city[s.city as usize].push(i as u32);
        }
        let span = (LAST_REGISTRATION - FIRST_REGISTRATION) as f64;
        for serial in 0..vehicle_count {
            // Registrations grow over time (the car parc grows ~6 % a year).
            let u: f64 = rng.random();
            let registered = FIRST_REGISTRATION + (span * u.powf(0.8)) as i32;
            let owner = pop.new_or_existing_customer(rng, &by_city, None, 0.85, registered, None);
            let segment = pop.customers[owner as usize].segment as usize;
            let (make_idx, make) = {
                let choices: Vec<(usize, f64)> = MAKES
                    .iter()
                    .enumerate()
                    .map(|(i, mk)| {
                        let share: u32 = mk.models.iter().map(|m| m.weight).sum();
                        let affinity = match SEGMENTS[segment].name {
                            "premium_loyal" if mk.price_level >= 1.4 => 5.0,
                            "budget_diy" if mk.price_level >= 1.4 => 0.2,
                            "ride_hailing" if matches!(mk.name, "BYD" | "Tesla" | "Wuling") => 4.0,
                            _ => 1.0,
                        };
                        (i, f64::from(share) * affinity)
                    })
                    .collect();
                let i = weighted(rng, &choices, |c| c.1).0;
                (i, &MAKES[i])
            };
            let (year, _, _) = civil_from_days(registered);
            let eligible: Vec<(usize, &super::catalog::Model)> = make
                .models
                .iter()
                .enumerate()
                .filter(|(_, m)| m.first_year <= year + 1)
                .collect();
            let eligible = if eligible.is_empty() {
                make.models.iter().enumerate().collect()
            } else {
                eligible
            };
            let (model_idx, model) = *weighted(rng, &eligible, |m| f64::from(m.1.weight));
            let powertrain = model.powertrains[weighted_index(
                rng,
                &model.powertrains.iter().map(|p| p.1).collect::<Vec<_>>(),
            )]
            .0;
            // Cars registered in the second half of a year are mostly next model year.
            let (_, month, _) = civil_from_days(registered);
            let model_year = if month >= 8 && rng.random_bool(0.6) {
                year + 1
            } else {
                year
            }
            .max(model.first_year);
            // Serial and plant letter together keep VINs unique up to 8 million vehicles.
            let plant = b"ABCDEFGH"[serial / 1_000_000 % 8];
            let vin = crate::vin::build(
                make.wmi,
                model.vds,
                model_year,
                plant,
                (serial % 1_000_000) as u32,
            );
            let mut owners = vec![Ownership {
                customer: owner,
                start: registered,
                sale: None,
            }];
            // Used-car sales: the first after a few years, later ones less often.
            let mut day = registered;
            let mut mean_years = 3.5;
            loop {
                let wait = Exp::new(1.0 / mean_years)
                    .expect("positive rate")
                    .sample(rng);
                day += 180 + (wait * 365.25) as i32;
                day = seasonal_sale_day(rng, day);
                if day > DATA_END {
                    break;
                }
                let previous_city =
                    pop.customers[owners.last().expect("has owner").customer as usize].city;
                let seller = owners.last().expect("has owner").customer;
                let buyer = pop.new_or_existing_customer(
                    rng,
                    &by_city,
                    Some(previous_city),
                    0.7,
                    day,
                    Some(seller),
                );
                let city = pop.customers[buyer as usize].city as usize;
                let age_years = f64::from(day - registered) / 365.25;
                let station = by_city[city][rng.random_range(0..by_city[city].len())];
                let is_dealer = pop.stations[station as usize].kind == StationKind::Dealer4s;
                let channel =
                    ["online_direct", "dealer", "auction"][weighted_index(rng, &[25, 60, 15])];
                let certified = is_dealer && age_years < 6.0 && rng.random_bool(0.5);
                let extended_months = if age_years < 8.0 {
                    [0, 12, 24, 36][weighted_index(rng, &[65, 20, 10, 5])]
                } else {
                    0
                };
                let financed = rng.random_bool(if age_years < 4.0 { 0.45 } else { 0.25 });
                owners.push(Ownership {
                    customer: buyer,
                    start: day,
                    sale: Some(Sale {
                        station,
                        channel,
                        financed,
                        certified,
                        extended_months,
                    }),
                });
                mean_years = 4.5;
            }
            pop.vehicles.push(VehiclePlan {
                make: make_idx as u8,
                model: model_idx as u8,
                powertrain,
                model_year,
                registered,
                vin,
                owners,
            });
        }
        pop
    }

    /// Returns a new customer (with probability `p_new`, or always when there is none yet) or an existing one other than `exclude`.
    fn new_or_existing_customer(
        &mut self,
        rng: &mut ChaCha8Rng,
        by_city: &[Vec<u32>],
        near_city: Option<u16>,
        p_new: f64,
        day: i32,
        exclude: Option<u32>,
    ) -> u32 {
        if !self.customers.is_empty() && !rng.random_bool(p_new) {
            let id = rng.random_range(0..self.customers.len()) as u32;
            if Some(id) != exclude {
                let c = &mut self.customers[id as usize];
                c.first_seen = c.first_seen.min(day);
                return id;
            }
        }
        let city = match near_city {
            Some(c) if rng.random_bool(0.8) => c,
            _ => weighted_index(
                rng,
                &CITIES[..self.city_count]
                    .iter()
                    .map(|c| c.weight)
                    .collect::<Vec<_>>(),
            ) as u16,
        };
        let segment = weighted_index(rng, &SEGMENTS.iter().map(|s| s.weight).collect::<Vec<_>>());
        let seg = &SEGMENTS[segment];
        let channel = weighted_index(rng, &seg.channel_preference) as u8;
        let kind_wanted = weighted_index(rng, &seg.station_preference);
        let local = &by_city[city as usize];
        let matching: Vec<u32> = local
            .iter()
            .copied()
            .filter(|&s| self.stations[s as usize].kind as usize == kind_wanted)
            .collect();
        let pool = if matching.is_empty() {
            local
        } else {
            &matching
        };
        let home_station = *pool.choose(rng).expect("every city has stations");
        self.customers.push(Customer {
            city,
            segment: segment as u8,
            channel,
            home_station,
            first_seen: day,
        });
        (self.customers.len() - 1) as u32
    }
}

fn seasonal_sale_day(rng: &mut ChaCha8Rng, mut day: i32) -> i32 {
    for _ in 0..6 {
        let (_, month, _) = civil_from_days(day);
        if rng.random::<f64>() * 1.15 < SALES_SEASON[month as usize - 1] {
            break;
        }
        day += rng.random_range(10..40);
    }
    day
}

fn draw_stations(
    rng: &mut ChaCha8Rng,
    cities: &[super::catalog::City],
    count: usize,
) -> Vec<Station> {
    let weights: Vec<u32> = cities.iter().map(|c| c.weight).collect();
    let total: u32 = weights.iter().sum();
    // Every city gets at least three outlets (one of each kind), the rest by market size.
    let mut per_city: Vec<usize> = weights
        .iter()
        .map(|&w| 3.max((count as f64 * f64::from(w) / f64::from(total)).round() as usize))
        .collect();
    while per_city.iter().sum::<usize>() > count.max(3 * cities.len()) {
        let i = per_city
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| i)
            .expect("cities");
        per_city[i] -= 1;
    }
    let make_weights: Vec<u32> = MAKES
        .iter()
        .map(|m| m.models.iter().map(|x| x.weight).sum())
        .collect();
    let rate_spread = LogNormal::new(0.0, 0.12).expect("valid sigma");
    let mut stations = Vec::with_capacity(count);
    for (city, &n) in per_city.iter().enumerate() {
        for k in 0..n {
            let kind = match k {
                0 => StationKind::Dealer4s,
                1 => StationKind::Chain,
                2 => StationKind::Independent,
                _ => [
                    StationKind::Dealer4s,
                    StationKind::Chain,
                    StationKind::Independent,
                ][weighted_index(rng, &[40, 35, 25])],
            };
            let quality: f64 = match kind {
                StationKind::Dealer4s => 0.55 + 0.45 * rng.random::<f64>(),
                StationKind::Chain => 0.40 + 0.50 * rng.random::<f64>(),
                StationKind::Independent => 0.15 + 0.70 * rng.random::<f64>(),
            };
            let grade = if kind == StationKind::Independent && quality < 0.6 {
                "ungraded"
            } else if quality > 0.82 {
                "AAA"
            } else if quality > 0.65 {
                "AA"
            } else {
                "A"
            };
            let (base_rate, bays) = match kind {
                StationKind::Dealer4s => (220.0, rng.random_range(12..=40)),
                StationKind::Chain => (150.0, rng.random_range(4..=12)),
                StationKind::Independent => (100.0, rng.random_range(2..=6)),
            };
            let opened_year = match kind {
                StationKind::Dealer4s => rng.random_range(2003..=2020),
                StationKind::Chain => rng.random_range(2012..=2022),
                StationKind::Independent => rng.random_range(1998..=2021),
            };
            stations.push(Station {
                city: city as u16,
                kind,
                brand: (kind == StationKind::Dealer4s)
                    .then(|| weighted_index(rng, &make_weights) as u8),
                grade,
                quality,
                labour_rate: (base_rate * rate_spread.sample(rng) * (1.15 - 0.3 * (1.0 - quality))
                    / 5.0)
                    .round()
                    * 5.0,
                slowness: 0.7 + 0.9 * (1.0 - quality) + 0.3 * rng.random::<f64>(),
                bays,
                opened: days_from_civil(
                    opened_year,
                    rng.random_range(1..=12),
                    rng.random_range(1..=28),
                ),
                district: rng.random_range(0..cities[city].districts.len()) as u8,
                name_pick: rng.random_range(0..200),
            });
        }
    }
    stations
}
