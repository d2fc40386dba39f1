"""The whole pipeline at scale 1 and 10: `aftersight run` against DuckDB + scikit-learn doing the same work.

    python benches/end_to_end.py [--scale 1 --scale 10] [--aftersight BIN] [--data /work/bench/e2e]

For each scale it generates the raw export once (release binary), then:

- aftersight: `aftersight run --raw RAW --out OUT --force` under /usr/bin/time: per-stage seconds and peak memory
  from run.json, and the whole run's wall time and peak memory.
- peers, each stage in its own process under /usr/bin/time (seconds and peak memory):
  - ingest: DuckDB `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)` for every table (no validation,
    no quarantine, no partitioning: less work than aftersight does);
  - kpis: DuckDB running the same KPI library over aftersight's warehouse (benches/kpis_vs_duckdb.py's dialect
    substitutions);
  - models: scikit-learn doing the models stage's steps (see `peer_models`) on the same feature snapshots, exported
    once by `aftersight sql` (the export is not in the peer's time; aftersight's models stage includes its feature
    SQL, which the script also times separately).
  Reports, reliability and the summary have no counterpart in the peers and are shown alone.

Prints one table per scale. Needs duckdb, pandas and scikit-learn (PyPI).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)


def timed(cmd):
    """Runs a command under GNU time; returns (seconds, peak MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
        peak_kib = int(report.read().strip().splitlines()[-1])
    return seconds, peak_kib / 1024, done.stdout


def peer_ingest(raw, dest):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    os.makedirs(dest, exist_ok=True)
    for name in sorted(os.listdir(raw)):
        if name.endswith(".csv"):
            src, out = os.path.join(raw, name), os.path.join(dest, name[:-4] + ".parquet")
            con.execute(f"COPY (SELECT * FROM read_csv('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")


def peer_kpis(warehouse):
    import duckdb
    from kpis_vs_duckdb import TABLES, duckdb_sql, parse_library

    manifest = json.load(open(os.path.join(warehouse, "manifest.json")))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for t in TABLES:
        files = [os.path.join(warehouse, f) for f in manifest["tables"][t]["files"]]
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({files!r})")
    ran, failed = 0, []
    for name, (sql, params) in parse_library(os.path.join(ROOT, "queries")).items():
        try:
            con.execute(duckdb_sql(sql), dict(params)).fetchall()
            ran += 1
        except duckdb.Error:
            failed.append(name)
    # The dialects differ; a query DuckDB cannot run as written is left out of its time (and said so).
    print(json.dumps({"ran": ran, "failed": failed}))


def peer_models(folder):
    """scikit-learn doing what the models stage does with the same features: for failure and churn, logistic
    regression and a depth-6 tree fitted on the earlier snapshot and compared on the later one, 5-fold stratified CV
    of the winner, a refit, permutation importance (3 repeats) and scoring; for segments, k-means for k = 2..8 with
    10 starts each and the silhouette on a 3,000-row sample."""
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    def load(name):
        df = pd.read_csv(os.path.join(folder, f"{name}.csv"))
        return df.drop(columns=["label"]).to_numpy(float), df["label"].to_numpy()

    for target in ["failure", "churn"]:
        (x0, y0), (x1, y1) = load(f"{target}_earlier"), load(f"{target}_later")
        candidates = [
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)),
            DecisionTreeClassifier(max_depth=6, min_samples_leaf=50, class_weight="balanced", random_state=0),
        ]
        scores = [roc_auc_score(y1, m.fit(x0, y0).predict_proba(x1)[:, 1]) for m in candidates]
        best = candidates[int(np.argmax(scores))]
        cross_val_predict(best, x1, y1, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
        best.fit(x1, y1)
        permutation_importance(best, x1, y1, scoring="roc_auc", n_repeats=3, random_state=0)
        best.predict_proba(x1)
    x, _ = load("segments")
    z = StandardScaler().fit_transform(x)
    for k in range(2, 9):
        labels = KMeans(k, n_init=10, random_state=0).fit_predict(z)
        silhouette_score(z, labels, sample_size=min(3000, len(z)), random_state=0)


def export_features(binary, warehouse, query, params, path):
    import pandas as pd

    args = [binary, "sql", "-f", os.path.join(ROOT, f"queries/features/{query}.sql"), "--warehouse", warehouse, "--format", "csv"]
    for p in params:
        args += ["--param", p]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    df = pd.read_csv(pd.io.common.StringIO(out))
    df = df.drop(columns=[c for c in df.columns if df[c].dtype == object])
    df["label"] = df.pop("label").astype(int) if "label" in df else 0
    df.to_csv(path, index=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, action="append")
    ap.add_argument("--aftersight", default=os.path.expanduser("~/.cache/aftersight/target/release/aftersight"))
    ap.add_argument("--data", default="/work/bench/e2e")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--args", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        {"ingest": peer_ingest, "kpis": peer_kpis, "models": peer_models}[args.peer](*args.args)
        return
    me = [sys.executable, os.path.abspath(__file__), "--peer"]
    for scale in args.scale or [1.0, 10.0]:
        base = os.path.join(args.data, f"s{scale:g}")
        raw, out = os.path.join(base, "raw"), os.path.join(base, "out")
        shutil.rmtree(out, ignore_errors=True)
        if not os.path.exists(os.path.join(raw, "manifest.json")):
            subprocess.run([args.aftersight, "generate", "--scale", str(scale), "--seed", "42", "--out", raw, "--quiet"], check=True)
        seconds, peak, stdout = timed([args.aftersight, "run", "--quiet", "--force", "--raw", raw, "--out", out, "--format", "json"])
        stages = {s["stage"]: (s["seconds"], s.get("peak_rss_mib")) for s in json.loads(stdout)["stages"]}
        # The run resets the kernel's peak-RSS mark per stage, which also lowers what /usr/bin/time sees.
        peak = max([peak] + [m for _, m in stages.values() if m is not None])
        print(f"\nscale {scale:g}: aftersight run {seconds:.1f} s, peak {peak:.0f} MiB: {stages}", flush=True)
        warehouse = os.path.join(out, "warehouse")
        # The snapshots the models stage uses on data valid through 2026-10-31 (see `aftersight models list`).
        snapshots = {
            "failure_earlier": ("failure", ["cutoff=2026-05-04", "horizon_end=2026-08-02"]),
            "failure_later": ("failure", ["cutoff=2026-08-02", "horizon_end=2026-10-31"]),
            "churn_earlier": ("churn", ["cutoff=2024-10-31", "window_start=2022-11-02", "horizon_end=2025-10-31"]),
            "churn_later": ("churn", ["cutoff=2025-10-31", "window_start=2023-11-02", "horizon_end=2026-10-31"]),
            "segments": ("segments", ["cutoff=2026-10-31", "window_start=2024-11-01"]),
        }
        started = time.perf_counter()
        for name, (query, params) in snapshots.items():
            export_features(args.aftersight, warehouse, query, params, os.path.join(base, f"{name}.csv"))
        feature_sql = time.perf_counter() - started
        peers = {
            "ingest": timed([*me, "ingest", "--args", raw, os.path.join(base, "duckdb")]),
            "kpis": timed([*me, "kpis", "--args", warehouse]),
            "models": timed([*me, "models", "--args", base]),
        }
        kpi_note = json.loads(peers["kpis"][2].strip().splitlines()[-1])
        print(f"DuckDB ran {kpi_note['ran']} KPI queries; left out (dialect): {', '.join(kpi_note['failed']) or 'none'}")
        print(f"the five feature snapshots take {feature_sql:.1f} s as separate `aftersight sql` calls (CSV out); the models")
        print("stage runs them inside its time, the peer's models time starts from the CSVs")
        print(f"{'stage':<12}{'aftersight s':>13}{'MiB':>7}{'peer s':>9}{'peer MiB':>10}{'ratio':>7}  peer")
        names = {"ingest": "DuckDB COPY to Parquet", "kpis": "DuckDB, same SQL", "models": "scikit-learn, same steps"}
        for stage, (ours, our_peak) in stages.items():
            mib = f"{our_peak:>7.0f}" if our_peak is not None else f"{'':>7}"
            if stage in peers:
                theirs, their_peak, _ = peers[stage]
                print(f"{stage:<12}{ours:>13.2f}{mib}{theirs:>9.2f}{their_peak:>10.0f}{ours / theirs:>7.2f}  {names[stage]}")
            else:
                print(f"{stage:<12}{ours:>13.2f}{mib}{'':>9}{'':>10}{'':>7}  (no peer)")


if __name__ == "__main__":
    main()
