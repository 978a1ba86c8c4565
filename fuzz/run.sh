#!/usr/bin/env bash
# Runs every fuzz target for a fixed number of executions (default 1 000 000
# each), starting from a seed corpus of real traffic, and prints one line
# per target: executions, seconds, corpus size. Stops at the first crash;
# libFuzzer leaves the input in artifacts/<target>/.
#
#   fuzz/run.sh [RUNS] [TARGET...]     (every target unless named)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-1000000}
shift $(( $# > 0 ? 1 : 0 ))
targets=(${1+"$@"})  # bash 3.2 with set -u: no "$@" when empty
if [ ${#targets[@]} -eq 0 ]; then
    # A read loop, not mapfile: macOS ships bash 3.2.
    while IFS= read -r target; do
        targets+=("$target")
    done < <(cargo +nightly fuzz list)
fi

cargo run --quiet --example seeds
mkdir -p logs
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: $runs runs"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -runs="$runs" -max_len=4096 -print_final_stats=1 >"logs/$target.log" 2>&1 || {
        tail -n 40 "logs/$target.log"
        echo "fuzz target $target failed: see fuzz/logs/$target.log and fuzz/artifacts/$target/" >&2
        exit 1
    }
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "logs/$target.log" | tail -n 1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    line="$target: ${done_line#Done }, corpus $corpus inputs"
    summary+=("$line")
    echo "   $line"
done
echo "== every target ran without a crash"
printf '%s\n' "${summary[@]}"
