"""Clean CSV export to Parquet: aftersight ingest (validation included) against
DuckDB COPY and Polars sink_parquet on the same files, 2 threads each.

Usage: python benches/ingest_vs_peers.py --raw DIR [--aftersight BIN] [--runs 3]

DIR is an export from `aftersight generate` (CSV, clean). Each tool converts
every table's CSV to zstd Parquet with explicit column types (money as
DECIMAL(18,2), as the warehouse stores it); wall time and
peak RSS of the whole conversion come from /usr/bin/time. Prints one row per
tool and the ratios against aftersight. Needs duckdb and polars from PyPI.
With the `datafusion` package from PyPI installed too, a bare DataFusion COPY
(zstd(1), no validation, no sorting or partitioning) runs as a reference: the
parse-and-encode floor on this machine, not a peer to beat.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

TYPES = {
    "stations": "station_id VARCHAR, name VARCHAR, station_type VARCHAR, brand VARCHAR, grade VARCHAR, city VARCHAR, province VARCHAR, bays INTEGER, opened_date DATE",
    "customers": "customer_id VARCHAR, name VARCHAR, city VARCHAR, province VARCHAR, preferred_channel VARCHAR, first_seen_date DATE",
    "vehicles": "vin VARCHAR, make VARCHAR, model VARCHAR, model_year INTEGER, powertrain VARCHAR, first_registration_date DATE, original_owner_id VARCHAR",
    "transactions": "transaction_id VARCHAR, vin VARCHAR, station_id VARCHAR, buyer_id VARCHAR, sale_date DATE, odometer_km BIGINT, price_cny DECIMAL(18,2), channel VARCHAR, financed BOOLEAN, certified BOOLEAN, extended_warranty_months INTEGER",
    "repair_orders": "ro_id VARCHAR, vin VARCHAR, customer_id VARCHAR, station_id VARCHAR, opened_at TIMESTAMP, closed_at TIMESTAMP, odometer_km BIGINT, job_type VARCHAR, component VARCHAR, complaint_code VARCHAR, labour_hours DOUBLE, labour_cny DECIMAL(18,2), parts_cny DECIMAL(18,2)",
    "warranty_claims": "claim_id VARCHAR, ro_id VARCHAR, vin VARCHAR, component VARCHAR, failure_date DATE, odometer_km BIGINT, amount_cny DECIMAL(18,2), status VARCHAR, coverage VARCHAR",
    "surveys": "survey_id VARCHAR, ro_id VARCHAR, survey_date DATE, service_initiation INTEGER, service_advisor INTEGER, service_facility INTEGER, vehicle_pickup INTEGER, service_quality INTEGER, recommend INTEGER",
}

DUCKDB = textwrap.dedent(
    """
    import duckdb, json, sys
    raw, out, types = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for table, cols in types.items():
        columns = "{" + ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in cols.split(", ")) + "}"
        con.execute(f"COPY (SELECT * FROM read_csv('{raw}/{table}.csv', header=true, columns={columns})) "
                    f"TO '{out}/{table}.parquet' (FORMAT parquet, COMPRESSION zstd)")
    """
)

POLARS = textwrap.dedent(
    """
    import os, json, sys
    os.environ["POLARS_MAX_THREADS"] = "2"
    import polars as pl
    raw, out, types = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    kinds = {"VARCHAR": pl.String, "INTEGER": pl.Int32, "BIGINT": pl.Int64, "DOUBLE": pl.Float64,
             "DECIMAL(18,2)": pl.Decimal(18, 2), "BOOLEAN": pl.Boolean, "DATE": pl.Date, "TIMESTAMP": pl.Datetime("us")}
    for table, cols in types.items():
        schema = {c.split()[0]: kinds[c.split()[1]] for c in cols.split(", ")}
        pl.scan_csv(f"{raw}/{table}.csv", schema=schema).sink_parquet(f"{out}/{table}.parquet", compression="zstd")
    """
)

DATAFUSION = textwrap.dedent(
    """
    import json, sys
    from datafusion import SessionConfig, SessionContext
    raw, out, types = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    ctx = SessionContext(SessionConfig().with_target_partitions(2))
    for table, cols in types.items():
        ctx.sql(f"CREATE EXTERNAL TABLE {table} ({cols}) STORED AS CSV LOCATION '{raw}/{table}.csv' "
                "OPTIONS ('format.has_header' 'true')").collect()
        ctx.sql(f"COPY {table} TO '{out}/{table}.parquet' STORED AS PARQUET "
                "OPTIONS ('format.compression' 'zstd(1)')").collect()
    """
)


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (seconds, peak MiB, stdout)."""
    fmt = "%e %M"
    res = subprocess.run(["/usr/bin/time", "-f", fmt] + cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{res.stderr}")
    secs, kib = res.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kib) / 1024, res.stdout


def check_everything_published(summary):
    """Exits unless aftersight's JSON summary shows every row of every table
    read and published: a faster run that quarantined rows would not count."""
    files = json.loads(summary)["files"]
    tables = {f["table"] for f in files if f["rows_read"] > 0}
    bad = [f for f in files if f["rows_quarantined"] or f["rows_published"] != f["rows_read"]]
    if bad or tables != set(TYPES):
        sys.exit(f"aftersight did not publish every row of every table: {bad or sorted(tables)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--aftersight", default=os.path.expanduser("~/.cache/aftersight/target/release/aftersight"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = sum(os.path.getsize(os.path.join(args.raw, f"{t}.csv")) for t in TYPES) / 1e6
    work = tempfile.mkdtemp(prefix="ingest-bench-")
    tools = {
        "aftersight ingest": lambda out: [args.aftersight, "ingest", "--quiet", "--from", args.raw, "--warehouse", out, "--format", "json"],
        "duckdb COPY": lambda out: [sys.executable, "-c", DUCKDB, args.raw, out, json.dumps(TYPES)],
        "polars sink_parquet": lambda out: [sys.executable, "-c", POLARS, args.raw, out, json.dumps(TYPES)],
    }
    if importlib.util.find_spec("datafusion"):
        tools["datafusion COPY (floor)"] = lambda out: [sys.executable, "-c", DATAFUSION, args.raw, out, json.dumps(TYPES)]
    results = {}
    try:
        # Rounds interleave the tools, so that a drift in the machine's speed
        # (this VM's varies by a third over an hour) touches each tool alike.
        for _ in range(args.runs):
            for name, cmd in tools.items():
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                subprocess.run(["sync"], check=True)
                secs, mib, stdout = timed(cmd(out))
                if name == "aftersight ingest":
                    check_everything_published(stdout)
                best = results.get(name)
                if best is None or secs < best[0]:
                    results[name] = (secs, mib)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = results["aftersight ingest"][0]
    print(f"input: {size:.0f} MB of CSV in {args.raw}; best of {args.runs}")
    print(f"{'tool':<24} {'seconds':>8} {'MB/s':>7} {'peak MiB':>9} {'time / aftersight':>18}")
    for name, (secs, mib) in results.items():
        print(f"{name:<24} {secs:>8.2f} {size / secs:>7.1f} {mib:>9.0f} {secs / base:>18.2f}")


if __name__ == "__main__":
    main()
