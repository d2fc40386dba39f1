#!/usr/bin/env bash
# Emerging-issue alarms measured against planted truth (issue 27).
#
# For each seed it generates an export without the emerging issue, one with it at its default strength and one at
# half strength (onset 2025-05), ingests each, and replays `aftersight warranty alerts` month by month from 2025-01
# to 2026-10. It prints, per dataset: the months with any alarm (false alarms, on data without the issue), and the
# first month the planted cell (Haval H6 2022 transmission, any powertrain) alarms, with the other cells that alarm.
#
# Usage: benches/alerts_on_planted_truth.sh [SCALE] [SEED...]   (default: scale 1, seeds 5 6)
# Environment: AFTERSIGHT_BIN (default target/release/aftersight, else target/debug/aftersight), WORK (default /tmp/alerts-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
shift || true
seeds=(5 6)
[ "$#" -gt 0 ] && seeds=("$@")
bin="${AFTERSIGHT_BIN:-}"
[ -n "$bin" ] || { [ -x target/release/aftersight ] && bin=target/release/aftersight || bin=target/debug/aftersight; }
work="${WORK:-/tmp/alerts-bench}"
mkdir -p "$work"
months=(2025-01-31 2025-02-28 2025-03-31 2025-04-30 2025-05-31 2025-06-30 2025-07-31 2025-08-31 2025-09-30 2025-10-31
        2025-11-30 2025-12-31 2026-01-31 2026-02-28 2026-03-31 2026-04-30 2026-05-31 2026-06-30 2026-07-31 2026-08-31
        2026-09-30 2026-10-31)
planted="^Haval,H6,2022,[A-Z]*,transmission,"

prepare() { # name, generate flags...
    local dir="$work/$1"; shift
    if [ ! -f "$dir/wh/manifest.json" ]; then
        rm -rf "$dir"
        "$bin" generate --scale "$scale" --out "$dir/raw" --quiet "$@" > /dev/null
        "$bin" ingest --from "$dir/raw" --warehouse "$dir/wh" --quiet > /dev/null
    fi
    echo "$dir/wh"
}

echo "scale $scale, binary $bin"
for seed in "${seeds[@]}"; do
    for variant in none default half; do
        case "$variant" in
            none) wh=$(prepare "s$seed-none" --seed "$seed" --no-emerging-issue) ;;
            default) wh=$(prepare "s$seed-default" --seed "$seed") ;;
            half) wh=$(prepare "s$seed-half" --seed "$seed" --emerging-strength 0.5) ;;
        esac
        alarm_months=0
        first=""
        others=()
        for m in "${months[@]}"; do
            rows=$("$bin" warranty alerts --warehouse "$wh" --as-of "$m" --out "$work/out" --format csv 2> /dev/null | tail -n +2)
            [ -z "$rows" ] && continue
            if [ "$variant" = none ]; then
                alarm_months=$((alarm_months + 1))
                others+=("${m:0:7}: $(echo "$rows" | cut -d, -f1-5 | tr '\n' ';')")
            else
                if [ -z "$first" ] && echo "$rows" | grep -Eq "$planted"; then first="${m:0:7}"; fi
                while read -r row; do
                    echo "$row" | grep -Eq "$planted" || others+=("${m:0:7}: $(echo "$row" | cut -d, -f1-5)")
                done <<< "$rows"
            fi
        done
        if [ "$variant" = none ]; then
            echo "seed $seed, no issue: months with an alarm: $alarm_months of ${#months[@]}"
        else
            echo "seed $seed, $variant strength: planted cell first alarms ${first:-never} (onset 2025-05)"
        fi
        for o in "${others[@]}"; do echo "    other alarm $o"; done
    done
done
