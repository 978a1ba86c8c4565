/*
 * motiontune_device: the motiontune native protocol v1 (docs/PROTOCOL.md)
 * for a drive's firmware. Portable C99: no heap, no printf, nothing beyond
 * <stdint.h>, <stddef.h>, <stdbool.h> and <string.h>. All state lives in
 * the mt_device you pass in; there are no globals.
 *
 * Using it:
 *   1. mt_init() with the drive's name, loop rate, watchdog and callbacks;
 *   2. mt_add_channel() for each streamed float and mt_add_param() for each
 *      parameter, in the order the host should list them;
 *   3. mt_tick() once per control-loop tick, after the loop has updated the
 *      channel values;
 *   4. mt_receive() with the bytes that arrive from the host.
 * Everything the device sends goes out through the write callback, whole
 * frames at a time.
 *
 * The write callback may wait for room (Serial.write does), but the
 * firmware must never stop reading: when the stream is more than the link
 * carries, hand over only the samples queued when a pass of the main loop
 * began, let the queue turn the rest away and report them with
 * mt_skip_ticks(), and read the host's bytes on every pass (the host counts
 * the gap as lost samples; ENABLE 0 is still heard).
 *
 * Call all of these from one context (or guard them yourself): they share
 * the mt_device. A control loop that runs in an interrupt hands its samples
 * to the main loop, which calls mt_tick() for each (see the Arduino example).
 */
#ifndef MOTIONTUNE_DEVICE_H
#define MOTIONTUNE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capacities of the registration tables. They size struct mt_device, so
 * change them here, for every file of the build at once. */
#define MT_MAX_CHANNELS 8
#ifdef MT_EXCITE_PARAMS
/* Room for the excitation's seven parameters (mt_add_excite). */
#define MT_MAX_PARAMS 24
#else
#define MT_MAX_PARAMS 16
#endif

/* Largest payload of one frame, and of a frame on the wire without its
 * delimiter: payload, CRC and one COBS overhead byte. */
#define MT_MAX_PAYLOAD 250
#define MT_MAX_ENCODED (MT_MAX_PAYLOAD + 3)

/* Channel roles (CHANNEL message). */
#define MT_ROLE_OTHER 0
#define MT_ROLE_REFERENCE 1 /* setpoint */
#define MT_ROLE_FEEDBACK 2  /* the measured quantity the loop controls */
#define MT_ROLE_EFFORT 3    /* controller output */

/* Parameter flags (PARAM message). */
#define MT_PARAM_READ_ONLY 0x01 /* SET is refused with ERROR 4 */
#define MT_PARAM_SETPOINT 0x02  /* the setpoint step tests drive */
#define MT_PARAM_GAIN 0x04      /* shown with the tuning gains */
#define MT_PARAM_LOG_SCALE 0x08 /* log-scale slider; give it min > 0 */
/* What values it takes (bits 4-5; none of these: any number in [min, max]).
 * SET rounds a whole kind to the nearest whole number after clamping. */
#define MT_PARAM_KIND_MASK 0x30
#define MT_PARAM_INTEGER 0x10 /* whole numbers */
#define MT_PARAM_SWITCH 0x20  /* 0 (off) or 1 (on); give it min 0, max 1 */
#define MT_PARAM_CHOICE 0x30  /* whole numbers from min, named: mt_set_choices() */
/* It switches what the drive does (a control mode, a state, an enable):
 * the host writes it only when the user sets it, never from undo, gain
 * profiles or auto-tune. */
#define MT_PARAM_MODE 0x40

/* Sends bytes to the host. May block until they are on their way. */
typedef void (*mt_write_fn)(void *context, const uint8_t *bytes, size_t len);
/* Switches the drive output; it may be told the state already in force.
 * Called with false, the output must be off before it returns: ENABLE 0 is
 * the emergency stop, and the watchdog's trip. */
typedef void (*mt_output_fn)(void *context, bool enabled);
/* Stores the parameters in non-volatile memory; returns false on failure. */
typedef bool (*mt_save_fn)(void *context);

typedef struct {
    const char *name;        /* shown to the user, e.g. "bench servo" */
    const char *firmware;    /* version string, e.g. "1.0.0" */
    uint32_t loop_hz;        /* mt_tick() calls per second */
    uint16_t watchdog_ms;    /* output off after this long without a host
                                frame while enabled; 0 = no watchdog */
    mt_write_fn write;       /* required */
    mt_output_fn set_output; /* required */
    mt_save_fn save;         /* NULL: SAVE is answered "unsupported" */
    void *context;           /* handed to every callback */
} mt_config;

typedef struct {
    const char *name;
    const char *unit;
    uint8_t role;
    const float *value;
} mt_channel;

typedef struct {
    const char *name;
    const char *unit;
    uint8_t flags;
    uint8_t choice_count; /* names of a MT_PARAM_CHOICE, 0 otherwise */
    float min;
    float max;
    float *value;
    const char *const *choices;
} mt_param;

/* One device. Allocate it (statically, say) and leave its fields to the
 * library. */
typedef struct {
    mt_config config;
    mt_channel channels[MT_MAX_CHANNELS];
    mt_param params[MT_MAX_PARAMS];
    uint8_t channel_count;
    uint8_t param_count;
    uint8_t samples_per_frame;
    uint16_t flush_age_ticks; /* a partial SAMPLES frame waits at most this */
    uint32_t watchdog_ticks;

    uint32_t tick; /* number of the tick the next mt_tick() runs */
    uint32_t ticks_since_host;
    bool enabled;
    bool watchdog_tripped;

    uint16_t divider; /* stream every divider-th tick; 0 = not streaming */
    uint16_t ticks_to_next_sample;
    uint8_t batch_count;
    uint16_t batch_age_ticks;
    /* Frames are built and COBS-encoded in place, delimiter included:
     * SAMPLES in `batch` while it fills, the HELLO answer in `rx` (the
     * request is no longer needed by then), and every other message, six
     * payload bytes at most, in `tx`. A third full-size buffer would not
     * leave a 2 KB microcontroller much room. */
    uint8_t batch[MT_MAX_ENCODED + 1];
    uint8_t tx[1 + 6 + 2 + 1];
    uint8_t rx[MT_MAX_ENCODED + 1]; /* incoming frame up to its delimiter */
    uint16_t rx_len;
    bool rx_overflow;
    uint32_t frame_errors;
} mt_device;

/* Sets the device up: output disabled, not streaming, tick 0. Returns false,
 * and the device must not be used, if name + firmware exceed 238 bytes,
 * loop_hz is 0 or a required callback is missing. */
bool mt_init(mt_device *dev, const mt_config *config);

/* Registers the next channel; `value` is read at every tick. Returns false
 * when the table is full or name + unit exceed 245 bytes. Register before
 * the host connects: the host holds on to the counts. */
bool mt_add_channel(mt_device *dev, const char *name, const char *unit, uint8_t role,
                    const float *value);

/* Registers the next parameter. SET clamps to [min, max] and stores through
 * `value`. Returns false when the table is full, name + unit exceed 233
 * bytes or min > max. */
bool mt_add_param(mt_device *dev, const char *name, const char *unit, uint8_t flags, float min,
                  float max, float *value);

/* Names the values min, min + 1, ... of the MT_PARAM_CHOICE parameter
 * `index` (the array must outlive the device). Returns false, and changes
 * nothing, when `index` is not a choice, there are more names than values
 * or the PARAM message would exceed the payload limit. */
bool mt_set_choices(mt_device *dev, uint8_t index, const char *const *names, uint8_t count);

/* One control-loop tick: samples the channels if streaming, sends a SAMPLES
 * frame when one is full or its oldest sample is 10 ms old, runs the
 * watchdog. */
void mt_tick(mt_device *dev);

/* Ticks that passed without mt_tick() (samples the firmware could not hand
 * over). The tick counter moves on, and the host counts the gap as lost
 * samples. */
void mt_skip_ticks(mt_device *dev, uint32_t ticks);

/* Bytes from the host, any amount, split anywhere. */
void mt_receive(mt_device *dev, const uint8_t *bytes, size_t len);

/* Tells the host that the firmware changed parameter `index` itself. */
void mt_param_changed(mt_device *dev, uint8_t index);

/* Frames from the host dropped so far (garbage, bad CRC, oversize). */
uint32_t mt_frame_errors(const mt_device *dev);

/* Relay mode for relay auto-tune (docs/PROTOCOL.md, section 4.5). Opt-in: a
 * device that never calls mt_add_relay() declares no relay parameters and
 * behaves exactly as before. Using it:
 *   1. mt_add_relay() once, after the other parameters (it registers
 *      relay.active, relay.amplitude, relay.hysteresis, relay.travel and
 *      relay.bias: five more entries of MT_MAX_PARAMS);
 *   2. each control tick, before the controller: if mt_relay_step() returns
 *      true, output what it gives instead of the controller's output (and
 *      keep the controller's integrator still); otherwise run the
 *      controller as usual.
 * The relay ends by itself, with relay.active back to 0 and an unprompted
 * VALUE, when the feedback leaves its travel or the output is off. */
typedef struct {
    float active;     /* 0 or 1 */
    float amplitude;  /* d, in the output's unit */
    float hysteresis; /* epsilon, in the feedback's unit */
    float travel;     /* largest |feedback - feedback at the start| */
    float bias;       /* output the relay switches about */
    float start;      /* feedback at the relay's first tick */
    float side;       /* +1 or -1; 0 before the first tick */
    uint8_t active_index;
} mt_relay;

/* Registers the relay's parameters with these units and limits; the relay
 * starts inactive with amplitude `amplitude`, no hysteresis and travel
 * `travel`. Returns false when the table has no room for five more. */
bool mt_add_relay(mt_device *dev, mt_relay *relay, const char *output_unit,
                  const char *feedback_unit, float max_amplitude, float amplitude, float travel);

/* One control tick of the relay. Returns true, with the relay's output in
 * *output (clamped to +-output_limit), while relay mode is in control. */
bool mt_relay_step(mt_device *dev, mt_relay *relay, float setpoint, float feedback,
                   float output_limit, float *output);

#ifdef MT_EXCITE_PARAMS
/* Device-side excitation for frequency response (docs/PROTOCOL.md, section
 * 4.6). Opt-in at build time: define MT_EXCITE_PARAMS for every file of the
 * build (it raises MT_MAX_PARAMS to 24; link with -lm, it uses sin and
 * exp). Using it:
 *   1. mt_add_excite() once, after the other parameters (it registers
 *      excite.active, excite.kind, excite.point, excite.amplitude,
 *      excite.f0, excite.f1 and excite.duration);
 *   2. each control tick, before the controller: if mt_excite_step()
 *      returns true, add the value it gives to the setpoint the controller
 *      follows (excite.point 0) or to the controller's output before its
 *      limit (excite.point 1), and stream setpoint + value on the
 *      reference channel in both cases; stream the setpoint otherwise.
 * A run ends by itself after its duration, with excite.active back to 0
 * and an unprompted VALUE, and when the output is off. */
typedef struct {
    float active;    /* 0 or 1 */
    float kind;      /* 0 chirp, 1 PRBS */
    float point;     /* 0 setpoint, 1 effort */
    float amplitude; /* peak, in the point's unit */
    float f0, f1;    /* Hz */
    float duration;  /* s */
    uint32_t tick;   /* ticks into the run */
    uint32_t ticks;  /* length of the run; 0 while none runs */
    uint32_t bit_ticks;
    uint16_t lfsr;
    float bit;
    uint8_t active_index;
} mt_excite;

/* Registers the excitation's parameters: amplitudes up to max_amplitude in
 * `unit` (the units of both points when they differ: "rad or A"),
 * frequencies up to max_hz. Returns false when the table has no room. */
bool mt_add_excite(mt_device *dev, mt_excite *excite, const char *unit, float max_amplitude,
                   float max_hz);

/* One control tick of the excitation at `loop_hz`. Returns true, with the
 * signal in *value, while a run is under way. */
bool mt_excite_step(mt_device *dev, mt_excite *excite, float loop_hz, float *value);
#endif

#ifdef __cplusplus
}
#endif

#endif /* MOTIONTUNE_DEVICE_H */
