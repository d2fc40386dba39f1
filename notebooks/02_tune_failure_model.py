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
# # Tuning the failure model through the CLI
#
# `aftersight tune` runs a grid search with stratified k-fold cross-validation and prints JSON; `aftersight train`
# saves a new version with its metrics; `aftersight models list` compares versions. This notebook drives all three.

# %% tags=["parameters"]
OUT = "../aftersight-out"
AFTERSIGHT = "aftersight"

# %%
import json
import subprocess
from pathlib import Path

import polars as pl

out = Path(OUT)
locations = ["--warehouse", str(out / "warehouse"), "--models", str(out / "models")]


def cli(*args):
    """Runs aftersight and parses its JSON output; a failure raises with aftersight's message."""
    done = subprocess.run([AFTERSIGHT, *args, "--format", "json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"aftersight {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)


# %% [markdown]
# ## A small grid over tree depth and leaf size

# %%
grid = pl.DataFrame(cli("tune", "failure", "--grid", "max_depth=3,6 min_leaf=20,50", "--folds", "3", *locations))
grid = grid.sort("mean_roc_auc", descending=True)
print(grid)
assert grid.height == 4 and grid["mean_roc_auc"].is_between(0.0, 1.0).all()
best = grid.row(0, named=True)["settings"]
print("best settings:", best)

# %% [markdown]
# ## Train a new version and compare it with the versions before

# %%
trained = cli("train", "failure", "--seed", "7", *locations)
print({k: trained[k] for k in ("version", "algorithm") if k in trained})
versions = pl.DataFrame(cli("models", "list", "--models", str(out / "models"))).filter(pl.col("model") == "failure")
print(versions.select("version", "champion", "hyperparameters", "headline"))
assert versions.height >= 2, "the new version is listed beside the earlier ones"
assert versions.filter(pl.col("champion")).height == 1, "exactly one champion"
