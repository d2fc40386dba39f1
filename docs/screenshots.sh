#!/usr/bin/env bash
# Screenshots of the executive summary in both languages for the README, from `aftersight run` on the bundled
# sample, in headless Chromium (apt-get install chromium). Run it from the repository root after anything that
# changes the page, and commit docs/summary.en.png and docs/summary.zh.png.
#
#     bash docs/screenshots.sh            # uses target/release/aftersight if built, else `cargo run`
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if [ -x "$target/release/aftersight" ]; then
    "$target/release/aftersight" run --quiet --out "$out"
else
    cargo run --quiet -- run --quiet --out "$out"
fi
pages=("$out"/executive/period=*/summary.html)
page_dir="$(dirname "${pages[0]}")"
for lang in en zh; do
    page="$page_dir/summary.html"
    [ "$lang" = zh ] && page="$page_dir/summary.zh.html"
    profile="$(mktemp -d)"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars --force-device-scale-factor=1 \
        --window-size=1000,1300 --virtual-time-budget=10000 --user-data-dir="$profile" \
        --screenshot="$PWD/docs/summary.$lang.png" "file://$page" 2>/dev/null
    rm -rf "$profile"
    echo "docs/summary.$lang.png"
done
