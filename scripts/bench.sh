#!/usr/bin/env bash
# npm run bench -- [EDGE... | memory] [--records N] [--rounds N] [--batch N] [--quick]
# Installs what is missing, starts the services the benchmarks talk to, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/services.sh
ensure_services
exec node --enable-source-maps bench/dist/main.js "$@"
