#!/usr/bin/env bash
# Installs what the dashboard needs and builds it into frontend/dist (served by `facewatch serve`).
# Idempotent: safe to run again; CI calls it before `npm --prefix frontend test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless Chromium for the end-to-end tests (Debian package; playwright-core drives it).
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium
fi

npm --prefix frontend ci --no-audit --no-fund
npm --prefix frontend run build
