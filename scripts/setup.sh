#!/usr/bin/env bash
# Everything a fresh clone needs before it can run: dependencies, generated client, compiled code,
# local Postgres and Redis answering, migrations applied. Safe to run again (each step is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or later is required (found $(node -v))" >&2
  exit 1
fi

# 1. Dependencies. Nothing may be downloaded beyond the registry: onnxruntime-node ships its CPU binaries
# in the package, and its install script (which npm ci runs) would only fetch optional GPU parts from
# api.nuget.org — told to skip here and in .npmrc.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ "${CI:-}" = "true" ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# 1b. Chromium for the dashboard's browser tests (tests/ui drive Debian's chromium through playwright-core:
# Playwright's own browser download is not reachable here). Installed when missing and this runs as root
# with apt (CI does); otherwise skipped quietly, and those tests then fail saying how to install it.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  log "installing chromium (Debian package) for the browser tests"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || log "warning: could not install chromium; the browser tests (tests/ui) will fail until it is installed"
  fi
fi

# 2. Prisma client and compiled JavaScript for the `qat` binary.
log "generating the Prisma client and compiling"
npm run --silent build

# 3. Postgres and Redis, started with the machine's own commands when a local one is not answering.
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/qat}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

pg_host=$(node -p 'new URL(process.argv[1]).hostname' "$DATABASE_URL")
pg_port=$(node -p 'new URL(process.argv[1]).port || 5432' "$DATABASE_URL")
redis_host=$(node -p 'new URL(process.argv[1]).hostname' "$REDIS_URL")
redis_port=$(node -p 'new URL(process.argv[1]).port || 6379' "$REDIS_URL")

is_local() { [ "$1" = "127.0.0.1" ] || [ "$1" = "localhost" ]; }

wait_for() { # name, check command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "$name did not come up" >&2
  return 1
}

pg_up() { pg_isready -q -h "$pg_host" -p "$pg_port"; }
redis_up() { [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  if is_local "$pg_host" && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    wait_for PostgreSQL pg_up
  else
    echo "PostgreSQL at $pg_host:$pg_port is not answering" >&2
    exit 1
  fi
fi
if ! redis_up; then
  if is_local "$redis_host" && command -v redis-server >/dev/null; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
    wait_for Redis redis_up
  else
    echo "Redis at $redis_host:$redis_port is not answering" >&2
    exit 1
  fi
fi

# 4. Database and migrations (creates the database when it is missing).
log "applying migrations"
DATABASE_URL=$DATABASE_URL node bin/qat.js migrate >&2
