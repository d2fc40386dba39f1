#!/usr/bin/env bash
# The whole pipeline at one scale: wall time, peak memory (RSS) and every stage's seconds.
# Usage: benches/run_at_scale.sh SCALE [RAW_DIR]
#   RAW_DIR: an export of `aftersight generate --scale SCALE --seed 42` to reuse; made in a
#   temporary folder when not given.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersight/target}"
cargo build --release --quiet --locked
bin="$CARGO_TARGET_DIR/release/aftersight"
scale="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
raw="${2:-$work/raw}"
if [ ! -f "$raw/manifest.json" ]; then
  "$bin" generate --quiet --scale "$scale" --seed 42 --out "$raw" > /dev/null
fi
/usr/bin/time -f "whole run at scale $scale: %e s wall, %M KiB peak RSS" \
  "$bin" run --raw "$raw" --out "$work/out" --format json > /dev/null
python3 - "$work/out/run.json" <<'EOF'
import json, sys
for stage in json.load(open(sys.argv[1]))["stages"]:
    print(f"  {stage['stage']:<12} {stage['seconds']:>8.1f} s")
EOF
