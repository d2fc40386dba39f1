//! The failure model's oracle: the best ranking the generator's planted truth
//! allows, so a model's ROC AUC can be read against what is possible.
//!
//! For each vehicle and component of a snapshot, the planted Weibull law in
//! force (the most specific for the make and powertrain) gives the chance of
//! a failure in the 90 days after the cutoff, conditional on the part having
//! lasted since its last repair (renewal): 1 − exp(−(H(s + Δ) − H(s))), with
//! H(t) = (t/η)^β, s the months or kilometres since renewal and Δ the window
//! in months, or the vehicle's kilometres per day times 90. The planted
//! emerging issue adds its constant hazard from its onset. A failure is only
//! seen when the owner still visits the network, so a vehicle whose owner the
//! truth says defected has probability 0.

use std::collections::HashMap;
use std::path::Path;

use datafusion::prelude::SessionContext;
use serde::Deserialize;

use super::ModelError;
use super::classifier::Oracle;
use super::features::{self, FeatureTable};
use super::metrics;
use crate::dates::{Period, format_date};

#[derive(Deserialize)]
struct Truth {
    failure_laws: Vec<Law>,
    emerging_issue: Option<Emerging>,
    customers: Vec<Customer>,
}

#[derive(Deserialize)]
struct Law {
    component: String,
    make: Option<String>,
    powertrain: Option<String>,
    basis: String,
    shape: f64,
    scale: f64,
}

#[derive(Deserialize)]
struct Emerging {
    make: String,
    model: String,
    model_year: i64,
    component: String,
    onset_month: Period,
    extra_failures_per_vehicle_month: f64,
}

#[derive(Deserialize)]
struct Customer {
    customer_id: String,
    defected: bool,
}

/// Days in the average month, as the feature queries count months.
const DAYS_PER_MONTH: f64 = 30.4375;

/// A vehicle as the oracle needs it.
struct Vehicle {
    make: String,
    model: String,
    model_year: i64,
    powertrain: String,
    owner_defected: bool,
}

/// The oracle's probabilities for a failure snapshot at `cutoff`, with the
/// model's out-of-fold scores compared against them.
pub async fn failure_oracle(
    ctx: &SessionContext,
    queries: Option<&Path>,
    truth_path: &Path,
    table: &FeatureTable,
    cutoff: i32,
    model_scores: &[f64],
) -> Result<Oracle, ModelError> {
    let text = std::fs::read_to_string(truth_path).map_err(ModelError::io(truth_path))?;
    let truth: Truth = serde_json::from_str(&text).map_err(|e| {
        ModelError::Input(format!("{}: not a truth file: {e}", truth_path.display()))
    })?;
    let vehicles = vehicles(ctx, queries, cutoff, &truth).await?;
    let law_only = failure_law_probabilities(&truth, &vehicles, table, cutoff)?;
    let p: Vec<f64> = law_only
        .iter()
        .zip(id(table, "vin")?)
        .map(|(&p, vin)| if vehicles[vin].owner_defected { 0.0 } else { p })
        .collect();
    let y = table.labels.as_deref().expect("snapshots have labels");
    let roc = metrics::roc_auc(y, &p);
    Ok(Oracle {
        roc_auc: roc,
        defection_only_auc: None,
        failure_law_only_auc: Some(metrics::roc_auc(y, &law_only)),
        gap: metrics::roc_auc(y, model_scores) - roc,
        method: "the planted Weibull law in force, conditional on survival since the last repair, over the 90 days after the cutoff (km laws at the vehicle's km per day), plus the planted emerging issue's hazard; 0 when the owner defected".into(),
    })
}

async fn vehicles(
    ctx: &SessionContext,
    queries: Option<&Path>,
    cutoff: i32,
    truth: &Truth,
) -> Result<HashMap<String, Vehicle>, ModelError> {
    let query = features::load(queries, "oracle_vehicles")?;
    let params = [("cutoff".to_owned(), format_date(cutoff))];
    let batches = features::run(ctx, &query, &params).await?;
    let column = |name| features::text_column(&batches, name).map_err(ModelError::Input);
    let (vin, make, model, powertrain, owner) = (
        column("vin")?,
        column("make")?,
        column("model")?,
        column("powertrain")?,
        column("owner_id")?,
    );
    let year = features::float_column(&batches, "model_year").map_err(ModelError::Input)?;
    let defected: HashMap<&str, bool> = truth
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c.defected))
        .collect();
    Ok((0..vin.len())
        .map(|i| {
            (
                vin[i].clone(),
                Vehicle {
                    make: make[i].clone(),
                    model: model[i].clone(),
                    model_year: year[i].unwrap_or(0.0) as i64,
                    powertrain: powertrain[i].clone(),
                    owner_defected: defected.get(owner[i].as_str()).copied().unwrap_or(false),
                },
            )
        })
        .collect())
}

fn id<'a>(table: &'a FeatureTable, name: &str) -> Result<&'a [String], ModelError> {
    table
        .id(name)
        .ok_or_else(|| ModelError::Input(format!("failure features have no `{name}`")))
}

/// The probability of a failure in the window from the planted laws alone.
fn failure_law_probabilities(
    truth: &Truth,
    vehicles: &HashMap<String, Vehicle>,
    table: &FeatureTable,
    cutoff: i32,
) -> Result<Vec<f64>, ModelError> {
    let (vins, components) = (id(table, "vin")?, id(table, "component")?);
    let feature = |name: &str| {
        table
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| ModelError::Input(format!("failure features have no `{name}`")))
    };
    let (months, thousand_km, km_per_day) = (
        feature("months_since_renewal")?,
        feature("thousand_km_since_renewal")?,
        feature("km_per_day")?,
    );
    let window_days = f64::from(super::classifier::Target::Failure.horizon_days());
    let window_end = cutoff + super::classifier::Target::Failure.horizon_days();
    let mut out = Vec::with_capacity(vins.len());
    for (row, (vin, component)) in vins.iter().zip(components).enumerate() {
        let vehicle = vehicles.get(vin).ok_or_else(|| {
            ModelError::Input(format!(
                "vehicle {vin} of the failure features is not in service"
            ))
        })?;
        let Some(law) = law_for(&truth.failure_laws, component, vehicle) else {
            out.push(0.0);
            continue;
        };
        let (start, width) = if law.basis == "km" {
            let km_per_day = table.x[[row, km_per_day]];
            (
                table.x[[row, thousand_km]].max(0.0) * 1000.0,
                km_per_day * window_days,
            )
        } else {
            (
                table.x[[row, months]].max(0.0),
                window_days / DAYS_PER_MONTH,
            )
        };
        let hazard = |t: f64| (t / law.scale).powf(law.shape);
        let mut cumulative = hazard(start + width) - hazard(start);
        if let Some(issue) = &truth.emerging_issue
            && issue.make == vehicle.make
            && issue.model == vehicle.model
            && issue.model_year == vehicle.model_year
            && &issue.component == component
        {
            let onset = issue.onset_month.start().max(cutoff);
            let exposed_days = f64::from((window_end - onset).max(0));
            cumulative += issue.extra_failures_per_vehicle_month * exposed_days / DAYS_PER_MONTH;
        }
        out.push(1.0 - (-cumulative).exp());
    }
    Ok(out)
}

/// The most specific law for a component on a vehicle: make and powertrain,
/// then make, then powertrain, then the general one (as the generator picks).
fn law_for<'a>(laws: &'a [Law], component: &str, vehicle: &Vehicle) -> Option<&'a Law> {
    laws.iter()
        .filter(|l| {
            l.component == component
                && l.make.as_ref().is_none_or(|m| *m == vehicle.make)
                && l.powertrain
                    .as_ref()
                    .is_none_or(|p| *p == vehicle.powertrain)
        })
        .max_by_key(|l| (l.make.is_some(), l.powertrain.is_some()))
}
