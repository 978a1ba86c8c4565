/*
 * motiontune_device.c: framing (COBS + CRC-16/IBM-3740), the byte-at-a-time
 * frame parser, the host message handlers, the SAMPLES batcher and the
 * watchdog of the motiontune native protocol v1 (docs/PROTOCOL.md). How to
 * use it: motiontune_device.h.
 *
 * Where the document leaves a choice open, this file does what motiontune's
 * simulated drive (src/sim/device.rs) does, and says so.
 */
#include "motiontune_device.h"

#include <string.h>

#define PROTOCOL_VERSION 1

/* Message types (PROTOCOL.md section 3.1). */
enum {
    MSG_HELLO = 0x01,
    MSG_GET = 0x02,
    MSG_SET = 0x03,
    MSG_ENABLE = 0x04,
    MSG_STREAM = 0x05,
    MSG_PING = 0x06,
    MSG_SAVE = 0x07,
    MSG_DEVICE = 0x81,
    MSG_CHANNEL = 0x82,
    MSG_PARAM = 0x83,
    MSG_VALUE = 0x84,
    MSG_SAMPLES = 0x85,
    MSG_STATUS = 0x86,
    MSG_PONG = 0x87,
    MSG_ERROR = 0x8F
};

/* ERROR codes. */
enum { UNKNOWN_TYPE = 1, BAD_LENGTH = 2, BAD_INDEX = 3, READ_ONLY = 4, UNSUPPORTED = 5 };

#define STATUS_ENABLED 0x01
#define STATUS_WATCHDOG 0x04

/* SAMPLES header: type, tick (u32), stride (u16), count (u8). */
#define SAMPLES_HEADER 8
#define SAMPLES_COUNT_AT 7

/* Shortest valid payload of each host message, type byte included. */
static const uint8_t min_length[MSG_SAVE + 1] = {0, 1, 2, 6, 2, 3, 5, 1};

/* One sample of every channel must fit in a SAMPLES frame. */
typedef char mt_channels_fit_a_frame[(MT_MAX_CHANNELS <= (MT_MAX_PAYLOAD - SAMPLES_HEADER) / 4) ? 1 : -1];

/* ---- framing ---------------------------------------------------------- */

/* CRC-16/IBM-3740: poly 0x1021, init 0xFFFF, not reflected, no final XOR. */
static uint16_t crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned)data[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((unsigned)crc << 1 ^ 0x1021) : (uint16_t)((unsigned)crc << 1);
    }
    return crc;
}

/* Sends the payload at frame[1 .. payload_len]: appends its CRC (low byte
 * first), COBS-encodes in place, adds the delimiter. Encoding in place works
 * because a block of at most 254 bytes never needs a code 255 group: every
 * code byte lands on frame[0] or on the zero it replaces, and every data
 * byte stays where it is. */
static void send_frame(mt_device *dev, uint8_t *frame, size_t payload_len)
{
    uint16_t crc = crc16(frame + 1, payload_len);
    size_t end = 1 + payload_len;
    frame[end++] = (uint8_t)(crc & 0xFF);
    frame[end++] = (uint8_t)(crc >> 8);
    size_t code_at = 0;
    for (size_t i = 1; i < end; i++) {
        if (frame[i] == 0) {
            frame[code_at] = (uint8_t)(i - code_at);
            code_at = i;
        }
    }
    frame[code_at] = (uint8_t)(end - code_at);
    frame[end++] = 0;
    dev->config.write(dev->config.context, frame, end);
}

/* COBS-decodes buf[0 .. len) in place (the output never overtakes the
 * input). Returns the decoded length, or 0 when a group runs past the end. */
static size_t cobs_decode_in_place(uint8_t *buf, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        uint8_t code = buf[in++];
        if (in + code - 1 > len)
            return 0;
        for (uint8_t k = 1; k < code; k++)
            buf[out++] = buf[in++];
        if (code != 0xFF && in < len)
            buf[out++] = 0;
    }
    return out;
}

/* ---- little-endian fields --------------------------------------------- */

/* An outgoing payload being built at frame[1 ..]; frame[0] is kept for the
 * first COBS code byte. */
typedef struct {
    uint8_t *frame;
    size_t len;
} message;

static void put_u8(message *m, uint8_t v)
{
    m->frame[1 + m->len++] = v;
}

static void put_u16(message *m, uint16_t v)
{
    put_u8(m, (uint8_t)(v & 0xFF));
    put_u8(m, (uint8_t)(v >> 8));
}

static void put_u32(message *m, uint32_t v)
{
    put_u16(m, (uint16_t)(v & 0xFFFF));
    put_u16(m, (uint16_t)(v >> 16));
}

/* f32 on the wire is the IEEE-754 bit pattern, little-endian whatever the
 * MCU's byte order. */
static void put_f32(message *m, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u32(m, bits);
}

/* Lengths were checked when the string was registered. */
static void put_str(message *m, const char *s)
{
    size_t n = strlen(s);
    put_u8(m, (uint8_t)n);
    memcpy(&m->frame[1 + m->len], s, n);
    m->len += n;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32(const uint8_t *p)
{
    uint32_t bits = get_u32(p);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* ---- device messages -------------------------------------------------- */

static message begin(uint8_t *frame, uint8_t type)
{
    message m = {frame, 0};
    put_u8(&m, type);
    return m;
}

static void finish(mt_device *dev, const message *m)
{
    send_frame(dev, m->frame, m->len);
}

/* STATUS carries the number of the tick the loop is on, as the simulated
 * drive does (the document does not say whether that is the last tick run
 * or the next one). */
static void send_status(mt_device *dev)
{
    message m = begin(dev->tx, MSG_STATUS);
    put_u8(&m, (uint8_t)((dev->enabled ? STATUS_ENABLED : 0) | (dev->watchdog_tripped ? STATUS_WATCHDOG : 0)));
    put_u32(&m, dev->tick);
    finish(dev, &m);
}

static void send_value(mt_device *dev, uint8_t index)
{
    message m = begin(dev->tx, MSG_VALUE);
    put_u8(&m, index);
    put_f32(&m, *dev->params[index].value);
    finish(dev, &m);
}

static void refuse(mt_device *dev, uint8_t request, uint8_t code)
{
    message m = begin(dev->tx, MSG_ERROR);
    put_u8(&m, request);
    put_u8(&m, code);
    finish(dev, &m);
}

/* The answer to HELLO: DEVICE, every CHANNEL, every PARAM, in index order,
 * each built in the receive buffer (see mt_device). */
static void describe(mt_device *dev)
{
    message m = begin(dev->rx, MSG_DEVICE);
    put_u8(&m, PROTOCOL_VERSION);
    put_u8(&m, dev->channel_count);
    put_u8(&m, dev->param_count);
    put_u32(&m, dev->config.loop_hz);
    put_u16(&m, dev->config.watchdog_ms);
    put_str(&m, dev->config.name);
    put_str(&m, dev->config.firmware);
    finish(dev, &m);
    for (uint8_t i = 0; i < dev->channel_count; i++) {
        const mt_channel *channel = &dev->channels[i];
        m = begin(dev->rx, MSG_CHANNEL);
        put_u8(&m, i);
        put_u8(&m, channel->role);
        put_str(&m, channel->name);
        put_str(&m, channel->unit);
        finish(dev, &m);
    }
    for (uint8_t i = 0; i < dev->param_count; i++) {
        const mt_param *param = &dev->params[i];
        m = begin(dev->rx, MSG_PARAM);
        put_u8(&m, i);
        put_u8(&m, param->flags);
        put_f32(&m, param->min);
        put_f32(&m, param->max);
        put_f32(&m, *param->value);
        put_str(&m, param->name);
        put_str(&m, param->unit);
        if (param->choice_count > 0) {
            put_u8(&m, param->choice_count);
            for (uint8_t c = 0; c < param->choice_count; c++)
                put_str(&m, param->choices[c]);
        }
        finish(dev, &m);
    }
}

/* ---- streaming -------------------------------------------------------- */

static void flush_batch(mt_device *dev)
{
    if (dev->batch_count == 0)
        return;
    dev->batch[1 + SAMPLES_COUNT_AT] = dev->batch_count;
    send_frame(dev, dev->batch, SAMPLES_HEADER + 4u * dev->channel_count * dev->batch_count);
    dev->batch_count = 0;
    dev->batch_age_ticks = 0;
}

static void add_sample(mt_device *dev)
{
    message m = {dev->batch, SAMPLES_HEADER + 4u * dev->channel_count * dev->batch_count};
    if (dev->batch_count == 0) {
        m.len = 0;
        put_u8(&m, MSG_SAMPLES);
        put_u32(&m, dev->tick);
        put_u16(&m, dev->divider);
        put_u8(&m, 0); /* count, set when the frame is sent */
    }
    for (uint8_t i = 0; i < dev->channel_count; i++)
        put_f32(&m, *dev->channels[i].value);
    dev->batch_count++;
}

/* ---- host messages ---------------------------------------------------- */

static void switch_output(mt_device *dev, bool enabled)
{
    dev->config.set_output(dev->config.context, enabled);
    dev->enabled = enabled;
}

static void set_param(mt_device *dev, uint8_t index, float value)
{
    if (index >= dev->param_count) {
        refuse(dev, MSG_SET, BAD_INDEX);
        return;
    }
    const mt_param *param = &dev->params[index];
    if (param->flags & MT_PARAM_READ_ONLY) {
        refuse(dev, MSG_SET, READ_ONLY);
        return;
    }
    /* A NaN (the only value unequal to itself) cannot be applied: keep the
     * value in force and report it, as the document recommends. */
    if (value == value) {
        value = value < param->min ? param->min : value > param->max ? param->max : value;
        if (param->flags & MT_PARAM_KIND_MASK) /* whole kinds hold whole values */
            value = (float)(long)(value < 0.0f ? value - 0.5f : value + 0.5f);
        *param->value = value;
    }
    send_value(dev, index);
}

static void handle(mt_device *dev, const uint8_t *payload, size_t len)
{
    uint8_t type = payload[0];
    dev->ticks_since_host = 0; /* every valid frame feeds the watchdog */
    if (type < MSG_HELLO || type > MSG_SAVE) {
        refuse(dev, type, UNKNOWN_TYPE);
        return;
    }
    if (len < min_length[type]) {
        refuse(dev, type, BAD_LENGTH);
        return;
    }
    switch (type) {
    case MSG_HELLO:
        describe(dev);
        break;
    case MSG_GET:
        if (payload[1] < dev->param_count)
            send_value(dev, payload[1]);
        else
            refuse(dev, type, BAD_INDEX);
        break;
    case MSG_SET:
        set_param(dev, payload[1], get_f32(payload + 2));
        break;
    case MSG_ENABLE:
        /* Only 1 enables: an undefined byte must never turn a motor on. The
         * watchdog flag clears on ENABLE 1, as in the simulated drive (v1
         * leaves that open). */
        if (payload[1] == 1)
            dev->watchdog_tripped = false;
        switch_output(dev, payload[1] == 1);
        send_status(dev);
        break;
    case MSG_STREAM:
        /* Send what was sampled with the old stride, then sample from the
         * next tick on. Like the simulated drive, an unchanged divider also
         * restarts the stream. */
        flush_batch(dev);
        dev->divider = get_u16(payload + 1);
        dev->ticks_to_next_sample = 0;
        send_status(dev);
        break;
    case MSG_PING: {
        message m = begin(dev->tx, MSG_PONG);
        put_u32(&m, get_u32(payload + 1));
        finish(dev, &m);
        break;
    }
    case MSG_SAVE:
        /* v1 has no code for a failed save; "unsupported" is the closest. */
        if (dev->config.save != NULL && dev->config.save(dev->config.context))
            send_status(dev);
        else
            refuse(dev, type, UNSUPPORTED);
        break;
    }
}

/* ---- public functions ------------------------------------------------- */

bool mt_init(mt_device *dev, const mt_config *config)
{
    memset(dev, 0, sizeof *dev);
    if (config->loop_hz == 0 || config->write == NULL || config->set_output == NULL ||
        config->name == NULL || config->firmware == NULL ||
        strlen(config->name) + strlen(config->firmware) > MT_MAX_PAYLOAD - 12)
        return false;
    dev->config = *config;
    dev->watchdog_ticks = (uint32_t)((uint64_t)config->watchdog_ms * config->loop_hz / 1000);
    if (config->watchdog_ms > 0 && dev->watchdog_ticks == 0)
        dev->watchdog_ticks = 1;
    /* Flush a partial SAMPLES frame once its oldest sample is 10 ms old. */
    uint32_t flush_age = config->loop_hz / 100;
    dev->flush_age_ticks = (uint16_t)(flush_age == 0 ? 1 : flush_age > UINT16_MAX ? UINT16_MAX : flush_age);
    return true;
}

bool mt_add_channel(mt_device *dev, const char *name, const char *unit, uint8_t role,
                    const float *value)
{
    if (dev->channel_count == MT_MAX_CHANNELS || value == NULL ||
        strlen(name) + strlen(unit) > MT_MAX_PAYLOAD - 5)
        return false;
    mt_channel *channel = &dev->channels[dev->channel_count++];
    channel->name = name;
    channel->unit = unit;
    channel->role = role;
    channel->value = value;
    dev->samples_per_frame = (uint8_t)((MT_MAX_PAYLOAD - SAMPLES_HEADER) / (4u * dev->channel_count));
    return true;
}

bool mt_add_param(mt_device *dev, const char *name, const char *unit, uint8_t flags, float min,
                  float max, float *value)
{
    if (dev->param_count == MT_MAX_PARAMS || value == NULL || !(min <= max) ||
        strlen(name) + strlen(unit) > MT_MAX_PAYLOAD - 17)
        return false;
    mt_param *param = &dev->params[dev->param_count++];
    param->name = name;
    param->unit = unit;
    param->flags = flags;
    param->min = min;
    param->max = max;
    param->value = value;
    param->choices = NULL;
    param->choice_count = 0;
    return true;
}

bool mt_set_choices(mt_device *dev, uint8_t index, const char *const *names, uint8_t count)
{
    if (index >= dev->param_count || names == NULL)
        return false;
    mt_param *param = &dev->params[index];
    if ((param->flags & MT_PARAM_KIND_MASK) != MT_PARAM_CHOICE || count > param->max - param->min + 1.0f)
        return false;
    /* PARAM: 15 fixed bytes, name and unit with their lengths, the count. */
    size_t len = 15 + 2 + strlen(param->name) + strlen(param->unit) + 1;
    for (uint8_t c = 0; c < count; c++)
        len += 1 + strlen(names[c]);
    if (len > MT_MAX_PAYLOAD)
        return false;
    param->choices = names;
    param->choice_count = count;
    return true;
}

void mt_tick(mt_device *dev)
{
    if (dev->divider > 0 && dev->channel_count > 0) {
        if (dev->ticks_to_next_sample == 0) {
            add_sample(dev);
            dev->ticks_to_next_sample = dev->divider;
        }
        dev->ticks_to_next_sample--;
        if (dev->batch_count > 0) {
            dev->batch_age_ticks++;
            if (dev->batch_count == dev->samples_per_frame || dev->batch_age_ticks >= dev->flush_age_ticks)
                flush_batch(dev);
        }
    }
    if (dev->ticks_since_host < UINT32_MAX)
        dev->ticks_since_host++;
    if (dev->watchdog_ticks > 0 && dev->enabled && dev->ticks_since_host >= dev->watchdog_ticks) {
        switch_output(dev, false);
        dev->watchdog_tripped = true;
        send_status(dev);
    }
    dev->tick++;
}

void mt_skip_ticks(mt_device *dev, uint32_t ticks)
{
    /* The next frame starts after the gap, where the host will see it. */
    flush_batch(dev);
    dev->tick += ticks;
    dev->ticks_since_host = ticks < UINT32_MAX - dev->ticks_since_host ? dev->ticks_since_host + ticks : UINT32_MAX;
    /* Stay on the divider's grid, as if the skipped ticks had run. */
    if (dev->divider > 0)
        dev->ticks_to_next_sample =
            (uint16_t)(((uint32_t)dev->ticks_to_next_sample + dev->divider - ticks % dev->divider) % dev->divider);
}

void mt_receive(mt_device *dev, const uint8_t *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] != 0) {
            if (dev->rx_len < MT_MAX_ENCODED)
                dev->rx[dev->rx_len++] = bytes[i];
            else
                dev->rx_overflow = true; /* dropped at the next delimiter */
            continue;
        }
        size_t n = dev->rx_overflow ? 0 : cobs_decode_in_place(dev->rx, dev->rx_len);
        dev->rx_len = 0;
        dev->rx_overflow = false;
        /* Empty, oversize, badly stuffed, no room for a payload, bad CRC:
         * drop it and carry on with the next byte. */
        if (n < 3 || crc16(dev->rx, n - 2) != get_u16(dev->rx + n - 2)) {
            dev->frame_errors++;
            continue;
        }
        handle(dev, dev->rx, n - 2);
    }
}

void mt_param_changed(mt_device *dev, uint8_t index)
{
    if (index < dev->param_count)
        send_value(dev, index);
}

uint32_t mt_frame_errors(const mt_device *dev)
{
    return dev->frame_errors;
}

bool mt_add_relay(mt_device *dev, mt_relay *relay, const char *output_unit,
                  const char *feedback_unit, float max_amplitude, float amplitude, float travel)
{
    if (dev->param_count + 5 > MT_MAX_PARAMS)
        return false;
    relay->active = 0.0f;
    relay->amplitude = amplitude;
    relay->hysteresis = 0.0f;
    relay->travel = travel;
    relay->bias = 0.0f;
    relay->start = 0.0f;
    relay->side = 0.0f;
    relay->active_index = dev->param_count;
    bool ok = mt_add_param(dev, "relay.active", "", MT_PARAM_SWITCH | MT_PARAM_MODE, 0.0f, 1.0f,
                           &relay->active);
    ok = ok && mt_add_param(dev, "relay.amplitude", output_unit, 0, 0.0f, max_amplitude, &relay->amplitude);
    ok = ok && mt_add_param(dev, "relay.hysteresis", feedback_unit, 0, 0.0f, 1e6f, &relay->hysteresis);
    ok = ok && mt_add_param(dev, "relay.travel", feedback_unit, 0, 0.0f, 1e6f, &relay->travel);
    ok = ok && mt_add_param(dev, "relay.bias", output_unit, 0, -max_amplitude, max_amplitude, &relay->bias);
    return ok;
}

/* Leaves relay mode and tells the host. */
static void relay_stop(mt_device *dev, mt_relay *relay)
{
    relay->active = 0.0f;
    relay->side = 0.0f;
    mt_param_changed(dev, relay->active_index);
}

bool mt_relay_step(mt_device *dev, mt_relay *relay, float setpoint, float feedback,
                   float output_limit, float *output)
{
    if (relay->active < 0.5f) {
        if (relay->active != 0.0f)
            relay->active = 0.0f;
        relay->side = 0.0f;
        return false;
    }
    if (!dev->enabled) {
        relay_stop(dev, relay);
        return false;
    }
    float error = setpoint - feedback;
    if (relay->side == 0.0f) {
        relay->start = feedback;
        relay->side = error < 0.0f ? -1.0f : 1.0f;
    } else if (error > relay->hysteresis) {
        relay->side = 1.0f;
    } else if (error < -relay->hysteresis) {
        relay->side = -1.0f;
    }
    float moved = feedback - relay->start;
    if (moved > relay->travel || moved < -relay->travel) {
        relay_stop(dev, relay);
        return false;
    }
    float value = relay->bias + relay->side * relay->amplitude;
    *output = value > output_limit ? output_limit : value < -output_limit ? -output_limit : value;
    return true;
}

#ifdef MT_EXCITE_PARAMS
#include <math.h>

static const char *const excite_kinds[] = {"chirp", "prbs"};
static const char *const excite_points[] = {"setpoint", "effort"};

bool mt_add_excite(mt_device *dev, mt_excite *excite, const char *unit, float max_amplitude,
                   float max_hz)
{
    if (dev->param_count + 7 > MT_MAX_PARAMS)
        return false;
    memset(excite, 0, sizeof *excite);
    excite->amplitude = max_amplitude / 100.0f;
    excite->f0 = 1.0f;
    excite->f1 = 100.0f;
    excite->duration = 10.0f;
    excite->active_index = dev->param_count;
    /* Modes, so the host's undo, profiles and auto-tune leave them alone. */
    bool ok = mt_add_param(dev, "excite.active", "", MT_PARAM_SWITCH | MT_PARAM_MODE, 0.0f, 1.0f,
                           &excite->active);
    uint8_t kind = dev->param_count;
    ok = ok && mt_add_param(dev, "excite.kind", "", MT_PARAM_CHOICE | MT_PARAM_MODE, 0.0f, 1.0f,
                            &excite->kind);
    ok = ok && mt_set_choices(dev, kind, excite_kinds, 2);
    uint8_t point = dev->param_count;
    ok = ok && mt_add_param(dev, "excite.point", "", MT_PARAM_CHOICE | MT_PARAM_MODE, 0.0f, 1.0f,
                            &excite->point);
    ok = ok && mt_set_choices(dev, point, excite_points, 2);
    ok = ok && mt_add_param(dev, "excite.amplitude", unit, MT_PARAM_MODE, 0.0f, max_amplitude,
                            &excite->amplitude);
    ok = ok && mt_add_param(dev, "excite.f0", "Hz", MT_PARAM_MODE, 0.01f, max_hz, &excite->f0);
    ok = ok && mt_add_param(dev, "excite.f1", "Hz", MT_PARAM_MODE, 0.01f, max_hz, &excite->f1);
    ok = ok && mt_add_param(dev, "excite.duration", "s", MT_PARAM_MODE, 0.01f, 600.0f,
                            &excite->duration);
    return ok;
}

/* Ends the run and tells the host. */
static void excite_stop(mt_device *dev, mt_excite *excite)
{
    excite->active = 0.0f;
    excite->ticks = 0;
    mt_param_changed(dev, excite->active_index);
}

bool mt_excite_step(mt_device *dev, mt_excite *excite, float loop_hz, float *value)
{
    if (excite->active < 0.5f) {
        excite->active = 0.0f;
        excite->ticks = 0;
        return false;
    }
    if (excite->ticks == 0) {
        /* The first tick of a run: only with the output on and a band. */
        if (!dev->enabled || !(excite->f0 > 0.0f && excite->f1 > excite->f0 &&
                               excite->duration > 0.0f && excite->amplitude > 0.0f)) {
            excite_stop(dev, excite);
            return false;
        }
        excite->ticks = (uint32_t)(excite->duration * loop_hz + 0.5f);
        if (excite->ticks == 0)
            excite->ticks = 1;
        excite->bit_ticks = (uint32_t)(0.4f / excite->f1 * loop_hz);
        if (excite->bit_ticks == 0)
            excite->bit_ticks = 1;
        excite->tick = 0;
        excite->lfsr = 0x7FFF;
        excite->bit = 1.0f;
    }
    if (!dev->enabled || excite->tick >= excite->ticks) {
        excite_stop(dev, excite);
        return false;
    }
    if (excite->kind >= 0.5f) {
        if (excite->tick % excite->bit_ticks == 0) {
            /* x^15 + x^14 + 1, maximal length: 32767 bits a period. */
            unsigned state = excite->lfsr;
            unsigned feedback = ((state >> 14u) ^ (state >> 13u)) & 1u;
            excite->lfsr = (uint16_t)(((state << 1u) | feedback) & 0x7FFFu);
            excite->bit = (excite->lfsr & 1u) ? 1.0f : -1.0f;
        }
        *value = excite->amplitude * excite->bit;
    } else {
        /* A log sweep: the phase integrates f0 * (f1/f0)^(t/duration). */
        double t = (double)excite->tick / loop_hz;
        double rate = log((double)excite->f1 / excite->f0) / excite->duration;
        double phase = 6.283185307179586 * excite->f0 * (exp(rate * t) - 1.0) / rate;
        *value = (float)(excite->amplitude * sin(phase));
    }
    excite->tick++;
    return true;
}
#endif
