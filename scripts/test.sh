#!/usr/bin/env bash
# The root `npm test`: install and build, make sure Redis runs, then lint, typecheck
# and test every workspace (unit tests next to the code, end-to-end tests in test/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install.sh
# shellcheck source=services.sh
source scripts/services.sh
ensure_redis

export TURBO_TELEMETRY_DISABLED=1
# --continue runs every task even after one fails, so that one run shows every
# failure; turbo still exits non-zero when any task failed.
npx turbo run lint typecheck test --continue --output-logs=full
