#!/usr/bin/env bash
# The root `npm test`: install and build, make sure Redis, RabbitMQ, NATS and ClickHouse run, then lint, typecheck
# and test every workspace (unit tests next to the code, end-to-end tests in test/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install.sh
# shellcheck source=services.sh
source scripts/services.sh
ensure_services
ensure_chromium

export TURBO_TELEMETRY_DISABLED=1
# --continue runs every task even after one fails, so that one run shows every
# failure; turbo still exits non-zero when any task failed.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx turbo run lint typecheck test --continue --output-logs=full 2>&1 | tee "$log" || status=$?

# One closing line for the whole run, summed from every vitest summary
# ("Tests  2 failed | 81 passed (83)"), so that a reader sees the totals at once.
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^[^ ]+:test: +Tests +' || true)
passed=$(printf '%s\n' "$summary" | grep -oE '[0-9]+ passed' | awk '{n += $1} END {print n + 0}' || true)
failed=$(printf '%s\n' "$summary" | grep -oE '[0-9]+ failed' | awk '{n += $1} END {print n + 0}' || true)
skipped=$(printf '%s\n' "$summary" | grep -oE '[0-9]+ skipped' | awk '{n += $1} END {print n + 0}' || true)
# The failures again, last: a log cut to its tail still says what failed.
failures=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
  grep -E '^[^ ]+: +(FAIL|×) |^[^ ]+: .*(AssertionError|error TS[0-9]+|Error: )| ERROR ' | head -60 || true)
if { [ "$status" -ne 0 ] || [ "$failed" -gt 0 ]; } && [ -n "$failures" ]; then
  echo
  echo "failures:"
  printf '%s\n' "$failures"
fi
# The ClickHouse versions the C tests ran against (the package's test run names them).
versions=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -oE 'clickhouse versions: .*' | head -1 || true)
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ -n "$versions" ]; then echo "$versions"; fi
if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then status=1; fi
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test: no test ran" >&2
  status=1
fi
exit "$status"
