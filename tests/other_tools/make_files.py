import numpy as np, pandas as pd
# A second-order loop stepping 0 -> 1 -> 0.2 rad, 2 kHz for 3 s.
fs = 500.0
t = np.arange(0, 2.5, 1/fs)
sp = np.where(t < 0.5, 0.0, np.where(t < 1.75, 1.0, 0.2))
wn, z = 40.0, 0.5
x = v = 0.0
pos = []; eff = []
for r in sp:
    a = wn*wn*(r - x) - 2*z*wn*v
    v += a/fs; x += v/fs
    pos.append(x); eff.append(a/200.0)
df = pd.DataFrame({"time": t, "setpoint": sp, "position": pos, "effort": eff})
df.to_csv("pandas_step.csv")                      # index column, as pandas writes by default
dt = df.copy(); dt.index = pd.Timestamp("2026-12-06 09:00:00") + pd.to_timedelta(t, unit="s")
dt.index.name = "timestamp"
dt.drop(columns=["time"]).to_csv("pandas_datetime.csv")
# PlotJuggler CSV export: __time, topics, empty cells where a topic had no value
with open("plotjuggler_export.csv", "w") as f:
    f.write("__time,/motor/setpoint,/motor/position,/motor/current\n")
    t0 = 1765011600.0
    for k, (tt, s, p, e) in enumerate(zip(t, sp, pos, eff)):
        cur = f"{e:.6f}" if k % 2 == 0 else ""
        f.write(f"{t0+tt:.6f},{s:.6f},{p:.6f},{cur}\n")
# Arduino serial monitor with "Show timestamp": 50 Hz prints of setpoint,position
with open("arduino_monitor.txt", "w") as f:
    for k in range(0, len(t), 10):
        ms = int(t[k]*1000) + 12*3600*1000 + 34*60*1000 + 56789 + (k % 3)
        h, rem = divmod(ms, 3600000); m_, rem = divmod(rem, 60000); s_, milli = divmod(rem, 1000)
        f.write(f"{h:02d}:{m_:02d}:{s_:02d}.{milli:03d} -> {sp[k]:.3f},{pos[k]:.4f}\n")
print("ok")
# The same as Parquet, as pandas writes it (pyarrow: Snappy, dictionary
# pages, nullable columns, the index as a column) and with zstd and a
# datetime index.
df.to_parquet("pandas_step.parquet")
dt.drop(columns=["time"]).to_parquet("pandas_datetime_zstd.parquet", compression="zstd")
