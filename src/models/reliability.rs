//! Life data analysis for warranty engineers: two-parameter Weibull fits with
//! right censoring, Kaplan-Meier estimates and the mean cumulative function of
//! repairs per unit.
//!
//! Every estimator works on plain slices, so the same code serves the
//! warehouse (`aftersight reliability`) and any table a reliability engineer
//! brings (`aftersight reliability fit|mcf --input FILE`).

use serde::Serialize;
use std::collections::HashMap;

/// The two-sided normal quantile for 95 % bounds.
pub const Z95: f64 = 1.959_963_984_540_054;

/// One observed life: a failure, or a suspension (still running when last seen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Life {
    /// Time in service (months, km, hours: any positive unit).
    pub time: f64,
    /// True for a failure, false for a suspension.
    pub failed: bool,
}

/// Why a fit could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    /// Fewer failures than the two parameters need.
    #[error("a Weibull fit needs at least 2 failures with distinct times; got {0} failure(s)")]
    TooFewFailures(usize),
    /// A time that is not a positive finite number.
    #[error("time {0} is not a positive finite number; every life must be > 0")]
    BadTime(f64),
}

/// A fitted two-parameter Weibull law, F(t) = 1 - exp(-(t/η)^β), with
/// Fisher-matrix standard errors and 95 % bounds on the log scale (as
/// Weibull++ and the `reliability` package report them).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeibullFit {
    /// Units observed.
    pub n: usize,
    /// Failures among them.
    pub failures: usize,
    /// Shape β.
    pub shape: f64,
    /// Standard error of β.
    pub shape_se: f64,
    /// Lower 95 % bound of β.
    pub shape_lower: f64,
    /// Upper 95 % bound of β.
    pub shape_upper: f64,
    /// Scale η (characteristic life, 63.2 % failed), in the unit of the times.
    pub scale: f64,
    /// Standard error of η.
    pub scale_se: f64,
    /// Lower 95 % bound of η.
    pub scale_lower: f64,
    /// Upper 95 % bound of η.
    pub scale_upper: f64,
    /// Covariance of (β, η).
    pub covariance: f64,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// B10 life: the time by which 10 % have failed.
    pub b10: f64,
}

impl WeibullFit {
    /// The log of the density at `t`.
    pub fn log_density(&self, t: f64) -> f64 {
        let z = t / self.scale;
        self.shape.ln() - self.scale.ln() + (self.shape - 1.0) * z.ln() - z.powf(self.shape)
    }

    /// The log of the chance of surviving past `t`.
    pub fn log_survival(&self, t: f64) -> f64 {
        -(t / self.scale).powf(self.shape)
    }

    /// One life's log-likelihood on the scale of months in service, so that a
    /// law in months and one in thousand km can be compared on the same lives:
    /// a km law's density is carried to months by the vehicle's pace (km per
    /// month to the failure). Times below half a day (or 1 km) count as that.
    pub fn months_log_likelihood(
        &self,
        in_km: bool,
        months: f64,
        thousand_km: f64,
        failed: bool,
    ) -> f64 {
        let t = months.max(0.5 * 12.0 / 365.25);
        let k = thousand_km.max(1e-3);
        match (in_km, failed) {
            (false, true) => self.log_density(t),
            (false, false) => self.log_survival(t),
            (true, true) => self.log_density(k) + (k / t).ln(),
            (true, false) => self.log_survival(k),
        }
    }

    /// Fraction failed by `t`.
    pub fn cdf(&self, t: f64) -> f64 {
        1.0 - (-(t / self.scale).powf(self.shape)).exp()
    }

    /// Time by which fraction `p` has failed.
    pub fn quantile(&self, p: f64) -> f64 {
        self.scale * (-(1.0 - p).ln()).powf(1.0 / self.shape)
    }

    /// The chance that a unit which has lasted to `since` fails within the next
    /// `width`: 1 − exp(−((since + width)/η)^β + (since/η)^β).
    pub fn conditional_failure(&self, since: f64, width: f64) -> f64 {
        let hazard = |t: f64| (t / self.scale).powf(self.shape);
        1.0 - (hazard(since) - hazard(since + width)).exp()
    }
}

/// Fits a two-parameter Weibull law by maximum likelihood.
///
/// Suspensions contribute their survival to the likelihood. The shape is the
/// root of the profile score equation (monotone in β, solved by safeguarded
/// Newton steps); the scale follows in closed form.
pub fn fit_weibull(lives: &[Life]) -> Result<WeibullFit, FitError> {
    if let Some(bad) = lives.iter().find(|l| !(l.time > 0.0 && l.time.is_finite())) {
        return Err(FitError::BadTime(bad.time));
    }
    let failures = lives.iter().filter(|l| l.failed).count();
    let first_failure = lives.iter().find(|l| l.failed).map(|l| l.time);
    let distinct = lives
        .iter()
        .any(|l| l.failed && Some(l.time) != first_failure);
    if failures < 2 || !distinct {
        return Err(FitError::TooFewFailures(failures));
    }
    // Work in units of the largest time so that t^β stays finite for any β.
    let t_max = lives.iter().map(|l| l.time).fold(0.0, f64::max);
    let logs: Vec<f64> = lives.iter().map(|l| (l.time / t_max).ln()).collect();
    let r = failures as f64;
    let mean_failed_log = lives
        .iter()
        .zip(&logs)
        .filter(|(l, _)| l.failed)
        .map(|(_, &x)| x)
        .sum::<f64>()
        / r;
    // Profile score h(β) = Σ u^β ln u / Σ u^β − 1/β − mean(ln u | failed), increasing in β.
    let score = |beta: f64| -> (f64, f64) {
        let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
        for &x in &logs {
            let w = (beta * x).exp();
            s0 += w;
            s1 += w * x;
            s2 += w * x * x;
        }
        let h = s1 / s0 - 1.0 / beta - mean_failed_log;
        let dh = (s2 * s0 - s1 * s1) / (s0 * s0) + 1.0 / (beta * beta);
        (h, dh)
    };
    let (mut lo, mut hi) = (1e-3, 1.0);
    while score(hi).0 < 0.0 {
        lo = hi;
        hi *= 2.0;
        if hi > 1e4 {
            return Err(FitError::TooFewFailures(failures));
        }
    }
    let mut beta = 0.5 * (lo + hi);
    for _ in 0..200 {
        let (h, dh) = score(beta);
        if h > 0.0 {
            hi = beta;
        } else {
            lo = beta;
        }
        let newton = beta - h / dh;
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - beta).abs() <= 1e-13 * beta {
            beta = next;
            break;
        }
        beta = next;
    }
    let sum_w: f64 = logs.iter().map(|&x| (beta * x).exp()).sum();
    let scale = t_max * (sum_w / r).powf(1.0 / beta);

    // Observed information at the optimum (where Σ z = r).
    let (mut szl, mut szl2, mut log_lik) = (0.0, 0.0, 0.0);
    for (life, &x) in lives.iter().zip(&logs) {
        let l = x + (t_max / scale).ln();
        let z = (beta * l).exp();
        szl += z * l;
        szl2 += z * l * l;
        if life.failed {
            log_lik += beta.ln() - scale.ln() + (beta - 1.0) * l;
        }
        log_lik -= z;
    }
    let i_bb = r / (beta * beta) + szl2;
    let i_ee = r * beta * beta / (scale * scale);
    let i_be = -beta * szl / scale; // −∂²ℓ/∂β∂η with Σ z = r
    let det = i_bb * i_ee - i_be * i_be;
    let var_b = i_ee / det;
    let var_e = i_bb / det;
    let cov = -i_be / det;
    let (shape_se, scale_se) = (var_b.sqrt(), var_e.sqrt());
    let fit = WeibullFit {
        n: lives.len(),
        failures,
        shape: beta,
        shape_se,
        shape_lower: beta * (-Z95 * shape_se / beta).exp(),
        shape_upper: beta * (Z95 * shape_se / beta).exp(),
        scale,
        scale_se,
        scale_lower: scale * (-Z95 * scale_se / scale).exp(),
        scale_upper: scale * (Z95 * scale_se / scale).exp(),
        covariance: cov,
        log_likelihood: log_lik,
        b10: 0.0,
    };
    Ok(WeibullFit {
        b10: fit.quantile(0.1),
        ..fit
    })
}

/// Fits a two-parameter Weibull law to lives whose failure times are known
/// only to a `resolution` (grouped data): a failure recorded at `t ≥ 0` happened
/// somewhere in the bin `[k·w, (k+1)·w)`, `k = ⌊t / w⌋`, and contributes
/// `S(k·w) − S((k+1)·w)` to the likelihood. Suspensions are exact.
///
/// Dates are such data: months in service counted from a registration date to
/// a repair order's day. Treating each failure as exact biases the shape
/// upwards when many failures fall in the first days (β < 1). The
/// maximisation starts from [`fit_weibull`] with failures at their bin
/// midpoints and takes Newton steps in (ln β, ln η), halving a step that
/// does not raise the likelihood. Bounds come from the observed information,
/// as in [`fit_weibull`]; `log_likelihood` is that of the grouped data.
pub fn fit_weibull_grouped(lives: &[Life], resolution: f64) -> Result<WeibullFit, FitError> {
    if !(resolution > 0.0 && resolution.is_finite()) {
        return Err(FitError::BadTime(resolution));
    }
    // A failure recorded at 0 happened in the first bin; a suspension needs a positive time.
    let valid = |l: &Life| l.time.is_finite() && (l.time > 0.0 || (l.failed && l.time == 0.0));
    if let Some(bad) = lives.iter().find(|l| !valid(l)) {
        return Err(FitError::BadTime(bad.time));
    }
    // Failures as bins; the tiny allowance keeps a time computed as k·w from
    // falling into bin k − 1 by rounding.
    let bin = |t: f64| (t / resolution + 1e-9).floor() * resolution;
    let midpoints: Vec<Life> = lives
        .iter()
        .map(|l| Life {
            time: if l.failed {
                bin(l.time) + 0.5 * resolution
            } else {
                l.time
            },
            failed: l.failed,
        })
        .collect();
    let start = fit_weibull(&midpoints)?;
    let grouped = GroupedLives::new(lives, resolution, bin);
    let mut at = [start.shape.ln(), start.scale.ln()];
    let mut best = grouped.log_likelihood(at);
    for _ in 0..100 {
        let g = grouped.gradient(at);
        let h = grouped.hessian(at);
        let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        if !(det > 0.0 && h[0][0] < 0.0) {
            break; // not concave here: keep the best point found
        }
        let step = [
            -(h[1][1] * g[0] - h[0][1] * g[1]) / det,
            -(h[0][0] * g[1] - h[1][0] * g[0]) / det,
        ];
        let mut scale = 1.0;
        let mut moved = false;
        for _ in 0..40 {
            let next = [at[0] + scale * step[0], at[1] + scale * step[1]];
            let ll = grouped.log_likelihood(next);
            if ll >= best {
                (at, best, moved) = (next, ll, true);
                break;
            }
            scale *= 0.5;
        }
        if !moved || step[0].abs().max(step[1].abs()) * scale < 1e-12 {
            break;
        }
    }
    let h = grouped.hessian(at);
    let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    // Covariance of (ln β, ln η) is the inverse observed information −H⁻¹.
    let (var_lb, var_le, cov_l) = (-h[1][1] / det, -h[0][0] / det, h[0][1] / det);
    let (shape, scale) = (at[0].exp(), at[1].exp());
    let (se_lb, se_le) = (var_lb.max(0.0).sqrt(), var_le.max(0.0).sqrt());
    let fit = WeibullFit {
        n: lives.len(),
        failures: start.failures,
        shape,
        shape_se: shape * se_lb,
        shape_lower: shape * (-Z95 * se_lb).exp(),
        shape_upper: shape * (Z95 * se_lb).exp(),
        scale,
        scale_se: scale * se_le,
        scale_lower: scale * (-Z95 * se_le).exp(),
        scale_upper: scale * (Z95 * se_le).exp(),
        covariance: shape * scale * cov_l,
        log_likelihood: best,
        b10: 0.0,
    };
    Ok(WeibullFit {
        b10: fit.quantile(0.1),
        ..fit
    })
}

/// Lives for the grouped likelihood: failure bins `[lower, lower + w)` and
/// exact suspension times.
struct GroupedLives {
    /// Failures by bin: (ln of the lower end, or None at 0; ln of the upper end; count).
    bins: Vec<(Option<f64>, f64, f64)>,
    /// ln of each suspension time.
    suspensions: Vec<f64>,
}

impl GroupedLives {
    fn new(lives: &[Life], resolution: f64, bin: impl Fn(f64) -> f64) -> GroupedLives {
        let mut counts: std::collections::BTreeMap<i64, f64> = Default::default();
        let mut suspensions = Vec::new();
        for l in lives {
            if l.failed {
                *counts
                    .entry((bin(l.time) / resolution).round() as i64)
                    .or_default() += 1.0;
            } else {
                suspensions.push(l.time.ln());
            }
        }
        let bins = counts
            .into_iter()
            .map(|(k, n)| {
                let lower = k as f64 * resolution;
                ((k > 0).then(|| lower.ln()), (lower + resolution).ln(), n)
            })
            .collect();
        GroupedLives { bins, suspensions }
    }

    /// Log-likelihood at (ln β, ln η).
    fn log_likelihood(&self, [lb, le]: [f64; 2]) -> f64 {
        let beta = lb.exp();
        let z = |ln_t: f64| (beta * (ln_t - le)).exp();
        let failed: f64 = self
            .bins
            .iter()
            .map(|&(lower, upper, n)| {
                let (za, zb) = (lower.map_or(0.0, z), z(upper));
                // ln(S(a) − S(b)) = −z_a + ln(1 − e^{−(z_b − z_a)})
                n * (-za + (-(-(zb - za)).exp_m1()).ln())
            })
            .sum();
        failed - self.suspensions.iter().map(|&t| z(t)).sum::<f64>()
    }

    /// Gradient of the log-likelihood in (ln β, ln η).
    fn gradient(&self, [lb, le]: [f64; 2]) -> [f64; 2] {
        let beta = lb.exp();
        // z and its derivatives in (ln β, ln η): ∂z/∂lnβ = z·β·(ln t − ln η), ∂z/∂lnη = −β z.
        let dz = |ln_t: f64| {
            let u = beta * (ln_t - le);
            let z = u.exp();
            (z, [z * u, -beta * z])
        };
        let mut g = [0.0, 0.0];
        for &(lower, upper, n) in &self.bins {
            let (za, da) = lower.map_or((0.0, [0.0, 0.0]), dz);
            let (zb, db) = dz(upper);
            let ratio = 1.0 / (zb - za).exp_m1();
            for k in 0..2 {
                g[k] += n * (-da[k] + (db[k] - da[k]) * ratio);
            }
        }
        for &t in &self.suspensions {
            let (_, d) = dz(t);
            g[0] -= d[0];
            g[1] -= d[1];
        }
        g
    }

    /// Hessian in (ln β, ln η), by central differences of the gradient.
    fn hessian(&self, at: [f64; 2]) -> [[f64; 2]; 2] {
        const H: f64 = 1e-5;
        let mut h = [[0.0; 2]; 2];
        for j in 0..2 {
            let (mut up, mut down) = (at, at);
            up[j] += H;
            down[j] -= H;
            let (gu, gd) = (self.gradient(up), self.gradient(down));
            for i in 0..2 {
                h[i][j] = (gu[i] - gd[i]) / (2.0 * H);
            }
        }
        let off = 0.5 * (h[0][1] + h[1][0]);
        h[0][1] = off;
        h[1][0] = off;
        h
    }
}

/// One step of a Kaplan-Meier curve.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KaplanMeierStep {
    /// Time of the failures.
    pub time: f64,
    /// Units at risk just before `time`.
    pub at_risk: usize,
    /// Failures at `time`.
    pub failures: usize,
    /// Survival just after `time`.
    pub survival: f64,
    /// Lower 95 % bound (exponential Greenwood, as lifelines computes it).
    pub lower: f64,
    /// Upper 95 % bound.
    pub upper: f64,
}

/// The Kaplan-Meier product-limit estimate, one step per distinct failure time.
/// Suspensions at a failure time count as at risk at that time.
pub fn kaplan_meier(lives: &[Life]) -> Vec<KaplanMeierStep> {
    let mut sorted: Vec<Life> = lives.to_vec();
    sorted.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut steps = Vec::new();
    let (mut survival, mut greenwood) = (1.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].time;
        let at_risk = sorted.len() - i;
        let mut failures = 0;
        while i < sorted.len() && sorted[i].time == t {
            failures += usize::from(sorted[i].failed);
            i += 1;
        }
        if failures == 0 {
            continue;
        }
        let (n, d) = (at_risk as f64, failures as f64);
        survival *= 1.0 - d / n;
        if at_risk > failures {
            greenwood += d / (n * (n - d));
        }
        let (lower, upper) = if survival > 0.0 && survival < 1.0 {
            let v = (-survival.ln()).ln();
            let sd = greenwood.sqrt() / survival.ln().abs();
            ((-(v + Z95 * sd).exp()).exp(), (-(v - Z95 * sd).exp()).exp())
        } else {
            (survival, survival)
        };
        steps.push(KaplanMeierStep {
            time: t,
            at_risk,
            failures,
            survival,
            lower,
            upper,
        });
    }
    steps
}

/// One point of a mean cumulative function.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct McfPoint {
    /// Time of the events.
    pub time: f64,
    /// Units still observed at `time`.
    pub at_risk: usize,
    /// Events at `time`.
    pub events: usize,
    /// Mean cumulative number of events per unit up to `time`.
    pub mcf: f64,
    /// Standard error (Lawless-Nadeau robust variance, which does not assume Poisson events).
    pub se: f64,
    /// Lower 95 % bound (log-transformed).
    pub lower: f64,
    /// Upper 95 % bound.
    pub upper: f64,
}

/// A repairable unit: the times of its events and the end of its observation.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitHistory {
    /// Event times (need not be sorted); each must be ≤ `end`.
    pub events: Vec<f64>,
    /// End of observation.
    pub end: f64,
}

/// Nelson's nonparametric mean cumulative function with robust bounds, in one
/// sweep over the sorted event and end times (O((units + events) log)).
///
/// The robust variance at t is Σ_i A_i(t)², A_i(t) = Σ_{t_j ≤ min(t, τ_i)}
/// (d_ij − d_j/n_j)/n_j. Writing A_i = D_i − G(min(t, τ_i)) with
/// D_i = Σ own events 1/n_j and G(t) = Σ d_j/n_j², the three sums of the
/// expanded square are kept up to date as units leave observation.
pub fn mean_cumulative_function(units: &[UnitHistory]) -> Vec<McfPoint> {
    let mut events: Vec<(f64, usize)> = units
        .iter()
        .enumerate()
        .flat_map(|(i, u)| u.events.iter().map(move |&t| (t, i)))
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ends: Vec<(f64, usize)> = units.iter().enumerate().map(|(i, u)| (u.end, i)).collect();
    ends.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut own = vec![0.0_f64; units.len()]; // D_i
    let mut alive = units.len();
    let (mut sum_d2, mut sum_d_alive) = (0.0, 0.0);
    let (mut frozen_dg, mut frozen_g2) = (0.0, 0.0);
    let (mut g, mut mcf) = (0.0, 0.0);
    let mut next_end = 0;
    let mut points = Vec::new();
    let mut j = 0;
    while j < events.len() {
        let t = events[j].0;
        while next_end < ends.len() && ends[next_end].0 < t {
            let i = ends[next_end].1;
            frozen_dg += own[i] * g;
            frozen_g2 += g * g;
            sum_d_alive -= own[i];
            alive -= 1;
            next_end += 1;
        }
        let start = j;
        while j < events.len() && events[j].0 == t {
            j += 1;
        }
        let d = j - start;
        let n = alive as f64;
        mcf += d as f64 / n;
        g += d as f64 / (n * n);
        for &(_, i) in &events[start..j] {
            let before = own[i];
            own[i] += 1.0 / n;
            sum_d2 += own[i] * own[i] - before * before;
            sum_d_alive += 1.0 / n;
        }
        let variance =
            (sum_d2 - 2.0 * (g * sum_d_alive + frozen_dg) + (n * g * g + frozen_g2)).max(0.0);
        let se = variance.sqrt();
        let spread = (Z95 * se / mcf).exp();
        points.push(McfPoint {
            time: t,
            at_risk: alive,
            events: d,
            mcf,
            se,
            lower: mcf / spread,
            upper: mcf * spread,
        });
    }
    points
}

/// Groups lives by a key, keeping first-seen order of the keys.
pub fn group_lives<K: std::hash::Hash + Eq + Clone>(
    rows: impl IntoIterator<Item = (K, Life)>,
) -> Vec<(K, Vec<Life>)> {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut groups: Vec<(K, Vec<Life>)> = Vec::new();
    for (key, life) in rows {
        let at = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(life);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lives(failed: &[f64], suspended: &[f64]) -> Vec<Life> {
        failed
            .iter()
            .map(|&time| Life { time, failed: true })
            .chain(suspended.iter().map(|&time| Life {
                time,
                failed: false,
            }))
            .collect()
    }

    #[test]
    fn the_score_is_zero_at_the_fit() {
        let data = lives(&[12.0, 30.0, 41.0, 55.0, 70.0], &[80.0, 80.0, 80.0]);
        let fit = fit_weibull(&data).unwrap();
        // The log-likelihood is lower a little way off the optimum in every direction.
        let ll = |b: f64, e: f64| {
            data.iter()
                .map(|l| {
                    let z = (l.time / e).powf(b);
                    let f = if l.failed {
                        b.ln() - e.ln() + (b - 1.0) * (l.time / e).ln()
                    } else {
                        0.0
                    };
                    f - z
                })
                .sum::<f64>()
        };
        let best = ll(fit.shape, fit.scale);
        assert!((best - fit.log_likelihood).abs() < 1e-9);
        for (db, de) in [(0.01, 0.0), (-0.01, 0.0), (0.0, 0.5), (0.0, -0.5)] {
            assert!(ll(fit.shape + db, fit.scale + de) < best);
        }
        assert!(fit.shape_lower < fit.shape && fit.shape < fit.shape_upper);
    }

    #[test]
    fn the_grouped_fit_is_the_optimum_and_tends_to_the_exact_fit() {
        let data = lives(
            &[0.2, 0.7, 1.5, 3.2, 3.9, 3.95, 8.0, 12.5, 20.1],
            &[25.0; 12],
        );
        let exact = fit_weibull(&data).unwrap();
        let fine = fit_weibull_grouped(&data, 1e-6).unwrap();
        assert!((fine.shape / exact.shape - 1.0).abs() < 1e-5);
        assert!((fine.scale / exact.scale - 1.0).abs() < 1e-5);
        assert!((fine.shape_se / exact.shape_se - 1.0).abs() < 1e-3);

        let by_unit = fit_weibull_grouped(&data, 1.0).unwrap();
        let grouped = GroupedLives::new(&data, 1.0, |t| t.floor());
        let at = [by_unit.shape.ln(), by_unit.scale.ln()];
        let g = grouped.gradient(at);
        assert!(g[0].abs() < 1e-6 && g[1].abs() < 1e-6, "gradient {g:?}");
        assert!((grouped.log_likelihood(at) - by_unit.log_likelihood).abs() < 1e-12);
        for d in [[0.01, 0.0], [-0.01, 0.0], [0.0, 0.01], [0.0, -0.01]] {
            assert!(grouped.log_likelihood([at[0] + d[0], at[1] + d[1]]) < by_unit.log_likelihood);
        }
        // The 3.9 and 3.95 failures share the bin [3, 4): one entry, counted twice.
        assert!(grouped.bins.iter().any(|&(_, _, n)| n == 2.0));
        assert!(by_unit.shape != exact.shape);
        assert_eq!(
            fit_weibull_grouped(&lives(&[0.0, 1.0], &[-2.0]), 1.0),
            Err(FitError::BadTime(-2.0))
        );
    }

    #[test]
    fn too_few_failures_and_bad_times_are_errors() {
        assert_eq!(
            fit_weibull(&lives(&[5.0], &[9.0, 9.0])),
            Err(FitError::TooFewFailures(1))
        );
        assert_eq!(
            fit_weibull(&lives(&[5.0, 5.0], &[9.0])),
            Err(FitError::TooFewFailures(2))
        );
        assert_eq!(
            fit_weibull(&lives(&[5.0, -1.0], &[])),
            Err(FitError::BadTime(-1.0))
        );
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // 6 units: failures at 1, 3, 3; suspensions at 2, 4, 5.
        let km = kaplan_meier(&lives(&[1.0, 3.0, 3.0], &[2.0, 4.0, 5.0]));
        assert_eq!(km.len(), 2);
        assert!((km[0].survival - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!((km[1].at_risk, km[1].failures), (4, 2));
        assert!((km[1].survival - 5.0 / 6.0 * 0.5).abs() < 1e-12);
    }

    /// The sweep equals the textbook double sum on a small fleet.
    #[test]
    fn mcf_matches_the_direct_formula() {
        let units = vec![
            UnitHistory {
                events: vec![2.0, 5.0],
                end: 10.0,
            },
            UnitHistory {
                events: vec![],
                end: 4.0,
            },
            UnitHistory {
                events: vec![5.0, 7.0, 7.0],
                end: 8.0,
            },
            UnitHistory {
                events: vec![3.0],
                end: 3.0,
            },
            UnitHistory {
                events: vec![],
                end: 12.0,
            },
        ];
        let points = mean_cumulative_function(&units);
        let mut times: Vec<f64> = units.iter().flat_map(|u| u.events.clone()).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        assert_eq!(points.len(), times.len());
        let at_risk = |t: f64| units.iter().filter(|u| u.end >= t).count() as f64;
        let d = |t: f64| {
            units
                .iter()
                .map(|u| u.events.iter().filter(|&&e| e == t).count())
                .sum::<usize>() as f64
        };
        for (p, &t) in points.iter().zip(&times) {
            let steps: Vec<f64> = times.iter().copied().filter(|&s| s <= t).collect();
            let mcf: f64 = steps.iter().map(|&s| d(s) / at_risk(s)).sum();
            let var: f64 = units
                .iter()
                .map(|u| {
                    steps
                        .iter()
                        .filter(|&&s| s <= u.end)
                        .map(|&s| {
                            let own = u.events.iter().filter(|&&e| e == s).count() as f64;
                            (own - d(s) / at_risk(s)) / at_risk(s)
                        })
                        .sum::<f64>()
                        .powi(2)
                })
                .sum();
            assert!((p.mcf - mcf).abs() < 1e-12, "mcf at {t}");
            assert!(
                (p.se - var.sqrt()).abs() < 1e-12,
                "se at {t}: {} vs {}",
                p.se,
                var.sqrt()
            );
        }
    }
}
