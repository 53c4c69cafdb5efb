#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: RabbitMQ on 5672, NATS with JetStream on 4222 and
# PostgreSQL on 5432 (trust auth, database `test`), plus python3 with pytest and moto, and Chromium for the console's browser tests. Starts what is installed but stopped, installs what
# is missing (apt-get, as root), and leaves running services alone: a broker it did not start is never
# stopped, even one that does not answer; for a RabbitMQ that does not answer it starts one of the suite's
# own on another port and tells the tests (test/.services.env). Last it names the
# command-line tools (kpt, kubectl, rabbitmqctl) that are missing and how to get them: no registry here has
# kpt or kubectl, so their tests are skipped (failed on CI) instead; the list is test/support/tools.ts.
set -uo pipefail

# Only for testing this script itself; the suites expect 5672 unless $SERVICES_ENV names another broker.
RABBITMQ_PORT=${ASYA_SERVICES_RABBITMQ_PORT:-5672}
FALLBACK_RABBITMQ_PORT=${ASYA_SERVICES_FALLBACK_RABBITMQ_PORT:-5682}
GREET_TRIES=${ASYA_SERVICES_GREET_TRIES:-4}
# Erlang distribution needs a port of its own as well.
FALLBACK_RABBITMQ_DIST_PORT=${ASYA_SERVICES_FALLBACK_RABBITMQ_DIST_PORT:-25682}
SERVICES_ENV=${ASYA_SERVICES_ENV:-$(cd "$(dirname "$0")" && pwd)/.services.env}
NATS_PORT=${ASYA_SERVICES_NATS_PORT:-4222}
NATS_STORE=${ASYA_SERVICES_NATS_STORE:-/var/lib/nats-server}

log() { printf '[services] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  return 1
}
apt_install() {
  if [ "$(id -u)" != 0 ]; then log "cannot install $* without root"; return 1; fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; }
}

# True when the broker starts an AMQP handshake (sends its Connection.Start frame) within 15 s. A RabbitMQ
# that accepts TCP connections but never answers has been seen here; an open port alone is not enough.
amqp_answers() {
  timeout 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RABBITMQ_PORT; printf 'AMQP\0\0\t\1' >&3; head -c 4 <&3" 2>/dev/null | grep -q .
}

# A RabbitMQ node of the suite's own, for when the shared one is wedged: its own node name, port and data
# directory, started like any other (rabbitmq-server drops to the rabbitmq user and shares its Erlang
# cookie, so plain rabbitmqctl reaches it through RABBITMQ_NODENAME). The tests find it through
# $SERVICES_ENV, which test/run.mjs loads.
start_fallback_rabbitmq() {
  local port=$FALLBACK_RABBITMQ_PORT node="asya-services-$FALLBACK_RABBITMQ_PORT@localhost" dir=/tmp/asya-services-rabbitmq-$FALLBACK_RABBITMQ_PORT
  if ! RABBITMQ_PORT=$port amqp_answers; then
    command -v rabbitmq-server >/dev/null || return 1
    log "starting a RabbitMQ node of the suite's own ($node on $port, data in $dir)"
    mkdir -p "$dir"
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" >"$dir/rabbitmq.conf"
    printf '[].\n' >"$dir/enabled_plugins"
    [ "$(id -u)" = 0 ] && chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null
    RABBITMQ_NODENAME=$node RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$FALLBACK_RABBITMQ_DIST_PORT \
      RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
      rabbitmq-server -detached >/dev/null 2>&1 || true
    local ok=1
    for _ in $(seq 1 120); do RABBITMQ_PORT=$port amqp_answers && { ok=0; break; }; sleep 1; done
    [ $ok = 0 ] || { log "the suite's own RabbitMQ did not answer on $port either (its log: $dir/log)"; return 1; }
  fi
  printf 'ASYA_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:%s\nRABBITMQ_NODENAME=%s\n' "$port" "$node" >"$SERVICES_ENV"
  log "the tests use it: $(tr '\n' ' ' <"$SERVICES_ENV")(written to $SERVICES_ENV)"
}

ensure_rabbitmq() {
  rm -f "$SERVICES_ENV"
  if port_open "$RABBITMQ_PORT"; then
    # A busy broker (another suite creating and deleting quorum queues) can be slow to greet: ask for a minute.
    for _ in $(seq 1 "$GREET_TRIES"); do amqp_answers && return 0; done
    log "something accepts connections on $RABBITMQ_PORT but does not answer AMQP within a minute; it was running before this script and is left alone"
    start_fallback_rabbitmq && return 0
    log "restart it yourself (rabbitmqctl stop; rabbitmq-server -detached), then run this again"
    return 1
  fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server || return 1
  log "starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port "$RABBITMQ_PORT" || { log "RabbitMQ did not come up on $RABBITMQ_PORT"; return 1; }
  # Quorum queues are recovered before the broker answers: give a broker with many of them time.
  for _ in $(seq 1 12); do amqp_answers && return 0; done
  log "RabbitMQ listens on $RABBITMQ_PORT but does not answer AMQP"
  return 1
}

# True when the server on 4222 greets with INFO and has JetStream on (its INFO says "jetstream":true).
nats_answers() {
  timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$NATS_PORT"'; IFS= read -r line <&3; printf "%s\n" "$line"' 2>/dev/null | grep -q '"jetstream":true'
}

ensure_nats() {
  if port_open "$NATS_PORT"; then
    nats_answers && return 0
    log "something listens on $NATS_PORT but is not a NATS server with JetStream; it was running before this script and is left alone"
    return 1
  fi
  command -v nats-server >/dev/null || apt_install nats-server || return 1
  log "starting nats-server with JetStream"
  mkdir -p "$NATS_STORE"
  # Detached from this script's session, so it outlives the shell that started it (as rabbitmq-server -detached).
  setsid nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_STORE" -l "$NATS_STORE/nats-server.log" </dev/null >/dev/null 2>&1 &
  wait_port "$NATS_PORT" || { log "nats-server did not come up on $NATS_PORT"; return 1; }
  nats_answers || { log "nats-server on $NATS_PORT answers without JetStream"; return 1; }
}

ensure_postgres() {
  if ! port_open 5432; then
    ls /etc/postgresql/*/main >/dev/null 2>&1 || apt_install postgresql || return 1
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    wait_port 5432 || { log "PostgreSQL did not come up on 5432"; return 1; }
  fi
  # Tests connect as postgres without a password to database `test`.
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    local hba
    hba=$(su postgres -c "psql -tAc 'show hba_file'" 2>/dev/null)
    if [ -n "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      log "allowing trust auth on loopback in $hba"
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      su postgres -c "psql -tAc 'select pg_reload_conf()'" >/dev/null
    fi
    su postgres -c "createdb test" >/dev/null 2>&1 || true
  fi
}

ensure_python() {
  command -v python3 >/dev/null || apt_install python3 || return 1
  python3 -c 'import pytest' 2>/dev/null || apt_install python3-pytest || pip install -q pytest || return 1
  command -v moto_server >/dev/null || pip install -q 'moto[server]' || apt_install python3-moto || return 1
}

# The console's browser tests drive Debian's Chromium (test/support/browser.ts installs it too when missing).
ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# The console's actors from metrics: a private Prometheus scrapes a real sidecar (test/support/prometheus.ts
# installs it too when missing). Only the binary is used; the package's own service is never started.
ensure_prometheus() {
  [ -x /usr/bin/prometheus ] || apt_install prometheus
}

report_tools() {
  [ -d node_modules/tsx ] || { log "run npm ci first to check the tools the tests need"; return 0; }
  node --import tsx test/support/tools.ts
}

cd "$(dirname "$0")/.."
status=0
ensure_rabbitmq || status=1
ensure_nats || status=1
ensure_postgres || status=1
ensure_python || status=1
ensure_chromium || status=1
ensure_prometheus || status=1
report_tools
exit $status
