#!/usr/bin/env bash
# Ready for a GPU in ten minutes: one script that checks this project on one CUDA GPU and writes a JSON.
#
#   bash benchmarks/gpu_check.sh [--out FILE] [--dry-run]
#
# Steps (each one's time is printed; the whole is meant to finish in under 8 minutes on one GPU):
#   1. the CUDA tests of the suite (pytest -k cuda: CUDA against CPU for the simulation, the
#      scanner's reconstruction, SR training and bf16/fp32 inference), as passed/failed/skipped counts;
#   2. a few hundred mixed-precision training steps of every `paper` preset model (batch 32 of
#      32 x 96 x 96 patches, as chapter 05's paper profile): steps/s and peak memory;
#   3. whole-volume inference of every model on a 525 x 512 x 512 volume: seconds (goal < 2 s)
#      and peak memory.
# The JSON (default _build/gpu_check.json) holds all of it, with the GPU's name.
#
# --dry-run runs every step on the CPU at a tiny size (the tests are collected and run, and skip
# without CUDA; small models, 2 training steps, an 8 x 32 x 32 volume), to test this script on a
# machine without a GPU (tests/sr/test_gpu_check.py does).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=_build/gpu_check.json
DRY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --dry-run) DRY=(--dry-run); shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
START=$(date +%s)

if [ ${#DRY[@]} -eq 0 ] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check.sh: no CUDA device visible to torch (nvidia-smi and a CUDA build of torch needed); try --dry-run" >&2
  exit 2
fi

echo "== 1/3 CUDA tests (pytest -k cuda)"
T0=$(date +%s)
set +e
# the SR tests with "cuda" in their name, the simulation's and the scanner's CUDA tests
"$PY" -m pytest -q -k cuda -p no:cacheprovider --junitxml="$TMP/junit.xml" tests/sr tests/simulation tests/scanner \
  > "$TMP/pytest.log" 2>&1
RC=$?
set -e
tail -3 "$TMP/pytest.log"
"$PY" - "$TMP/junit.xml" "$RC" "$(( $(date +%s) - T0 ))" > "$TMP/tests.json" <<'PYEOF'
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
cases = suite.findall("testcase")
def state(c):
    for tag in ("failure", "error", "skipped"):
        if c.find(tag) is not None:
            return tag
    return "passed"
out = {"exit_code": int(sys.argv[2]), "seconds": int(sys.argv[3]),
       "counts": {k: sum(state(c) == k for c in cases) for k in ("passed", "failure", "error", "skipped")},
       "tests": [{"name": f"{c.get('classname')}::{c.get('name')}", "result": state(c)} for c in cases]}
print(json.dumps(out))
PYEOF
# pytest exits 5 when nothing was selected and 0 when all passed or skipped
if [ "$RC" -ne 0 ] && [ "$RC" -ne 5 ]; then echo "gpu_check.sh: CUDA tests failed (see the JSON)" >&2; fi

echo "== 2/3 and 3/3: training steps and whole-volume inference"
"$PY" benchmarks/gpu_check.py "${DRY[@]}" --out "$OUT" --tests "$TMP/tests.json"
echo "gpu_check.sh: done in $(( $(date +%s) - START )) s; $OUT"
if [ "$RC" -ne 0 ] && [ "$RC" -ne 5 ]; then exit 1; fi
