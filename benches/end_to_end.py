"""The whole pipeline at scale 1 and 10: `aftersight run` against DuckDB + scikit-learn doing the same work.

    python benches/end_to_end.py [--scale 1 --scale 10] [--aftersight BIN] [--data /work/bench/e2e]

For each scale it generates the raw export once (release binary), then:

- aftersight: `aftersight run --raw RAW --out OUT --force` under /usr/bin/time: per-stage seconds from
  run.json, and the whole run's wall time and peak memory.
- peers, each stage in its own process under /usr/bin/time (seconds and peak memory):
  - ingest: DuckDB `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)` for every table (no validation,
    no quarantine, no partitioning: less work than aftersight does);
  - kpis: DuckDB running the same KPI library over aftersight's warehouse (benches/kpis_vs_duckdb.py's dialect
    substitutions);
  - models: scikit-learn logistic regression and k-means on the churn and segment features, exported once by
    `aftersight sql` (the export is not timed; aftersight's models stage also trains a tree, cross-validates,
    permutes features for importance and scores everyone, so it does more).
  Reports, reliability and the summary have no counterpart in the peers and are shown alone.

Prints one table per scale. Needs duckdb, pandas and scikit-learn (PyPI).
"""

import argparse
import json
import os
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
    for name, (sql, params) in parse_library(os.path.join(ROOT, "queries")).items():
        con.execute(duckdb_sql(sql), dict(params)).fetchall()


def peer_models(churn_csv, segments_csv):
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    churn = pd.read_csv(churn_csv)
    x, y = churn.drop(columns=["label"]).to_numpy(float), churn["label"].to_numpy()
    make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(x, y)
    segments = pd.read_csv(segments_csv).drop(columns=["label"]).to_numpy(float)
    z = StandardScaler().fit_transform(segments)
    for k in range(2, 9):
        KMeans(k, n_init=10, random_state=0).fit(z)


def export_features(binary, warehouse, query, path):
    import pandas as pd

    out = subprocess.run(
        [binary, "sql", "-f", os.path.join(ROOT, f"queries/features/{query}.sql"), "--warehouse", warehouse, "--format", "csv"],
        check=True, capture_output=True, text=True,
    ).stdout
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
        if not os.path.exists(os.path.join(raw, "manifest.json")):
            subprocess.run([args.aftersight, "generate", "--scale", str(scale), "--seed", "42", "--out", raw, "--quiet"], check=True)
        seconds, peak, stdout = timed([args.aftersight, "run", "--quiet", "--force", "--raw", raw, "--out", out, "--format", "json"])
        stages = {s["stage"]: s["seconds"] for s in json.loads(stdout)["stages"]}
        warehouse = os.path.join(out, "warehouse")
        churn_csv, segments_csv = os.path.join(base, "churn.csv"), os.path.join(base, "segments.csv")
        export_features(args.aftersight, warehouse, "churn", churn_csv)
        export_features(args.aftersight, warehouse, "segments", segments_csv)
        peers = {
            "ingest": timed([*me, "ingest", "--args", raw, os.path.join(base, "duckdb")]),
            "kpis": timed([*me, "kpis", "--args", warehouse]),
            "models": timed([*me, "models", "--args", churn_csv, segments_csv]),
        }
        print(f"\nscale {scale:g}: aftersight run {seconds:.1f} s, peak {peak:.0f} MiB")
        print(f"{'stage':<12}{'aftersight s':>13}{'peer s':>9}{'peer MiB':>10}{'ratio':>7}  peer")
        names = {"ingest": "DuckDB COPY to Parquet", "kpis": "DuckDB, same SQL", "models": "scikit-learn LR + k-means k=2..8"}
        for stage, ours in stages.items():
            if stage in peers:
                theirs, their_peak, _ = peers[stage]
                print(f"{stage:<12}{ours:>13.2f}{theirs:>9.2f}{their_peak:>10.0f}{ours / theirs:>7.2f}  {names[stage]}")
            else:
                print(f"{stage:<12}{ours:>13.2f}{'':>9}{'':>10}{'':>7}  (no peer)")


if __name__ == "__main__":
    main()
