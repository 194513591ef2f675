#!/usr/bin/env bash
# Starts the real services that ferry's tests and demo talk to, when they are not running.
#
#   source scripts/services.sh && ensure_services   # from another script
#   bash scripts/services.sh ensure_redis           # on its own
#
# ensure_services starts every system's server the tests and the bench talk to.
# Each ensure_<service> checks the service first and does nothing when it answers;
# otherwise it installs Debian's package when the server is missing, starts it on
# its standard port and waits (bounded) until it answers: ensure_redis,
# ensure_rabbitmq, ensure_nats (JetStream on, its store under $TMPDIR),
# ensure_clickhouse (on its own data dir and ports, HTTPS beside HTTP, see there),
# ensure_chromium (the browser of the dashboard test; nothing to start),
# ensure_tls_tools (the programs the TLS tests start servers of their own with).

FERRY_REDIS_HOST="${FERRY_REDIS_HOST:-127.0.0.1}"
FERRY_REDIS_PORT="${FERRY_REDIS_PORT:-6379}"
FERRY_RABBITMQ_HOST="${FERRY_RABBITMQ_HOST:-127.0.0.1}"
FERRY_RABBITMQ_PORT="${FERRY_RABBITMQ_PORT:-5672}"
FERRY_NATS_HOST="${FERRY_NATS_HOST:-127.0.0.1}"
FERRY_NATS_PORT="${FERRY_NATS_PORT:-4222}"
FERRY_NATS_DIR="${FERRY_NATS_DIR:-${TMPDIR:-/tmp}/ferry-nats}"
FERRY_CLICKHOUSE_HOST="${FERRY_CLICKHOUSE_HOST:-127.0.0.1}"
FERRY_CLICKHOUSE_HTTP_PORT="${FERRY_CLICKHOUSE_HTTP_PORT:-18123}"
FERRY_CLICKHOUSE_TCP_PORT="${FERRY_CLICKHOUSE_TCP_PORT:-19000}"
# Set to an empty string for no HTTPS listener (a second server on ports of its own).
FERRY_CLICKHOUSE_HTTPS_PORT="${FERRY_CLICKHOUSE_HTTPS_PORT-18443}"
FERRY_CLICKHOUSE_DIR="${FERRY_CLICKHOUSE_DIR:-${TMPDIR:-/tmp}/ferry-clickhouse}"
FERRY_CLICKHOUSE_WAIT_S="${FERRY_CLICKHOUSE_WAIT_S:-60}"
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

# True when a NATS server answers with its INFO line and says JetStream is on.
nats_ping() {
  local info
  info=$(
    timeout 3 bash -c '
      exec 3<>"/dev/tcp/$0/$1" || exit 1
      IFS= read -r -t 2 line <&3 || exit 1
      printf "%s" "$line"
    ' "$FERRY_NATS_HOST" "$FERRY_NATS_PORT" 2>/dev/null
  ) || return 1
  [[ "$info" == INFO* && "$info" == *'"jetstream":true'* ]]
}

# nats-server with JetStream (-js), its store under $FERRY_NATS_DIR, started in
# the background when nothing answers; a server that answers without JetStream
# is reported, not replaced (it holds the port).
ensure_nats() {
  if nats_ping; then
    return 0
  fi
  if (exec 3<>"/dev/tcp/$FERRY_NATS_HOST/$FERRY_NATS_PORT") 2>/dev/null; then
    ferry_log "something answers on $FERRY_NATS_HOST:$FERRY_NATS_PORT without JetStream; start nats-server there with -js"
    return 1
  fi
  if ! command -v nats-server >/dev/null 2>&1; then
    ferry_apt_install nats-server || {
      ferry_log "could not install nats-server; install NATS 2.9+ and start it with -js on $FERRY_NATS_HOST:$FERRY_NATS_PORT"
      return 1
    }
  fi
  local dir="$FERRY_NATS_DIR"
  mkdir -p "$dir"
  local log="$dir/nats-server.log"
  ferry_log "starting nats-server -js on $FERRY_NATS_HOST:$FERRY_NATS_PORT (store and log: $dir)"
  # Only the server runs in the background, every stream redirected (see ensure_clickhouse).
  nohup nats-server -a "$FERRY_NATS_HOST" -p "$FERRY_NATS_PORT" -js -sd "$dir" -l "$log" >/dev/null 2>&1 </dev/null &
  ferry_wait_for "nats on $FERRY_NATS_HOST:$FERRY_NATS_PORT" nats_ping || {
    ferry_log "see $log"
    return 1
  }
  ferry_log "nats is up"
}

# True when ClickHouse's HTTP interface answers /ping with "Ok.": through curl, or a raw GET over bash's /dev/tcp.
clickhouse_ping() {
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s --max-time 2 "http://$FERRY_CLICKHOUSE_HOST:$FERRY_CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]
    return
  fi
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /ping HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    grep -q "^Ok\." <&3
  ' "$FERRY_CLICKHOUSE_HOST" "$FERRY_CLICKHOUSE_HTTP_PORT" 2>/dev/null
}

# True when the HTTPS port answers /ping, the client showing the certificate it asks for.
clickhouse_https_ping() {
  local tls="$FERRY_CLICKHOUSE_DIR/tls"
  command -v curl >/dev/null 2>&1 || return 0 # nothing to ask with: the TLS tests will say
  [ "$(curl -s --max-time 2 --cacert "$tls/ca.crt" --cert "$tls/client.crt" --key "$tls/client.key" \
    "https://$FERRY_CLICKHOUSE_HOST:$FERRY_CLICKHOUSE_HTTPS_PORT/ping" 2>/dev/null)" = "Ok." ]
}

# ferry_sign <dir> <name> <extensions>: a key and a certificate for CN ferry-<name>, signed by <dir>/ca.
ferry_sign() {
  local dir="$1" name="$2"
  printf '%s\n' "$3" >"$dir/$name.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=ferry-$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
      -out "$dir/$name.crt" -extfile "$dir/$name.ext" 2>/dev/null
}

# The HTTPS listener's throwaway CA, server certificate (127.0.0.1, localhost) and client
# certificate, in <dir>, for the TLS tests to trust and show; made again a day before they expire.
clickhouse_make_certificates() {
  local dir="$1"
  if openssl x509 -checkend 86400 -noout -in "$dir/server.crt" >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=ferry test clickhouse ca" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
    ferry_sign "$dir" server $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth' &&
    ferry_sign "$dir" client 'extendedKeyUsage=clientAuth'
}

# The HTTPS port and its TLS settings, when FERRY_CLICKHOUSE_HTTPS_PORT is set: the
# server's certificate from <dir>/tls, and clients must show one that CA signed (strict).
clickhouse_https_config() {
  local tls="$1/tls"
  [ -n "$FERRY_CLICKHOUSE_HTTPS_PORT" ] || return 0
  cat <<XML
    <https_port>$FERRY_CLICKHOUSE_HTTPS_PORT</https_port>
    <openSSL>
        <server>
            <certificateFile>$tls/server.crt</certificateFile>
            <privateKeyFile>$tls/server.key</privateKeyFile>
            <caConfig>$tls/ca.crt</caConfig>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <verificationMode>strict</verificationMode>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
            <invalidCertificateHandler><name>RejectCertificateHandler</name></invalidCertificateHandler>
        </server>
    </openSSL>
XML
}

# Writes the private server's config: its own data dir, log files and ports,
# HTTP, HTTPS (see clickhouse_https_config) and native TCP (no interserver port),
# a passwordless `default` user and a `ferry_test` user with a password (for the credential tests).
clickhouse_write_config() {
  local dir="$1"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  if [ -n "$FERRY_CLICKHOUSE_HTTPS_PORT" ]; then
    clickhouse_make_certificates "$dir/tls" || {
      ferry_log "could not make the certificates of the HTTPS port in $dir/tls (openssl)"
      return 1
    }
  fi
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/clickhouse-server.log</log>
        <errorlog>$dir/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <http_port>$FERRY_CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$FERRY_CLICKHOUSE_TCP_PORT</tcp_port>
$(clickhouse_https_config "$dir")
    <listen_host>$FERRY_CLICKHOUSE_HOST</listen_host>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <ferry_test>
            <password>ferry_pass</password>
            <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </ferry_test>
    </users>
    <quotas>
        <default>
            <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
        </default>
    </quotas>
</yandex>
XML
}

# ClickHouse runs on a private data dir and its own ports (18123 HTTP, 18443 HTTPS,
# 19000 TCP by default), started in the background without systemd: the Debian
# package's own service, when it runs at all, is left alone. A server that answers
# HTTP but not HTTPS (started before the HTTPS port was configured) is reported, not restarted.
ensure_clickhouse() {
  if clickhouse_ping; then
    if [ -n "$FERRY_CLICKHOUSE_HTTPS_PORT" ] && ! clickhouse_https_ping; then
      ferry_log "clickhouse answers on HTTP but not on HTTPS port $FERRY_CLICKHOUSE_HTTPS_PORT: stop it and run ensure_clickhouse again for the TLS tests"
    fi
    return 0
  fi
  if ! command -v clickhouse-server >/dev/null 2>&1; then
    ferry_apt_install clickhouse-server clickhouse-client || {
      ferry_log "could not install clickhouse-server; install ClickHouse and start it with HTTP on $FERRY_CLICKHOUSE_HOST:$FERRY_CLICKHOUSE_HTTP_PORT"
      return 1
    }
  fi
  local dir="$FERRY_CLICKHOUSE_DIR"
  clickhouse_write_config "$dir" || return 1
  local log="$dir/clickhouse-server.out"
  ferry_log "starting clickhouse-server on $FERRY_CLICKHOUSE_HOST:$FERRY_CLICKHOUSE_HTTP_PORT (data and logs: $dir)"
  # Only the server runs in the background, with every stream redirected: a
  # backgrounded `cd && server` list would leave a shell holding the caller's
  # stdout open, and a caller reading it (`… | tail`) would never see EOF.
  (
    cd "$dir" || exit 1
    nohup clickhouse-server --config-file="$dir/config.xml" >"$log" 2>&1 </dev/null &
  )
  FERRY_SERVICE_WAIT_S="$FERRY_CLICKHOUSE_WAIT_S" ferry_wait_for \
    "clickhouse on $FERRY_CLICKHOUSE_HOST:$FERRY_CLICKHOUSE_HTTP_PORT" clickhouse_ping || {
    ferry_log "see $log and $dir/clickhouse-server.err.log"
    return 1
  }
  ferry_log "clickhouse is up"
}

# The TLS tests start servers of their own (a redis-server with a TLS port, a
# nats-server with a tls block, a second RabbitMQ node with an SSL listener) on
# certificates that openssl makes per run (testkit's tls-servers.ts): the
# programs must be here even where the plain servers run on another machine.
ensure_tls_tools() {
  local missing=() tool
  for tool in openssl redis-server nats-server rabbitmq-server; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  ferry_apt_install "${missing[@]}" || {
    ferry_log "could not install ${missing[*]}; the TLS tests start them"
    return 1
  }
}

# Every system's server, for the tests and the bench: a new system's server is one line here.
ensure_services() {
  ensure_redis || return
  ensure_rabbitmq || return
  ensure_nats || return
  ensure_clickhouse || return
  ensure_tls_tools || return
}

# The browser of the dashboard's end-to-end test: Debian's chromium, driven by
# playwright-core (which downloads no browser of its own). Installed when missing.
FERRY_CHROMIUM="${FERRY_CHROMIUM:-/usr/bin/chromium}"
ensure_chromium() {
  if [ -x "$FERRY_CHROMIUM" ]; then
    return 0
  fi
  ferry_apt_install chromium || {
    ferry_log "could not install chromium; install Debian's chromium (or set FERRY_CHROMIUM to a Chromium binary)"
    return 1
  }
  ferry_log "chromium is installed: $("$FERRY_CHROMIUM" --version 2>/dev/null || echo "$FERRY_CHROMIUM")"
}

# Run directly: each argument names a function to run, in order.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "$#" -eq 0 ]; then
    echo "usage: bash scripts/services.sh ensure_services|ensure_redis|ensure_rabbitmq|ensure_nats|ensure_clickhouse|ensure_tls_tools|ensure_chromium [...]" >&2
    exit 2
  fi
  for step in "$@"; do
    "$step"
  done
fi
