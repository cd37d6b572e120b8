#!/usr/bin/env bash
# Starts the local PostgreSQL cluster (127.0.0.1:5432, trust auth) if it is not running.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
    for _ in $(seq 60); do pg_isready -h 127.0.0.1 -p 5432 -q && exit 0; sleep 1; done
    echo "PostgreSQL did not start on 127.0.0.1:5432" >&2
    exit 1
fi
