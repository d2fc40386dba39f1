"""Logistic regression, k-means and boosted trees: aftersight vs scikit-learn on the same data.

    python benches/models_vs_sklearn.py synthetic            # 200,000 x 10
    python benches/models_vs_sklearn.py churn WAREHOUSE      # churn features of a warehouse
    python benches/models_vs_sklearn.py failure WAREHOUSE    # failure features, with boosted trees
    python benches/models_vs_sklearn.py segments WAREHOUSE   # segment features (k-means only)
    python benches/models_vs_sklearn.py file FEATURES.csv [K] # any exported features, last column the label

KMEANS_SEEDS (default 20) sets how many k-means++ starts (seeds 0..N-1) each side
averages over: the iterations one start needs vary two- to threefold.

Both sides get the same CSV: the first 80 % of rows train the logistic regression
(L2, C = 1, on standardised features; scikit-learn lbfgs in a StandardScaler
pipeline), the rest give the held-out ROC AUC. k-means (k = 8, or 5 for segments,
one k-means++ start: scikit-learn's default n_init) runs on standardised features.
In `failure` mode the features are exported by `aftersight features failure` (with
the Weibull-law features), and boosted trees are compared as well: aftersight's
defaults (100 trees, depth 5, learning rate 0.1, 50 rows per leaf, L2 1) against
HistGradientBoostingClassifier with the same settings (255 bins, no early stopping),
and RandomForestClassifier (100 trees, 50 rows per leaf, all cores) for reference.
Times cover fitting only, not reading the file. Prints both sides and the ratios.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
KMEANS_SEEDS = int(os.environ.get("KMEANS_SEEDS", "20"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def synthetic(path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200_000, 10)) * rng.uniform(0.5, 20, 10) + rng.uniform(-50, 50, 10)
    w = rng.normal(size=10) / x.std(0)
    z = (x - x.mean(0)) @ w - 1.0
    y = rng.random(200_000) < 1 / (1 + np.exp(-z))
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    df["label"] = y.astype(int)
    df.to_csv(path, index=False)


def export(warehouse, query, params, path, label=True):
    args = [str(TARGET / "release/aftersight"), "sql", "-f", str(ROOT / f"queries/features/{query}.sql"),
            "--warehouse", warehouse, "--format", "csv"]
    for p in params:
        args += ["--param", p]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    df = pd.read_csv(pd.io.common.StringIO(out))
    ids = [c for c in df.columns if df[c].dtype == object]
    df = df.drop(columns=ids)
    if "label" in df:
        df["label"] = df.pop("label").map({True: 1, False: 0, "true": 1, "false": 0}).astype(int)
    else:
        df["label"] = 0
    df.to_csv(path, index=False)


def export_failure(warehouse, path):
    raw = path.with_suffix(".parquet")
    subprocess.run([str(TARGET / "release/aftersight"), "features", "failure", "--warehouse", warehouse,
                    "--output", str(raw)], check=True)
    df = pd.read_parquet(raw)
    df = df[[c for c in df.columns if c == "label" or pd.api.types.is_float_dtype(df[c])]]
    df["label"] = df.pop("label").astype(int)
    df.to_csv(path, index=False)


def boosting_side(path):
    df = pd.read_csv(path)
    x = df.drop(columns=["label"]).to_numpy(float)
    y = df["label"].to_numpy()
    split = len(y) * 4 // 5
    out = {}
    hgb = lambda: HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=5, min_samples_leaf=50,
                                                 l2_regularization=1.0, max_bins=255, early_stopping=False,
                                                 random_state=0).fit(x[:split], y[:split])
    out["hgb_seconds"], model = best_of(3, hgb)
    out["hgb_auc"] = roc_auc_score(y[split:], model.predict_proba(x[split:])[:, 1])
    rf = lambda: RandomForestClassifier(n_estimators=100, min_samples_leaf=50, n_jobs=-1,
                                        random_state=0).fit(x[:split], y[:split])
    out["rf_seconds"], model = best_of(1, rf)
    out["rf_auc"] = roc_auc_score(y[split:], model.predict_proba(x[split:])[:, 1])
    return out


def sklearn_side(path, k, logistic=True):
    df = pd.read_csv(path)
    x = df.drop(columns=["label"]).to_numpy(float)
    y = df["label"].to_numpy()
    split = len(y) * 4 // 5
    out = {"rows": len(y), "features": x.shape[1]}
    if logistic:
        t, model = best_of(3, lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(x[:split], y[:split]))
        out["logistic_seconds"] = t
        out["held_out_auc"] = roc_auc_score(y[split:], model.predict_proba(x[split:])[:, 1])
    z = StandardScaler().fit_transform(x)
    # The iterations a k-means++ start needs vary a lot (15 to 41 on the scale 10 churn
    # features), so both sides average over the same number of seeds.
    seconds, iterations = [], []
    for seed in range(KMEANS_SEEDS):
        t, km = best_of(1, lambda: KMeans(k, n_init=1, random_state=seed).fit(z))
        seconds.append(t)
        iterations.append(km.n_iter_)
        if seed == 0:
            out["kmeans_inertia"] = km.inertia_
    out["kmeans_seconds"] = sum(seconds) / len(seconds)
    out["kmeans_iterations"] = sum(iterations) / len(iterations)
    return out


def aftersight_side(path, k, boost=False):
    runs = []
    for _ in range(3):
        args = ["cargo", "bench", "-q", "--bench", "models", "--", str(path), str(k), str(KMEANS_SEEDS)]
        if boost:
            args.append("boost")
        r = subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["logistic_seconds"])
    best["kmeans_seconds"] = min(r["kmeans_seconds"] for r in runs)
    if boost:
        best["boost_seconds"] = min(r["boost_seconds"] for r in runs)
    return best


def main():
    mode = sys.argv[1]
    tmp = Path(tempfile.mkdtemp())
    path = tmp / f"{mode}.csv"
    k = 8
    if mode == "synthetic":
        synthetic(path)
    elif mode == "failure":
        export_failure(sys.argv[2], path)
    elif mode == "churn":
        export(sys.argv[2], "churn", ["cutoff=2025-10-31", "window_start=2023-11-02", "horizon_end=2026-10-31"], path)
    elif mode == "file":
        path = Path(sys.argv[2])
        k = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    elif mode == "segments":
        export(sys.argv[2], "segments", ["cutoff=2026-10-31", "window_start=2024-11-01"], path)
        k = 5
    logistic = mode != "segments"
    print(f"k-means: mean over seeds 0..{KMEANS_SEEDS - 1} on both sides", flush=True)
    sk = sklearn_side(path, k, logistic)
    boost = mode == "failure"
    ours = aftersight_side(path, k, boost)
    print(f"{mode}: {sk['rows']} rows x {sk['features']} features")
    if logistic:
        print(f"  logistic  aftersight {ours['logistic_seconds']:.3f} s (AUC {ours['held_out_auc']:.4f}, {ours['logistic_iterations']} Newton steps)"
              f"  scikit-learn {sk['logistic_seconds']:.3f} s (AUC {sk['held_out_auc']:.4f})"
              f"  time ratio {ours['logistic_seconds'] / sk['logistic_seconds']:.2f}")
    if boost:
        trees = boosting_side(path)
        print(f"  boosted   aftersight {ours['boost_seconds']:.3f} s (AUC {ours['boost_held_out_auc']:.4f})"
              f"  HistGradientBoosting {trees['hgb_seconds']:.3f} s (AUC {trees['hgb_auc']:.4f})"
              f"  time ratio {ours['boost_seconds'] / trees['hgb_seconds']:.2f}")
        print(f"  random forest (scikit-learn, all cores) {trees['rf_seconds']:.3f} s (AUC {trees['rf_auc']:.4f})")
    print(f"  k-means   aftersight {ours['kmeans_seconds']:.3f} s (inertia {ours['kmeans_inertia']:.0f}, {ours['kmeans_iterations']} iterations)"
          f"  scikit-learn {sk['kmeans_seconds']:.3f} s (inertia {sk['kmeans_inertia']:.0f}, {sk['kmeans_iterations']} iterations)"
          f"  time ratio {ours['kmeans_seconds'] / sk['kmeans_seconds']:.2f}")


if __name__ == "__main__":
    main()
