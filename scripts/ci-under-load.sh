#!/usr/bin/env bash
# The whole suite (every vitest project, e2e included) on a busy machine: a CPU hog holds one of the
# 2 cores (stress-ng --cpu 1) for the whole run, after the one-time set-up .ci/run also does first.
# Prints the suite's wall time and the slowest files and tests, which the e2e budgets
# (test/support/budget.ts) are measured against.
# Usage (as root, after scripts/setup-machine.sh): bash scripts/ci-under-load.sh [VITEST ARGS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

if ! command -v stress-ng >/dev/null; then
  apt-get install -y -q stress-ng >/dev/null
fi
report=${HALYARD_LOAD_REPORT:-/tmp/halyard-under-load.json}

npm run build >/dev/null
# One-time machine set-up (as .ci/run does before the tests): not part of the measured run.
prepared=$(date +%s)
npm run test:prepare
printf 'set-up (npm run test:prepare): %d s\n' "$(( $(date +%s) - prepared ))"
stress-ng --cpu 1 --timeout 3600s --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT
sleep 2

started=$(date +%s)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
elapsed=$(( $(date +%s) - started ))

node scripts/test-timings.mjs "$report" 20
printf '\nsuite under load (stress-ng --cpu 1): %d s, exit %d; report %s\n' "$elapsed" "$status" "$report"
exit "$status"
