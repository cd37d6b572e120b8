#!/usr/bin/env bash
# The test suite (README: "Run the tests"). Needs PostgreSQL on 127.0.0.1:5432 and what
# scripts/setup-inference.sh and scripts/setup-frontend.sh install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Rust: unit tests and integration tests against real PostgreSQL, GStreamer and ONNX models.
cargo build -p facewatch
cargo test --workspace
# The dashboard end to end in headless Chromium, against a real `facewatch serve`.
npm --prefix frontend test
