"""Reference step metrics from python-control's `step_info`, for
tests/stepinfo_reference.rs.

Reads on stdin a JSON list of cases, each {"name", "t", "y", "yfinal",
"band", "rise_limits"}: the hold of one step with t in seconds from the step
and y already taken relative to the initial value (python-control has no
yinit argument and measures every percentage against yfinal, so the step
must start at 0). Writes on stdout a JSON list with `step_info`'s dict for
each case, NaN and infinities as null, or {"error": ...} where `step_info`
raises (it indexes the first threshold crossing and fails when there is none).

Each dict also holds "RiseTimeFromLastLowCrossing": `step_info`'s rise time
on the samples from the last one below the low threshold before the first
reach of the high one. `step_info` starts the rise at the first sample past
the low threshold; on a noisy record that can be a noise spike the response
falls back from. MATLAB's documentation ("from 10 % to 90 % of the way from
yinit to yfinal") does not say which crossing counts; we take the last one,
so that the rise is measured on the rise and not on the noise before it.
"""

import json
import math
import sys

import control


def finite_or_none(value):
    return value if math.isfinite(value) else None


def step_info(case, start=0):
    return control.step_info(
        case["y"][start:],
        timepts=case["t"][start:],
        final_output=case["yfinal"],
        SettlingTimeThreshold=case["band"],
        RiseTimeLimits=tuple(case["rise_limits"]),
    )


def last_below_low_before_high(case):
    """Index of the last sample below the low rise threshold before the
    first sample at or past the high one; 0 when there is none."""
    yfinal = case["yfinal"]
    low, high = case["rise_limits"]
    # As fractions of the way to yfinal, steps down read like steps up.
    progress = [y / yfinal for y in case["y"]]
    first_high = next(i for i, p in enumerate(progress) if p >= high)
    below = [i for i in range(first_high) if progress[i] < low]
    return below[-1] if below else 0


def reference_metrics(case):
    try:
        info = step_info(case)
        from_last = step_info(case, last_below_low_before_high(case))
    except (IndexError, StopIteration) as error:
        return {"error": f"no rise to the high threshold: {error!r}"}
    info["RiseTimeFromLastLowCrossing"] = from_last["RiseTime"]
    return {key: finite_or_none(float(value)) for key, value in info.items()}


def main():
    cases = json.load(sys.stdin)
    json.dump([reference_metrics(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
