# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exploring the aftersight warehouse
#
# The warehouse is plain Parquet plus a `manifest.json` that lists the files of each table, so any Arrow tool can
# read it. This notebook opens it three ways (pyarrow, DuckDB, Polars), checks that the ingest counts reconcile, and
# looks at repair volume, quarantined rows and the published KPIs.
#
# Run `aftersight run` first; `OUT` is its output root.

# %% tags=["parameters"]
OUT = "../aftersight-out"

# %%
import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

out = Path(OUT)
warehouse = out / "warehouse"
manifest = json.loads((warehouse / "manifest.json").read_text())
tables = manifest["tables"]
print("warehouse batch", manifest["batch"], "tables:", ", ".join(sorted(tables)))


def files(table):
    """The Parquet files the manifest lists for a table (only those are published)."""
    return [str(warehouse / f) for f in tables[table]["files"]]


# %% [markdown]
# ## Every published row is in the files the manifest lists
#
# The manifest's row counts must equal what pyarrow reads from the files.

# %%
for name, entry in sorted(tables.items()):
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files(name))
    assert rows == entry["rows"], (name, rows, entry["rows"])
    print(f"{name:<16} {rows:>8} rows in {len(entry['files'])} files")

# %% [markdown]
# ## Read = published + quarantined, per input file
#
# Bad rows are never dropped: they are in the quarantine dataset with their file, line, column and rule.

# %%
quarantine_files = [str(warehouse / f) for f in manifest["quarantine"]["files"]]
quarantine = pl.read_parquet(quarantine_files) if quarantine_files else pl.DataFrame()
for source in manifest["sources"]:
    assert source["rows_read"] == source["rows_published"] + source["rows_quarantined"], source
assert quarantine.height == manifest["quarantine"]["rows"] == sum(s["rows_quarantined"] for s in manifest["sources"])
print(len(manifest["sources"]), "input files reconcile;", quarantine.height, "quarantined rows")
if quarantine.height:
    print(quarantine.group_by("rule").len().sort("len", descending=True).head(10))

# %% [markdown]
# ## Repair volume by month with DuckDB

# %%
con = duckdb.connect()
con.sql(f"CREATE VIEW repair_orders AS SELECT * FROM read_parquet({files('repair_orders')})")
monthly = con.sql(
    """
    SELECT strftime(opened_at, '%Y-%m') AS month, job_type, count(*) AS orders,
           round(sum(labour_cny + parts_cny), 2) AS revenue_cny
    FROM repair_orders GROUP BY 1, 2 ORDER BY 1, 2
    """
).pl()
print(monthly.tail(10))
assert monthly["orders"].sum() == tables["repair_orders"]["rows"]

# %% [markdown]
# ## The same with a Polars lazy frame, and the KPI CSV it should agree with

# %%
lazy = pl.scan_parquet(files("repair_orders"))
by_month = (
    lazy.with_columns(pl.col("opened_at").dt.strftime("%Y-%m").alias("month"))
    .group_by("month")
    .agg(pl.len().alias("orders"))
    .sort("month")
    .collect()
)
kpi = pl.read_csv(out / "kpis" / "repair_volume_by_month.csv").group_by("month").agg(pl.col("repair_orders").sum()).sort("month")
joined = by_month.join(kpi, on="month", how="inner")
assert (joined["orders"] == joined["repair_orders"]).all(), joined.filter(pl.col("orders") != pl.col("repair_orders"))
print(f"{joined.height} months agree between Polars and the KPI library")
