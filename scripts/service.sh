#!/usr/bin/env bash
# The service demo from a fresh clone: set up, start the API and a worker, create an API key, and
# show both healthy. Pass --keep to leave them running (Ctrl-C stops them gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export PORT=${PORT:-8080}
export HOST=${HOST:-127.0.0.1}
export LOG_LEVEL=${LOG_LEVEL:-warn}
base="http://$HOST:$PORT"
logs=$(mktemp -d)

node bin/qat.js serve >"$logs/api.log" 2>&1 & api=$!
node bin/qat.js worker >"$logs/worker.log" 2>&1 & worker=$!
stop() {
  kill -TERM "$api" "$worker" 2>/dev/null || true
  wait "$api" "$worker" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 60); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  if ! kill -0 "$api" 2>/dev/null; then cat "$logs/api.log" >&2; exit 1; fi
  sleep 0.5
done
for _ in $(seq 1 60); do
  node bin/qat.js worker --healthcheck >/dev/null 2>&1 && break
  if ! kill -0 "$worker" 2>/dev/null; then cat "$logs/worker.log" >&2; exit 1; fi
  sleep 0.5
done

key=$(node bin/qat.js keys create --tenant "${TENANT:-quickstart}" --name quickstart 2>/dev/null)
echo "== GET $base/healthz";            curl -fsS "$base/healthz"; echo
echo "== GET $base/readyz";             curl -fsS "$base/readyz"; echo
echo "== workers (qat worker --healthcheck)"; node bin/qat.js worker --healthcheck
echo "== GET $base/v1/api-keys";        curl -fsS -H "Authorization: Bearer $key" "$base/v1/api-keys"; echo
echo "== API key for this tenant (shown once): $key"
echo "== API docs: $base/docs   logs: $logs"

if [ "${1:-}" = "--keep" ]; then
  echo "running; Ctrl-C stops the API and the worker gracefully"
  wait "$api" "$worker"
fi
