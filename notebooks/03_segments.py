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
# # Exploring customer segments
#
# `aftersight run` segments the customers with k-means and scores their churn risk. Both land as Parquet under
# `OUT/predictions/`, so they join with the warehouse in any tool. When the export carries the generator's
# `truth.json`, the segments can be checked against the planted ones.

# %% tags=["parameters"]
OUT = "../aftersight-out"
RAW = ""

# %%
import json
from pathlib import Path

import polars as pl
from sklearn.metrics import adjusted_rand_score

out = Path(OUT)
segments = pl.read_parquet(out / "predictions" / "segments" / "predictions.parquet")
churn = pl.read_parquet(out / "predictions" / "churn" / "predictions.parquet")
customers = pl.read_parquet([str(out / "warehouse" / f) for f in json.loads((out / "warehouse" / "manifest.json").read_text())["tables"]["customers"]["files"]])
print(segments.height, "customers segmented;", churn.height, "scored for churn")

# %% [markdown]
# ## Segment sizes, descriptions and churn risk

# %%
profile = (
    segments.join(churn, on="customer_id", how="left")
    .group_by("segment", "segment_description")
    .agg(pl.len().alias("customers"), pl.col("probability").mean().round(3).alias("mean_churn_probability"))
    .sort("customers", descending=True)
)
print(profile)
assert profile["customers"].sum() == segments.height

# %% [markdown]
# ## Where the segments live

# %%
by_city = segments.join(customers.select("customer_id", "city"), on="customer_id").group_by("city", "segment").len()
print(by_city.pivot(on="segment", index="city", values="len").fill_null(0).sort("city"))

# %% [markdown]
# ## Agreement with the planted segments (generated data only)

# %%
truth_path = Path(RAW) / "truth.json" if RAW else None
if truth_path and truth_path.exists():
    truth = json.loads(truth_path.read_text())
    planted = pl.DataFrame(
        [{"customer_id": c["customer_id"], "planted": c["segment"]} for c in truth["customers"]]
    )
    both = segments.join(planted, on="customer_id")
    ari = adjusted_rand_score(both["planted"].to_list(), both["segment"].to_list())
    print(f"adjusted Rand index {ari:.3f} over {both.height} customers")
    assert ari > 0.5, ari
else:
    print("no truth.json: not generated data, nothing to compare")
