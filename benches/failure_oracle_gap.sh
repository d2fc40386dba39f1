#!/usr/bin/env bash
# The failure model against its oracle on generated data (issue 27).
#
# For each seed it generates an export (default scale 1), ingests it, and runs `aftersight train failure --truth`,
# printing the wall time and the summary line: the chosen learner, its cross-validated ROC AUC, the oracle's and the
# gap. QUERIES=DIR trains with another query library (a copy of queries/ with a changed features/failure.sql, say),
# to compare two feature sets on the same data.
#
# Usage: benches/failure_oracle_gap.sh [SCALE] [SEED...]   (default: scale 1, seed 7)
# Environment: AFTERSIGHT_BIN (default target/release/aftersight, else target/debug/aftersight),
#              WORK (default /tmp/failure-bench), QUERIES (default: the repository's queries/).
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
shift || true
seeds=(7)
[ "$#" -gt 0 ] && seeds=("$@")
bin="${AFTERSIGHT_BIN:-}"
[ -n "$bin" ] || { [ -x target/release/aftersight ] && bin=target/release/aftersight || bin=target/debug/aftersight; }
queries="${QUERIES:-queries}"
echo "scale $scale, binary $bin, queries $queries"
for seed in "${seeds[@]}"; do
    work="${WORK:-/tmp/failure-bench}/s$scale-seed$seed"
    if [ ! -f "$work/wh/manifest.json" ]; then
        rm -rf "$work"
        mkdir -p "$work"
        "$bin" generate --scale "$scale" --seed "$seed" --out "$work/raw" --quiet > /dev/null
        "$bin" ingest --from "$work/raw" --warehouse "$work/wh" --quiet > /dev/null
    fi
    models="$(mktemp -d)"
    start=$(date +%s.%N)
    "$bin" train failure --warehouse "$work/wh" --queries "$queries" --models "$models" \
        --truth "$work/raw/truth.json" --seed "$seed" --format json > "$work/train.json"
    end=$(date +%s.%N)
    rm -rf "$models"
    python3 - "$work/train.json" "$seed" "$(echo "$end - $start" | bc)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
split = ", ".join(f"{t['algorithm']['algorithm']} {t['evaluation']['roc_auc']:.4f}" for t in r["time_split"])
o = r["oracle"]
print(f"seed {sys.argv[2]}: {float(sys.argv[3]):.0f} s, {r['rows']} rows; later window: {split}; "
      f"chosen {r['algorithm']['algorithm']} CV ROC AUC {r['cross_validation']['roc_auc']:.4f}, "
      f"oracle {o['roc_auc']:.4f} (laws alone {o['failure_law_only_auc']:.4f}), gap {o['gap']:+.4f}")
print("  importance (held-out folds): " + ", ".join(f"{n} {v:.3f}" for n, v in sorted(r["importance"], key=lambda x: -x[1])[:6]))
PY
done
