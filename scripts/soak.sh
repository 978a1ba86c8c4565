#!/bin/sh
# The soak: the simulated drive at 10 kHz x 8 channels over a real pty into
# the real app (egui_kittest, headless) for MINUTES (default 60), resident
# memory sampled every 5 s. `cargo test` runs a five-minute one of its own.
#
#   scripts/soak.sh [MINUTES] [HISTORY_SECONDS]
#
# Prints one CSV line per reading on stderr, then a summary; exits non-zero
# if memory grew after the history filled, a sample was lost, an error was
# counted, or the app fell behind the link and dropped samples.
set -eu
cd "$(dirname "$0")/.."
SOAK_MINUTES="${1:-60}" SOAK_HISTORY_SECONDS="${2:-60}" \
    exec cargo test --test soak -- --ignored --nocapture --test-threads 1
