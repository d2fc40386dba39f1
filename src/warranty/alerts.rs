//! Emerging-issue alarms with false-discovery control.
//!
//! A cell is a cohort (make, model, model year, powertrain) and a component
//! it carries. Its failures in the monitoring window (the last
//! [`AlertRule::window_months`] calendar months; a vehicle counts once a
//! month) are compared with its vehicle-months at risk in that window times
//! its peers' failure rate at the same months in service (bands of
//! [`AlertRule::band_months`]), over the peers' whole history. Peers are the
//! same model's other model years (same parts, same kind of driver), else the
//! make's other cohorts of the powertrain, else the powertrain's: the first
//! group that has lived through every age the cohort is at now. A
//! powertrain carries a component when any of its vehicles has been repaired
//! for it. The cohort itself is never in its baseline.
//!
//! Each cell gets a Poisson p-value (observed or more, given the expected
//! count), quasi-Poisson when the cells vary more than a Poisson law allows:
//! both counts are divided by Pearson's dispersion of all tested cells. Benjamini-Hochberg at `q` over every cell with at least
//! `min_expected` expected failures controls the share of false alarms; a
//! cell is flagged when its adjusted p-value is at most `q` and it runs at
//! least `min_ratio` times its peers. An alarm is raised when a cell is
//! flagged in `persistence` consecutive months, so it does not flicker.

use std::collections::{BTreeMap, HashMap, HashSet};

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::charts::Frame;
use crate::dates::Period;
use crate::models::ResultTable;
use crate::sql::QueryFile;

use super::WarrantyError;

/// The alarm rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertRule {
    /// False-discovery rate controlled across all cells.
    pub q: f64,
    /// Calendar months in the monitoring window.
    pub window_months: i64,
    /// Width of a months-in-service band.
    pub band_months: i64,
    /// Fewest expected failures for a cell to be tested.
    pub min_expected: f64,
    /// Fewest observed failures for a cell to be tested.
    pub min_observed: f64,
    /// Smallest ratio of observed to expected that can alarm.
    pub min_ratio: f64,
    /// Consecutive flagged months before an alarm is raised.
    pub persistence: i64,
}

impl Default for AlertRule {
    fn default() -> AlertRule {
        AlertRule {
            q: 0.05,
            window_months: 6,
            band_months: 3,
            min_expected: 0.5,
            min_observed: 5.0,
            min_ratio: 1.5,
            persistence: 2,
        }
    }
}

impl AlertRule {
    /// Checks the rule's values.
    pub fn check(&self) -> Result<(), WarrantyError> {
        let bad = |what: &str| Err(WarrantyError::Rule(what.to_owned()));
        if !(self.q > 0.0 && self.q < 1.0) {
            return bad("q must be between 0 and 1");
        }
        if self.window_months < 1 || self.band_months < 1 || self.persistence < 1 {
            return bad("the window, the band and the persistence are at least 1 month");
        }
        if !(self.min_expected > 0.0 && self.min_observed >= 0.0 && self.min_ratio >= 1.0) {
            return bad(
                "min_expected is above 0, min_observed at least 0 and min_ratio at least 1",
            );
        }
        Ok(())
    }

    /// The rule in words, for the page and the command's output.
    pub fn describe(&self) -> String {
        format!(
            "flagged when a cohort's failures of a component in the last {} months exceed what its peers' failure rate at the same months in service predicts (peers: the model's other model years, else the make's, else the powertrain's), with a Benjamini-Hochberg adjusted quasi-Poisson p-value of at most {} across all cells, at least {} failures and {}× the prediction, in {} consecutive months",
            self.window_months, self.q, self.min_observed, self.min_ratio, self.persistence
        )
    }

    /// The rule in Chinese.
    pub fn describe_zh(&self) -> String {
        format!(
            "判定规则：某车型批次某零部件近{}个月的故障数，高于按同使用月数同类车型（同车型其他年款，其次同品牌同动力，再次同动力）故障率的预测，经Benjamini-Hochberg校正后的准泊松检验p值不超过{}（跨所有组合），至少{}次故障、达到预测的{}倍，且连续{}个月满足",
            self.window_months, self.q, self.min_observed, self.min_ratio, self.persistence
        )
    }
}

/// One raised alarm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alarm {
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Model year.
    pub model_year: i64,
    /// Powertrain.
    pub powertrain: String,
    /// Component.
    pub component: String,
    /// First month in service of the bands with excess failures.
    pub months_in_service_from: i64,
    /// Last month in service of those bands.
    pub months_in_service_to: i64,
    /// Failures in the window.
    pub observed: f64,
    /// Failures the peers' rates give.
    pub expected: f64,
    /// Observed over expected.
    pub ratio: f64,
    /// 95 % interval of the ratio (Byar's approximation to the exact Poisson interval).
    pub ratio_low: f64,
    /// Upper end of that interval.
    pub ratio_high: f64,
    /// Exact Poisson p-value of the cell.
    pub p_value: f64,
    /// Benjamini-Hochberg adjusted p-value.
    pub adjusted_p: f64,
    /// The first month of the current run of flagged months.
    pub first_month: Period,
    /// Whether the alarm was raised this month.
    pub new_this_month: bool,
}

/// The counts the monitor works on, read once from the warehouse.
pub struct Counts {
    cohorts: Vec<Cohort>,
    components: Vec<String>,
    /// `(cohort, component, month index, months in service, failures)`.
    failures: Vec<(usize, usize, i64, i64, f64)>,
}

struct Cohort {
    make: String,
    model: String,
    model_year: i64,
    powertrain: String,
    /// `(month index of first registration, vehicles)`.
    registrations: Vec<(i64, f64)>,
}

impl Counts {
    /// Runs `cohort_registrations` and `component_failures` as of `as_of`.
    pub async fn read(
        ctx: &SessionContext,
        queries: &[QueryFile],
        as_of: i32,
    ) -> Result<Counts, WarrantyError> {
        let run = |name: &'static str| async move {
            let query = queries
                .iter()
                .find(|q| q.name == name)
                .ok_or(WarrantyError::MissingQuery(name))?;
            let params = [("as_of".to_owned(), crate::dates::format_date(as_of))];
            let bound = query.bind(&params)?;
            let batches = crate::sql::query(ctx, &query.sql, bound)
                .await
                .map_err(|source| WarrantyError::Query {
                    query: name,
                    source,
                })?;
            Frame::from_batches(&batches).map_err(|source| WarrantyError::Shape {
                query: name,
                source,
            })
        };
        let registrations = run("cohort_registrations").await?;
        let failures = run("component_failures").await?;
        Counts::from_frames(&registrations, &failures)
    }

    fn from_frames(registrations: &Frame, failures: &Frame) -> Result<Counts, WarrantyError> {
        let shape = |query| move |source| WarrantyError::Shape { query, source };
        let reg = shape("cohort_registrations");
        let (make, model, year, powertrain) = (
            registrations.labels("make").map_err(reg)?,
            registrations.labels("model").map_err(reg)?,
            registrations.numbers("model_year").map_err(reg)?,
            registrations.labels("powertrain").map_err(reg)?,
        );
        let (month, vehicles) = (
            registrations.numbers("registered_month").map_err(reg)?,
            registrations.numbers("vehicles").map_err(reg)?,
        );
        let mut index: HashMap<(String, String, i64, String), usize> = HashMap::new();
        let mut cohorts: Vec<Cohort> = Vec::new();
        for i in 0..registrations.rows() {
            let key = (
                make[i].clone(),
                model[i].clone(),
                num(year[i]),
                powertrain[i].clone(),
            );
            let k = *index.entry(key.clone()).or_insert_with(|| {
                cohorts.push(Cohort {
                    make: key.0,
                    model: key.1,
                    model_year: key.2,
                    powertrain: key.3,
                    registrations: Vec::new(),
                });
                cohorts.len() - 1
            });
            cohorts[k]
                .registrations
                .push((num(month[i]), vehicles[i].unwrap_or(0.0)));
        }
        let fail = shape("component_failures");
        let (make, model, year, powertrain, component) = (
            failures.labels("make").map_err(fail)?,
            failures.labels("model").map_err(fail)?,
            failures.numbers("model_year").map_err(fail)?,
            failures.labels("powertrain").map_err(fail)?,
            failures.labels("component").map_err(fail)?,
        );
        let (month, mis, count) = (
            failures.numbers("month").map_err(fail)?,
            failures.numbers("months_in_service").map_err(fail)?,
            failures.numbers("failures").map_err(fail)?,
        );
        let mut components: Vec<String> = Vec::new();
        let mut component_index: HashMap<String, usize> = HashMap::new();
        let mut rows = Vec::with_capacity(failures.rows());
        for i in 0..failures.rows() {
            let key = (
                make[i].clone(),
                model[i].clone(),
                num(year[i]),
                powertrain[i].clone(),
            );
            // A failure of a vehicle registered after the as-of date cannot occur; skip defensively.
            let Some(&k) = index.get(&key) else {
                continue;
            };
            let c = *component_index
                .entry(component[i].clone())
                .or_insert_with(|| {
                    components.push(component[i].clone());
                    components.len() - 1
                });
            rows.push((k, c, num(month[i]), num(mis[i]), count[i].unwrap_or(0.0)));
        }
        Ok(Counts {
            cohorts,
            components,
            failures: rows,
        })
    }
}

fn num(v: Option<f64>) -> i64 {
    v.unwrap_or(0.0).round() as i64
}

/// One tested cell of one month's window.
#[derive(Debug, Clone)]
struct Cell {
    cohort: usize,
    component: usize,
    observed: f64,
    expected: f64,
    p_value: f64,
    adjusted_p: f64,
    /// Bands (index) where the cohort ran above its peers.
    excess_bands: Vec<i64>,
}

/// The alarms standing at the end of the month of `as_of`, from the warehouse as it was that day.
pub async fn monitor(
    ctx: &SessionContext,
    queries: &[QueryFile],
    as_of: i32,
    rule: &AlertRule,
) -> Result<Vec<Alarm>, WarrantyError> {
    let counts = Counts::read(ctx, queries, as_of).await?;
    Ok(alarms(&counts, rule, Period::containing(as_of)))
}

/// The alarms standing at the end of month `month`.
pub fn alarms(counts: &Counts, rule: &AlertRule, month: Period) -> Vec<Alarm> {
    let now = month.index();
    // Flags for this month and as many months back as the longest run needs.
    let mut flagged_now: Vec<Cell> = flagged(counts, rule, now);
    flagged_now.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
    let mut out = Vec::new();
    let mut history: BTreeMap<i64, Vec<(usize, usize)>> = BTreeMap::new();
    let mut cells_at = |m: i64| -> Vec<(usize, usize)> {
        history
            .entry(m)
            .or_insert_with(|| {
                flagged(counts, rule, m)
                    .iter()
                    .map(|c| (c.cohort, c.component))
                    .collect()
            })
            .clone()
    };
    for cell in flagged_now {
        let key = (cell.cohort, cell.component);
        // The current run of flagged months, back from this one (at most three years).
        let mut first = now;
        while first > now - 36 && cells_at(first - 1).contains(&key) {
            first -= 1;
        }
        if now - first + 1 < rule.persistence {
            continue;
        }
        let cohort = &counts.cohorts[cell.cohort];
        let (low, high) = ratio_interval(cell.observed, cell.expected);
        let band_from = cell.excess_bands.iter().min().copied().unwrap_or(0);
        let band_to = cell.excess_bands.iter().max().copied().unwrap_or(0);
        out.push(Alarm {
            make: cohort.make.clone(),
            model: cohort.model.clone(),
            model_year: cohort.model_year,
            powertrain: cohort.powertrain.clone(),
            component: counts.components[cell.component].clone(),
            months_in_service_from: band_from * rule.band_months,
            months_in_service_to: (band_to + 1) * rule.band_months - 1,
            observed: cell.observed,
            expected: cell.expected,
            ratio: cell.observed / cell.expected,
            ratio_low: low,
            ratio_high: high,
            p_value: cell.p_value,
            adjusted_p: cell.adjusted_p,
            first_month: Period::from_index(first + rule.persistence - 1),
            new_this_month: first + rule.persistence - 1 == now,
        });
    }
    out
}

/// The cells of one month's window that pass the rule.
fn flagged(counts: &Counts, rule: &AlertRule, month: i64) -> Vec<Cell> {
    let mut cells: Vec<Cell> = compare(counts, rule, month - rule.window_months + 1, month)
        .into_iter()
        .filter(|c| c.expected >= rule.min_expected && c.observed >= rule.min_observed)
        .collect();
    // Failures vary more between cohorts than a Poisson law allows (usage,
    // owners): a quasi-Poisson test divides both counts by the dispersion.
    let phi = dispersion(&cells);
    for cell in &mut cells {
        cell.p_value = poisson_upper_tail(cell.observed / phi, cell.expected / phi);
    }
    benjamini_hochberg(&mut cells);
    cells.retain(|c| c.adjusted_p <= rule.q && c.observed >= rule.min_ratio * c.expected);
    cells
}

/// The peer groups of a cohort, most alike first: the same model's other
/// model years, the make's other cohorts of its powertrain, the powertrain's.
fn peer_groups(cohort: &Cohort) -> [String; 3] {
    [
        format!("{}|{}|{}", cohort.make, cohort.model, cohort.powertrain),
        format!("{}|{}", cohort.make, cohort.powertrain),
        cohort.powertrain.clone(),
    ]
}

/// Months of ages `[b·B, b·B + B)` that a vehicle registered in month
/// `registered` has lived through by month `to`.
fn months_in_band(registered: i64, to: i64, band: i64, width: i64) -> f64 {
    let (first, last) = (
        band * width,
        (band * width + width - 1).min(to - registered),
    );
    (last - first + 1).max(0) as f64
}

/// Vehicle-months at risk and failures by band, in the window and over all months to its end.
struct Tallies {
    /// Months-in-service bands.
    bands: usize,
    /// Vehicle-months at risk per cohort and band in the window.
    window: Vec<Vec<f64>>,
    /// The same over all months to the window's end.
    lifetime: Vec<Vec<f64>>,
    /// Failures per cohort and component by band, in the window.
    in_window: HashMap<(usize, usize), Vec<f64>>,
    /// The same over all months to the window's end.
    all: HashMap<(usize, usize), Vec<f64>>,
    /// Which powertrains carry which components (some vehicle was repaired for it).
    carried: HashSet<(String, usize)>,
}

impl Tallies {
    fn count(counts: &Counts, width: i64, from: i64, to: i64) -> Tallies {
        let oldest = counts
            .cohorts
            .iter()
            .flat_map(|c| c.registrations.iter().map(|r| r.0))
            .min()
            .unwrap_or(to);
        let bands = ((to - oldest).max(0) / width + 1) as usize;
        let zero = vec![0.0; bands];
        let mut window = vec![zero.clone(); counts.cohorts.len()];
        let mut lifetime = vec![zero.clone(); counts.cohorts.len()];
        for (k, cohort) in counts.cohorts.iter().enumerate() {
            for &(registered, vehicles) in &cohort.registrations {
                for calendar in from.max(registered)..=to {
                    window[k][((calendar - registered) / width) as usize] += vehicles;
                }
                for (b, total) in lifetime[k].iter_mut().enumerate() {
                    *total += vehicles * months_in_band(registered, to, b as i64, width);
                }
            }
        }
        let mut in_window: HashMap<(usize, usize), Vec<f64>> = HashMap::new();
        let mut all: HashMap<(usize, usize), Vec<f64>> = HashMap::new();
        let mut carried = HashSet::new();
        for &(k, c, calendar, mis, count) in &counts.failures {
            let b = (mis / width) as usize;
            if calendar > to || b >= bands {
                continue;
            }
            carried.insert((counts.cohorts[k].powertrain.clone(), c));
            all.entry((k, c)).or_insert_with(|| zero.clone())[b] += count;
            if calendar >= from {
                in_window.entry((k, c)).or_insert_with(|| zero.clone())[b] += count;
            }
        }
        Tallies {
            bands,
            window,
            lifetime,
            in_window,
            all,
            carried,
        }
    }
}

/// Every cell's failures in months `from..=to` against what its vehicle-months
/// at risk give at its peers' failure rates by months in service (peers'
/// whole history up to `to`, the cohort itself left out).
fn compare(counts: &Counts, rule: &AlertRule, from: i64, to: i64) -> Vec<Cell> {
    let Tallies {
        bands: nb,
        window,
        lifetime,
        in_window,
        all,
        carried,
    } = Tallies::count(counts, rule.band_months, from, to);
    let zero = vec![0.0; nb];
    // Lifetime totals per peer group; each cohort's peers are the group less itself.
    let groups: Vec<[String; 3]> = counts.cohorts.iter().map(peer_groups).collect();
    let mut group_exposure: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut group_failures: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    for (k, keys) in groups.iter().enumerate() {
        for key in keys {
            add(
                group_exposure.entry(key).or_insert_with(|| zero.clone()),
                &lifetime[k],
            );
        }
    }
    for (&(k, c), f) in &all {
        for key in &groups[k] {
            add(
                group_failures
                    .entry((key, c))
                    .or_insert_with(|| zero.clone()),
                f,
            );
        }
    }
    let mut cells = Vec::new();
    for (k, cohort) in counts.cohorts.iter().enumerate() {
        for c in 0..counts.components.len() {
            if !carried.contains(&(cohort.powertrain.clone(), c)) {
                continue;
            }
            let own_all = all.get(&(k, c)).unwrap_or(&zero);
            // The most alike group whose other cohorts have lived through every
            // band the cohort is in now, at least as many vehicle-months.
            let peers = groups[k].iter().find_map(|key| {
                let exposure: Vec<f64> = group_exposure[key.as_str()]
                    .iter()
                    .zip(&lifetime[k])
                    .map(|(g, own)| g - own)
                    .collect();
                let covers = window[k]
                    .iter()
                    .zip(&exposure)
                    .all(|(now, peers)| *now == 0.0 || *peers >= *now);
                covers.then(|| {
                    let failures: Vec<f64> = group_failures
                        .get(&(key.as_str(), c))
                        .unwrap_or(&zero)
                        .iter()
                        .zip(own_all)
                        .map(|(g, own)| (g - own).max(0.0))
                        .collect();
                    (exposure, failures)
                })
            });
            let Some((peer_exposure, peer_failures)) = peers else {
                continue;
            };
            let own = in_window.get(&(k, c)).unwrap_or(&zero);
            let (mut observed, mut expected) = (0.0, 0.0);
            let mut excess_bands = Vec::new();
            for b in 0..nb {
                if window[k][b] == 0.0 {
                    continue;
                }
                let expect = window[k][b] * peer_failures[b] / peer_exposure[b];
                observed += own[b];
                expected += expect;
                if own[b] > expect {
                    excess_bands.push(b as i64);
                }
            }
            if expected > 0.0 {
                cells.push(Cell {
                    cohort: k,
                    component: c,
                    observed,
                    expected,
                    p_value: 1.0,
                    adjusted_p: 1.0,
                    excess_bands,
                });
            }
        }
    }
    cells
}

/// The cells' dispersion about their expectations, at least 1: the median
/// squared Pearson residual over its value for a Poisson law (0.455, the
/// median of χ² with one degree of freedom). The median, so that the few
/// cells with a real excess do not hide themselves by inflating it.
fn dispersion(cells: &[Cell]) -> f64 {
    if cells.len() < 2 {
        return 1.0;
    }
    let mut squares: Vec<f64> = cells
        .iter()
        .map(|c| (c.observed - c.expected).powi(2) / c.expected)
        .collect();
    squares.sort_by(f64::total_cmp);
    (squares[squares.len() / 2] / 0.455).max(1.0)
}

fn add(total: &mut [f64], values: &[f64]) {
    total.iter_mut().zip(values).for_each(|(t, v)| *t += v);
}

/// Sets each cell's Benjamini-Hochberg adjusted p-value.
fn benjamini_hochberg(cells: &mut [Cell]) {
    let n = cells.len() as f64;
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by(|&a, &b| cells[a].p_value.total_cmp(&cells[b].p_value));
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(cells[i].p_value * n / (rank as f64 + 1.0));
        cells[i].adjusted_p = running;
    }
}

/// P(X ≥ k) for X ~ Poisson(λ), exactly (summed in log space).
pub fn poisson_upper_tail(k: f64, lambda: f64) -> f64 {
    let k = k.round().max(0.0) as u64;
    if k == 0 {
        return 1.0;
    }
    let ln_lambda = lambda.ln();
    // ln P(X = i) = -λ + i ln λ - ln i!
    let mut ln_factorial = 0.0;
    let ln_term = |i: u64, ln_factorial: f64| -lambda + i as f64 * ln_lambda - ln_factorial;
    if (k as f64) > lambda {
        // Upper tail: terms fall from k on.
        for i in 1..=k {
            ln_factorial += (i as f64).ln();
        }
        let first = ln_term(k, ln_factorial);
        let (mut sum, mut ratio, mut i) = (1.0, 1.0, k);
        loop {
            i += 1;
            ratio *= lambda / i as f64;
            sum += ratio;
            if ratio < 1e-17 * sum {
                break;
            }
        }
        (first + sum.ln()).exp().min(1.0)
    } else {
        let mut cdf = 0.0;
        for i in 0..k {
            if i > 0 {
                ln_factorial += (i as f64).ln();
            }
            cdf += ln_term(i, ln_factorial).exp();
        }
        (1.0 - cdf).clamp(0.0, 1.0)
    }
}

/// 95 % interval of observed ÷ expected, Byar's approximation to the exact Poisson limits.
fn ratio_interval(observed: f64, expected: f64) -> (f64, f64) {
    let z = 1.959_964;
    let low = if observed > 0.0 {
        observed * (1.0 - 1.0 / (9.0 * observed) - z / (3.0 * observed.sqrt())).powi(3)
    } else {
        0.0
    };
    let o1 = observed + 1.0;
    let high = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * o1.sqrt())).powi(3);
    (low / expected, high / expected)
}

/// The alarms as a table for `--format`.
pub fn alarms_table(alarms: &[Alarm]) -> ResultTable {
    ResultTable::new()
        .text("make", alarms.iter().map(|a| a.make.clone()))
        .text("model", alarms.iter().map(|a| a.model.clone()))
        .int("model_year", alarms.iter().map(|a| a.model_year))
        .text("powertrain", alarms.iter().map(|a| a.powertrain.clone()))
        .text("component", alarms.iter().map(|a| a.component.clone()))
        .text(
            "months_in_service",
            alarms
                .iter()
                .map(|a| format!("{}-{}", a.months_in_service_from, a.months_in_service_to)),
        )
        .float("observed", alarms.iter().map(|a| a.observed))
        .float("expected", alarms.iter().map(|a| round(a.expected, 2)))
        .float("ratio", alarms.iter().map(|a| round(a.ratio, 2)))
        .float("ratio_low", alarms.iter().map(|a| round(a.ratio_low, 2)))
        .float("ratio_high", alarms.iter().map(|a| round(a.ratio_high, 2)))
        .float("adjusted_p", alarms.iter().map(|a| a.adjusted_p))
        .text(
            "first_month",
            alarms.iter().map(|a| a.first_month.to_string()),
        )
        .text(
            "new_this_month",
            alarms
                .iter()
                .map(|a| if a.new_this_month { "yes" } else { "no" }.to_owned()),
        )
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tails_match_hand_worked_values() {
        // P(X >= 1 | 2) = 1 - e^-2 = 0.864665; P(X >= 5 | 1) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24) = 0.003660.
        assert!((poisson_upper_tail(1.0, 2.0) - 0.864_664_7).abs() < 1e-6);
        assert!((poisson_upper_tail(5.0, 1.0) - 0.003_659_8).abs() < 1e-6);
        assert_eq!(poisson_upper_tail(0.0, 3.0), 1.0);
        // Far tails stay finite and tiny rather than 0 - 0.
        let tiny = poisson_upper_tail(462.0, 65.9);
        assert!(tiny > 0.0 && tiny < 1e-100, "{tiny}");
        // Large means: P(X >= 1000 | 1000) is a little above one half.
        let half = poisson_upper_tail(1000.0, 1000.0);
        assert!((0.5..0.52).contains(&half), "{half}");
    }

    #[test]
    fn benjamini_hochberg_adjusts_as_by_hand() {
        // p = 0.01, 0.04, 0.03, 0.5 (m = 4): sorted 0.01, 0.03, 0.04, 0.5 ->
        // 0.04, 0.0533, 0.0533, 0.5 after the running minimum from the top.
        let mut cells: Vec<Cell> = [0.01, 0.04, 0.03, 0.5]
            .iter()
            .map(|&p| Cell {
                cohort: 0,
                component: 0,
                observed: 0.0,
                expected: 1.0,
                p_value: p,
                adjusted_p: 1.0,
                excess_bands: Vec::new(),
            })
            .collect();
        benjamini_hochberg(&mut cells);
        let adjusted: Vec<f64> = cells
            .iter()
            .map(|c| (c.adjusted_p * 1e4).round() / 1e4)
            .collect();
        assert_eq!(adjusted, [0.04, 0.0533, 0.0533, 0.5]);
    }

    #[test]
    fn a_model_year_failing_above_the_models_other_years_alarms() {
        // Model X, ICE, 100 vehicles each: MY2019 registered in month 0, MY2020 in month 12.
        // Both fail once a month (1 per 100 vehicle-months at every age), except MY2020
        // five times a month from month 30 on (its months in service 18 on).
        let registrations = Frame::new()
            .text("make", ["M", "M"])
            .text("model", ["X", "X"])
            .number("model_year", [2019.0, 2020.0])
            .text("powertrain", ["ICE", "ICE"])
            .number("registered_month", [0.0, 12.0])
            .number("vehicles", [100.0, 100.0]);
        let mut rows: Vec<(f64, f64, f64, f64)> = Vec::new();
        for month in 0..=35 {
            rows.push((2019.0, month as f64, month as f64, 1.0));
            if month >= 12 {
                let failures = if month >= 30 { 5.0 } else { 1.0 };
                rows.push((2020.0, month as f64, (month - 12) as f64, failures));
            }
        }
        let failures = Frame::new()
            .text("make", rows.iter().map(|_| "M"))
            .text("model", rows.iter().map(|_| "X"))
            .number("model_year", rows.iter().map(|r| r.0))
            .text("powertrain", rows.iter().map(|_| "ICE"))
            .text("component", rows.iter().map(|_| "gearbox"))
            .number("month", rows.iter().map(|r| r.1))
            .number("months_in_service", rows.iter().map(|r| r.2))
            .number("failures", rows.iter().map(|r| r.3));
        let counts = Counts::from_frames(&registrations, &failures).unwrap();
        let rule = AlertRule::default();
        // Window 30-35: MY2020 at 18-23 months in service, 600 vehicle-months; MY2019 lived
        // through those ages at 1 per 100, so 6 expected against 30 observed. MY2019 itself
        // (30-35 months in service) has no peer that old and is not tested.
        let cells = compare(&counts, &rule, 30, 35);
        assert_eq!(cells.len(), 1, "{cells:?}");
        assert_eq!(counts.cohorts[cells[0].cohort].model_year, 2020);
        assert_eq!((cells[0].observed, cells[0].expected), (30.0, 6.0));
        // Window ending in 30: 5 + 5 = 10 against 6, P(X >= 10 | 6) = 0.084: not flagged.
        // Ending in 31: 4 + 10 = 14 against 6, P(X >= 14 | 6) = 0.0036: flagged; with a
        // persistence of 2 the alarm stands from month 32.
        assert!(flagged(&counts, &rule, 30).is_empty());
        let first = flagged(&counts, &rule, 31);
        assert_eq!(first.len(), 1);
        assert!((first[0].p_value - 0.003_6).abs() < 1e-4, "{first:?}");
        assert!(alarms(&counts, &rule, Period::from_index(31)).is_empty());
        assert!(alarms(&counts, &rule, Period::from_index(32))[0].new_this_month);
        let raised = alarms(&counts, &rule, Period::from_index(35));
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].model_year, 2020);
        assert!((raised[0].ratio - 5.0).abs() < 1e-9);
        assert!(
            raised[0].ratio_low > 3.0 && raised[0].ratio_high < 8.0,
            "{:?}",
            raised[0]
        );
        assert_eq!(raised[0].first_month, Period::from_index(32));
        assert!(!raised[0].new_this_month);
        assert_eq!(
            (
                raised[0].months_in_service_from,
                raised[0].months_in_service_to
            ),
            (18, 23)
        );
    }
}
