#!/usr/bin/env bash
# Starts the real services that ferry's tests and demo talk to, when they are not running.
#
#   source scripts/services.sh && ensure_redis      # from another script
#   bash scripts/services.sh ensure_redis           # on its own
#
# Each ensure_<service> checks the service first and does nothing when it answers;
# otherwise it installs Debian's package when the server is missing, starts it on
# its standard port and waits (bounded) until it answers: ensure_redis,
# ensure_rabbitmq; later services (ensure_clickhouse) follow the same pattern.

FERRY_REDIS_HOST="${FERRY_REDIS_HOST:-127.0.0.1}"
FERRY_REDIS_PORT="${FERRY_REDIS_PORT:-6379}"
FERRY_RABBITMQ_HOST="${FERRY_RABBITMQ_HOST:-127.0.0.1}"
FERRY_RABBITMQ_PORT="${FERRY_RABBITMQ_PORT:-5672}"
FERRY_SERVICE_WAIT_S="${FERRY_SERVICE_WAIT_S:-20}"
# RabbitMQ boots an Erlang VM: give it longer than Redis.
FERRY_RABBITMQ_WAIT_S="${FERRY_RABBITMQ_WAIT_S:-90}"

ferry_log() { printf 'services: %s\n' "$*" >&2; }

# Runs a command as root: directly when root, through sudo otherwise.
ferry_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    ferry_log "need root to run: $* (no sudo found)"
    return 1
  fi
}

# Installs Debian packages quietly.
ferry_apt_install() {
  ferry_log "installing $* (apt-get)"
  ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ferry_wait_for <what> <command...>: retries the command every 0.5 s until it succeeds or time runs out.
ferry_wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + FERRY_SERVICE_WAIT_S))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      ferry_log "$what did not answer within ${FERRY_SERVICE_WAIT_S} s"
      return 1
    fi
    sleep 0.5
  done
}

# True when Redis answers PING with PONG: through redis-cli, or a raw RESP PING over bash's /dev/tcp.
redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$FERRY_REDIS_HOST" -p "$FERRY_REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
    return
  fi
  local reply=""
  (
    exec 3<>"/dev/tcp/$FERRY_REDIS_HOST/$FERRY_REDIS_PORT" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ "$reply" == +PONG* ]]
  ) 2>/dev/null
}

ensure_redis() {
  if redis_ping; then
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    ferry_apt_install redis-server || {
      ferry_log "could not install redis-server; install Redis 7 and start it on $FERRY_REDIS_HOST:$FERRY_REDIS_PORT"
      return 1
    }
    # The package may have started its own service already.
    if redis_ping; then
      return 0
    fi
  fi
  local log="${TMPDIR:-/tmp}/ferry-redis-$FERRY_REDIS_PORT.log"
  ferry_log "starting redis-server on $FERRY_REDIS_HOST:$FERRY_REDIS_PORT (log: $log)"
  redis-server --daemonize yes --bind "$FERRY_REDIS_HOST" --port "$FERRY_REDIS_PORT" \
    --save "" --appendonly no --dir "${TMPDIR:-/tmp}" --logfile "$log" || {
    ferry_log "redis-server failed to start; see $log"
    return 1
  }
  ferry_wait_for "redis on $FERRY_REDIS_HOST:$FERRY_REDIS_PORT" redis_ping || {
    ferry_log "see $log"
    return 1
  }
  ferry_log "redis is up"
}

# True when the broker answers the AMQP 0-9-1 protocol header with a frame (Connection.Start is type 1).
rabbitmq_ping() {
  local first
  first=$(
    timeout 3 bash -c '
      exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "AMQP\x00\x00\x09\x01" >&3
      head -c 1 <&3 | od -An -tx1
    ' "$FERRY_RABBITMQ_HOST" "$FERRY_RABBITMQ_PORT" 2>/dev/null
  ) || return 1
  [ "$(echo "$first" | tr -d ' ')" = "01" ]
}

ensure_rabbitmq() {
  if rabbitmq_ping; then
    return 0
  fi
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    ferry_apt_install rabbitmq-server || {
      ferry_log "could not install rabbitmq-server; install RabbitMQ 3 and start it on $FERRY_RABBITMQ_HOST:$FERRY_RABBITMQ_PORT"
      return 1
    }
  fi
  # The package may have started its own service; if not, start one detached.
  if ! FERRY_SERVICE_WAIT_S=5 ferry_wait_for "rabbitmq" rabbitmq_ping 2>/dev/null; then
    ferry_log "starting rabbitmq-server -detached"
    ferry_as_root rabbitmq-server -detached || {
      ferry_log "rabbitmq-server failed to start"
      return 1
    }
    FERRY_SERVICE_WAIT_S="$FERRY_RABBITMQ_WAIT_S" ferry_wait_for \
      "rabbitmq on $FERRY_RABBITMQ_HOST:$FERRY_RABBITMQ_PORT" rabbitmq_ping || return 1
  fi
  ferry_log "rabbitmq is up"
}

# Run directly: each argument names a function to run, in order.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "$#" -eq 0 ]; then
    echo "usage: bash scripts/services.sh ensure_redis|ensure_rabbitmq [...]" >&2
    exit 2
  fi
  for step in "$@"; do
    "$step"
  done
fi
