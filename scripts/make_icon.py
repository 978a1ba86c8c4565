#!/usr/bin/env python3
"""Draws assets/icon.png, the application icon: a step response with its
overshoot (a second-order loop, damping 0.35) in orange over its setpoint
in grey, on a dark rounded square. Standard library only; 4x4 supersampled.

Run from the repository root: python3 scripts/make_icon.py
"""
import math
import struct
import zlib

SIZE = 128
SS = 4  # samples per pixel along each axis
BG = (30, 38, 52)
GRID = (90, 102, 122)
CURVE = (255, 150, 40)


def step(t):
    """Unit step response of a second-order loop, zeta 0.35, wn 1."""
    zeta = 0.35
    wd = math.sqrt(1 - zeta * zeta)
    phi = math.acos(zeta)
    return 1 - math.exp(-zeta * t) / wd * math.sin(wd * t + phi)


# The curve in pixel space: t 0..14 over x 18..114; y 0..1.4 over 104..24.
X0, X1, Y0, Y1 = 18.0, 114.0, 100.0, 28.0
T_END = 14.0
Y_TOP = 1.45
CURVE_POINTS = [
    (X0 + (X1 - X0) * i / 400, Y0 + (Y1 - Y0) * step(T_END * i / 400) / Y_TOP)
    for i in range(401)
]
SETPOINT_Y = Y0 + (Y1 - Y0) * 1.0 / Y_TOP


def distance_to_segment(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    cx, cy = ax + t * dx, ay + t * dy
    return math.hypot(px - cx, py - cy)


def near_curve(x, y, width):
    for (ax, ay), (bx, by) in zip(CURVE_POINTS, CURVE_POINTS[1:]):
        if min(ax, bx) - width <= x <= max(ax, bx) + width:
            if distance_to_segment(x, y, ax, ay, bx, by) <= width:
                return True
    return False


def inside_rounded_square(x, y, margin=4.0, radius=22.0):
    lo, hi = margin, SIZE - margin
    cx = min(max(x, lo + radius), hi - radius)
    cy = min(max(y, lo + radius), hi - radius)
    return math.hypot(x - cx, y - cy) <= radius


def sample(x, y):
    """RGBA of one sub-sample."""
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    if near_curve(x, y, 3.2):
        return CURVE + (255,)
    # Axes and the dashed setpoint.
    on_axis = (abs(x - X0) <= 1.2 and Y1 - 4 <= y <= Y0 + 1.2) or (
        abs(y - Y0) <= 1.2 and X0 - 1.2 <= x <= X1 + 4
    )
    on_setpoint = abs(y - SETPOINT_Y) <= 1.0 and X0 <= x <= X1 and int((x - X0) / 6) % 2 == 0
    if on_axis or on_setpoint:
        return GRID + (255,)
    return BG + (255,)


def render():
    rows = []
    for py in range(SIZE):
        row = bytearray([0])  # filter: none
        for px in range(SIZE):
            acc = [0, 0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    r, g, b, a = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            alpha = acc[3]
            if alpha == 0:
                row += bytes(4)
            else:
                row += bytes([acc[0] // alpha, acc[1] // alpha, acc[2] // alpha, alpha // (SS * SS)])
        rows.append(bytes(row))
    return b"".join(rows)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def main():
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(render(), 9))
        + chunk(b"IEND", b"")
    )
    with open("assets/icon.png", "wb") as out:
        out.write(png)


if __name__ == "__main__":
    main()
