"""The KPI library over the same Parquet warehouse: aftersight (DataFusion) against DuckDB.

Usage: python benches/kpis_vs_duckdb.py --warehouse WH [--aftersight BIN] [--runs 3]

aftersight is timed as a whole CLI call (`aftersight sql --query NAME --format csv`), so its
process start and session setup count against it. DuckDB runs in-process on views over the files
the warehouse manifest lists, with 2 threads; the same SQL text runs after three dialect
substitutions (to_char -> strftime, timestamp-to-bigint casts -> epoch_us, DataFusion's
`$name` parameters bound by DuckDB's own prepared-statement parameters). Prints best-of-N seconds
per query, the total, and the ratios.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

import duckdb

TABLES = ["stations", "customers", "vehicles", "transactions", "repair_orders", "warranty_claims", "surveys"]


def duckdb_sql(sql):
    sql = re.sub(r"to_char\(([^,]+), '%Y-%m'\)", r"strftime(\1, '%Y-%m')", sql)
    # DataFusion casts a parameter turned timestamp to nanoseconds; warehouse columns are microseconds.
    sql = re.sub(r"CAST\(CAST\((\$?\w+) AS TIMESTAMP\) AS BIGINT\)", r"epoch_ns(CAST(\1 AS TIMESTAMP))", sql)
    sql = re.sub(r"CAST\((\w+) AS BIGINT\)", r"epoch_us(\1)", sql)
    return sql


def parse_library(folder):
    out = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".sql"):
            continue
        text = open(os.path.join(folder, f), encoding="utf-8").read()
        params = {}
        body = []
        for line in text.splitlines():
            m = re.match(r"-- param: (\w+) (\w+) (.+)", line)
            if m:
                name, ty, default = m.groups()
                params[name] = int(default) if ty == "int" else default
            elif not line.startswith("--"):
                body.append(line)
        out[f[:-4]] = ("\n".join(body).strip().rstrip(";"), params)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--aftersight", default=os.path.expanduser("~/.cache/aftersight/target/release/aftersight"))
    ap.add_argument("--queries", default="queries")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(args.warehouse, "manifest.json")))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for t in TABLES:
        files = [os.path.join(args.warehouse, f) for f in manifest["tables"][t]["files"]]
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({files!r})")
    rows = []
    for name, (sql, params) in parse_library(args.queries).items():
        ours = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([args.aftersight, "sql", "--warehouse", args.warehouse, "--queries", args.queries,
                            "--query", name, "--format", "csv"], check=True, stdout=subprocess.DEVNULL)
            ours.append(time.perf_counter() - t0)
        theirs = []
        try:
            for _ in range(args.runs):
                t0 = time.perf_counter()
                con.execute(duckdb_sql(sql), dict(params)).fetchall()
                theirs.append(time.perf_counter() - t0)
        except duckdb.Error as e:
            # A dialect difference the substitutions above do not cover: reported, not hidden.
            print(f"{name}: DuckDB cannot run this SQL unchanged ({type(e).__name__}); left out of the totals")
            theirs = None
        rows.append((name, min(ours), min(theirs) if theirs else None))
    print(f"{'query':<30} {'aftersight s':>12} {'duckdb s':>9} {'ratio':>6}")
    for name, a, d in rows:
        if d is None:
            print(f"{name:<30} {a:>12.3f} {'n/a':>9} {'':>6}")
        else:
            print(f"{name:<30} {a:>12.3f} {d:>9.3f} {a / d:>6.2f}")
    both = [r for r in rows if r[2] is not None]
    ta, td = sum(r[1] for r in both), sum(r[2] for r in both)
    print(f"{'total (both engines)':<30} {ta:>12.3f} {td:>9.3f} {ta / td:>6.2f}")


if __name__ == "__main__":
    sys.exit(main())
