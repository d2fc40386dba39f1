//! Simulates one vehicle's life from its plan: mileage by owner, failures
//! drawn from the planted Weibull laws (renewed on repair), maintenance at
//! service intervals, accidents, a recall, comebacks, turnaround, warranty
//! coverage and the surveys that follow visits.
//!
//! A vehicle is simulated from its own seeded stream, so the same plan always
//! yields the same history, whatever order vehicles are processed in. The
//! generator relies on that: it simulates every vehicle twice, once to learn
//! each customer's history before the churn cutoff, once to write the files.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Weibull};
use serde::Serialize;

use super::catalog::{Basis, COMPONENTS, MAKES, Powertrain, component, law_for};
use super::population::{Population, SEGMENTS, StationKind, VehiclePlan};
use super::{DATA_END, stream_seed};
use crate::dates::{Period, add_months, civil_from_days, days_from_civil};

const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Kind of workshop job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobType {
    /// Scheduled maintenance.
    Maintenance,
    /// Customer-paid repair.
    Repair,
    /// Repair paid under warranty.
    Warranty,
    /// Accident repair paid by insurance.
    Insurance,
    /// Manufacturer recall campaign.
    Recall,
}

impl JobType {
    /// Code as exported.
    pub fn code(self) -> &'static str {
        match self {
            JobType::Maintenance => "maintenance",
            JobType::Repair => "repair",
            JobType::Warranty => "warranty",
            JobType::Insurance => "insurance",
            JobType::Recall => "recall",
        }
    }
}

/// A warranty claim attached to a visit.
#[derive(Debug, Clone)]
pub struct Claim {
    /// `factory`, `extended` or `certified_used`.
    pub coverage: &'static str,
    /// `approved`, `rejected` or `pending`.
    pub status: &'static str,
    /// Day the failure was reported.
    pub failure_day: i32,
}

/// A satisfaction survey after a visit.
#[derive(Debug, Clone)]
pub struct SurveyAnswer {
    /// Day answered.
    pub day: i32,
    /// The five CSI factors, 1-10.
    pub factors: [u8; 5],
    /// Likelihood to recommend, 0-10.
    pub recommend: u8,
}

/// One workshop visit (a repair order).
#[derive(Debug, Clone)]
pub struct Visit {
    /// Customer (owner at the opening date).
    pub customer: u32,
    /// Station.
    pub station: u32,
    /// Opening time, seconds since epoch (local).
    pub opened: i64,
    /// Closing time.
    pub closed: i64,
    /// Odometer at opening.
    pub odometer: i64,
    /// Job type.
    pub job: JobType,
    /// Component code.
    pub component: &'static str,
    /// Complaint code prefix and number.
    pub complaint: Option<(&'static str, u8)>,
    /// Labour hours.
    pub labour_hours: f64,
    /// Labour amount, CNY.
    pub labour_cny: f64,
    /// Parts amount, CNY.
    pub parts_cny: f64,
    /// This visit repeats a repair of the same component within 30 days.
    pub comeback: bool,
    /// Turnaround was long for the job (see [`Visit::long_turnaround`]).
    pub long_turnaround: bool,
    /// Warranty claim, for warranty jobs.
    pub claim: Option<Claim>,
    /// Survey, if the customer answered one.
    pub survey: Option<SurveyAnswer>,
}

impl Visit {
    /// Opening day.
    pub fn day(&self) -> i32 {
        self.opened.div_euclid(86_400) as i32
    }
}

/// A used-car sale as it happened.
#[derive(Debug, Clone)]
pub struct SaleRecord {
    /// Index into the vehicle's ownership spans.
    pub owner: usize,
    /// Odometer at sale.
    pub odometer: i64,
    /// Price, CNY.
    pub price: f64,
}

/// Everything that happened to a vehicle.
pub struct History {
    /// Sales in time order.
    pub sales: Vec<SaleRecord>,
    /// Visits in opening order.
    pub visits: Vec<Visit>,
}

/// An emerging quality issue to plant: one cohort's component fails at an
/// extra constant rate from a month on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmergingIssue {
    /// Make.
    pub make: &'static str,
    /// Model.
    pub model: &'static str,
    /// Model year.
    pub model_year: i32,
    /// Component.
    pub component: &'static str,
    /// First month of the raised failure rate.
    pub onset_month: Period,
    /// Extra failures per affected vehicle and month from the onset on (a constant hazard on top of the Weibull law).
    pub extra_failures_per_vehicle_month: f64,
}

impl EmergingIssue {
    /// The issue every export carries unless told otherwise.
    pub const PLANTED: EmergingIssue = EmergingIssue {
        make: "Haval",
        model: "H6",
        model_year: 2022,
        component: "transmission",
        onset_month: Period::new(2025, 5),
        extra_failures_per_vehicle_month: 0.02,
    };
}

/// A recall campaign.
#[derive(Debug, Clone, Serialize)]
pub struct RecallCampaign {
    /// Make.
    pub make: &'static str,
    /// Model.
    pub model: &'static str,
    /// Model years affected (inclusive).
    pub model_years: [i32; 2],
    /// Component replaced.
    pub component: &'static str,
    /// Announcement date.
    pub announced: &'static str,
    /// Share of affected vehicles brought in.
    pub completion_rate: f64,
}

/// The planted recall campaign.
pub const RECALL: RecallCampaign = RecallCampaign {
    make: "Honda",
    model: "CR-V",
    model_years: [2019, 2021],
    component: "fuel_pump",
    announced: "2024-03-15",
    completion_rate: 0.8,
};
const RECALL_DAY: i32 = days_from_civil(2024, 3, 15);

/// Mileage profile of one vehicle: piecewise linear by ownership span.
struct Odometer {
    /// `(start day, km at start, km per day)` per ownership span.
    spans: Vec<(i32, f64, f64)>,
}

impl Odometer {
    fn at(&self, day: i32) -> f64 {
        let i = self.spans.partition_point(|s| s.0 <= day).saturating_sub(1);
        let (start, km, rate) = self.spans[i];
        km + rate * f64::from((day - start).max(0))
    }

    /// First day the odometer reaches `km`.
    fn day_at(&self, km: f64) -> i32 {
        for (i, &(start, start_km, rate)) in self.spans.iter().enumerate() {
            let reached = start + ((km - start_km) / rate).ceil().max(0.0) as i32;
            match self.spans.get(i + 1) {
                Some(next) if reached >= next.0 => continue,
                _ => return reached,
            }
        }
        i32::MAX
    }
}

/// Read-only context shared by all vehicle simulations.
pub struct World<'a> {
    /// The population.
    pub pop: &'a Population,
    /// Station ids by city.
    pub by_city: Vec<Vec<u32>>,
    /// Dealer station ids by city.
    pub dealers_by_city: Vec<Vec<u32>>,
    /// Generator seed.
    pub seed: u64,
    /// The emerging issue planted, if any.
    pub emerging: Option<EmergingIssue>,
}

impl<'a> World<'a> {
    /// Indexes the population's stations.
    pub fn new(pop: &'a Population, seed: u64, emerging: Option<EmergingIssue>) -> World<'a> {
        let mut by_city = vec![Vec::new(); pop.city_count];
        let mut dealers_by_city = vec![Vec::new(); pop.city_count];
        for (i, s) in pop.stations.iter().enumerate() {
            by_city[s.city as usize].push(i as u32);
            if s.kind == StationKind::Dealer4s {
                dealers_by_city[s.city as usize].push(i as u32);
            }
        }
        World {
            pop,
            by_city,
            dealers_by_city,
            seed,
            emerging,
        }
    }

    fn choose_station(&self, rng: &mut ChaCha8Rng, customer: u32, job: JobType, make: u8) -> u32 {
        let c = &self.pop.customers[customer as usize];
        let city = c.city as usize;
        if matches!(job, JobType::Warranty | JobType::Recall) {
            let home = &self.pop.stations[c.home_station as usize];
            if home.kind == StationKind::Dealer4s && home.brand == Some(make) {
                return c.home_station;
            }
            let dealers = &self.dealers_by_city[city];
            let franchised: Vec<u32> = dealers
                .iter()
                .copied()
                .filter(|&s| self.pop.stations[s as usize].brand == Some(make))
                .collect();
            let pool = if franchised.is_empty() {
                dealers
            } else {
                &franchised
            };
            if !pool.is_empty() {
                return pool[rng.random_range(0..pool.len())];
            }
            return c.home_station;
        }
        if rng.random_bool(0.85) {
            c.home_station
        } else {
            let local = &self.by_city[city];
            local[rng.random_range(0..local.len())]
        }
    }

    /// Simulates vehicle number `serial`.
    pub fn simulate(&self, serial: usize) -> History {
        let plan = &self.pop.vehicles[serial];
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(self.seed, 1, serial as u64));
        let mut sim = VehicleSim {
            world: self,
            plan,
            odo: mileage(&mut rng, self.pop, plan),
            visits: Vec::new(),
        };
        let sales = sim.sales(&mut rng);
        sim.failures(&mut rng);
        sim.maintenance(&mut rng);
        sim.accidents(&mut rng);
        sim.recall(&mut rng);
        let mut visits = sim.visits;
        visits.sort_by_key(|v| v.opened);
        History { sales, visits }
    }
}

fn mileage(rng: &mut ChaCha8Rng, pop: &Population, plan: &VehiclePlan) -> Odometer {
    // Owners of a segment drive alike: the spread is narrow next to the gaps between segments.
    let spread = LogNormal::new(0.0, 0.12).expect("valid sigma");
    let mut spans = Vec::with_capacity(plan.owners.len());
    let mut km = 5.0 + rng.random::<f64>() * 20.0;
    let mut prev: Option<(i32, f64)> = None;
    for o in &plan.owners {
        if let Some((start, rate)) = prev {
            km += rate * f64::from(o.start - start);
        }
        let seg = &SEGMENTS[pop.customers[o.customer as usize].segment as usize];
        let rate = seg.daily_km * spread.sample(rng);
        spans.push((o.start, km, rate));
        prev = Some((o.start, rate));
    }
    Odometer { spans }
}

struct VehicleSim<'w, 'a> {
    world: &'w World<'a>,
    plan: &'a VehiclePlan,
    odo: Odometer,
    visits: Vec<Visit>,
}

impl VehicleSim<'_, '_> {
    fn owner_at(&self, day: i32) -> usize {
        self.plan
            .owners
            .partition_point(|o| o.start <= day)
            .saturating_sub(1)
    }

    fn sales(&self, rng: &mut ChaCha8Rng) -> Vec<SaleRecord> {
        let make = &MAKES[self.plan.make as usize];
        let model = &make.models[self.plan.model as usize];
        let noise = LogNormal::new(0.0, 0.08).expect("valid sigma");
        let mut out = Vec::new();
        for (i, o) in self.plan.owners.iter().enumerate() {
            let Some(sale) = &o.sale else { continue };
            let km = self.odo.at(o.start);
            let age_years = f64::from(o.start - self.plan.registered) / 365.25;
            let mut price = model.new_price_cny * 0.88 * (-0.12 * age_years).exp();
            price *= (1.0 - 0.18 * km / 100_000.0).max(0.35);
            if sale.channel == "auction" {
                price *= 0.9;
            }
            if sale.certified {
                price *= 1.06;
            }
            price *= noise.sample(rng);
            out.push(SaleRecord {
                owner: i,
                odometer: km.round() as i64,
                price: ((price / 100.0).round() * 100.0).max(3_000.0),
            });
        }
        out
    }

    /// Coverage of a failure on `day` at `km`, if any.
    fn coverage(&self, component: &str, day: i32, km: f64) -> Option<&'static str> {
        let make = &MAKES[self.plan.make as usize];
        let (months, km_limit) = if component == "traction_battery" {
            (96, 150_000.0)
        } else {
            (make.warranty_months as i32, f64::from(make.warranty_km))
        };
        if day < add_months(self.plan.registered, months) && km < km_limit {
            return Some("factory");
        }
        let owner = &self.plan.owners[self.owner_at(day)];
        let sale = owner.sale.as_ref()?;
        let sale_km = self.odo.at(owner.start);
        if sale.certified && day < add_months(owner.start, 12) && km < sale_km + 20_000.0 {
            return Some("certified_used");
        }
        if sale.extended_months > 0
            && day < add_months(owner.start, sale.extended_months as i32)
            && km < 200_000.0
        {
            return Some("extended");
        }
        None
    }

    /// Draws every failure of every component (renewal after each repair) and books the repairs.
    fn failures(&mut self, rng: &mut ChaCha8Rng) {
        let make = &MAKES[self.plan.make as usize];
        let model = &make.models[self.plan.model as usize];
        let emerging = self.world.emerging.filter(|issue| {
            make.name == issue.make
                && model.name == issue.model
                && self.plan.model_year == issue.model_year
        });
        for comp in COMPONENTS {
            if !comp.applies.matches(self.plan.powertrain) {
                continue;
            }
            let law = law_for(comp.code, make.name, self.plan.powertrain)
                .expect("every applicable component has a law");
            let weibull = Weibull::new(law.scale, law.shape).expect("valid Weibull parameters");
            let extra = emerging
                .filter(|issue| comp.code == issue.component)
                .map(|issue| {
                    let rate =
                        Exp::new(issue.extra_failures_per_vehicle_month).expect("positive rate");
                    (rate, issue.onset_month.start())
                });
            let mut origin_day = self.plan.registered;
            let mut origin_km = self.odo.at(origin_day);
            loop {
                let t = weibull.sample(rng);
                let mut fail_day = match law.basis {
                    Basis::Months => origin_day.saturating_add((t * DAYS_PER_MONTH) as i32),
                    Basis::Km => self.odo.day_at(origin_km + t),
                };
                if let Some((extra, onset)) = &extra {
                    let start = origin_day.max(*onset);
                    let extra_day =
                        start.saturating_add((extra.sample(rng) * DAYS_PER_MONTH) as i32);
                    fail_day = fail_day.min(extra_day);
                }
                if fail_day > DATA_END {
                    break;
                }
                let fixed = self.book_failure(rng, comp.code, fail_day);
                origin_day = fixed;
                origin_km = self.odo.at(fixed);
            }
        }
    }

    /// Books the repair of a failure (and a comeback, sometimes); returns the day the part was finally fixed.
    fn book_failure(&mut self, rng: &mut ChaCha8Rng, code: &'static str, fail_day: i32) -> i32 {
        // The car comes in on the day it fails, so the planted laws describe the
        // time to the repair order that a reliability engineer can observe.
        let day = fail_day;
        if day > DATA_END {
            return day;
        }
        let km = self.odo.at(day);
        let coverage = self.coverage(code, fail_day, km);
        let job = if coverage.is_some() {
            JobType::Warranty
        } else {
            JobType::Repair
        };
        let owner = self.owner_at(day);
        let customer = self.plan.owners[owner].customer;
        let station = self
            .world
            .choose_station(rng, customer, job, self.plan.make);
        let complaint = (component(code).complaint_prefix, rng.random_range(1..=6));
        self.push_visit(
            rng,
            owner,
            station,
            day,
            job,
            code,
            Some(complaint),
            false,
            coverage,
            fail_day,
        );
        let comeback_p = self.world.pop.stations[station as usize].comeback_probability();
        if rng.random_bool(comeback_p) {
            let again = day + rng.random_range(3..29);
            if again <= DATA_END {
                let owner = self.owner_at(again);
                let km = self.odo.at(again);
                let coverage = self.coverage(code, again, km);
                let job = if coverage.is_some() {
                    JobType::Warranty
                } else {
                    JobType::Repair
                };
                self.push_visit(
                    rng,
                    owner,
                    station,
                    again,
                    job,
                    code,
                    Some(complaint),
                    true,
                    coverage,
                    again,
                );
                return again;
            }
        }
        day
    }

    fn maintenance(&mut self, rng: &mut ChaCha8Rng) {
        let (interval_km, interval_months) = match self.plan.powertrain {
            Powertrain::Bev => (20_000.0, 12),
            _ => (10_000.0, 12),
        };
        let mut last_day = self.plan.registered;
        let mut last_km = self.odo.at(last_day);
        loop {
            let due =
                add_months(last_day, interval_months).min(self.odo.day_at(last_km + interval_km));
            if due > DATA_END {
                break;
            }
            let owner = self.owner_at(due);
            let customer = self.plan.owners[owner].customer;
            let seg = &SEGMENTS[self.world.pop.customers[customer as usize].segment as usize];
            let mut day = due + rng.random_range(-14..=14);
            if !rng.random_bool(seg.maintenance_compliance) {
                if rng.random_bool(0.3) {
                    // Skipped this time (serviced elsewhere or not at all).
                    last_day = due;
                    last_km = self.odo.at(due);
                    continue;
                }
                day += rng.random_range(30..150);
            }
            // Few people service their car in the Spring Festival fortnight.
            let (_, m, d) = civil_from_days(day);
            if ((m == 1 && d >= 25) || (m == 2 && d <= 10)) && rng.random_bool(0.6) {
                day += rng.random_range(14..25);
            }
            let day = day.max(last_day + 30);
            if day > DATA_END {
                break;
            }
            let owner = self.owner_at(day);
            let customer = self.plan.owners[owner].customer;
            let station =
                self.world
                    .choose_station(rng, customer, JobType::Maintenance, self.plan.make);
            self.push_visit(
                rng,
                owner,
                station,
                day,
                JobType::Maintenance,
                "routine_service",
                None,
                false,
                None,
                day,
            );
            last_day = day;
            last_km = self.odo.at(day);
        }
    }

    fn accidents(&mut self, rng: &mut ChaCha8Rng) {
        for (i, o) in self.plan.owners.iter().enumerate() {
            let end = self
                .plan
                .owners
                .get(i + 1)
                .map_or(DATA_END, |n| n.start - 1);
            let seg = &SEGMENTS[self.world.pop.customers[o.customer as usize].segment as usize];
            let gap = Exp::new(seg.accidents_per_year / 365.25).expect("positive rate");
            let mut day = o.start;
            loop {
                day += gap.sample(rng).ceil() as i32;
                if day > end {
                    break;
                }
                // Rainy summers and icy winters bring more accidents: thin the rest.
                let (_, m, _) = civil_from_days(day);
                if matches!(m, 3..=5 | 9..=11) && rng.random_bool(0.3) {
                    continue;
                }
                let station =
                    self.world
                        .choose_station(rng, o.customer, JobType::Insurance, self.plan.make);
                let complaint = ("BOD", rng.random_range(1..=4));
                self.push_visit(
                    rng,
                    i,
                    station,
                    day,
                    JobType::Insurance,
                    "body_panel",
                    Some(complaint),
                    false,
                    None,
                    day,
                );
            }
        }
    }

    fn recall(&mut self, rng: &mut ChaCha8Rng) {
        let make = &MAKES[self.plan.make as usize];
        let model = &make.models[self.plan.model as usize];
        let in_campaign = make.name == RECALL.make
            && model.name == RECALL.model
            && (RECALL.model_years[0]..=RECALL.model_years[1]).contains(&self.plan.model_year)
            && self.plan.registered < RECALL_DAY;
        if !in_campaign || !rng.random_bool(RECALL.completion_rate) {
            return;
        }
        let wait = Exp::new(1.0 / 60.0).expect("positive rate").sample(rng);
        let day = RECALL_DAY + 7 + wait as i32;
        if day > DATA_END {
            return;
        }
        let owner = self.owner_at(day);
        let customer = self.plan.owners[owner].customer;
        let station = self
            .world
            .choose_station(rng, customer, JobType::Recall, self.plan.make);
        self.push_visit(
            rng,
            owner,
            station,
            day,
            JobType::Recall,
            RECALL.component,
            Some(("RCL", 1)),
            false,
            None,
            day,
        );
    }

    /// One visit's rows (repair order, lines, claim, survey) in the order the
    /// random stream draws them, which a seed's reproducibility depends on.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per job kind; a struct would only rename them"
    )]
    fn push_visit(
        &mut self,
        rng: &mut ChaCha8Rng,
        owner: usize,
        station_id: u32,
        day: i32,
        job: JobType,
        code: &'static str,
        complaint: Option<(&'static str, u8)>,
        comeback: bool,
        coverage: Option<&'static str>,
        failure_day: i32,
    ) {
        let pop = self.world.pop;
        let customer = self.plan.owners[owner].customer;
        let seg = &SEGMENTS[pop.customers[customer as usize].segment as usize];
        let station = &pop.stations[station_id as usize];
        let make = &MAKES[self.plan.make as usize];
        let noise = |rng: &mut ChaCha8Rng, sigma: f64| {
            LogNormal::new(0.0, sigma).expect("valid sigma").sample(rng)
        };
        let (hours, parts, median_turnaround_h) = match job {
            JobType::Maintenance => {
                let parts = 380.0 * make.price_level * seg.spend * noise(rng, 0.25);
                (1.0 + rng.random::<f64>() * 1.2, parts, 2.5)
            }
            JobType::Repair | JobType::Warranty => {
                let c = component(code);
                let hours = c.labour_hours * noise(rng, 0.25);
                let spend = if job == JobType::Repair {
                    seg.spend
                } else {
                    1.0
                };
                let parts = c.parts_cny * make.price_level * spend * noise(rng, 0.3);
                // Parts often have to be ordered in.
                let wait = if rng.random_bool(0.35) {
                    24.0 * noise(rng, 0.6) * 1.5
                } else {
                    0.0
                };
                (hours, parts, hours * 2.0 + 2.0 + wait)
            }
            JobType::Insurance => {
                let parts = 3_500.0 * make.price_level * noise(rng, 0.8);
                let hours = 4.0 * noise(rng, 0.5);
                (hours, parts, 72.0 * noise(rng, 0.4))
            }
            JobType::Recall => (1.0, 320.0 * make.price_level, 2.0),
        };
        let labour_hours = (hours * 10.0).round().max(2.0) / 10.0;
        let turnaround_h = median_turnaround_h * station.slowness * noise(rng, 0.35);
        let long_turnaround = match job {
            JobType::Maintenance | JobType::Recall => turnaround_h > 6.0,
            _ => turnaround_h > median_turnaround_h * 2.0,
        };
        let opened = i64::from(day) * 86_400 + 8 * 3600 + rng.random_range(0..9 * 60) * 60;
        let closed = opened + ((turnaround_h * 3600.0) as i64).max(20 * 60);
        let claim = (job == JobType::Warranty).then(|| {
            let status = if day > DATA_END - 45 && rng.random_bool(0.7) {
                "pending"
            } else if rng.random_bool(0.06) {
                "rejected"
            } else {
                "approved"
            };
            Claim {
                coverage: coverage.expect("warranty jobs have a coverage"),
                status,
                failure_day,
            }
        });
        let survey_p = if station.kind == StationKind::Dealer4s {
            0.45
        } else {
            0.25
        };
        let survey = rng.random_bool(survey_p).then(|| {
            let base = 5.0 + 4.2 * station.quality
                - if comeback { 2.2 } else { 0.0 }
                - if long_turnaround { 1.6 } else { 0.0 }
                - if station.labour_rate > 230.0 {
                    0.4
                } else {
                    0.0
                };
            let normal = Normal::new(0.0, 0.9).expect("valid sigma");
            let factors =
                [0, 1, 2, 3, 4].map(|_| (base + normal.sample(rng)).round().clamp(1.0, 10.0) as u8);
            let mean = factors.iter().map(|&f| f64::from(f)).sum::<f64>() / 5.0;
            let recommend = (mean + Normal::new(-0.3, 1.2).expect("valid sigma").sample(rng))
                .round()
                .clamp(0.0, 10.0) as u8;
            let answered = (closed.div_euclid(86_400) as i32) + rng.random_range(1..=10);
            SurveyAnswer {
                day: answered,
                factors,
                recommend,
            }
        });
        let survey = survey.filter(|s| s.day <= DATA_END);
        self.visits.push(Visit {
            customer,
            station: station_id,
            opened,
            closed,
            odometer: self.odo.at(day).round() as i64,
            job,
            component: code,
            complaint,
            labour_hours,
            labour_cny: (labour_hours * station.labour_rate * 100.0).round() / 100.0,
            parts_cny: (parts * 100.0).round() / 100.0,
            comeback,
            long_turnaround,
            claim,
            survey,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odometer_inverts() {
        let odo = Odometer {
            spans: vec![(0, 10.0, 50.0), (100, 5_010.0, 10.0), (300, 7_010.0, 100.0)],
        };
        assert_eq!(odo.at(0), 10.0);
        assert_eq!(odo.at(150), 5_510.0);
        assert_eq!(odo.day_at(5_000.0), 100);
        assert_eq!(odo.day_at(6_010.0), 200);
        assert_eq!(odo.day_at(8_010.0), 310);
        for day in [0, 37, 99, 100, 250, 301, 999] {
            assert!((odo.day_at(odo.at(day)) - day).abs() <= 1, "{day}");
        }
    }
}
