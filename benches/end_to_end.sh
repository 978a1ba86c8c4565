#!/usr/bin/env bash
# End to end: `motiontune sim --pty` streams every control-loop sample
# (divider 1) of its 8 channels through a pseudo-terminal into
# `motiontune record` for SECONDS of device time (release build). Prints
# rows, lost ticks, channel-samples per second and each process's CPU and
# peak memory, and exits non-zero if any tick is missing from the CSV.
# CPU and memory come from GNU time (`/usr/bin/time` on Linux, `gtime` from
# Homebrew's gnu-time on macOS); without it they are left out.
#
#   benches/end_to_end.sh [SECONDS]        default 30
#   LOOP_HZ=20000 benches/end_to_end.sh    a faster loop, to look for the limit
set -euo pipefail

seconds=${1:-30}
loop_hz=${LOOP_HZ:-10000}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/motiontune

work=$(mktemp -d)
sim_pid=
cleanup() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# GNU time, under whichever name it has here.
gnu_time=
for candidate in /usr/bin/time gtime; do
    if "$candidate" -v -o /dev/null true >/dev/null 2>&1; then
        gnu_time=$candidate
        break
    fi
done
timed() { # usage file, command...
    local usage_file=$1
    shift
    if [ -n "$gnu_time" ]; then
        "$gnu_time" -v -o "$usage_file" "$@"
    else
        "$@"
    fi
}

# GNU time ignores SIGINT and SIGTERM while it waits, so the sim it runs is
# stopped by its own process id, and time still reports its usage.
if [ -n "$gnu_time" ]; then
    "$gnu_time" -v -o "$work/sim.time" "$bin" sim --pty --loop-hz "$loop_hz" \
        >"$work/sim.out" 2>/dev/null &
else
    "$bin" sim --pty --loop-hz "$loop_hz" >"$work/sim.out" 2>/dev/null &
fi
time_pid=$!
for _ in $(seq 100); do
    [ -s "$work/sim.out" ] && break
    sleep 0.05
done
port=$(head -n 1 "$work/sim.out")
if [ -n "$gnu_time" ]; then
    sim_pid=$(pgrep -P "$time_pid")
else
    sim_pid=$time_pid
fi
[ -n "$port" ] && [ -n "$sim_pid" ] || { echo "the simulated drive did not start" >&2; exit 1; }

if ! timed "$work/record.time" "$bin" record --port "$port" \
    --seconds "$seconds" --out "$work/run.csv" 2>"$work/record.err"; then
    cat "$work/record.err" >&2
    exit 1
fi
kill "$sim_pid"
wait "$time_pid" 2>/dev/null || true
sim_pid=

# Ticks are time × loop rate; every row must be the tick after the last.
read -r channels rows missing first_gap < <(awk -F, -v hz="$loop_hz" '
    NR == 1 { channels = NF - 1; next }
    {
        tick = int($1 * hz + 0.5)
        if (NR > 2 && tick != last + 1) {
            missing += tick - last - 1
            if (first_gap == "") first_gap = last_time
        }
        last = tick
        last_time = $1
        rows++
    }
    END { printf "%d %d %d %s\n", channels, rows, missing, (first_gap == "" ? "-" : first_gap) }
' "$work/run.csv")
expected=$(awk -v s="$seconds" -v hz="$loop_hz" 'BEGIN { printf "%d", s * hz }')

usage() { # file, field name
    sed -n "s/^[[:space:]]*$2: //p" "$1"
}
summary() { # label, time file
    if [ -z "$gnu_time" ]; then
        printf '%-8s CPU and memory not measured: no GNU time (Debian: time; macOS: brew install gnu-time)\n' "$1"
        return
    fi
    printf '%-8s CPU %5s   max RSS %6d kB   wall %s\n' "$1" \
        "$(usage "$2" 'Percent of CPU this job got')" \
        "$(usage "$2" 'Maximum resident set size (kbytes)')" \
        "$(usage "$2" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')"
}

echo "end to end: $loop_hz Hz x $channels channels, divider 1, $seconds s of device time over $port"
echo "rows     $rows of $expected expected"
if [ "$missing" -eq 0 ]; then
    echo "missing  0 ticks"
else
    echo "missing  $missing ticks (the first gap follows t = $first_gap s)"
fi
echo "rate     $(awk -v r="$rows" -v c="$channels" -v s="$seconds" 'BEGIN { printf "%.0f", r * c / s }') channel-samples/s"
summary record "$work/record.time"
summary sim "$work/sim.time"
sed 's/^/record:  /' "$work/record.err"

if [ "$missing" -ne 0 ] || [ "$rows" -ne "$expected" ]; then
    echo "FAIL: the recording is not every tick" >&2
    exit 1
fi
