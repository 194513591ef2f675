#!/usr/bin/env bash
# The root `npm run demo`: writes 10,000 messages to STREAM.test.test.stream_in and
# moves them to STREAM.test.test.stream_out with the flow s2s-demo of examples/ferry.yaml,
# through the ferry command line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install.sh --filter=@ferry/runner...
# shellcheck source=services.sh
source scripts/services.sh
ensure_redis

node scripts/demo.mjs "$@"
