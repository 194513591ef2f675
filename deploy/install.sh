#!/usr/bin/env bash
# Installs ferry's systemd units: the `ferry` command (npm, globally), a
# `ferry` system user, /etc/ferry/ferry.yaml and /etc/ferry/ferry.env (kept
# when they exist), then enables and starts ferry-api and ferry-worker.
#   sudo deploy/install.sh [--no-start] [--package SPEC]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

start=1
package="@ferry/runner"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) start=0 ;;
    --package) package="$2"; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root (sudo)" >&2; exit 1; fi
command -v node >/dev/null || { echo "install.sh: Node.js 20 or later is needed" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node.js 20 or later is needed (found $(node -v))" >&2; exit 1; }

if ! command -v ferry >/dev/null; then npm install --global "$package"; fi
ferry_bin=$(command -v ferry)

id ferry >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ferry

install -d -m 0750 -o root -g ferry /etc/ferry
# Secrets as files, handed to the units by LoadCredential= (see the units).
install -d -m 0700 -o root -g root /etc/ferry/credentials
if [ ! -f /etc/ferry/ferry.yaml ]; then
  cat > /etc/ferry/ferry.yaml <<'YAML'
# Connections by name (the original connection_hash); secrets as ${VAR} from ferry.env.
connections:
  default: { kind: redis-stream, url: "${FERRY_REDIS_URL:-redis://127.0.0.1:6379}" }
flows: {}
YAML
  chmod 0640 /etc/ferry/ferry.yaml; chgrp ferry /etc/ferry/ferry.yaml
fi
if [ ! -f /etc/ferry/ferry.env ]; then
  token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  printf 'FERRY_REDIS_URL=redis://127.0.0.1:6379\nFERRY_API_TOKEN=%s\n' "$token" > /etc/ferry/ferry.env
  chmod 0640 /etc/ferry/ferry.env; chgrp ferry /etc/ferry/ferry.env
  echo "install.sh: wrote /etc/ferry/ferry.env with a new API token"
fi

for unit in ferry-api ferry-worker; do
  sed "s#/usr/bin/ferry#${ferry_bin}#" "systemd/${unit}.service" > "/etc/systemd/system/${unit}.service"
done
systemctl daemon-reload
ferry validate /etc/ferry/ferry.yaml
if [ "$start" -eq 1 ]; then
  systemctl enable --now ferry-api ferry-worker
  systemctl --no-pager status ferry-api ferry-worker | head -20
fi
