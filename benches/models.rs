//! Times aftersight's logistic regression, k-means and (with `boost`) boosted
//! trees on a CSV of features, for `benches/models_vs_sklearn.py`, which runs
//! scikit-learn on the same file.
//!
//! `cargo bench --bench models -- FILE.csv [K] [SEEDS] [boost]`: every column but the last is a
//! feature, the last is the 0/1 label. The first 80 % of rows train, the rest
//! are held out for ROC AUC. k-means (k = K, default 8, one k-means++ start as
//! scikit-learn's default) runs on the standardised features of all rows, once
//! per seed 0..SEEDS (default 1); its time and iterations are the means.
//! Boosted trees use their defaults (100 trees, depth 5, learning rate 0.1).
//! Prints one JSON object.

use std::time::Instant;

use aftersight::models::boost::BoostParams;
use aftersight::models::kmeans::KMeansParams;
use aftersight::models::linear::{LogisticParams, column_moments};
use aftersight::models::metrics::roc_auc;
use linfa::prelude::*;
use ndarray::{Array1, Array2, Axis, Slice};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let path = args.first().expect("usage: models FILE.csv [K]");
    let k: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(8);
    let seeds: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1);
    let boost = args.get(3).is_some_and(|a| a == "boost");
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut width = 0;
    for record in reader.records() {
        let record = record.expect("CSV record");
        width = record.len() - 1;
        for field in record.iter().take(width) {
            values.push(field.parse::<f64>().expect("numeric feature"));
        }
        labels.push(record[width].parse::<f64>().expect("0/1 label") > 0.5);
    }
    let x = Array2::from_shape_vec((labels.len(), width), values).expect("rectangular");
    let split = labels.len() * 4 / 5;
    let train = DatasetBase::new(
        x.slice_axis(Axis(0), Slice::from(..split)).to_owned(),
        Array1::from(labels[..split].to_vec()),
    );

    let started = Instant::now();
    let model = LogisticParams::default().fit(&train).expect("logistic fit");
    let logistic_seconds = started.elapsed().as_secs_f64();
    let held_out = model.predict(&x.slice_axis(Axis(0), Slice::from(split..)).to_owned());
    let auc = roc_auc(&labels[split..], &held_out.to_vec());

    let held_out_x = x.slice_axis(Axis(0), Slice::from(split..)).to_owned();
    let boosted = boost.then(|| {
        let started = Instant::now();
        let model = BoostParams::default().fit(&train).expect("boosted fit");
        let seconds = started.elapsed().as_secs_f64();
        let auc = roc_auc(&labels[split..], &model.predict(&held_out_x).to_vec());
        format!(", \"boost_seconds\": {seconds:.4}, \"boost_held_out_auc\": {auc:.5}")
    });

    let (mean, scale) = column_moments(&x);
    let mut z = x.clone();
    for mut row in z.rows_mut() {
        for ((v, m), s) in row.iter_mut().zip(&mean).zip(&scale) {
            *v = (*v - m) / s;
        }
    }
    let data = DatasetBase::from(z);
    // One start per seed; the mean over seeds evens out lucky and unlucky starts.
    let mut kmeans_seconds = 0.0;
    let mut iterations = 0;
    let mut km = None;
    for seed in 0..seeds {
        let started = Instant::now();
        let fitted = KMeansParams::new(k, seed).fit(&data).expect("k-means fit");
        kmeans_seconds += started.elapsed().as_secs_f64() / seeds as f64;
        iterations += fitted.iterations;
        km.get_or_insert(fitted);
    }
    let km = km.expect("at least one seed");
    println!(
        "{{\"rows\": {}, \"features\": {width}, \"logistic_seconds\": {logistic_seconds:.4}, \"logistic_iterations\": {}, \"held_out_auc\": {auc:.5}, \"kmeans_seconds\": {kmeans_seconds:.4}, \"kmeans_iterations\": {:.1}, \"kmeans_inertia\": {:.2}{}}}",
        labels.len(),
        model.iterations,
        iterations as f64 / seeds as f64,
        km.inertia,
        boosted.unwrap_or_default()
    );
}
