#!/usr/bin/env python3
"""Reference device for the motiontune native protocol v1, written from docs/PROTOCOL.md only.

Standard library only (Python 3.11). Creates a pseudo-terminal, prints the slave
path as the first line on stdout and serves the protocol on the master side until
killed (SIGTERM / SIGINT).

    python3 device.py              # serve
    python3 device.py --selftest   # check CRC/COBS/encoder against the vectors of section 6
    python3 device.py --hello-stops-stream   # HELLO also stops streaming (not in the document)
    PYDEV_LOG=1 python3 device.py  # log received host payloads to stderr (2: also sent ones)

Device: "python reference device", firmware "py-1", loop_hz 1000, watchdog_ms 500.
Channels: 0 reference [V] (role 1), 1 response [V] (role 2), 2 counter (role 0).
Parameters: 0 amplitude [V] (tuning gain, 0..10, 1), 1 tau [s] (0.001..1, 0.05),
2 serial (read-only, 0..1e6, 4242).
"""

import errno
import fcntl
import math
import os
import select
import signal
import struct
import sys
import termios
import time
import tty
from collections import deque

# ---------------------------------------------------------------- protocol constants

PROTOCOL_VERSION = 1

# host -> device
HELLO, GET, SET, ENABLE, STREAM, PING, SAVE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
# device -> host
DEVICE, CHANNEL, PARAM, VALUE, SAMPLES, STATUS, PONG, TEXT, ERROR = (
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x8F)

# minimum payload lengths of host messages (section 3.1), type byte included
HOST_MIN_LEN = {HELLO: 1, GET: 2, SET: 6, ENABLE: 2, STREAM: 3, PING: 5, SAVE: 1}

ERR_UNKNOWN_TYPE, ERR_BAD_LENGTH, ERR_BAD_INDEX, ERR_READ_ONLY, ERR_UNSUPPORTED = 1, 2, 3, 4, 5

ST_ENABLED, ST_FAULT, ST_WATCHDOG, ST_SATURATED = 0x01, 0x02, 0x04, 0x08

PF_READ_ONLY, PF_SETPOINT, PF_GAIN, PF_LOG = 0x01, 0x02, 0x04, 0x08
# kind, flag bits 4-5 (section 3, PARAM), and the mode bit 6
PF_KIND_MASK, PF_INTEGER, PF_SWITCH, PF_CHOICE, PF_MODE = 0x30, 0x10, 0x20, 0x30, 0x40

ROLE_OTHER, ROLE_REFERENCE, ROLE_FEEDBACK, ROLE_EFFORT = 0, 1, 2, 3

MAX_PAYLOAD = 250
LOG = int(os.environ.get("PYDEV_LOG") or 0)  # 1: log received host payloads to stderr, 2: also sent ones
MAX_ENCODED = 253  # encoded frame without the delimiter

# ---------------------------------------------------------------- CRC-16/IBM-3740


def _make_crc_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if (crc & 0x8000) else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _make_crc_table()


def crc16(data):
    """CRC-16/IBM-3740 (CCITT-FALSE): poly 0x1021, init 0xFFFF, no reflection, xorout 0."""
    crc = 0xFFFF
    tbl = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ tbl[(crc >> 8) ^ b]
    return crc


# ---------------------------------------------------------------- COBS


def cobs_encode(data):
    """COBS-encode bytes (no delimiter appended)."""
    out = bytearray(b"\x00")
    code_at = 0
    code = 1
    n = len(data)
    for i, b in enumerate(data):
        if b != 0:
            out.append(b)
            code += 1
        if b == 0 or (code == 0xFF and i + 1 < n):
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    """COBS-decode one frame (bytes before the delimiter). Returns bytes, or None if malformed."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        i += 1
        if code == 0 or i + code - 1 > n:
            return None
        out += data[i:i + code - 1]
        i += code - 1
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(payload):
    """payload -> wire bytes: COBS(payload || crc_lo || crc_hi) || 0x00."""
    if not 1 <= len(payload) <= MAX_PAYLOAD:
        raise ValueError("payload length %d out of 1..=250" % len(payload))
    crc = crc16(payload)
    return cobs_encode(bytes(payload) + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


class FrameReceiver:
    """Byte-by-byte frame parser (section 2.4). Calls on_payload(bytes) for every good frame."""

    def __init__(self, on_payload):
        self.on_payload = on_payload
        self.buf = bytearray()
        self.overflow = False
        self.errors = 0

    def feed_byte(self, b):
        if b != 0:
            if len(self.buf) < MAX_ENCODED:
                self.buf.append(b)
            else:
                self.overflow = True  # oversize: drop at the next 0x00
            return
        raw, overflow = bytes(self.buf), self.overflow
        self.buf.clear()
        self.overflow = False
        if overflow or not raw:
            self.errors += 1
            return
        body = cobs_decode(raw)
        if body is None or len(body) < 3 or len(body) > MAX_PAYLOAD + 2:
            self.errors += 1
            return
        payload = body[:-2]
        if crc16(payload) != (body[-2] | (body[-1] << 8)):
            self.errors += 1
            return
        self.on_payload(payload)

    def feed(self, data):
        for b in data:
            self.feed_byte(b)


# ---------------------------------------------------------------- message builders


def f32(x):
    """Round a Python float to the nearest binary32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def pstr(s):
    b = s.encode("utf-8")
    if len(b) > 255:
        raise ValueError("string too long")
    return bytes((len(b),)) + b


def msg_device(channel_count, param_count, loop_hz, watchdog_ms, name, firmware):
    return (struct.pack("<BBBBIH", DEVICE, PROTOCOL_VERSION, channel_count, param_count,
                        loop_hz, watchdog_ms) + pstr(name) + pstr(firmware))


def msg_channel(index, role, name, unit):
    return struct.pack("<BBB", CHANNEL, index, role) + pstr(name) + pstr(unit)


def msg_param(index, flags, vmin, vmax, value, name, unit, choices=()):
    payload = (struct.pack("<BBBfff", PARAM, index, flags, vmin, vmax, value)
               + pstr(name) + pstr(unit))
    if choices:  # only a choice carries its names, after the unit
        payload += bytes((len(choices),)) + b"".join(pstr(c) for c in choices)
    return payload


def msg_value(index, value):
    return struct.pack("<BBf", VALUE, index, value)


def msg_status(flags, tick):
    return struct.pack("<BBI", STATUS, flags, tick & 0xFFFFFFFF)


def msg_pong(token):
    return struct.pack("<BI", PONG, token)


def msg_text(level, text):
    b = text.encode("utf-8")[:247]
    return bytes((TEXT, level, len(b))) + b


def msg_error(request_type, code):
    return bytes((ERROR, request_type, code))


def msg_samples(tick, stride, flat_values, channel_count):
    count = len(flat_values) // channel_count
    return (struct.pack("<BIHB", SAMPLES, tick & 0xFFFFFFFF, stride, count)
            + struct.pack("<%df" % len(flat_values), *flat_values))


# ---------------------------------------------------------------- the device


class Param:
    def __init__(self, name, unit, flags, vmin, vmax, value, choices=()):
        self.name, self.unit, self.flags = name, unit, flags
        self.min, self.max, self.value = f32(vmin), f32(vmax), f32(value)
        self.choices = tuple(choices)

    def whole(self):
        return self.flags & PF_KIND_MASK != 0


class Device:
    NAME = "python reference device"
    FIRMWARE = "py-1"
    LOOP_HZ = 1000
    WATCHDOG_MS = 500
    FLUSH_AGE_TICKS = 10  # flush a partial SAMPLES frame once its oldest sample is ~10 ms old

    CHANNELS = [  # (name, unit, role)
        ("reference", "V", ROLE_REFERENCE),
        ("response", "V", ROLE_FEEDBACK),
        ("counter", "", ROLE_OTHER),
    ]

    def __init__(self, send, hello_stops_stream=False):
        self.send_payload = send
        self.hello_stops_stream = hello_stops_stream
        self.params = [
            Param("amplitude", "V", PF_GAIN, 0.0, 10.0, 1.0),
            Param("tau", "s", 0, 0.001, 1.0, 0.05),
            Param("serial", "", PF_READ_ONLY, 0.0, 1e6, 4242.0),
            # the reference's shape and period: a named choice that is a mode, an integer
            Param("waveform", "", PF_CHOICE | PF_MODE, 0.0, 2.0, 0.0, ("square", "sine", "triangle")),
            Param("period", "ticks", PF_INTEGER, 100.0, 10000.0, 2000.0),
        ]
        self.C = len(self.CHANNELS)
        self.max_per_frame = (MAX_PAYLOAD - 8) // (4 * self.C)  # 20 for 3 channels
        # state
        self.tick = 0               # tick of the next control-loop iteration
        self.enabled = False        # start state: output disabled
        self.wd_tripped = False
        self.divider = 0            # start state: streaming off
        self.next_sample_tick = 0
        self.batch = []             # flat list of f32 values
        self.batch_tick = 0         # tick of first sample in batch
        self.response = 0.0
        self.last_feed = time.monotonic()
        self.rx_errors = 0

    # -- outgoing
    def send(self, payload):
        self.send_payload(payload)

    def status_flags(self):
        f = 0
        if self.enabled:
            f |= ST_ENABLED
        if self.wd_tripped:
            f |= ST_WATCHDOG
        return f

    def current_tick(self):
        # the last completed control-loop tick
        return (self.tick - 1) & 0xFFFFFFFF

    def send_status(self):
        self.send(msg_status(self.status_flags(), self.current_tick()))

    # -- incoming
    def on_payload(self, p):
        self.last_feed = time.monotonic()  # every valid host frame feeds the watchdog
        if LOG:
            print("%.3f rx %s" % (self.last_feed, p.hex(" ")), file=sys.stderr, flush=True)
        t = p[0]
        need = HOST_MIN_LEN.get(t)
        if need is None:
            self.send(msg_error(t, ERR_UNKNOWN_TYPE))
            return
        if len(p) < need:
            self.send(msg_error(t, ERR_BAD_LENGTH))
            return
        if t == HELLO:
            if self.hello_stops_stream and self.divider:
                # not in the document: treat HELLO as "a new host session" and go back to the
                # start state of section 4.3 (streaming off), flushing the partial batch first
                self.flush_samples()
                self.divider = 0
            self.send(msg_device(self.C, len(self.params), self.LOOP_HZ, self.WATCHDOG_MS,
                                 self.NAME, self.FIRMWARE))
            for i, (name, unit, role) in enumerate(self.CHANNELS):
                self.send(msg_channel(i, role, name, unit))
            for i, pa in enumerate(self.params):
                self.send(msg_param(i, pa.flags, pa.min, pa.max, pa.value, pa.name, pa.unit,
                                    pa.choices))
        elif t == GET:
            idx = p[1]
            if idx >= len(self.params):
                self.send(msg_error(t, ERR_BAD_INDEX))
            else:
                self.send(msg_value(idx, self.params[idx].value))
        elif t == SET:
            idx = p[1]
            (v,) = struct.unpack_from("<f", p, 2)
            if idx >= len(self.params):
                self.send(msg_error(t, ERR_BAD_INDEX))
                return
            pa = self.params[idx]
            if pa.flags & PF_READ_ONLY:
                self.send(msg_error(t, ERR_READ_ONLY))
                return
            if not math.isnan(v):  # NaN cannot be applied: keep the old value (section 4.2)
                v = min(max(v, pa.min), pa.max)
                if pa.whole():  # whole kinds hold whole values (section 3, PARAM)
                    v = float(math.floor(v + 0.5))
                pa.value = f32(v)
            self.send(msg_value(idx, pa.value))
        elif t == ENABLE:
            if p[1] == 1:
                self.enabled = True
                self.wd_tripped = False  # recommendation of section 4.4
            else:
                # 0 disables at once; any other value is not "1 = enable", so also disable
                self.enabled = False
            self.send_status()
        elif t == STREAM:
            (n,) = struct.unpack_from("<H", p, 1)
            if n != self.divider:
                self.flush_samples()
                self.divider = n
                self.next_sample_tick = self.tick  # first streamed sample: next loop tick
            self.send_status()
        elif t == PING:
            (token,) = struct.unpack_from("<I", p, 1)
            self.send(msg_pong(token))
        elif t == SAVE:
            self.send(msg_error(t, ERR_UNSUPPORTED))

    # -- streaming
    def flush_samples(self):
        if self.batch:
            self.send(msg_samples(self.batch_tick, self.divider, self.batch, self.C))
            self.batch = []

    # -- control loop
    def run_ticks(self, due):
        """Advance the simulation until self.tick == due."""
        amp_p, tau_p = self.params[0], self.params[1]
        shape, period = int(self.params[3].value), int(self.params[4].value)
        dt = 1.0 / self.LOOP_HZ
        C = self.C
        while self.tick < due:
            k = self.tick
            # by default a square wave sign(sin(2*pi*t/period)), 0 at the crossings; period
            # 2000 ticks (0.5 Hz) unless changed
            ph = k % period
            half = period / 2.0
            if shape == 1:
                wave = math.sin(2.0 * math.pi * ph / period)
            elif shape == 2:
                wave = (2.0 / math.pi) * math.asin(math.sin(2.0 * math.pi * ph / period))
            else:
                wave = 0.0 if ph == 0 or ph == half else (1.0 if ph < half else -1.0)
            ref = amp_p.value * wave if self.enabled else 0.0
            alpha = 1.0 - math.exp(-dt / tau_p.value)
            self.response += (ref - self.response) * alpha
            if self.divider and k == self.next_sample_tick:
                if not self.batch:
                    self.batch_tick = k
                self.batch += (ref, self.response, float(k & 0xFFFFFFFF))
                self.next_sample_tick = k + self.divider
                if len(self.batch) >= self.max_per_frame * C:
                    self.flush_samples()
            self.tick = k + 1
        # latency flush: oldest sample about 10 ms old
        if self.batch and self.tick - 1 - self.batch_tick >= self.FLUSH_AGE_TICKS:
            self.flush_samples()

    def check_watchdog(self, now):
        if (self.WATCHDOG_MS and self.enabled
                and (now - self.last_feed) * 1000.0 > self.WATCHDOG_MS):
            self.enabled = False
            self.wd_tripped = True
            self.send_status()


# ---------------------------------------------------------------- pty server


class Server:
    MAX_QUEUED = 16384  # bytes of unsent frames kept while nobody reads the port

    def __init__(self, hello_stops_stream=False):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # cfmakeraw: no echo, no translation, 8-bit clean
        attrs = termios.tcgetattr(self.slave)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        fl = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self.out = deque()       # whole wire frames waiting to be written
        self.out_head_off = 0    # bytes of out[0] already written
        self.out_bytes = 0
        self.dropped_frames = 0
        self.device = Device(self.queue_payload, hello_stops_stream)
        self.rx = FrameReceiver(self.device.on_payload)
        self.running = True

    def queue_payload(self, payload):
        if LOG > 1:
            print("%.3f tx %s" % (time.monotonic(), payload[:8].hex(" ")), file=sys.stderr, flush=True)
        frame = encode_frame(payload)
        # bound the queue: if nobody reads the port, drop whole frames (never a partial one)
        while self.out_bytes + len(frame) > self.MAX_QUEUED and len(self.out) > 1:
            old = self.out[1] if self.out_head_off else self.out[0]
            if self.out_head_off:
                del self.out[1]
            else:
                self.out.popleft()
            self.out_bytes -= len(old)
            self.dropped_frames += 1
        self.out.append(frame)
        self.out_bytes += len(frame)
        self.try_write()

    def try_write(self):
        while self.out:
            head = self.out[0]
            try:
                n = os.write(self.master, head[self.out_head_off:] if self.out_head_off else head)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EIO):
                    return
                raise
            self.out_head_off += n
            if self.out_head_off >= len(head):
                self.out.popleft()
                self.out_bytes -= len(head)
                self.out_head_off = 0

    def stop(self, *_):
        self.running = False

    def serve(self):
        dev = self.device
        start = time.monotonic()
        period = 1.0 / dev.LOOP_HZ
        while self.running:
            now = time.monotonic()
            due = int((now - start) * dev.LOOP_HZ)
            # time left until the next tick is due, but wake at least every 2 ms
            timeout = max(0.0, min(0.002, start + (due + 1) * period - now))
            wlist = [self.master] if self.out else []
            try:
                r, w, _ = select.select([self.master], wlist, [], timeout)
            except InterruptedError:
                continue
            if r:
                try:
                    data = os.read(self.master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError as e:
                    if e.errno == errno.EIO:  # no slave side (should not happen: we hold it)
                        time.sleep(0.01)
                        data = b""
                    else:
                        raise
                if data:
                    self.rx.feed(data)
            now = time.monotonic()
            dev.check_watchdog(now)
            dev.run_ticks(int((now - start) * dev.LOOP_HZ))
            if self.out:
                self.try_write()


def main():
    if "--selftest" in sys.argv[1:]:
        sys.exit(selftest())
    srv = Server(hello_stops_stream="--hello-stops-stream" in sys.argv[1:])
    signal.signal(signal.SIGTERM, srv.stop)
    signal.signal(signal.SIGINT, srv.stop)
    print(os.ttyname(srv.slave), flush=True)
    srv.serve()


# ---------------------------------------------------------------- self test (section 6 vectors)


def selftest():
    def h(s):
        return bytes.fromhex(s)

    ok = True

    def check(what, got, want):
        nonlocal ok
        if got != want:
            ok = False
            print("FAIL %s\n  got  %s\n  want %s" % (what, got.hex(" ") if isinstance(got, bytes) else got,
                                                     want.hex(" ") if isinstance(want, bytes) else want))
        else:
            print("ok   %s" % what)

    check("crc 123456789", crc16(b"123456789"), 0x29B1)
    check("cobs 11 22 00 33", cobs_encode(h("11 22 00 33")), h("03 11 22 02 33"))
    check("hello", encode_frame(h("01")), h("04 01 D1 F1 00"))
    s = msg_samples(1000, 1, [1.0, 0.25, 1.0, 0.5], 2)
    check("samples payload", s, h("85 E8 03 00 00 01 00 02 00 00 80 3F 00 00 80 3E 00 00 80 3F 00 00 00 3F"))
    check("samples wire", encode_frame(s), h(
        "04 85 E8 03 01 02 01 02 02 01 03 80 3F 01 03 80 3E 01 03 80 3F 01 01 04 3F 48 F1 00"))
    check("set 2.5", encode_frame(struct.pack("<BBf", SET, 0, 2.5)), h("02 03 01 01 05 20 40 D2 8E 00"))
    check("value 2.5", encode_frame(msg_value(0, 2.5)), h("02 84 01 01 05 20 40 B3 92 00"))
    check("set 500", encode_frame(struct.pack("<BBf", SET, 0, 500.0)), h("02 03 01 01 05 FA 43 5D 44 00"))
    check("value 100", encode_frame(msg_value(0, 100.0)), h("02 84 01 01 05 C8 42 EA 2B 00"))
    check("set ro", encode_frame(struct.pack("<BBf", SET, 7, 1.0)), h("03 03 07 01 03 80 3F 02 7B 00"))
    check("error ro", encode_frame(msg_error(SET, 4)), h("06 8F 03 04 20 CE 00"))
    check("device", encode_frame(msg_device(2, 8, 10000, 500, "demo drive", "1.0.0")), h(
        "07 81 01 02 08 10 27 01 16 F4 01 0A 64 65 6D 6F 20 64 72 69 76 65 05 31 2E 30 2E 30 E0 B5 00"))
    check("channel", encode_frame(msg_channel(0, 1, "setpoint", "rad")), h(
        "02 82 11 01 08 73 65 74 70 6F 69 6E 74 03 72 61 64 D2 D3 00"))
    check("param 0", encode_frame(msg_param(0, 0x04, 0.0, 100.0, 2.0, "pos.kp", "")), h(
        "02 83 02 04 01 01 01 01 01 03 C8 42 01 01 09 40 06 70 6F 73 2E 6B 70 03 36 1E 00"))
    check("choice 6.7", encode_frame(msg_param(6, 0x70, 0.0, 2.0, 1.0, "mode", "",
                                               ("off", "position", "velocity"))), h(
        "04 83 06 70 01 01 01 01 01 01 02 40 01 08 80 3F 04 6D 6F 64 65 1A 03 03 6F 66 66 08 70 6F"
        " 73 69 74 69 6F 6E 08 76 65 6C 6F 63 69 74 79 2D 27 00"))
    check("param 7", encode_frame(msg_param(7, 0x01, 0.0, 60.0, 24.0, "bus.voltage", "V")), h(
        "04 83 07 01 01 01 01 01 01 03 70 42 01 13 C0 41 0B 62 75 73 2E 76 6F 6C 74 61 67 65 01 56 9F F6 00"))

    # COBS round trips, including 254-byte runs and the 252-byte maximum body
    import random
    rnd = random.Random(1)
    rt_ok = True
    for n in list(range(0, 300)) + [252] * 50:
        for zero_p in (0.0, 0.01, 0.5):
            d = bytes(0 if rnd.random() < zero_p else rnd.randint(1, 255) for _ in range(n))
            e = cobs_encode(d)
            if 0 in e or cobs_decode(e) != d or (n <= 254 and len(e) != n + 1):
                rt_ok = False
    check("cobs round trips", rt_ok, True)

    # receiver: garbage, empty frames, bad crc, then a good frame
    got = []
    rx = FrameReceiver(got.append)
    rx.feed(b"\x00\x00garbage\x00" + h("04 01 D1 F2 00") + b"\xff" * 300 + b"\x00" + h("04 01 D1 F1 00"))
    check("receiver", (got, rx.errors), ([b"\x01"], 5))

    # device message handling
    out = []
    dev = Device(out.append)
    dev.on_payload(h("01"))
    check("hello answer count", len(out), 1 + 3 + 5)
    check("choice param", out[-2], msg_param(3, 0x70, 0.0, 2.0, 0.0, "waveform", "",
                                             ("square", "sine", "triangle")))
    out.clear()
    dev.on_payload(struct.pack("<BBf", SET, 0, 20.0))
    check("set clamp", out.pop(), msg_value(0, 10.0))
    dev.on_payload(struct.pack("<BBf", SET, 2, 1.0))
    check("set read-only", out.pop(), msg_error(SET, 4))
    dev.on_payload(struct.pack("<BBf", SET, 5, 1.0))
    check("set bad index", out.pop(), msg_error(SET, 3))
    dev.on_payload(struct.pack("<BBf", SET, 4, 1234.6))
    check("set integer rounds", out.pop(), msg_value(4, 1235.0))
    dev.on_payload(struct.pack("<BBf", SET, 1, float("nan")))
    check("set nan keeps", out.pop(), msg_value(1, f32(0.05)))
    dev.on_payload(h("02 09"))
    check("get bad index", out.pop(), msg_error(GET, 3))
    dev.on_payload(h("03 00 00"))
    check("short set", out.pop(), msg_error(SET, 2))
    dev.on_payload(h("42"))
    check("unknown", out.pop(), msg_error(0x42, 1))
    dev.on_payload(h("07"))
    check("save", out.pop(), msg_error(SAVE, 5))
    dev.on_payload(h("06 01 02 03 04 ff"))
    check("ping", out.pop(), msg_pong(0x04030201))
    return 0 if ok else 1


if __name__ == "__main__":
    main()
