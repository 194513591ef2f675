#!/usr/bin/env bash
# Installs the dependencies when needed and builds every package (turbo caches what did not change).
# Arguments go to turbo: `bash scripts/install.sh --filter=@ferry/runner...` builds the runner and what it needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export TURBO_TELEMETRY_DISABLED=1 NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# npm writes node_modules/.package-lock.json on every install: older than the lockfile means stale.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
  { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  if [ -f package-lock.json ]; then
    echo "install: npm ci" >&2
    # npm ci refuses a lockfile that lacks an entry, even a Windows-only optional
    # one (npm/cli#4828, #8320): then fall back to npm install, which adds it.
    if ! npm ci; then
      echo "install: npm ci failed (lockfile out of sync with package.json?); trying npm install" >&2
      npm install
    fi
  else
    echo "install: npm install (no package-lock.json)" >&2
    npm install
  fi
fi

npx turbo run build "$@"
