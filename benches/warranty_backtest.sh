#!/usr/bin/env bash
# The warranty forecast's backtest on generated data (issue 26).
#
# It generates an export (default scale 1, seed 1), ingests it, and runs `aftersight warranty forecast` six months
# ahead as of each given day, plain and with `--truth` (the vehicles of owners the planted truth says defected left
# out). For each it prints the wall time, the total claims forecast against the claims booked, the triangle's
# cross-check, the error of every component with 200 claims or more, the share of month x component cells whose 90 %
# interval held the actual, the parts cells within the 95 % stock with the stock left unused, and the reserve.
#
# Usage: benches/warranty_backtest.sh [SCALE] [SEED] [AS_OF...]   (default: 1 1 2025-10-31 2025-04-30 2026-04-30)
# Environment: AFTERSIGHT_BIN (default target/release/aftersight, else target/debug/aftersight), WORK (default /tmp/warranty-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
seed="${2:-1}"
shift 2 || shift $# || true
days=(2025-10-31 2025-04-30 2026-04-30)
[ "$#" -gt 0 ] && days=("$@")
bin="${AFTERSIGHT_BIN:-}"
[ -n "$bin" ] || { [ -x target/release/aftersight ] && bin=target/release/aftersight || bin=target/debug/aftersight; }
work="${WORK:-/tmp/warranty-bench}/s$scale-seed$seed"
if [ ! -f "$work/wh/manifest.json" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    "$bin" generate --scale "$scale" --seed "$seed" --out "$work/raw" --quiet > /dev/null
    "$bin" ingest --from "$work/raw" --warehouse "$work/wh" --quiet > /dev/null
fi
echo "scale $scale, seed $seed, binary $bin"
for day in "${days[@]}"; do
    for truth in "" "--truth $work/raw/truth.json"; do
        start=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$bin" warranty forecast --warehouse "$work/wh" --out "$work/out" --as-of "$day" --horizon 6 --format json \
            $truth > "$work/forecast.json" 2> /dev/null
        end=$(date +%s.%N)
        label="as of $day${truth:+ (defected owners left out)}"
        python3 - "$work/forecast.json" "$label" "$(echo "$end - $start" | bc)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b = d["backtest"]
print(f"{sys.argv[2]}: {float(sys.argv[3]):.1f} s; recent actual/expected {d.get('recent_ratio', float('nan')):.3f}")
if b:
    print(f"  claims over {b['months']} months: forecast {b['forecast_claims']:.0f}, booked {b['actual_claims']}, "
          f"error {100 * b['total_error']:+.1f} %; triangle rates {b['triangle_claims']:.0f}")
    for c, f, a, e in b["components"]:
        print(f"    {c:<20} forecast {f:8.1f}  booked {a:6d}  error {100 * e:+6.1f} %")
    print(f"  90 % intervals held {100 * b['interval_coverage']:.1f} % of {b['cells']} month x component cells")
    print(f"  parts: {100 * b['parts_within_stock']:.1f} % of {b['parts_cells']} station x component x month cells "
          f"within the 95 % stock; {b['parts_unused']} parts unused for {b['parts_actual']} orders")
m, lo, hi = d["reserve_cny"]
print(f"  reserve {m:,.0f} CNY (90 % {lo:,.0f} to {hi:,.0f})")
PY
    done
done
