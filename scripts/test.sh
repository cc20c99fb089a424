#!/usr/bin/env bash
# The tests: lint, the import contracts of modnet/, then pytest on the real weights in ../shared
# (MODNET_SHARED overrides).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  echo "No .venv: run 'bash scripts/setup.sh' first." >&2
  exit 1
fi
.venv/bin/python -m pip install --quiet -r tests/dev-packages.txt || exit 1
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1
PYTHONPATH=. .venv/bin/lint-imports || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing the run" >&2
  exit 1
fi
exit "$status"
