#!/usr/bin/env bash
# Runs every notebook against a tiny generated dataset, as CI does: jupytext turns each percent-format .py into a
# notebook and papermill executes it; a failing cell fails the script.
#
#   notebooks/run.sh [AFTERSIGHT_BINARY]     (default: the debug build in $CARGO_TARGET_DIR)
#
# Needs a Python with notebooks/requirements.txt installed (.ci/run makes one in ~/.cache/aftersight/venv-ci).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="$(realpath "${1:-$target/debug/aftersight}")"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" generate --scale 0.01 --seed 7 --out "$work/raw" --summary json > /dev/null
"$bin" run --quiet --raw "$work/raw" --out "$work/out" > /dev/null
for notebook in notebooks/[0-9]*.py; do
    name="$(basename "$notebook" .py)"
    "$python" -m jupytext --quiet --to ipynb --output "$work/$name.ipynb" "$notebook"
    "$python" -m papermill --no-progress-bar --cwd notebooks -k python3 \
        -p OUT "$work/out" -p AFTERSIGHT "$bin" -p RAW "$work/raw" \
        "$work/$name.ipynb" "$work/$name.out.ipynb"
    echo "notebook $name: ok"
done
