#!/usr/bin/env bash
# The system's main job on a fresh machine: a demo camera playing a bundled (synthesised) video of
# enrolled people, with the dashboard and API on http://127.0.0.1:8080. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-postgres.sh
bash scripts/setup-inference.sh
bash scripts/setup-frontend.sh
cargo build --release -p facewatch
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/facewatch_demo}"
export FACEWATCH_ADMIN_PASSWORD="${FACEWATCH_ADMIN_PASSWORD:-facewatch-demo}"
echo "dashboard: http://127.0.0.1:8080  (user admin, password ${FACEWATCH_ADMIN_PASSWORD})"
exec target/release/facewatch demo "$@"
