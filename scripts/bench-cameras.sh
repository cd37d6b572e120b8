#!/usr/bin/env bash
# Cameras per core, end to end (README, "Cameras per core"): builds bench_cameras and prints one
# table row per scenario. The per-core rows run pinned to CPU 0 (the RTSP server process runs on
# the other CPUs). Usage: scripts/bench-cameras.sh [seconds per run, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
cargo build --release -q -p facewatch-inference --features rtsp-server --bin bench_cameras
bench=target/release/bench_cameras
pin="taskset -c 0"
run() { $pin $bench --seconds "$secs" "$@"; }
echo "| cameras | stream | faces | recognition | motion gating | analysed fps per camera (min–max) | dropped frames/s | detector runs/s | cores used | cores per camera | RSS MiB |"
echo "|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|"
run --cameras 6 --codec h264 --height 720 --faces 2
run --cameras 6 --codec h264 --height 720 --faces 2 --recognition every-frame
run --cameras 6 --codec h264 --height 720 --faces 2 --motion off
run --cameras 6 --codec h264 --height 720 --faces 2 --recognition every-frame --motion off
run --cameras 6 --codec h265 --height 720 --faces 2
run --cameras 3 --codec h264 --height 1080 --faces 2
run --cameras 3 --codec h265 --height 1080 --faces 2
run --cameras 6 --codec h264 --height 720 --faces 0
run --cameras 6 --codec h264 --height 720 --faces 0 --motion detector-only
run --cameras 6 --codec h264 --height 720 --faces 0 --motion off
run --cameras 6 --codec h265 --height 720 --faces 0
run --cameras 8 --codec h264 --height 720 --faces 2
