//! Claims forecast, warranty reserve and parts demand from fitted life laws.
//!
//! Each component gets a Weibull law of the time to failure, in months in
//! service or in kilometres (whichever explains the failures better), per
//! make and powertrain where there are enough failures. A repair renews the
//! part, so every vehicle's next failures follow the law from its last repair
//! of that component, conditional on having survived to the as-of day, and
//! later repairs follow the renewal function. Failures while covered become
//! claims at the component's observed ratio of claims to failures (comebacks
//! included) and cost its average paid claim.
//!
//! Intervals: the delta method carries the fits' covariance (on log β, log η)
//! to every expected count; the count is then negative binomial with that mean
//! and a variance of the mean plus the parameter variance (Poisson noise plus
//! parameter uncertainty). Costs add the spread of claim amounts (a compound
//! Poisson sum) and use a gamma law with the same mean and variance.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::dates::Period;
use crate::models::reliability::{Life, WeibullFit, fit_weibull, fit_weibull_grouped};

use super::coverage::{CoverageType, Scope};
use super::fleet::{Fleet, Vehicle};
use super::triangle::CoverageBook;

/// Days in a month on average: months in service are days over this.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
/// Fewest first failures for a make × powertrain or powertrain law.
pub const MIN_GROUP_FAILURES: usize = 50;
/// Months after the as-of day that the reserve looks at, at most.
pub const RESERVE_MONTHS: usize = 120;
/// A repair of the same part within this many days is a comeback, not a new failure.
pub const COMEBACK_DAYS: i32 = 30;
/// Relative step of the delta method's derivatives (on log β and log η).
const STEP: f64 = 1e-4;

/// What a life law counts its time in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Months in service.
    Months,
    /// Thousands of kilometres.
    ThousandKm,
}

impl Basis {
    /// The code written to the outputs.
    pub fn code(self) -> &'static str {
        match self {
            Basis::Months => "months",
            Basis::ThousandKm => "thousand_km",
        }
    }
}

/// A fitted law of one component in one group of vehicles.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentLaw {
    /// Component code.
    pub component: String,
    /// `make powertrain`, `powertrain`, or empty for the whole fleet.
    pub group: String,
    /// Time basis.
    pub basis: Basis,
    /// The fit.
    pub fit: WeibullFit,
}

/// Observed per-component ratios that turn failures into claims, repair orders and money.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ComponentRatios {
    /// Claims per covered failure (a comeback is a second claim).
    pub claims_per_failure: f64,
    /// Repair orders per failure (parts demand).
    pub orders_per_failure: f64,
    /// Mean paid amount per claim (rejected claims pay 0), CNY.
    pub cost_per_claim: f64,
    /// Mean square of the paid amount, CNY².
    pub cost_square: f64,
}

/// One month's expected claims of a cohort's component under a coverage type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForecastCell {
    /// Calendar month.
    pub month: Period,
    /// The cohort: the month of registration (factory cover) or of the sale (certified, extended).
    pub cohort: Period,
    /// Component code.
    pub component: String,
    /// Coverage type.
    pub coverage: CoverageType,
    /// Expected claims.
    pub expected_claims: f64,
    /// Lower end of the 90 % prediction interval of claims.
    pub lower_90: u64,
    /// Upper end of the 90 % prediction interval.
    pub upper_90: u64,
    /// Expected paid cost, CNY.
    pub expected_cost_cny: f64,
    /// Claims booked in that month, when the warehouse has it (backtests).
    pub actual_claims: Option<u64>,
}

/// The reserve of a component under a coverage type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReserveCell {
    /// Component code.
    pub component: String,
    /// Coverage type.
    pub coverage: CoverageType,
    /// Expected future claims until every vehicle's coverage ends.
    pub expected_claims: f64,
    /// Expected cost of those claims, CNY.
    pub expected_cost_cny: f64,
    /// Lower end of the 90 % interval of the cost.
    pub lower_90_cny: f64,
    /// Upper end of the 90 % interval of the cost.
    pub upper_90_cny: f64,
}

/// Expected repair orders for a component at a station in a month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartsCell {
    /// Station id (`network` for vehicles that never visited one, spread by the stations' shares).
    pub station: String,
    /// Component code.
    pub component: String,
    /// Calendar month.
    pub month: Period,
    /// Expected repair orders needing the part.
    pub expected: f64,
    /// Stock that meets demand with 95 % probability (Poisson quantile).
    pub stock_95: u64,
    /// Orders booked, when the warehouse has the month (backtests).
    pub actual: Option<u64>,
}

/// One month's expected claims of a component, all coverage types together.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComponentMonth {
    /// Calendar month.
    pub month: Period,
    /// Component code.
    pub component: String,
    /// Expected claims.
    pub expected_claims: f64,
    /// Lower end of the 90 % prediction interval.
    pub lower_90: u64,
    /// Upper end of the 90 % prediction interval.
    pub upper_90: u64,
    /// Claims booked, when the warehouse has the month.
    pub actual_claims: Option<u64>,
}

/// A month's total claims: the life laws' forecast and the triangle's claim rates.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthTotal {
    /// Calendar month.
    pub month: Period,
    /// Expected claims from the life laws.
    pub expected_claims: f64,
    /// Lower end of the 90 % prediction interval.
    pub lower_90: u64,
    /// Upper end of the 90 % prediction interval.
    pub upper_90: u64,
    /// Expected claims from the triangle's claims per vehicle-month at each month in service.
    pub triangle_claims: f64,
    /// Claims booked, when the warehouse has the month.
    pub actual_claims: Option<u64>,
}

/// The forecast made as of a day.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// The as-of day.
    pub as_of: i32,
    /// Months forecast month by month.
    pub horizon: usize,
    /// Recent actual over expected claims, which scales every forecast.
    pub recent_ratio: f64,
    /// The laws used.
    pub laws: Vec<ComponentLaw>,
    /// Ratios per component.
    pub ratios: BTreeMap<String, ComponentRatios>,
    /// Claims per month, component and coverage type.
    pub cells: Vec<ForecastCell>,
    /// Claims per month and component (all coverage types).
    pub component_months: Vec<ComponentMonth>,
    /// Claims per month.
    pub months: Vec<MonthTotal>,
    /// The reserve per component and coverage type.
    pub reserve: Vec<ReserveCell>,
    /// The whole reserve: expected cost and its 90 % interval, CNY.
    pub total_reserve: (f64, f64, f64),
    /// Parts demand per station, component and month.
    pub parts: Vec<PartsCell>,
}

// ---------------------------------------------------------------------------
// Life data and laws

struct LifeRow {
    vehicle: usize,
    component: usize,
    failed: bool,
    months: f64,
    thousand_km: f64,
}

fn life_rows(
    fleet: &Fleet,
    book: &CoverageBook,
    components: &[String],
    applies: &HashMap<(String, usize), bool>,
) -> Vec<LifeRow> {
    let end = fleet.as_of + 1;
    let mut rows = Vec::new();
    for (i, v) in fleet.vehicles.iter().enumerate() {
        let odo = &book.odometers[i];
        for (c, name) in components.iter().enumerate() {
            if !applies
                .get(&(v.powertrain.clone(), c))
                .copied()
                .unwrap_or(false)
            {
                continue;
            }
            let first = v.failures.iter().find(|f| &f.component == name);
            let (failed, day) = match first {
                Some(f) => (true, f.day),
                None => (false, end),
            };
            let months = f64::from(day - v.registered).max(0.0) / DAYS_PER_MONTH;
            let thousand_km = odo.km_at(day) / 1000.0;
            rows.push(LifeRow {
                vehicle: i,
                component: c,
                failed,
                months,
                thousand_km,
            });
        }
    }
    rows
}

/// Fits one basis to a set of rows.
fn fit_basis(rows: &[&LifeRow], basis: Basis) -> Option<WeibullFit> {
    match basis {
        Basis::Months => {
            let lives: Vec<Life> = rows
                .iter()
                .map(|r| Life {
                    time: if r.failed {
                        r.months
                    } else {
                        r.months.max(1e-3)
                    },
                    failed: r.failed,
                })
                .collect();
            fit_weibull_grouped(&lives, 1.0 / DAYS_PER_MONTH).ok()
        }
        Basis::ThousandKm => {
            let lives: Vec<Life> = rows
                .iter()
                .map(|r| Life {
                    time: r.thousand_km.max(1e-3),
                    failed: r.failed,
                })
                .collect();
            fit_weibull(&lives).ok()
        }
    }
}

/// The log-likelihood of the rows' months in service under each basis's law
/// ([`WeibullFit::months_log_likelihood`]), so the two are comparable.
fn months_log_likelihood(rows: &[&LifeRow], basis: Basis, fit: &WeibullFit) -> f64 {
    rows.iter()
        .map(|r| {
            fit.months_log_likelihood(
                basis == Basis::ThousandKm,
                r.months,
                r.thousand_km,
                r.failed,
            )
        })
        .sum()
}

/// The laws of every component, and which law each vehicle × component uses.
struct Laws {
    laws: Vec<ComponentLaw>,
    /// Law index per (vehicle, component index).
    chosen: HashMap<(usize, usize), usize>,
}

fn fit_laws(fleet: &Fleet, rows: &[LifeRow], components: &[String]) -> Laws {
    let mut laws = Vec::new();
    let mut chosen = HashMap::new();
    for (c, name) in components.iter().enumerate() {
        let all: Vec<&LifeRow> = rows.iter().filter(|r| r.component == c).collect();
        let candidates: Vec<(Basis, WeibullFit)> = [Basis::Months, Basis::ThousandKm]
            .into_iter()
            .filter_map(|b| fit_basis(&all, b).map(|f| (b, f)))
            .collect();
        let Some((basis, overall)) = candidates
            .iter()
            .max_by(|a, b| {
                months_log_likelihood(&all, a.0, &a.1)
                    .total_cmp(&months_log_likelihood(&all, b.0, &b.1))
            })
            .cloned()
        else {
            continue;
        };
        let overall_index = laws.len();
        laws.push(ComponentLaw {
            component: name.clone(),
            group: String::new(),
            basis,
            fit: overall,
        });
        // Finer laws where there are enough failures: make × powertrain, else powertrain.
        let mut by_key: BTreeMap<String, Vec<&LifeRow>> = BTreeMap::new();
        let mut by_powertrain: BTreeMap<String, Vec<&LifeRow>> = BTreeMap::new();
        for r in &all {
            let v = &fleet.vehicles[r.vehicle];
            by_key
                .entry(format!("{} {}", v.make, v.powertrain))
                .or_default()
                .push(r);
            by_powertrain
                .entry(v.powertrain.clone())
                .or_default()
                .push(r);
        }
        let fitted_group =
            |group: String, members: &[&LifeRow], laws: &mut Vec<ComponentLaw>| -> Option<usize> {
                if members.iter().filter(|r| r.failed).count() < MIN_GROUP_FAILURES {
                    return None;
                }
                let fit = fit_basis(members, basis)?;
                laws.push(ComponentLaw {
                    component: name.clone(),
                    group,
                    basis,
                    fit,
                });
                Some(laws.len() - 1)
            };
        let mut powertrain_law: HashMap<String, usize> = HashMap::new();
        for (p, members) in &by_powertrain {
            if let Some(i) = fitted_group(p.clone(), members, &mut laws) {
                powertrain_law.insert(p.clone(), i);
            }
        }
        let mut key_law: HashMap<String, usize> = HashMap::new();
        for (k, members) in &by_key {
            if let Some(i) = fitted_group(k.clone(), members, &mut laws) {
                key_law.insert(k.clone(), i);
            }
        }
        for r in &all {
            let v = &fleet.vehicles[r.vehicle];
            let law = key_law
                .get(&format!("{} {}", v.make, v.powertrain))
                .or_else(|| powertrain_law.get(&v.powertrain))
                .copied()
                .unwrap_or(overall_index);
            chosen.insert((r.vehicle, c), law);
        }
    }
    Laws { laws, chosen }
}

// ---------------------------------------------------------------------------
// Renewal arithmetic

/// A law with its renewal function tabulated: the expected number of failures
/// within `x` of a renewal, M(x) = F(x) + ∫₀ˣ M(x − y) dF(y).
struct Renewal {
    shape: f64,
    scale: f64,
    step: f64,
    table: Vec<f64>,
}

impl Renewal {
    const POINTS: usize = 400;

    fn new(shape: f64, scale: f64, reach: f64) -> Renewal {
        let reach = reach.max(scale * 1e-3);
        let step = reach / Renewal::POINTS as f64;
        let cdf = |x: f64| 1.0 - (-(x / scale).powf(shape)).exp();
        let f: Vec<f64> = (0..=Renewal::POINTS)
            .map(|k| cdf(k as f64 * step))
            .collect();
        let mut m = vec![0.0; Renewal::POINTS + 1];
        for n in 1..=Renewal::POINTS {
            // M_n = F_n + Σₖ M_{n−k} (F_k − F_{k−1}).
            let mut sum = f[n];
            for k in 1..=n {
                sum += m[n - k] * (f[k] - f[k - 1]);
            }
            m[n] = sum;
        }
        Renewal {
            shape,
            scale,
            step,
            table: m,
        }
    }

    fn survival(&self, x: f64) -> f64 {
        (-(x / self.scale).powf(self.shape)).exp()
    }

    /// M(x), linear between grid points (beyond the grid: its last slope).
    fn renewals(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let pos = x / self.step;
        let i = pos.floor() as usize;
        let n = self.table.len() - 1;
        if i >= n {
            let slope = (self.table[n] - self.table[n - 1]) / self.step;
            return self.table[n] + slope * (x - n as f64 * self.step);
        }
        let w = pos - i as f64;
        self.table[i] * (1.0 - w) + self.table[i + 1] * w
    }
}

/// The law at the fit and at the two perturbed parameter sets of the delta method.
struct LawSet {
    at: [Renewal; 3],
    /// Covariance of (log β, log η).
    cov: [[f64; 2]; 2],
}

fn law_set(law: &ComponentLaw, reach: f64) -> LawSet {
    let (b, e) = (law.fit.shape, law.fit.scale);
    let cov = [
        [(law.fit.shape_se / b).powi(2), law.fit.covariance / (b * e)],
        [law.fit.covariance / (b * e), (law.fit.scale_se / e).powi(2)],
    ];
    LawSet {
        at: [
            Renewal::new(b, e, reach),
            Renewal::new(b * STEP.exp(), e, reach),
            Renewal::new(b, e * STEP.exp(), reach),
        ],
        cov,
    }
}

/// The part's age at the as-of day and at the end of each future month.
fn month_ends(age: f64, increments: &[f64]) -> Vec<f64> {
    let mut ends = Vec::with_capacity(increments.len() + 1);
    ends.push(age);
    for inc in increments {
        ends.push(ends.last().unwrap() + inc);
    }
    ends
}

/// Expected failures of one vehicle × component in each future month, for the
/// three parameter sets, given its age at the as-of day and its age increment
/// in each month (in the law's unit).
fn expected_failures(law: &Renewal, age: f64, increments: &[f64]) -> Vec<f64> {
    let n = increments.len();
    let ends = month_ends(age, increments);
    let s0 = law.survival(age).max(1e-300);
    let first: Vec<f64> = (0..n)
        .map(|m| (law.survival(ends[m]) - law.survival(ends[m + 1])) / s0)
        .collect();
    let mids: Vec<f64> = (0..n).map(|m| 0.5 * (ends[m] + ends[m + 1])).collect();
    (0..n)
        .map(|m| {
            let mut e = first[m];
            for j in 0..=m {
                let hi = law.renewals(ends[m + 1] - mids[j]);
                let lo = law.renewals((ends[m] - mids[j]).max(0.0));
                e += first[j] * (hi - lo);
            }
            e
        })
        .collect()
}

/// Expected failures from first failures in months `0..n` renewing into months
/// `[from, to)` (not counting the first failures themselves): the tail sum
/// Σⱼ pⱼ (M(a_to − midⱼ) − M(a_from − midⱼ)).
fn renewals_between(law: &Renewal, age: f64, increments: &[f64], from: usize, to: usize) -> f64 {
    let ends = month_ends(age, increments);
    let s0 = law.survival(age).max(1e-300);
    let mut total = 0.0;
    for j in 0..to {
        let p = (law.survival(ends[j]) - law.survival(ends[j + 1])) / s0;
        let mid = 0.5 * (ends[j] + ends[j + 1]);
        let lo = law.renewals((ends[from.max(j)] - mid).max(0.0));
        let hi = law.renewals(ends[to] - mid);
        total += p * (hi - lo);
        if j >= from {
            total += p;
        }
    }
    total
}

// ---------------------------------------------------------------------------
// Interval arithmetic

/// Mean and variance accumulated per cell and law (the variance comes from the
/// law's parameter covariance and the cell's derivatives).
#[derive(Default, Clone)]
struct Sums {
    value: [f64; 3],
}

impl Sums {
    fn add(&mut self, v: [f64; 3]) {
        for k in 0..3 {
            self.value[k] += v[k];
        }
    }

    fn scaled(&self, w: f64) -> [f64; 3] {
        self.value.map(|v| v * w)
    }

    fn mean(&self) -> f64 {
        self.value[0]
    }

    fn parameter_variance(&self, cov: &[[f64; 2]; 2]) -> f64 {
        let g = [
            (self.value[1] - self.value[0]) / STEP,
            (self.value[2] - self.value[0]) / STEP,
        ];
        g[0] * g[0] * cov[0][0] + 2.0 * g[0] * g[1] * cov[0][1] + g[1] * g[1] * cov[1][1]
    }
}

/// Mean and parameter variance of a cell summed over its laws.
fn combine<K: Ord + Clone>(
    sums: &HashMap<(K, usize), Sums>,
    sets: &[LawSet],
) -> BTreeMap<K, (f64, f64)> {
    let mut out: BTreeMap<K, (f64, f64)> = BTreeMap::new();
    for ((key, law), s) in sums {
        let e = out.entry(key.clone()).or_default();
        e.0 += s.mean();
        e.1 += s.parameter_variance(&sets[*law].cov);
    }
    out
}

/// The `q` quantile of a negative binomial with mean `mean` and variance
/// `var` (Poisson when `var` ≤ `mean`).
pub fn count_quantile(mean: f64, var: f64, q: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    let mut k = 0u64;
    if var <= mean * (1.0 + 1e-9) {
        let mut p = (-mean).exp();
        let mut cdf = p;
        while cdf < q {
            k += 1;
            p *= mean / k as f64;
            cdf += p;
            if k > 10_000_000 {
                break;
            }
        }
        return k;
    }
    // Size r and success chance π with mean r(1-π)/π and variance mean/π.
    let pi = mean / var;
    let r = mean * pi / (1.0 - pi);
    let mut p = pi.powf(r);
    let mut cdf = p;
    while cdf < q {
        p *= (k as f64 + r) / (k as f64 + 1.0) * (1.0 - pi);
        k += 1;
        cdf += p;
        if k > 10_000_000 {
            break;
        }
    }
    k
}

/// Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9 after one Newton step).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// The central `level` interval of a gamma law with this mean and variance
/// (Wilson-Hilferty).
pub fn gamma_interval(mean: f64, var: f64, level: f64) -> (f64, f64) {
    if mean <= 0.0 || var <= 0.0 {
        return (mean.max(0.0), mean.max(0.0));
    }
    let shape = mean * mean / var;
    let scale = var / mean;
    let quantile = |p: f64| {
        let z = normal_quantile(p);
        let c = 1.0 / (9.0 * shape);
        shape * scale * (1.0 - c + z * c.sqrt()).max(0.0).powi(3)
    };
    let tail = (1.0 - level) / 2.0;
    (quantile(tail), quantile(1.0 - tail))
}

// ---------------------------------------------------------------------------
// The forecast

/// Ratios per component from the history up to the as-of day: claims and
/// orders per failure (a failure is an order with no order for the same part
/// in the [`COMEBACK_DAYS`] before it) and the paid amount of its claims.
fn ratios(fleet: &Fleet, components: &[String]) -> Vec<ComponentRatios> {
    let index: HashMap<&str, usize> = components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut failures = vec![0.0; components.len()];
    let mut orders = vec![0.0; components.len()];
    let mut covered_failures = vec![0.0; components.len()];
    let mut claims = vec![0.0; components.len()];
    let mut cost = vec![0.0; components.len()];
    let mut cost2 = vec![0.0; components.len()];
    let mut last_claim: HashMap<(usize, usize), i32> = HashMap::new();
    for claim in &fleet.claims {
        let Some(&c) = index.get(claim.component.as_str()) else {
            continue;
        };
        claims[c] += 1.0;
        cost[c] += claim.cost;
        cost2[c] += claim.cost * claim.cost;
        let key = (claim.vehicle, c);
        let new = last_claim
            .get(&key)
            .is_none_or(|&d| claim.day - d > COMEBACK_DAYS);
        if new {
            covered_failures[c] += 1.0;
        }
        last_claim.insert(key, claim.day);
    }
    for v in &fleet.vehicles {
        let mut last: HashMap<&str, i32> = HashMap::new();
        for f in &v.failures {
            let Some(&c) = index.get(f.component.as_str()) else {
                continue;
            };
            orders[c] += 1.0;
            if last
                .get(f.component.as_str())
                .is_none_or(|&d| f.day - d > COMEBACK_DAYS)
            {
                failures[c] += 1.0;
            }
            last.insert(f.component.as_str(), f.day);
        }
    }
    (0..components.len())
        .map(|c| ComponentRatios {
            claims_per_failure: if covered_failures[c] > 0.0 {
                claims[c] / covered_failures[c]
            } else {
                1.0
            },
            orders_per_failure: if failures[c] > 0.0 {
                orders[c] / failures[c]
            } else {
                1.0
            },
            cost_per_claim: if claims[c] > 0.0 {
                cost[c] / claims[c]
            } else {
                0.0
            },
            cost_square: if claims[c] > 0.0 {
                cost2[c] / claims[c]
            } else {
                0.0
            },
        })
        .collect()
}

/// Future months after the as-of day: month m covers `[start_m, end_m)`.
fn future_months(as_of: i32, count: usize) -> Vec<(Period, i32, i32)> {
    let first = Period::containing(as_of + 1);
    (0..count)
        .map(|k| {
            let p = first.plus_months(k as i32);
            (p, p.start().max(as_of + 1), p.end())
        })
        .collect()
}

/// The share of `[start, end)` covered per type, for a vehicle's scope.
fn cover_shares(stretches: &[super::coverage::Covered], start: i32, end: i32) -> [f64; 3] {
    let mut shares = [0.0; 3];
    let length = f64::from(end - start);
    for c in stretches {
        let (s, e) = (c.start.max(start), c.end.min(end));
        if e > s {
            shares[c.coverage as usize] += f64::from(e - s) / length;
        }
    }
    shares
}

/// Forecasts claims month by month for `horizon` months after the as-of day,
/// the reserve until coverage ends, and parts demand for `parts_horizon`
/// months per station. `triangle_rates` are claims per vehicle-month by
/// (coverage, scope, months in service), for the cross-check. Every
/// expected claim and order is scaled by `recent_ratio`, the recent months'
/// actual over expected claims (see [`super::outlook`]): vehicles whose
/// owners stopped coming to the network bring no claims there.
pub fn forecast(
    fleet: &Fleet,
    book: &CoverageBook,
    horizon: usize,
    parts_horizon: usize,
    triangle_rates: &HashMap<(CoverageType, Scope, i64), f64>,
    recent_ratio: f64,
) -> Forecast {
    let mut components: Vec<String> = fleet
        .vehicles
        .iter()
        .flat_map(|v| v.failures.iter().map(|f| f.component.clone()))
        .collect();
    components.sort();
    components.dedup();
    // A component applies to a powertrain where it has failed on one.
    let mut applies: HashMap<(String, usize), bool> = HashMap::new();
    for v in &fleet.vehicles {
        for f in &v.failures {
            if let Ok(c) = components.binary_search(&f.component) {
                applies.insert((v.powertrain.clone(), c), true);
            }
        }
    }
    let rows = life_rows(fleet, book, &components, &applies);
    let Laws { laws, chosen } = fit_laws(fleet, &rows, &components);
    let mut ratio = ratios(fleet, &components);
    for r in &mut ratio {
        r.claims_per_failure *= recent_ratio;
        r.orders_per_failure *= recent_ratio;
    }
    let detail = horizon.max(parts_horizon);
    let months = future_months(fleet.as_of, RESERVE_MONTHS);

    // The reach of each law's renewal table: the most law units any vehicle ages in the reserve window.
    let mut reach = vec![0.0f64; laws.len()];
    for r in &rows {
        let Some(&law) = chosen.get(&(r.vehicle, r.component)) else {
            continue;
        };
        let span = match laws[law].basis {
            Basis::Months => RESERVE_MONTHS as f64 + 1.0,
            Basis::ThousandKm => {
                book.odometers[r.vehicle].km_per_day * RESERVE_MONTHS as f64 * DAYS_PER_MONTH
                    / 1000.0
            }
        };
        reach[law] = reach[law].max(span);
    }
    let sets: Vec<LawSet> = laws
        .iter()
        .zip(&reach)
        .map(|(l, &r)| law_set(l, r))
        .collect();

    // Stations' shares of failure orders, for vehicles without a station of their own.
    let mut station_orders: BTreeMap<String, f64> = BTreeMap::new();
    for v in &fleet.vehicles {
        for f in &v.failures {
            *station_orders.entry(f.station.clone()).or_default() += 1.0;
        }
    }
    let total_orders: f64 = station_orders.values().sum();
    let network: Vec<(String, f64)> = station_orders
        .into_iter()
        .map(|(s, n)| (s, n / total_orders.max(1.0)))
        .collect();

    let station_index: HashMap<&str, usize> = network
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (s.as_str(), i))
        .collect();
    let homes: Vec<Option<usize>> = fleet
        .vehicles
        .iter()
        .map(|v| v.home_station().and_then(|s| station_index.get(s).copied()))
        .collect();
    // Orders of vehicles without a station, per component and month, spread over the stations at the end.
    let mut unassigned: HashMap<(usize, usize), f64> = HashMap::new();
    let mut cells: HashMap<((usize, i64, usize, CoverageType), usize), Sums> = HashMap::new();
    let mut reserve: HashMap<((usize, CoverageType), usize), Sums> = HashMap::new();
    let mut parts: HashMap<(usize, usize, usize), f64> = HashMap::new();
    let mut triangle_month = vec![0.0; horizon];
    for r in rows
        .iter()
        .filter(|r| chosen.contains_key(&(r.vehicle, r.component)))
    {
        let law = chosen[&(r.vehicle, r.component)];
        let v: &Vehicle = &fleet.vehicles[r.vehicle];
        let name = &components[r.component];
        let scope = Scope::of(name);
        let Some((_, stretches)) = book.timelines[r.vehicle].iter().find(|(s, _)| *s == scope)
        else {
            continue;
        };
        let odo = &book.odometers[r.vehicle];
        // Age since the part was last renewed (registration, or its last repair).
        let origin = v
            .failures
            .iter()
            .rev()
            .find(|f| &f.component == name)
            .map_or(v.registered, |f| f.day);
        let (age, per_day) = match laws[law].basis {
            Basis::Months => (
                f64::from(fleet.as_of + 1 - origin) / DAYS_PER_MONTH,
                1.0 / DAYS_PER_MONTH,
            ),
            Basis::ThousandKm => (
                (odo.km_at(fleet.as_of + 1) - odo.km_at(origin)).max(0.0) / 1000.0,
                odo.km_per_day / 1000.0,
            ),
        };
        let last_cover = stretches.iter().map(|c| c.end).max().unwrap_or(0);
        let covered_months = months.iter().take_while(|m| m.1 < last_cover).count();
        let needed = covered_months.max(detail);
        let increments: Vec<f64> = months[..needed]
            .iter()
            .map(|m| f64::from(m.2 - m.1) * per_day)
            .collect();
        let ratios = ratio[r.component];
        let station = homes[r.vehicle];

        let mut detail_failures = [vec![], vec![], vec![]];
        for k in 0..3 {
            detail_failures[k] = expected_failures(&sets[law].at[k], age, &increments[..detail]);
        }
        for m in 0..detail {
            let shares = cover_shares(stretches, months[m].1, months[m].2);
            if m < horizon {
                for kind in CoverageType::ALL {
                    let share = shares[kind as usize];
                    if share > 0.0 {
                        let claims =
                            |k: usize| detail_failures[k][m] * share * ratios.claims_per_failure;
                        let cohort = stretches
                            .iter()
                            .find(|c| {
                                c.coverage == kind && c.start < months[m].2 && c.end > months[m].1
                            })
                            .map_or(0, |c| Period::containing(c.origin).index());
                        cells
                            .entry(((m, cohort, r.component, kind), law))
                            .or_default()
                            .add([claims(0), claims(1), claims(2)]);
                    }
                }
            }
            if m < parts_horizon {
                let orders = detail_failures[0][m] * ratios.orders_per_failure;
                match station {
                    Some(s) => *parts.entry((s, r.component, m)).or_default() += orders,
                    None => *unassigned.entry((r.component, m)).or_default() += orders,
                }
            }
        }
        // The reserve: detail months by share, later months by each month's main coverage type.
        let main: Vec<Option<usize>> = (0..covered_months)
            .map(|m| {
                let shares = cover_shares(stretches, months[m].1, months[m].2);
                (0..3)
                    .max_by(|&a, &b| shares[a].total_cmp(&shares[b]))
                    .filter(|&t| shares[t] >= 0.5)
            })
            .collect();
        for kind in CoverageType::ALL {
            let mut claims = [0.0; 3];
            for m in 0..horizon.min(needed) {
                let share = cover_shares(stretches, months[m].1, months[m].2)[kind as usize];
                for k in 0..3 {
                    claims[k] += detail_failures[k][m] * share;
                }
            }
            let mut m = horizon;
            while m < covered_months {
                let this = main[m];
                let mut end = m + 1;
                while end < covered_months && main[end] == this {
                    end += 1;
                }
                if this == Some(kind as usize) {
                    for k in 0..3 {
                        claims[k] +=
                            renewals_between(&sets[law].at[k], age, &increments[..end], m, end);
                    }
                }
                m = end;
            }
            if claims[0] > 0.0 {
                let c = ratios.claims_per_failure;
                reserve.entry(((r.component, kind), law)).or_default().add([
                    claims[0] * c,
                    claims[1] * c,
                    claims[2] * c,
                ]);
            }
        }
    }
    // Cross-check: the triangle's claims per vehicle-month at each vehicle's months in service.
    for i in 0..fleet.vehicles.len() {
        for (scope, stretches) in &book.timelines[i] {
            for m in 0..horizon {
                let (_, start, end) = months[m];
                for c in stretches {
                    let (s, e) = (c.start.max(start), c.end.min(end));
                    if e <= s {
                        continue;
                    }
                    let mis = Period::containing(s).index() - Period::containing(c.origin).index();
                    let rate = triangle_rates
                        .get(&(c.coverage, *scope, mis))
                        .copied()
                        .unwrap_or(0.0);
                    let length = f64::from(months[m].0.end() - months[m].0.start());
                    triangle_month[m] += recent_ratio * rate * f64::from(e - s) / length;
                }
            }
        }
    }

    let cell_stats = combine(&cells, &sets);
    // Totals sum the cells per law first: a law's parameters move all its cells together.
    let mut by_month: HashMap<(usize, usize), Sums> = HashMap::new();
    for (&((m, _, _, _), law), s) in &cells {
        by_month.entry((m, law)).or_default().add(s.value);
    }
    let month_stats = combine(&by_month, &sets);
    let mut by_component: HashMap<((usize, usize), usize), Sums> = HashMap::new();
    for (&((m, _, c, _), law), s) in &cells {
        by_component.entry(((m, c), law)).or_default().add(s.value);
    }
    let component_months = combine(&by_component, &sets)
        .into_iter()
        .map(|((m, c), (mean, var))| ComponentMonth {
            month: months[m].0,
            component: components[c].clone(),
            expected_claims: mean,
            lower_90: count_quantile(mean, mean + var, 0.05),
            upper_90: count_quantile(mean, mean + var, 0.95),
            actual_claims: None,
        })
        .collect();
    let mut forecast_cells = Vec::new();
    for (&(m, cohort, c, kind), &(mean, var)) in &cell_stats {
        let ratios = ratio[c];
        forecast_cells.push(ForecastCell {
            month: months[m].0,
            cohort: Period::from_index(cohort),
            component: components[c].clone(),
            coverage: kind,
            expected_claims: mean,
            lower_90: count_quantile(mean, mean + var, 0.05),
            upper_90: count_quantile(mean, mean + var, 0.95),
            expected_cost_cny: mean * ratios.cost_per_claim,
            actual_claims: None,
        });
    }
    let month_totals = (0..horizon)
        .map(|m| {
            let (mean, var) = month_stats.get(&m).copied().unwrap_or_default();
            MonthTotal {
                month: months[m].0,
                expected_claims: mean,
                lower_90: count_quantile(mean, mean + var, 0.05),
                upper_90: count_quantile(mean, mean + var, 0.95),
                triangle_claims: triangle_month[m],
                actual_claims: None,
            }
        })
        .collect();
    let mut reserve_cells = Vec::new();
    // The whole reserve: per law, the cost-weighted sums; plus each cell's claim-amount spread.
    let mut reserve_cost: HashMap<((), usize), Sums> = HashMap::new();
    let mut amount_variance = 0.0;
    for (&((c, _), law), s) in &reserve {
        reserve_cost
            .entry(((), law))
            .or_default()
            .add(s.scaled(ratio[c].cost_per_claim));
        amount_variance += s.mean() * ratio[c].cost_square;
    }
    let (total_cost, parameter_variance) = combine(&reserve_cost, &sets)
        .get(&())
        .copied()
        .unwrap_or_default();
    let (total_lo, total_hi) =
        gamma_interval(total_cost, amount_variance + parameter_variance, 0.90);
    for (&(c, kind), &(mean, var)) in &combine(&reserve, &sets) {
        let ratios = ratio[c];
        let cost = mean * ratios.cost_per_claim;
        // Compound Poisson: Var = λ E[X²] + (E X)² Var(λ) from the parameters.
        let cost_var = mean * ratios.cost_square + ratios.cost_per_claim.powi(2) * var;
        let (lo, hi) = gamma_interval(cost, cost_var, 0.90);
        reserve_cells.push(ReserveCell {
            component: components[c].clone(),
            coverage: kind,
            expected_claims: mean,
            expected_cost_cny: cost,
            lower_90_cny: lo,
            upper_90_cny: hi,
        });
    }
    for ((c, m), orders) in unassigned {
        for (s, (_, share)) in network.iter().enumerate() {
            *parts.entry((s, c, m)).or_default() += orders * share;
        }
    }
    let mut parts_cells: Vec<PartsCell> = parts
        .into_iter()
        .map(|((station, c, m), expected)| PartsCell {
            station: network[station].0.clone(),
            component: components[c].clone(),
            month: months[m].0,
            expected,
            stock_95: count_quantile(expected, expected, 0.95),
            actual: None,
        })
        .collect();
    parts_cells.sort_by(|a, b| {
        (&a.station, &a.component, a.month).cmp(&(&b.station, &b.component, b.month))
    });
    Forecast {
        as_of: fleet.as_of,
        horizon,
        recent_ratio,
        laws,
        ratios: components.iter().cloned().zip(ratio).collect(),
        cells: forecast_cells,
        component_months,
        months: month_totals,
        reserve: reserve_cells,
        total_reserve: (total_cost, total_lo, total_hi),
        parts: parts_cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exponential_law_renews_at_a_constant_rate() {
        // β = 1, η = 20: M(x) = x / 20 exactly; the discretised table stays within 1 %.
        let law = Renewal::new(1.0, 20.0, 120.0);
        for x in [5.0, 30.0, 120.0] {
            assert!(
                (law.renewals(x) / (x / 20.0) - 1.0).abs() < 0.01,
                "M({x}) = {}",
                law.renewals(x)
            );
        }
        // Memoryless: whatever the age, 1/20 failures per month, first failures and renewals together.
        let months = expected_failures(&law, 7.0, &[1.0, 1.0, 1.0]);
        for e in &months {
            assert!((e / 0.05 - 1.0).abs() < 0.01, "{months:?}");
        }
        // The tail sum of months 1 and 2 (from first failures in 0..3) is the same two months' failures.
        let tail = renewals_between(&law, 7.0, &[1.0, 1.0, 1.0], 1, 3);
        assert!((tail - months[1] - months[2]).abs() < 1e-3, "{tail}");
    }

    #[test]
    fn a_worn_part_fails_sooner_than_a_new_one() {
        // β = 3: the conditional chance of failing next month grows with age.
        let law = Renewal::new(3.0, 24.0, 120.0);
        let young = expected_failures(&law, 2.0, &[1.0])[0];
        let old = expected_failures(&law, 20.0, &[1.0])[0];
        // First-failure chance by hand: 1 − exp(−(21/24)³ + (20/24)³) for the old part.
        let by_hand = 1.0 - (-(21.0f64 / 24.0).powi(3) + (20.0f64 / 24.0).powi(3)).exp();
        assert!((old - by_hand).abs() < 1e-3, "{old} vs {by_hand}");
        assert!(young < old / 20.0);
    }

    #[test]
    fn quantiles_match_scipy() {
        // scipy.stats: poisson(2).ppf(0.95) = 5; nbinom(10, 0.5) (mean 10, variance 20) ppf 0.05 = 4, 0.95 = 18.
        assert_eq!(count_quantile(2.0, 2.0, 0.95), 5);
        assert_eq!(count_quantile(2.0, 2.0, 0.05), 0);
        assert_eq!(count_quantile(10.0, 20.0, 0.95), 18);
        assert_eq!(count_quantile(10.0, 20.0, 0.05), 4);
        assert_eq!(count_quantile(0.0, 0.0, 0.95), 0);
        // gamma(25, scale 4): 69.53 and 135.01.
        let (lo, hi) = gamma_interval(100.0, 400.0, 0.90);
        assert!(
            (lo - 69.5285).abs() < 0.1 && (hi - 135.0096).abs() < 0.1,
            "{lo} {hi}"
        );
    }

    #[test]
    fn the_delta_method_follows_the_covariance() {
        // A cell whose mean moves by 2 per unit of log β and 0 for log η has variance 4 var(log β).
        let mut s = Sums::default();
        s.add([10.0, 10.0 + 2.0 * STEP, 10.0]);
        let cov = [[0.01, 0.002], [0.002, 0.03]];
        assert!((s.parameter_variance(&cov) - 0.04).abs() < 1e-9);
    }
}
