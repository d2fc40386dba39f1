#!/usr/bin/env bash
# Wall time and peak memory of `aftersight generate` (release build) at scale 1 and 10.
# Usage: benches/generate.sh [scales...]   (default: 1 10)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersight/target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/aftersight"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for scale in "${@:-1 10}"; do
  for s in $scale; do
    /usr/bin/time -f "scale $s: %e s wall, %M KiB peak RSS" \
      "$bin" generate --quiet --scale "$s" --seed 1 --out "$out/s$s" --summary json > "$out/summary-$s.json"
    du -sh "$out/s$s" | sed "s/^/scale $s: /"
    rm -rf "$out/s$s"
  done
done
