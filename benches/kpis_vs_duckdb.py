"""The KPI library over the same Parquet warehouse: aftersight (DataFusion) against DuckDB.

Usage: python benches/kpis_vs_duckdb.py --warehouse WH [--aftersight BIN] [--runs 3] [--check-only]

Every library query runs in both engines over the files the warehouse manifest lists, interleaved
(aftersight, then DuckDB, query by query, `--runs` rounds), and the best time of each is kept.

- aftersight, whole CLI call: `aftersight sql --query NAME --format csv --timing`, wall clock, so
  process start, opening the warehouse and reading Parquet footers count against it.
- aftersight, engine: planning plus running, as `--timing` reports them on standard error (the
  same work DuckDB's in-process `execute` does).
- DuckDB: in-process, 2 threads, on views over the same files, after dialect substitutions (see
  `duckdb_sql`: `to_char`, DataFusion's casts of dates and timestamps to numbers, and its `round`),
  with the header defaults bound as DuckDB's own parameters.

Each query's rows are compared between the engines (after sorting, since ties may come in any
order): numbers must agree to 1e-9 relative, so money agrees to the cent. A query whose rows differ
is listed and the script exits with status 1. `--check-only` runs each query once, for the check.
"""

import argparse
import csv
import datetime
import decimal
import io
import json
import os
import re
import subprocess
import sys
import time

import duckdb

TABLES = ["stations", "customers", "vehicles", "transactions", "repair_orders", "warranty_claims", "surveys"]


def calls(sql, function):
    """Yields (start, end, arguments) for every call `function(...)`, with balanced parentheses."""
    for m in re.finditer(rf"\b{function}\(", sql):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        yield m.start(), i, sql[m.end():i - 1]


def cast_calls(sql):
    """Yields (start, end, expr, type) for every CAST(expr AS type)."""
    for start, end, inner in calls(sql, "CAST"):
        cut = inner.rfind(" AS ")
        yield start, end, inner[:cut], inner[cut + 4:]


def round_calls(sql):
    """Yields (start, end, expr, digits) for every round(expr, digits) with literal digits."""
    for start, end, inner in calls(sql, "round"):
        m = re.fullmatch(r"(.*), (\d+)", inner, re.S)
        if m:
            yield start, end, m.group(1), int(m.group(2))


def duckdb_sql(sql):
    """DataFusion's SQL in DuckDB's dialect: the library's few DataFusion-only spellings, rewritten."""
    sql = re.sub(r"to_char\(([^,]+), '%Y-%m'\)", r"strftime(\1, '%Y-%m')", sql)
    while True:
        for start, end, expr, ty in cast_calls(sql):
            if ty == "BIGINT" and expr.startswith("CAST(") and expr.endswith(" AS TIMESTAMP)"):
                # DataFusion's CAST(... AS TIMESTAMP) is in nanoseconds.
                new = f"epoch_ns({expr})"
            elif ty == "BIGINT" and re.fullmatch(r"\w+", expr):
                # A warehouse timestamp column is in microseconds.
                new = f"epoch_us({expr})"
            elif ty == "INT" and (expr.endswith(" AS DATE)") or re.fullmatch(r"(\w+\.)?(\w+_date|as_of)", expr)):
                # DataFusion casts a date to days since 1970-01-01.
                new = f"datediff('day', DATE '1970-01-01', {expr})"
            else:
                continue
            sql = sql[:start] + new + sql[end:]
            break
        else:
            break
    # DataFusion's round(x, d) is round(x * 10^d) / 10^d, half away from zero; DuckDB rounds the
    # binary value, so at an exact tie such as 21 / 480 = 0.04375 the two differ in the last digit.
    # Written out, both engines compute the same function. (round_ is a placeholder, restored below.)
    while True:
        for start, end, expr, digits in round_calls(sql):
            sql = sql[:start] + f"round_(({expr}) * 1e{digits}) / 1e{digits}" + sql[end:]
            break
        else:
            return sql.replace("round_(", "round(")


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


def canonical(value):
    """One cell as comparable text: numbers as floats, dates and times in one spelling."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat().replace("T", " ")
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return text.replace("T", " ") if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", text) else text


def same_rows(ours, theirs):
    if len(ours) != len(theirs):
        return f"{len(ours)} rows against {len(theirs)}"
    key = lambda row: [(isinstance(c, float), c if isinstance(c, str) else "", c if isinstance(c, float) else 0) for c in row]
    for a, b in zip(sorted(ours, key=key), sorted(theirs, key=key)):
        for x, y in zip(a, b):
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9 * max(1.0, abs(x), abs(y)):
                    return f"{x!r} against {y!r} in row {a}"
            elif x != y:
                return f"{x!r} against {y!r} in row {a}"
    return None


def run_aftersight(binary, warehouse, queries, name):
    t0 = time.perf_counter()
    done = subprocess.run([binary, "sql", "--warehouse", warehouse, "--queries", queries, "--query", name,
                           "--format", "csv", "--timing"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"planned in ([\d.]+) s, ran in ([\d.]+) s", done.stderr)
    rows = [[canonical(c) for c in row] for row in list(csv.reader(io.StringIO(done.stdout)))[1:]]
    return wall, float(m.group(1)) + float(m.group(2)), rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--aftersight", default=os.path.expanduser("~/.cache/aftersight/target/release/aftersight"))
    ap.add_argument("--queries", default="queries")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()
    runs = 1 if args.check_only else args.runs
    manifest = json.load(open(os.path.join(args.warehouse, "manifest.json")))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for t in TABLES:
        files = [os.path.join(args.warehouse, f) for f in manifest["tables"][t]["files"]]
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({files!r})")
    library = parse_library(args.queries)
    best = {name: [float("inf")] * 3 for name in library}
    differ, failed = {}, {}
    for _ in range(runs):
        for name, (sql, params) in library.items():
            wall, engine, ours = run_aftersight(args.aftersight, args.warehouse, args.queries, name)
            b = best[name]
            b[0], b[1] = min(b[0], wall), min(b[1], engine)
            if name in failed:
                continue
            try:
                t0 = time.perf_counter()
                theirs = con.execute(duckdb_sql(sql), dict(params)).fetchall()
                b[2] = min(b[2], time.perf_counter() - t0)
            except duckdb.Error as e:
                # A dialect difference the substitutions do not cover: reported, not hidden.
                failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
                continue
            problem = same_rows(ours, [[canonical(c) for c in row] for row in theirs])
            if problem:
                differ[name] = problem
    print(f"{'query':<30} {'CLI s':>7} {'engine s':>8} {'DuckDB s':>8} {'CLI/DuckDB':>10} {'engine/DuckDB':>13}  rows")
    tc = te = td = 0.0
    for name, (wall, engine, duck) in best.items():
        if name in failed:
            print(f"{name:<30} {wall:>7.3f} {engine:>8.3f} {'n/a':>8}   DuckDB cannot run it: {failed[name]}")
            continue
        tc, te, td = tc + wall, te + engine, td + duck
        check = "DIFFER: " + differ[name] if name in differ else "same"
        print(f"{name:<30} {wall:>7.3f} {engine:>8.3f} {duck:>8.3f} {wall / duck:>10.2f} {engine / duck:>13.2f}  {check}")
    both = len(library) - len(failed)
    print(f"{f'total ({both} queries)':<30} {tc:>7.3f} {te:>8.3f} {td:>8.3f} {tc / td:>10.2f} {te / td:>13.2f}")
    print(f"rows: same in both engines for {both - len(differ)} of {both} queries")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
