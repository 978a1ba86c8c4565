#!/usr/bin/env bash
# End to end: `motiontune sim --pty` (DEVICES of them) streams every control-loop sample
# (divider 1) of its 8 channels through a pseudo-terminal into
# `motiontune record` for SECONDS of device time (release build). Prints
# rows, lost ticks, channel-samples per second and each process's CPU and
# peak memory, and exits non-zero if any tick is missing from the CSV.
# CPU and memory come from GNU time (`/usr/bin/time` on Linux, `gtime` from
# Homebrew's gnu-time on macOS); without it they are left out.
#
#   benches/end_to_end.sh [SECONDS]        default 30
#   LOOP_HZ=20000 benches/end_to_end.sh    a faster loop, to look for the limit
#   DEVICES=2 benches/end_to_end.sh        two drives into one file
#                                          (`record --port A --port B`)
set -euo pipefail

seconds=${1:-30}
loop_hz=${LOOP_HZ:-10000}
devices=${DEVICES:-1}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/motiontune

work=$(mktemp -d)
sim_pids=()
time_pids=()
cleanup() {
    for pid in "${sim_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# GNU time ignores SIGINT and SIGTERM while it waits, so each sim it runs is
# stopped by its own process id, and time still reports its usage.
port_args=()
for d in $(seq "$devices"); do
    if [ -n "$gnu_time" ]; then
        "$gnu_time" -v -o "$work/sim$d.time" "$bin" sim --pty --loop-hz "$loop_hz" \
            >"$work/sim$d.out" 2>/dev/null &
    else
        "$bin" sim --pty --loop-hz "$loop_hz" >"$work/sim$d.out" 2>/dev/null &
    fi
    time_pid=$!
    time_pids+=("$time_pid")
    for _ in $(seq 100); do
        [ -s "$work/sim$d.out" ] && break
        sleep 0.05
    done
    port=$(head -n 1 "$work/sim$d.out")
    if [ -n "$gnu_time" ]; then
        sim_pid=$(pgrep -P "$time_pid")
    else
        sim_pid=$time_pid
    fi
    [ -n "$port" ] && [ -n "$sim_pid" ] || { echo "simulated drive $d did not start" >&2; exit 1; }
    sim_pids+=("$sim_pid")
    port_args+=(--port "$port")
done

if ! timed "$work/record.time" "$bin" record "${port_args[@]}" \
    --seconds "$seconds" --out "$work/run.csv" 2>"$work/record.err"; then
    cat "$work/record.err" >&2
    exit 1
fi
kill "${sim_pids[@]}"
for time_pid in "${time_pids[@]}"; do
    wait "$time_pid" 2>/dev/null || true
done
sim_pids=()

# Ticks are time × loop rate; every row of a device must be the tick after
# its last. One device's file has `time_s`; several devices' have a
# `LABEL.time_s` per device, empty in the other devices' rows.
awk -F, -v hz="$loop_hz" '
    NR == 1 {
        for (i = 1; i <= NF; i++)
            if ($i == "time_s" || $i ~ /\.time_s$/) { n++; column[n] = i; name[n] = $i }
        channels = n > 1 ? (NF - 1 - n) / n : NF - 1
        next
    }
    {
        for (k = 1; k <= n; k++) {
            c = column[k]
            if ($c == "") continue
            tick = int($c * hz + 0.5)
            if (rows[k] > 0 && tick != last[k] + 1) {
                missing[k] += tick - last[k] - 1
                if (first_gap[k] == "") first_gap[k] = last_time[k]
            }
            last[k] = tick
            last_time[k] = $c
            rows[k]++
        }
    }
    END {
        for (k = 1; k <= n; k++)
            printf "%d %d %d %s %s\n", channels, rows[k], missing[k] + 0,
                (first_gap[k] == "" ? "-" : first_gap[k]), name[k]
    }
' "$work/run.csv" >"$work/ticks"
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

ports=$(printf '%s ' "${port_args[@]}")
echo "end to end: $devices device(s) at $loop_hz Hz, divider 1, $seconds s of device time ($ports)"
failed=0
total=0
# The column's name last: a label may hold spaces.
while read -r channels rows missing first_gap name; do
    echo "$name: $channels channels, $rows rows of $expected expected"
    if [ "$missing" -eq 0 ]; then
        echo "$name: missing 0 ticks"
    else
        echo "$name: missing $missing ticks (the first gap follows t = $first_gap s)"
    fi
    [ "$missing" -eq 0 ] && [ "$rows" -eq "$expected" ] || failed=1
    total=$((total + rows * channels))
done <"$work/ticks"
[ "$(wc -l <"$work/ticks")" -eq "$devices" ] || failed=1
echo "rate     $(awk -v t="$total" -v s="$seconds" 'BEGIN { printf "%.0f", t / s }') channel-samples/s"
summary record "$work/record.time"
for d in $(seq "$devices"); do
    summary "sim $d" "$work/sim$d.time"
done
sed 's/^/record:  /' "$work/record.err"

if [ "$failed" -ne 0 ]; then
    echo "FAIL: the recording is not every tick of every device" >&2
    exit 1
fi
