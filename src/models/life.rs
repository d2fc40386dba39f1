//! Reliability analysis of the fleet in the warehouse, and of any table of
//! lives or repair events a reliability engineer brings (CSV or Parquet).

use super::features::{self, flag_column, float_column, text_column};
use super::reliability::{
    KaplanMeierStep, Life, McfPoint, UnitHistory, WeibullFit, fit_weibull, fit_weibull_grouped,
    group_lives, kaplan_meier, mean_cumulative_function,
};
use super::{ModelError, ResultTable};
use crate::usertable::{Times, UserTable, UserTableError};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use std::collections::HashMap;
use std::path::Path;

/// One day in months. Months in service are counted from a registration date
/// to the day of a repair order, so a failure is known to the day: the fleet's
/// fits in months treat it as happening within that day
/// ([`fit_weibull_grouped`]). Taken as exact, the hours of the order biased
/// the infotainment unit's shape (β 0.55 planted) to 0.564 at scale 1.
const DAY_IN_MONTHS: f64 = 1.0 / 30.4375;

/// A Weibull fit of one group of lives.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupFit {
    /// `component` (every vehicle), `powertrain`, `make`, or `model` (one make,
    /// model and model year).
    pub level: String,
    /// Component.
    pub component: String,
    /// The group within the level (`BEV`, `Volkswagen`, `Haval H6 2022`); empty
    /// at the component level.
    pub group: String,
    /// `months` in service or `thousand_km`.
    pub basis: String,
    /// The fit.
    pub fit: WeibullFit,
}

/// Reliability of the fleet as of a date.
#[derive(Debug, Clone)]
pub struct FleetReliability {
    /// Weibull fits per component, and per component and powertrain, make, or
    /// make/model/model year where there are enough failures.
    pub fits: Vec<GroupFit>,
    /// Kaplan-Meier curves in months in service, per component.
    pub kaplan_meier: Vec<(String, Vec<KaplanMeierStep>)>,
    /// Mean cumulative repairs per vehicle by months in service.
    pub mcf: Vec<McfPoint>,
}

/// Fits the fleet: time to first failure per component (months in service and
/// thousand km), suspensions at `as_of`, and the MCF of all repairs.
/// Model-level fits need `min_failures` failures.
pub async fn fleet(
    ctx: &SessionContext,
    queries: Option<&Path>,
    as_of: &str,
    min_failures: usize,
) -> Result<FleetReliability, ModelError> {
    let params = [("as_of".to_string(), as_of.to_string())];
    let FirstFailureFits { fits, curves, .. } =
        first_failure_fits(ctx, queries, as_of, min_failures).await?;

    let query = features::load(queries, "repair_events")?;
    let batches = features::run(ctx, &query, &params).await?;
    let units = units_from(&batches, "vin", "months", "event")?;
    Ok(FleetReliability {
        fits,
        kaplan_meier: curves,
        mcf: mean_cumulative_function(&units),
    })
}

/// Weibull fits of the time to first failure per component as of a day (and
/// per powertrain, make and model with at least `min_failures` failures),
/// with the Kaplan-Meier curve of each component in months.
pub async fn first_failure_fits(
    ctx: &SessionContext,
    queries: Option<&Path>,
    as_of: &str,
    min_failures: usize,
) -> Result<FirstFailureFits, ModelError> {
    let params = [("as_of".to_string(), as_of.to_string())];
    let query = features::load(queries, "first_failures")?;
    let batches = features::run(ctx, &query, &params).await?;
    let input = |e: String| ModelError::Input(format!("first_failures: {e}"));
    let component = text_column(&batches, "component").map_err(input)?;
    let make = text_column(&batches, "make").map_err(input)?;
    let powertrain = text_column(&batches, "powertrain").map_err(input)?;
    let model = text_column(&batches, "model").map_err(input)?;
    let year = text_column(&batches, "model_year").map_err(input)?;
    let failed = flag_column(&batches, "failed").map_err(input)?;
    let months = float_column(&batches, "months").map_err(input)?;
    let km = float_column(&batches, "thousand_km").map_err(input)?;

    // Months are known to the day (grouped data); kilometres are read off the odometer.
    let fit_law = |basis: &str, lives: &[Life]| {
        if basis == "months" {
            fit_weibull_grouped(lives, DAY_IN_MONTHS)
        } else {
            fit_weibull(lives)
        }
    };
    let mut fits = Vec::new();
    let mut curves = Vec::new();
    for (basis, times) in [("months", &months), ("thousand_km", &km)] {
        let lives = || {
            (0..component.len()).filter_map(|i| {
                let time = times[i]?;
                let time = if basis == "months" {
                    time.max(0.0)
                } else {
                    time.max(0.001)
                };
                Some((
                    i,
                    Life {
                        time,
                        failed: failed[i].unwrap_or(false),
                    },
                ))
            })
        };
        for (name, group) in group_lives(lives().map(|(i, l)| (component[i].clone(), l))) {
            if basis == "months" {
                curves.push((name.clone(), kaplan_meier(&group)));
            }
            if let Ok(fit) = fit_law(basis, &group) {
                fits.push(GroupFit {
                    level: "component".into(),
                    component: name,
                    group: String::new(),
                    basis: basis.into(),
                    fit,
                });
            }
        }
        // Powertrain and make separate the planted overrides (BEV brake pads,
        // Volkswagen water pumps) that a per-component fit mixes.
        let levels: [(&str, &dyn Fn(usize) -> String); 3] = [
            ("powertrain", &|i| powertrain[i].clone()),
            ("make", &|i| make[i].clone()),
            ("model", &|i| {
                format!("{} {} {}", make[i], model[i], year[i])
            }),
        ];
        for (level, key) in levels {
            let grouped = group_lives(lives().map(|(i, l)| ((component[i].clone(), key(i)), l)));
            for ((name, group_name), group) in grouped {
                if group.iter().filter(|l| l.failed).count() < min_failures {
                    continue;
                }
                if let Ok(fit) = fit_law(basis, &group) {
                    fits.push(GroupFit {
                        level: level.into(),
                        component: name,
                        group: group_name,
                        basis: basis.into(),
                        fit,
                    });
                }
            }
        }
    }
    fits.sort_by(|a, b| {
        (
            a.level.as_str(),
            a.basis.as_str(),
            a.component.as_str(),
            a.group.as_str(),
        )
            .cmp(&(
                b.level.as_str(),
                b.basis.as_str(),
                b.component.as_str(),
                b.group.as_str(),
            ))
    });
    curves.sort_by(|a, b| a.0.cmp(&b.0));
    let basis = fits
        .iter()
        .filter(|f| f.level == "component")
        .map(|f| f.component.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|name| {
            let law = |basis: &str| {
                fits.iter()
                    .find(|f| f.level == "component" && f.component == name && f.basis == basis)
            };
            let (by_months, by_km) = (law("months")?, law("thousand_km")?);
            // Each law's likelihood of the months in service, as the warranty forecast compares them.
            let (mut months_ll, mut km_ll) = (0.0, 0.0);
            for i in (0..component.len()).filter(|&i| component[i] == name) {
                let (Some(t), Some(k)) = (months[i], km[i]) else {
                    continue;
                };
                let failed = failed[i].unwrap_or(false);
                months_ll += by_months.fit.months_log_likelihood(false, t, k, failed);
                km_ll += by_km.fit.months_log_likelihood(true, t, k, failed);
            }
            let better = if km_ll > months_ll {
                "thousand_km"
            } else {
                "months"
            };
            Some((name, better.to_owned()))
        })
        .collect();
    Ok(FirstFailureFits {
        fits,
        curves,
        basis,
    })
}

/// The fits of the time to first failure as of a day.
#[derive(Debug, Clone)]
pub struct FirstFailureFits {
    /// Weibull fits per component and group, in months and in thousand km.
    pub fits: Vec<GroupFit>,
    /// Kaplan-Meier curves in months in service, per component.
    pub curves: Vec<(String, Vec<KaplanMeierStep>)>,
    /// Per component, the basis (`months` or `thousand_km`) whose law explains
    /// its months in service better.
    pub basis: std::collections::BTreeMap<String, String>,
}

/// Reads a CSV or Parquet file (by extension) with DataFusion.
pub async fn read_table(path: &Path) -> Result<Vec<RecordBatch>, ModelError> {
    let ctx = SessionContext::new();
    let name = path.to_string_lossy();
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if !path.is_file() {
        return Err(ModelError::Input(format!("{name}: no such file")));
    }
    let df = if is_parquet {
        ctx.read_parquet(name.as_ref(), ParquetReadOptions::default())
            .await
    } else {
        ctx.read_csv(name.as_ref(), CsvReadOptions::new().file_extension(""))
            .await
    }
    .map_err(|e| ModelError::Input(format!("{name}: {e}")))?;
    df.collect()
        .await
        .map_err(|e| ModelError::Input(format!("{name}: {e}")))
}

/// The fit of one group of a user's table, or why it could not be fitted.
pub type GroupResult = (String, Result<WeibullFit, String>);

/// Fits a Weibull law to each group of a user's table of lives: `time` is
/// above zero, `event` is 1/true (failure) or 0/false (suspension). A group
/// needs failures at two or more distinct times; one that lacks them keeps its
/// reason in the result, and a table where no group can be fitted is rejected.
pub fn fit_user_table(
    table: &UserTable,
    time: &str,
    event: &str,
    group: Option<&str>,
) -> Result<Vec<GroupResult>, UserTableError> {
    let times = table.times(time, Times::Positive)?;
    let events = table.flags(event)?;
    let groups = match group {
        Some(g) => table.texts(g)?,
        None => vec!["all".to_string(); times.len()],
    };
    let rows = groups.into_iter().zip(
        times
            .iter()
            .zip(&events)
            .map(|(&time, &failed)| Life { time, failed }),
    );
    let fits: Vec<GroupResult> = group_lives(rows)
        .into_iter()
        .map(|(g, lives)| {
            let mut failure_times: Vec<f64> =
                lives.iter().filter(|l| l.failed).map(|l| l.time).collect();
            let failures = failure_times.len();
            failure_times.sort_by(f64::total_cmp);
            failure_times.dedup();
            let fit = if failure_times.len() < 2 {
                Err(format!(
                    "a Weibull fit needs failures at 2 or more distinct times; {} has {failures} failure(s) at {} distinct time(s)",
                    if group.is_some() { format!("group `{g}`") } else { "the table".into() },
                    failure_times.len()
                ))
            } else {
                fit_weibull(&lives).map_err(|e| e.to_string())
            };
            (g, fit)
        })
        .collect();
    if fits.iter().all(|(_, f)| f.is_err()) {
        let reasons: Vec<String> = fits
            .iter()
            .filter_map(|(_, f)| f.as_ref().err().cloned())
            .collect();
        return Err(table.reject_table(if reasons.is_empty() {
            "the table has no rows".to_owned()
        } else {
            reasons.join("; ")
        }));
    }
    Ok(fits)
}

/// What to do with a unit that has no end-of-observation row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingEnd {
    /// Reject the table, naming the unit.
    Reject,
    /// End the unit's observation at its last event.
    EndAtLastEvent,
}

/// Unit histories from a user's table: one row per repair (`event` 1/true)
/// and one row per unit with its end of observation (`event` 0/false), times
/// at least zero. A repair after its unit's end, a unit with two end rows,
/// and (unless `missing_end` says otherwise) a unit without one are rejected.
pub fn user_units(
    table: &UserTable,
    unit: &str,
    time: &str,
    event: &str,
    missing_end: MissingEnd,
) -> Result<Vec<UnitHistory>, UserTableError> {
    let units = table.texts(unit)?;
    let times = table.times(time, Times::NonNegative)?;
    let events = table.flags(event)?;
    // Per unit: its events with their rows, and its end row.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut seen: Vec<(&str, Vec<(f64, usize)>, Option<usize>)> = Vec::new();
    for (row, u) in units.iter().enumerate() {
        let at = *index.entry(u.as_str()).or_insert_with(|| {
            seen.push((u.as_str(), Vec::new(), None));
            seen.len() - 1
        });
        if events[row] {
            seen[at].1.push((times[row], row));
        } else if let Some(first) = seen[at].2 {
            return Err(table.reject(
                Some(row),
                Some(unit),
                format!(
                    "unit `{u}` has a second end-of-observation row (the first is line {})",
                    table.line(first)
                ),
            ));
        } else {
            seen[at].2 = Some(row);
        }
    }
    let mut out = Vec::with_capacity(seen.len());
    for (u, unit_events, end_row) in seen {
        let end = match (end_row, missing_end) {
            (Some(row), _) => times[row],
            (None, MissingEnd::EndAtLastEvent) => {
                unit_events.iter().map(|e| e.0).fold(0.0, f64::max)
            }
            (None, MissingEnd::Reject) => {
                let row = unit_events.first().map(|e| e.1);
                return Err(table.reject(
                    row,
                    Some(unit),
                    format!(
                        "unit `{u}` has no end-of-observation row (`{event}` 0); add one, or pass --end-at-last-event"
                    ),
                ));
            }
        };
        if let Some(&(t, row)) = unit_events.iter().find(|e| e.0 > end) {
            return Err(table.reject(
                Some(row),
                Some(time),
                format!(
                    "unit `{u}` has a repair at {t}, after its end of observation at {end} (line {})",
                    end_row.map_or(0, |r| table.line(r))
                ),
            ));
        }
        out.push(UnitHistory {
            events: unit_events.into_iter().map(|e| e.0).collect(),
            end,
        });
    }
    Ok(out)
}

/// Builds unit histories from query results with one row per event plus one
/// row per unit with its end of observation (`event` false). A unit's end is
/// its latest row. A user's table goes through [`user_units`] instead.
fn units_from(
    batches: &[RecordBatch],
    unit: &str,
    time: &str,
    event: &str,
) -> Result<Vec<UnitHistory>, ModelError> {
    let units = text_column(batches, unit).map_err(ModelError::Input)?;
    let times = float_column(batches, time).map_err(ModelError::Input)?;
    let events = flag_column(batches, event).map_err(ModelError::Input)?;
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<UnitHistory> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        let (Some(t), Some(e)) = (times[i], events[i]) else {
            return Err(ModelError::Input(format!(
                "data row {}: `{time}` and `{event}` must both be present",
                i + 1
            )));
        };
        if !t.is_finite() || t < 0.0 {
            return Err(ModelError::Input(format!(
                "data row {}: `{time}` is {t}; times must be ≥ 0",
                i + 1
            )));
        }
        let at = *index.entry(u.as_str()).or_insert_with(|| {
            out.push(UnitHistory {
                events: Vec::new(),
                end: 0.0,
            });
            out.len() - 1
        });
        if e {
            out[at].events.push(t);
        }
        out[at].end = out[at].end.max(t);
    }
    Ok(out)
}

/// Weibull fits as a result table.
pub fn fits_table(fits: &[GroupFit]) -> ResultTable {
    ResultTable::new()
        .text("level", fits.iter().map(|f| f.level.clone()))
        .text("component", fits.iter().map(|f| f.component.clone()))
        .text("group", fits.iter().map(|f| f.group.clone()))
        .text("basis", fits.iter().map(|f| f.basis.clone()))
        .int("units", fits.iter().map(|f| f.fit.n as i64))
        .int("failures", fits.iter().map(|f| f.fit.failures as i64))
        .float("shape", fits.iter().map(|f| f.fit.shape))
        .float("shape_lower", fits.iter().map(|f| f.fit.shape_lower))
        .float("shape_upper", fits.iter().map(|f| f.fit.shape_upper))
        .float("scale", fits.iter().map(|f| f.fit.scale))
        .float("scale_lower", fits.iter().map(|f| f.fit.scale_lower))
        .float("scale_upper", fits.iter().map(|f| f.fit.scale_upper))
        .float("b10", fits.iter().map(|f| f.fit.b10))
}

/// Fits of a user table as a result table (a group without a fit says why).
pub fn group_fits_table(fits: &[(String, Result<WeibullFit, String>)]) -> ResultTable {
    let get = |f: &Result<WeibullFit, String>, pick: fn(&WeibullFit) -> f64| {
        f.as_ref().map_or(f64::NAN, pick)
    };
    ResultTable::new()
        .text("group", fits.iter().map(|(g, _)| g.clone()))
        .int(
            "units",
            fits.iter()
                .map(|(_, f)| f.as_ref().map_or(0, |f| f.n as i64)),
        )
        .int(
            "failures",
            fits.iter()
                .map(|(_, f)| f.as_ref().map_or(0, |f| f.failures as i64)),
        )
        .float("shape", fits.iter().map(|(_, f)| get(f, |w| w.shape)))
        .float("shape_se", fits.iter().map(|(_, f)| get(f, |w| w.shape_se)))
        .float(
            "shape_lower",
            fits.iter().map(|(_, f)| get(f, |w| w.shape_lower)),
        )
        .float(
            "shape_upper",
            fits.iter().map(|(_, f)| get(f, |w| w.shape_upper)),
        )
        .float("scale", fits.iter().map(|(_, f)| get(f, |w| w.scale)))
        .float("scale_se", fits.iter().map(|(_, f)| get(f, |w| w.scale_se)))
        .float(
            "scale_lower",
            fits.iter().map(|(_, f)| get(f, |w| w.scale_lower)),
        )
        .float(
            "scale_upper",
            fits.iter().map(|(_, f)| get(f, |w| w.scale_upper)),
        )
        .float("b10", fits.iter().map(|(_, f)| get(f, |w| w.b10)))
        .float(
            "log_likelihood",
            fits.iter().map(|(_, f)| get(f, |w| w.log_likelihood)),
        )
        .text(
            "note",
            fits.iter()
                .map(|(_, f)| f.as_ref().err().cloned().unwrap_or_default()),
        )
}

/// Kaplan-Meier curves as a result table.
pub fn kaplan_meier_table(curves: &[(String, Vec<KaplanMeierStep>)]) -> ResultTable {
    let rows: Vec<(&String, &KaplanMeierStep)> = curves
        .iter()
        .flat_map(|(c, steps)| steps.iter().map(move |s| (c, s)))
        .collect();
    ResultTable::new()
        .text("component", rows.iter().map(|(c, _)| (*c).clone()))
        .float("months", rows.iter().map(|(_, s)| s.time))
        .int("at_risk", rows.iter().map(|(_, s)| s.at_risk as i64))
        .int("failures", rows.iter().map(|(_, s)| s.failures as i64))
        .float("survival", rows.iter().map(|(_, s)| s.survival))
        .float("lower", rows.iter().map(|(_, s)| s.lower))
        .float("upper", rows.iter().map(|(_, s)| s.upper))
}

/// An MCF as a result table.
pub fn mcf_table(points: &[McfPoint]) -> ResultTable {
    ResultTable::new()
        .float("time", points.iter().map(|p| p.time))
        .int("at_risk", points.iter().map(|p| p.at_risk as i64))
        .int("events", points.iter().map(|p| p.events as i64))
        .float("mcf", points.iter().map(|p| p.mcf))
        .float("se", points.iter().map(|p| p.se))
        .float("lower", points.iter().map(|p| p.lower))
        .float("upper", points.iter().map(|p| p.upper))
}

/// Writes `weibull.parquet`, `kaplan_meier.parquet` and `mcf.parquet` into
/// `out`, each staged under a temporary name and renamed into place.
pub fn write_fleet(out: &Path, fleet: &FleetReliability) -> Result<(), ModelError> {
    std::fs::create_dir_all(out).map_err(ModelError::io(out))?;
    for (name, table) in [
        ("weibull", fits_table(&fleet.fits)),
        ("kaplan_meier", kaplan_meier_table(&fleet.kaplan_meier)),
        ("mcf", mcf_table(&fleet.mcf)),
    ] {
        let path = out.join(format!("{name}.parquet"));
        let tmp = out.join(format!(".{name}.parquet.tmp-{}", std::process::id()));
        crate::sql::output::write_parquet(&tmp, &[table.batch()])?;
        std::fs::rename(&tmp, &path).map_err(ModelError::io(&path))?;
    }
    Ok(())
}
