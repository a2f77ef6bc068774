#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up (install, build, Postgres/Redis, migrations), then
# type-check and every test (unit, numerics, real Postgres/Redis, HTTP, processes, layering, docker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
