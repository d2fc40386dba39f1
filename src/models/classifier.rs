//! The two classifiers: failure in the next 90 days (per vehicle and
//! component) and churn (no visit in the 12 months after the cutoff, per
//! customer). Training, time-split validation, stratified cross-validation,
//! grid search, permutation importance and the churn oracle.

use super::ModelError;
use super::boost::{BoostModel, BoostParams};
use super::features::{self, FeatureTable};
use super::linear::{LogisticModel, LogisticParams};
use super::metrics::{self, Evaluation};
use super::tree::{TreeModel, TreeParams};
use crate::dates::{format_date, parse_date};
use datafusion::prelude::SessionContext;
use linfa::prelude::*;
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a classifier predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A component fails in the next 90 days (per vehicle and component).
    Failure,
    /// A customer makes no visit in the next 12 months.
    Churn,
}

impl Target {
    /// The model's name (its folder under the model store).
    pub fn name(self) -> &'static str {
        match self {
            Target::Failure => "failure",
            Target::Churn => "churn",
        }
    }

    /// Days from the cutoff to the end of the label window.
    pub fn horizon_days(self) -> i32 {
        match self {
            Target::Failure => 90,
            Target::Churn => 365,
        }
    }

    /// Query parameters for a snapshot at `cutoff` (days since epoch).
    pub fn params(self, cutoff: i32) -> Vec<(String, String)> {
        let mut p = vec![
            ("cutoff".to_string(), format_date(cutoff)),
            (
                "horizon_end".to_string(),
                format_date(cutoff + self.horizon_days()),
            ),
        ];
        if self == Target::Churn {
            p.push((
                "window_start".to_string(),
                format_date(cutoff - crate::models::features::HISTORY_DAYS + 1),
            ));
        }
        p
    }

    /// The latest cutoff whose label window ends by `valid_through`.
    pub fn latest_labelled_cutoff(self, valid_through: i32) -> i32 {
        valid_through - self.horizon_days()
    }
}

/// A learning algorithm with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Algorithm {
    /// L2 logistic regression.
    Logistic(LogisticParams),
    /// A decision tree with leaf probabilities.
    Tree(TreeParams),
    /// Gradient-boosted trees on histograms.
    Boost(BoostParams),
}

impl Algorithm {
    /// A short description, e.g. `logistic c=1`.
    pub fn describe(&self) -> String {
        match self {
            Algorithm::Logistic(p) => format!("logistic c={}", p.c),
            Algorithm::Tree(p) => format!("tree max_depth={} min_leaf={}", p.max_depth, p.min_leaf),
            Algorithm::Boost(p) => format!(
                "boosted trees iterations={} learning_rate={} max_depth={} min_leaf={}",
                p.iterations, p.learning_rate, p.max_depth, p.min_leaf
            ),
        }
    }

    /// Fits on a table with labels.
    pub fn fit(&self, x: &Array2<f64>, y: &[bool]) -> Result<Trained, ModelError> {
        let data = DatasetBase::new(x.clone(), Array1::from(y.to_vec()));
        Ok(match self {
            Algorithm::Logistic(p) => Trained::Logistic(p.fit(&data)?),
            Algorithm::Tree(p) => Trained::Tree(p.fit(&data)?),
            Algorithm::Boost(p) => Trained::Boost(p.fit(&data)?),
        })
    }
}

/// A fitted classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Trained {
    /// Logistic regression.
    Logistic(LogisticModel),
    /// Decision tree.
    Tree(TreeModel),
    /// Gradient-boosted trees.
    Boost(BoostModel),
}

impl Trained {
    /// Probabilities of the positive class.
    pub fn predict(&self, x: &Array2<f64>) -> Vec<f64> {
        match self {
            Trained::Logistic(m) => m.predict(x).to_vec(),
            Trained::Tree(m) => m.predict(x).to_vec(),
            Trained::Boost(m) => m.predict(x).to_vec(),
        }
    }

    /// Per row, the features that raise its probability most, strongest
    /// first (at most `top`, each by at least `min_lift`), as `name:high` or
    /// `name:low` (the row's value against the median): a feature's lift is
    /// the row's probability minus what it would be with that feature at the
    /// scored rows' median. Model-agnostic, so it reads the same for a tree
    /// and a logistic regression.
    pub fn drivers(
        &self,
        x: &Array2<f64>,
        names: &[String],
        top: usize,
        min_lift: f64,
    ) -> Vec<Vec<String>> {
        let base = self.predict(x);
        let mut lifts: Vec<Vec<(f64, usize)>> = vec![Vec::new(); x.nrows()];
        let mut medians = Vec::with_capacity(x.ncols());
        for (j, column) in x.axis_iter(Axis(1)).enumerate() {
            let mut values = column.to_vec();
            values.sort_by(f64::total_cmp);
            let median = values.get(values.len() / 2).copied().unwrap_or(0.0);
            medians.push(median);
            let mut typical = x.clone();
            typical.column_mut(j).fill(median);
            for (i, p) in self.predict(&typical).into_iter().enumerate() {
                let lift = base[i] - p;
                if lift >= min_lift {
                    lifts[i].push((lift, j));
                }
            }
        }
        lifts
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                row.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                row.iter()
                    .take(top)
                    .map(|&(_, j)| {
                        let side = if x[[i, j]] > medians[j] {
                            "high"
                        } else {
                            "low"
                        };
                        format!("{}:{side}", names[j])
                    })
                    .collect()
            })
            .collect()
    }
}

/// Parses one grid value, checked for its hyperparameter: `c` is a positive
/// number; `max_depth` and `min_leaf` are whole numbers of at least 1.
/// Unknown keys pass here and are refused with the whole grid.
fn checked_value(key: &str, text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{key}`: `{text}` is not a number"))?;
    let ok = match key {
        "c" => value.is_finite() && value > 0.0,
        "max_depth" | "min_leaf" | "iterations" => {
            value.fract() == 0.0 && (1.0..=1e6).contains(&value)
        }
        "learning_rate" => value > 0.0 && value <= 1.0,
        _ => true,
    };
    if ok {
        return Ok(value);
    }
    Err(match key {
        "c" => format!("`c`: {text} is not a positive number"),
        "learning_rate" => format!("`learning_rate`: {text} is not above 0 and at most 1"),
        _ => format!("`{key}`: {text} is not a whole number of at least 1"),
    })
}

/// Parses a grid such as `c=0.1,1,10` or `max_depth=4,6 min_leaf=20,50`
/// into the algorithms to try (the keys decide the algorithm).
pub fn parse_grid(grid: &str) -> Result<Vec<Algorithm>, String> {
    let mut axes: Vec<(String, Vec<f64>)> = Vec::new();
    for part in grid.split_whitespace() {
        let (key, values) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: expected key=v1,v2,..."))?;
        let values = values
            .split(',')
            .map(|v| checked_value(key, v.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        axes.push((key.to_string(), values));
    }
    let keys: Vec<&str> = axes.iter().map(|(k, _)| k.as_str()).collect();
    let logistic = ["c"];
    let tree = ["max_depth", "min_leaf"];
    let boost = ["iterations", "learning_rate", "max_depth", "min_leaf"];
    let is = |allowed: &[&str]| keys.iter().all(|k| allowed.contains(k));
    if keys.is_empty() {
        return Err(
            "the grid is empty; e.g. `c=0.1,1,10` or `max_depth=4,6,8 min_leaf=20,50`".into(),
        );
    }
    let mut combos: Vec<Vec<(String, f64)>> = vec![Vec::new()];
    for (key, values) in &axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), *v));
                    c
                })
            })
            .collect();
    }
    let get = |c: &[(String, f64)], k: &str| c.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    if is(&logistic) {
        Ok(combos
            .iter()
            .map(|c| {
                Algorithm::Logistic(LogisticParams {
                    c: get(c, "c").unwrap_or(1.0),
                    ..LogisticParams::default()
                })
            })
            .collect())
    } else if is(&tree) {
        let d = TreeParams::default();
        Ok(combos
            .iter()
            .map(|c| {
                Algorithm::Tree(TreeParams {
                    max_depth: get(c, "max_depth").map_or(d.max_depth, |v| v as usize),
                    min_leaf: get(c, "min_leaf").map_or(d.min_leaf, |v| v as usize),
                })
            })
            .collect())
    } else if is(&boost) {
        let d = BoostParams::default();
        Ok(combos
            .iter()
            .map(|c| {
                Algorithm::Boost(BoostParams {
                    iterations: get(c, "iterations").map_or(d.iterations, |v| v as usize),
                    learning_rate: get(c, "learning_rate").unwrap_or(d.learning_rate),
                    max_depth: get(c, "max_depth").map_or(d.max_depth, |v| v as usize),
                    min_leaf: get(c, "min_leaf").map_or(d.min_leaf, |v| v as usize),
                    ..d
                })
            })
            .collect())
    } else {
        Err(format!(
            "unknown grid keys {keys:?}: logistic regression takes `c`, the tree `max_depth` and `min_leaf`, boosted trees `iterations` and `learning_rate` (with `max_depth` and `min_leaf`)"
        ))
    }
}

/// Builds the feature table of a snapshot.
pub async fn snapshot(
    ctx: &SessionContext,
    queries: Option<&Path>,
    target: Target,
    cutoff: i32,
) -> Result<FeatureTable, ModelError> {
    let query = features::load(queries, target.name())?;
    let batches = features::run(ctx, &query, &target.params(cutoff)).await?;
    let mut table = FeatureTable::from_batches(target.name(), &batches)?;
    if table.labels.is_none() {
        return Err(ModelError::Input(format!(
            "feature query `{}` has no `label` column",
            target.name()
        )));
    }
    if target == Target::Failure {
        let fits =
            super::life::first_failure_fits(ctx, queries, &format_date(cutoff), LAW_MIN_FAILURES)
                .await?;
        add_law_features(&mut table, &fits, target.horizon_days())?;
    }
    Ok(table)
}

/// Failures a make's or powertrain's own fit needs before the failure features use it.
const LAW_MIN_FAILURES: usize = 10;

/// Adds the reliability stage's view to failure features: `law_p_months` and
/// `law_p_km`, the chance that the part fails in the label window given how
/// long it has lasted since its last repair, from the Weibull fit of its time
/// to first failure (as of the snapshot's cutoff) in months and in kilometres.
/// The most specific fit wins: the make's, then the powertrain's, then the
/// component's over the whole fleet; without one the feature is 0. `law_p`
/// is the one of the two whose basis explains the component's lives better
/// (the model does not see the component, so it cannot tell on its own).
fn add_law_features(
    table: &mut FeatureTable,
    fits: &super::life::FirstFailureFits,
    horizon_days: i32,
) -> Result<(), ModelError> {
    let (basis_of, fits) = (&fits.basis, &fits.fits);
    let column = |name: &str| {
        table
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| ModelError::Input(format!("failure features have no `{name}`")))
    };
    let ident = |name: &str| {
        table
            .id(name)
            .ok_or_else(|| ModelError::Input(format!("failure features have no `{name}`")))
    };
    let (months, thousand_km, km_per_day) = (
        column("months_since_renewal")?,
        column("thousand_km_since_renewal")?,
        column("km_per_day")?,
    );
    let (components, makes, powertrains) =
        (ident("component")?, ident("make")?, ident("powertrain")?);
    let fit_for = |basis: &str, component: &str, make: &str, powertrain: &str| {
        [
            ("make", make),
            ("powertrain", powertrain),
            ("component", ""),
        ]
        .into_iter()
        .find_map(|(level, group)| {
            fits.iter().find(|f| {
                f.level == level && f.basis == basis && f.component == component && f.group == group
            })
        })
    };
    let window_months = f64::from(horizon_days) / 30.4375;
    let mut extra = Array2::zeros((table.x.nrows(), 3));
    for row in 0..table.x.nrows() {
        let (component, make, powertrain) = (&components[row], &makes[row], &powertrains[row]);
        if let Some(f) = fit_for("months", component, make, powertrain) {
            let since = table.x[[row, months]].max(0.0);
            extra[[row, 0]] = f.fit.conditional_failure(since, window_months);
        }
        if let Some(f) = fit_for("thousand_km", component, make, powertrain) {
            let since = table.x[[row, thousand_km]].max(0.0);
            let width = table.x[[row, km_per_day]].max(0.0) * f64::from(horizon_days) / 1000.0;
            extra[[row, 1]] = f.fit.conditional_failure(since, width);
        }
        let km_law = basis_of.get(component).is_some_and(|b| b == "thousand_km");
        extra[[row, 2]] = extra[[row, usize::from(km_law)]];
    }
    table.x = ndarray::concatenate(Axis(1), &[table.x.view(), extra.view()])
        .expect("the added columns have the table's rows");
    table.names.push("law_p_months".into());
    table.names.push("law_p_km".into());
    table.names.push("law_p".into());
    Ok(())
}

/// The cross-validation folds of a snapshot: stratified, grouped by its
/// first identifier (the vehicle of a failure row, the customer of a churn
/// row), so one entity's rows never sit on both sides of a split.
pub fn folds(table: &FeatureTable, k: usize, seed: u64) -> Vec<usize> {
    let y = table.labels.as_deref().expect("snapshots have labels");
    match table.ids.first() {
        Some(groups) => metrics::grouped_stratified_folds(y, groups, k, seed),
        None => metrics::stratified_folds(y, k, seed),
    }
}

/// Out-of-fold probabilities, and the permutation importance of each feature
/// measured on the held-out rows of each fold (weighted by their number), so
/// importance says what the model uses on data it has not seen.
pub fn cross_validate(
    algorithm: &Algorithm,
    x: &Array2<f64>,
    y: &[bool],
    fold: &[usize],
    importance_repeats: usize,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>), ModelError> {
    let folds = fold.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![0.0; y.len()];
    let mut importance = vec![0.0; x.ncols()];
    for f in 0..folds {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| fold[i] == f).collect();
        if test.is_empty() {
            continue;
        }
        let model = algorithm.fit(
            &x.select(Axis(0), &train),
            &train.iter().map(|&i| y[i]).collect::<Vec<_>>(),
        )?;
        let x_test = x.select(Axis(0), &test);
        for (p, &i) in model.predict(&x_test).into_iter().zip(&test) {
            out[i] = p;
        }
        if importance_repeats > 0 {
            let y_test: Vec<bool> = test.iter().map(|&i| y[i]).collect();
            let share = test.len() as f64 / y.len() as f64;
            let fold_importance = permutation_importance(
                &model,
                &x_test,
                &y_test,
                importance_repeats,
                seed.wrapping_add(f as u64),
            );
            for (total, v) in importance.iter_mut().zip(fold_importance) {
                *total += share * v;
            }
        }
    }
    Ok((out, importance))
}

/// Drop in ROC AUC when one feature's column is shuffled (seeded), averaged
/// over `repeats` shuffles.
pub fn permutation_importance(
    model: &Trained,
    x: &Array2<f64>,
    y: &[bool],
    repeats: usize,
    seed: u64,
) -> Vec<f64> {
    let base = metrics::roc_auc(y, &model.predict(x));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..x.ncols())
        .map(|c| {
            let mut drop = 0.0;
            for _ in 0..repeats {
                let mut shuffled = x.clone();
                let mut column: Vec<f64> = x.column(c).to_vec();
                column.shuffle(&mut rng);
                shuffled.column_mut(c).assign(&Array1::from(column));
                drop += base - metrics::roc_auc(y, &model.predict(&shuffled));
            }
            drop / repeats as f64
        })
        .collect()
}

/// Rows of a training table kept for fitting trees: all of them up to
/// `limit`, else a seeded stratified sample (linfa-trees scans every row at
/// every node).
pub fn subsample(y: &[bool], limit: usize, seed: u64) -> Vec<usize> {
    if y.len() <= limit {
        return (0..y.len()).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<usize> = (0..y.len()).collect();
    rows.shuffle(&mut rng);
    rows.truncate(limit);
    rows.sort_unstable();
    rows
}

/// Everything learned and measured in one training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingReport {
    /// What the model predicts.
    pub target: Target,
    /// The winning algorithm and settings.
    pub algorithm: Algorithm,
    /// Feature names, in the order the model expects them.
    pub features: Vec<String>,
    /// Cutoff of the snapshot the final model was trained on.
    pub train_cutoff: String,
    /// Cutoff of the earlier snapshot used for the time-split check.
    pub earlier_cutoff: String,
    /// End of the label window of the final snapshot.
    pub label_end: String,
    /// Rows of the final snapshot.
    pub rows: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Time split: trained on the earlier snapshot, evaluated on the final one.
    pub time_split: Vec<CandidateResult>,
    /// Stratified 5-fold cross-validation of the winner on the final snapshot,
    /// folds grouped by vehicle (failure) or customer (churn).
    pub cross_validation: Evaluation,
    /// Permutation importance (ROC AUC drop) per feature on the held-out rows
    /// of the cross-validation folds.
    pub importance: Vec<(String, f64)>,
    /// The churn oracle, when the planted truth was given.
    pub oracle: Option<Oracle>,
}

/// One candidate algorithm evaluated on the later time window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateResult {
    /// Algorithm and settings.
    pub algorithm: Algorithm,
    /// Its metrics on the later window.
    pub evaluation: Evaluation,
}

/// The best possible ranking the planted truth allows (churn: [`churn_oracle`];
/// failure: [`super::oracle::failure_oracle`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Oracle {
    /// ROC AUC of the oracle probability on the final snapshot.
    pub roc_auc: f64,
    /// Churn: ROC AUC of the truth's defection probability alone.
    #[serde(default)]
    pub defection_only_auc: Option<f64>,
    /// Failure: ROC AUC of the planted failure laws alone, ignoring defected owners.
    #[serde(default)]
    pub failure_law_only_auc: Option<f64>,
    /// The model's cross-validated ROC AUC minus the oracle's.
    pub gap: f64,
    /// How the oracle is built.
    pub method: String,
}

/// The candidates compared on the time split.
pub fn default_candidates() -> Vec<Algorithm> {
    vec![
        Algorithm::Logistic(LogisticParams::default()),
        Algorithm::Tree(TreeParams::default()),
        Algorithm::Boost(BoostParams::default()),
    ]
}

/// Most rows a tree is grown on.
pub const TREE_ROW_LIMIT: usize = 200_000;

fn fit_rows(algorithm: &Algorithm, table: &FeatureTable, seed: u64) -> Result<Trained, ModelError> {
    let y = table.labels.as_deref().expect("snapshots have labels");
    let rows = match algorithm {
        Algorithm::Tree(_) => subsample(y, TREE_ROW_LIMIT, seed),
        Algorithm::Logistic(_) | Algorithm::Boost(_) => (0..y.len()).collect(),
    };
    algorithm.fit(
        &table.x.select(Axis(0), &rows),
        &rows.iter().map(|&i| y[i]).collect::<Vec<_>>(),
    )
}

/// Trains a classifier: every candidate is trained on the earlier snapshot
/// and evaluated on the later one (a later time window); the best by ROC AUC
/// is cross-validated and refitted on the later snapshot.
pub async fn train(
    ctx: &SessionContext,
    queries: Option<&Path>,
    target: Target,
    cutoff: i32,
    candidates: &[Algorithm],
    seed: u64,
    truth: Option<&Path>,
) -> Result<(Trained, TrainingReport), ModelError> {
    let earlier_cutoff = cutoff - target.horizon_days();
    let earlier = snapshot(ctx, queries, target, earlier_cutoff).await?;
    let later = snapshot(ctx, queries, target, cutoff).await?;
    if earlier.names != later.names {
        return Err(ModelError::Input(
            "the two snapshots have different feature columns".into(),
        ));
    }
    let y_later = later.labels.clone().expect("labels");
    let mut time_split = Vec::new();
    for algorithm in candidates {
        let model = fit_rows(algorithm, &earlier, seed)?;
        let p = model.predict(&later.x);
        time_split.push(CandidateResult {
            algorithm: *algorithm,
            evaluation: metrics::evaluate(&y_later, &p),
        });
    }
    let best = time_split
        .iter()
        .max_by(|a, b| a.evaluation.roc_auc.total_cmp(&b.evaluation.roc_auc))
        .map(|c| c.algorithm)
        .ok_or_else(|| ModelError::Input("no candidate algorithm to train".into()))?;
    let fold = folds(&later, 5, seed);
    let (cv, held_out_importance) = cross_validate(&best, &later.x, &y_later, &fold, 3, seed)?;
    let cross_validation = metrics::evaluate(&y_later, &cv);
    let model = fit_rows(&best, &later, seed)?;
    let importance = held_out_importance
        .into_iter()
        .zip(&later.names)
        .map(|(v, n)| (n.clone(), v))
        .collect();
    let oracle = match (target, truth) {
        (Target::Churn, Some(path)) => Some(churn_oracle(path, &later, cutoff, &cv, seed)?),
        (Target::Failure, Some(path)) => {
            Some(super::oracle::failure_oracle(ctx, queries, path, &later, cutoff, &cv).await?)
        }
        (_, None) => None,
    };
    let report = TrainingReport {
        target,
        algorithm: best,
        features: later.names.clone(),
        train_cutoff: format_date(cutoff),
        earlier_cutoff: format_date(earlier_cutoff),
        label_end: format_date(cutoff + target.horizon_days()),
        rows: later.len(),
        seed,
        time_split,
        cross_validation,
        importance,
        oracle,
    };
    Ok((model, report))
}

#[derive(Deserialize)]
struct TruthFile {
    churn: TruthChurn,
    customers: Vec<TruthCustomer>,
}

#[derive(Deserialize)]
struct TruthChurn {
    cutoff: String,
}

#[derive(Deserialize)]
struct TruthCustomer {
    customer_id: String,
    p_defect: f64,
    defected: bool,
}

/// The oracle probability of no visit is p + (1 − p)·q(x): p is the planted
/// probability of defecting, q the probability that a customer who did not
/// defect still makes no visit. q is learned (cross-fitted logistic
/// regression on the same features) from the customers the truth says did
/// not defect, so the oracle knows everything the model could, plus the
/// truth.
fn churn_oracle(
    path: &Path,
    table: &FeatureTable,
    cutoff: i32,
    model_scores: &[f64],
    seed: u64,
) -> Result<Oracle, ModelError> {
    let text = std::fs::read_to_string(path).map_err(ModelError::io(path))?;
    let truth: TruthFile = serde_json::from_str(&text)
        .map_err(|e| ModelError::Input(format!("{}: not a truth file: {e}", path.display())))?;
    if parse_date(&truth.churn.cutoff) != Some(cutoff) {
        return Err(ModelError::Input(format!(
            "the truth's churn cutoff is {}, the model's {}; train with `--cutoff {}` to compare with the oracle",
            truth.churn.cutoff,
            format_date(cutoff),
            truth.churn.cutoff
        )));
    }
    let y = table.labels.as_deref().expect("labels");
    let ids = table
        .id("customer_id")
        .ok_or_else(|| ModelError::Input("churn features have no customer_id".into()))?;
    let by_id: std::collections::HashMap<&str, &TruthCustomer> = truth
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c))
        .collect();
    let mut p = Vec::with_capacity(ids.len());
    let mut defected = Vec::with_capacity(ids.len());
    for id in ids {
        let c = by_id
            .get(id.as_str())
            .ok_or_else(|| ModelError::Input(format!("customer {id} is not in the truth file")))?;
        p.push(c.p_defect);
        defected.push(c.defected);
    }
    let folds = metrics::stratified_folds(y, 5, seed);
    let mut q = vec![0.0; y.len()];
    for f in 0..5 {
        let train: Vec<usize> = (0..y.len())
            .filter(|&i| folds[i] != f && !defected[i])
            .collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == f).collect();
        let model = Algorithm::Logistic(LogisticParams::default()).fit(
            &table.x.select(Axis(0), &train),
            &train.iter().map(|&i| y[i]).collect::<Vec<_>>(),
        )?;
        for (v, &i) in model
            .predict(&table.x.select(Axis(0), &test))
            .into_iter()
            .zip(&test)
        {
            q[i] = v;
        }
    }
    let oracle: Vec<f64> = p.iter().zip(&q).map(|(p, q)| p + (1.0 - p) * q).collect();
    let roc = metrics::roc_auc(y, &oracle);
    Ok(Oracle {
        roc_auc: roc,
        defection_only_auc: Some(metrics::roc_auc(y, &p)),
        failure_law_only_auc: None,
        gap: metrics::roc_auc(y, model_scores) - roc,
        method: format!(
            "p_defect + (1 - p_defect) * q(x), q learned from the customers who did not defect (truth cutoff {})",
            truth.churn.cutoff
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_name_the_features_that_raise_a_rows_probability() {
        // p = sigmoid(2 a - 1 b): row 0 has a high `a` (raises p) and a high `b` (lowers it).
        let model = Trained::Logistic(LogisticModel {
            mean: vec![0.0, 0.0],
            scale: vec![1.0, 1.0],
            weights: vec![2.0, -1.0],
            intercept: 0.0,
            iterations: 0,
        });
        let x = ndarray::array![[2.0, 2.0], [0.0, 0.0], [0.0, -2.0]];
        let names = vec!["a".to_owned(), "b".to_owned()];
        let drivers = model.drivers(&x, &names, 3, 0.01);
        assert_eq!(drivers[0], vec!["a:high".to_owned()]);
        assert!(drivers[1].is_empty(), "{:?}", drivers[1]);
        assert_eq!(drivers[2], vec!["b:low".to_owned()]);
    }

    #[test]
    fn a_hyperparameter_out_of_range_is_an_error_naming_it() {
        assert_eq!(
            parse_grid("max_depth=-3").unwrap_err(),
            "`max_depth`: -3 is not a whole number of at least 1"
        );
        assert!(
            parse_grid("min_leaf=2.5")
                .unwrap_err()
                .contains("`min_leaf`")
        );
        assert_eq!(
            parse_grid("c=0").unwrap_err(),
            "`c`: 0 is not a positive number"
        );
        assert!(parse_grid("c=NaN").unwrap_err().contains("`c`"));
        assert_eq!(parse_grid("max_depth=4,6 min_leaf=20").unwrap().len(), 2);
    }
}
