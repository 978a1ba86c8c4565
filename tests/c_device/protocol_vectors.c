/*
 * protocol_vectors: assets/firmware/motiontune_device.c against known
 * answers, byte for byte. The wire bytes are those of docs/PROTOCOL.md
 * section 6 where it has them (marked "6.x"); the others were produced by
 * the independent Python device (tests/python_device/device.py). Built and
 * run by tests/c_device.rs; prints each failure and exits non-zero.
 */
#include "motiontune_device.h"

#include <stdio.h>
#include <string.h>

static uint8_t sent[1024];
static size_t sent_len;
static bool output_on;
static int saves;
static int failures;

static void capture(void *context, const uint8_t *bytes, size_t len)
{
    (void)context;
    if (sent_len + len > sizeof sent) {
        printf("FAIL the device sent more than %zu bytes at once\n", sizeof sent);
        failures++;
        return;
    }
    memcpy(sent + sent_len, bytes, len);
    sent_len += len;
}

static void switch_output(void *context, bool enabled)
{
    (void)context;
    output_on = enabled;
}

static bool save(void *context)
{
    (void)context;
    saves++;
    return true;
}

static size_t parse_hex(const char *hex, uint8_t *out, size_t capacity)
{
    size_t n = 0;
    unsigned byte;
    int used;
    while (n < capacity && sscanf(hex, " %2x%n", &byte, &used) == 1) {
        out[n++] = (uint8_t)byte;
        hex += used;
    }
    return n;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* Checks that the device sent exactly `expected` since the last check. */
static void expect_sent(const char *what, const char *expected)
{
    uint8_t want[1024];
    size_t want_len = parse_hex(expected, want, sizeof want);
    if (sent_len != want_len || memcmp(sent, want, want_len) != 0) {
        printf("FAIL %s\n  sent:", what);
        for (size_t i = 0; i < sent_len; i++)
            printf(" %02X", sent[i]);
        printf("\n  want:");
        for (size_t i = 0; i < want_len; i++)
            printf(" %02X", want[i]);
        printf("\n");
        failures++;
    }
    sent_len = 0;
}

/* Hands the host's wire bytes to the device and checks its answer. */
static void exchange(mt_device *dev, const char *what, const char *host, const char *expected)
{
    uint8_t wire[512];
    size_t len = parse_hex(host, wire, sizeof wire);
    mt_receive(dev, wire, len);
    expect_sent(what, expected);
}

static void ticks(mt_device *dev, int count)
{
    for (int i = 0; i < count; i++)
        mt_tick(dev);
}

/* The device of the document's examples: 2 channels, 8 parameters, 10 kHz,
 * 500 ms watchdog. Parameters 1 to 6 are placeholders. */
static float channel_values[2];
static float param_values[8];
static const char *const placeholder_names[] = {"p1", "p2", "p3", "p4", "p5", "p6"};

static void demo_device(mt_device *dev, mt_save_fn save_fn)
{
    mt_config config = {"demo drive", "1.0.0", 10000, 500, capture, switch_output, save_fn, NULL};
    check(mt_init(dev, &config), "init");
    check(mt_add_channel(dev, "setpoint", "rad", MT_ROLE_REFERENCE, &channel_values[0]), "channel 0");
    check(mt_add_channel(dev, "position", "rad", MT_ROLE_FEEDBACK, &channel_values[1]), "channel 1");
    param_values[0] = 2.0f;
    check(mt_add_param(dev, "pos.kp", "", MT_PARAM_GAIN, 0.0f, 100.0f, &param_values[0]), "param 0");
    for (int i = 1; i <= 6; i++) {
        param_values[i] = 0.0f;
        check(mt_add_param(dev, placeholder_names[i - 1], "", 0, 0.0f, 1.0f, &param_values[i]), "param");
    }
    param_values[7] = 24.0f;
    check(mt_add_param(dev, "bus.voltage", "V", MT_PARAM_READ_ONLY, 0.0f, 60.0f, &param_values[7]),
          "param 7");
    channel_values[0] = 1.0f;
    channel_values[1] = 0.5f;
    sent_len = 0;
    output_on = false;
}

/* A device whose parameter 6 is the named choice of 6.7 (a mode), after six
 * placeholders. */
static const char *const mode_names[] = {"off", "position", "velocity"};

static void choice_device(mt_device *dev)
{
    mt_config config = {"demo drive", "1.0.0", 10000, 500, capture, switch_output, NULL, NULL};
    check(mt_init(dev, &config), "init");
    for (int i = 0; i < 6; i++) {
        param_values[i] = 0.0f;
        check(mt_add_param(dev, placeholder_names[i], "", 0, 0.0f, 1.0f, &param_values[i]), "param");
    }
    param_values[6] = 1.0f;
    check(mt_add_param(dev, "mode", "", MT_PARAM_CHOICE | MT_PARAM_MODE, 0.0f, 2.0f, &param_values[6]),
          "choice parameter");
    check(!mt_set_choices(dev, 0, mode_names, 1), "names only for a choice");
    check(!mt_set_choices(dev, 6, mode_names, 4), "no more names than values");
    check(mt_set_choices(dev, 6, mode_names, 3), "three names for 0..2");
    sent_len = 0;
}

/* Checks that what the device sent since the last check ends with `tail`. */
static void expect_sent_tail(const char *what, const char *tail)
{
    uint8_t want[512];
    size_t want_len = parse_hex(tail, want, sizeof want);
    if (sent_len < want_len || memcmp(sent + sent_len - want_len, want, want_len) != 0) {
        printf("FAIL %s\n", what);
        failures++;
    }
    sent_len = 0;
}

#define HELLO "04 01 D1 F1 00"
#define DESCRIPTION                                                                                \
    /* 6.6 DEVICE */                                                                               \
    "07 81 01 02 08 10 27 01 16 F4 01 0A 64 65 6D 6F 20 64 72 69 76 65 05 31 2E 30 2E 30 E0 B5 00" \
    /* 6.6 CHANNEL 0 */                                                                            \
    "02 82 11 01 08 73 65 74 70 6F 69 6E 74 03 72 61 64 D2 D3 00"                                  \
    "13 82 01 02 08 70 6F 73 69 74 69 6F 6E 03 72 61 64 B8 96 00"                                  \
    /* 6.6 PARAM 0 */                                                                              \
    "02 83 02 04 01 01 01 01 01 03 C8 42 01 01 09 40 06 70 6F 73 2E 6B 70 03 36 1E 00"             \
    "03 83 01 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 31 03 3F 28 00"                         \
    "03 83 02 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 32 03 1E 7D 00"                         \
    "03 83 03 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 33 03 1E BE 00"                         \
    "03 83 04 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 34 03 5C D7 00"                         \
    "03 83 05 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 35 03 5C 14 00"                         \
    "03 83 06 01 01 01 01 01 01 03 80 3F 01 01 01 04 02 70 36 03 7D 41 00"                         \
    /* 6.6 PARAM 7 */                                                                              \
    "04 83 07 01 01 01 01 01 01 03 70 42 01 13 C0 41 0B 62 75 73 2E 76 6F 6C 74 61 67 65 01 56 9F F6 00"
#define STREAM_0 "02 05 01 03 6C 27 00"
#define SAMPLE_PAIR "01 03 80 3F 01 01 02 3F" /* one sample [1.0, 0.5], COBS groups */

int main(void)
{
    mt_device dev;

    demo_device(&dev, NULL);
    exchange(&dev, "HELLO", HELLO, DESCRIPTION);
    exchange(&dev, "6.4 SET 2.5", "02 03 01 01 05 20 40 D2 8E 00", "02 84 01 01 05 20 40 B3 92 00");
    check(param_values[0] == 2.5f, "SET applies the value");
    exchange(&dev, "6.4 SET 500 clamps", "02 03 01 01 05 FA 43 5D 44 00", "02 84 01 01 05 C8 42 EA 2B 00");
    check(param_values[0] == 100.0f, "SET applies the clamped value");
    exchange(&dev, "SET NaN keeps the value", "02 03 01 01 05 C0 7F DC 59 00", "02 84 01 01 05 C8 42 EA 2B 00");
    exchange(&dev, "6.5 SET read-only", "03 03 07 01 03 80 3F 02 7B 00", "06 8F 03 04 20 CE 00");
    check(param_values[7] == 24.0f, "read-only parameter unchanged");
    exchange(&dev, "GET", "02 02 03 6D 7B 00", "02 84 01 01 05 C8 42 EA 2B 00");
    exchange(&dev, "GET bad index", "05 02 08 65 FA 00", "06 8F 02 03 F6 8D 00");
    exchange(&dev, "SET too short", "05 03 01 7D 58 00", "06 8F 03 02 E6 AE 00");
    exchange(&dev, "unknown type", "04 55 A0 EB 00", "06 8F 55 01 9C 3A 00");
    exchange(&dev, "SAVE without storage", "04 07 17 91 00", "06 8F 07 05 C5 12 00");
    exchange(&dev, "PING", "08 06 01 02 03 04 8A D1 00", "08 87 01 02 03 04 0B 59 00");

    demo_device(&dev, save);
    exchange(&dev, "SAVE with storage", "04 07 17 91 00", "02 86 01 01 01 01 03 D1 57 00");
    check(saves == 1, "SAVE calls the save callback");

    /* 6.3: two samples from tick 1000, sent when STREAM 0 flushes them. */
    demo_device(&dev, NULL);
    mt_skip_ticks(&dev, 1000);
    exchange(&dev, "STREAM 1", "03 05 01 03 5D 14 00", "02 86 03 E8 03 01 03 A8 0F 00");
    channel_values[1] = 0.25f;
    mt_tick(&dev);
    channel_values[1] = 0.5f;
    mt_tick(&dev);
    exchange(&dev, "6.3 SAMPLES flushed by STREAM 0", STREAM_0,
             "04 85 E8 03 01 02 01 02 02 01 03 80 3F 01 03 80 3E 01 03 80 3F 01 01 04 3F 48 F1 00"
             "02 86 03 EA 03 01 03 C0 E2 00");

    demo_device(&dev, NULL);
    exchange(&dev, "STREAM 1", "03 05 01 03 5D 14 00", "02 86 01 01 01 01 03 D1 57 00");
    ticks(&dev, 29);
    expect_sent("a frame waits for its 30th sample", "");
    mt_tick(&dev);
    expect_sent("30 samples of 2 channels fill a frame",
                "02 85 01 01 01 02 01 02 1E" SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR
                SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR
                SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR
                SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR
                SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR "01 03 80 3F 01 01 04 3F E9 CD 00");

    demo_device(&dev, NULL);
    exchange(&dev, "STREAM 20", "03 05 14 03 DB E8 00", "02 86 01 01 01 01 03 D1 57 00");
    ticks(&dev, 99);
    expect_sent("a partial frame waits up to 10 ms", "");
    mt_tick(&dev);
    expect_sent("a partial frame goes out at 10 ms",
                "02 85 01 01 01 02 14 02 05" SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR SAMPLE_PAIR
                "01 03 80 3F 01 01 04 3F 23 E0 00");

    demo_device(&dev, NULL);
    exchange(&dev, "STREAM 2", "03 05 02 03 0E 41 00", "02 86 01 01 01 01 03 D1 57 00");
    ticks(&dev, 3);
    mt_skip_ticks(&dev, 5);
    expect_sent("skipping ticks sends what was sampled before",
                "02 85 01 01 01 02 02 02 02" SAMPLE_PAIR "01 03 80 3F 01 01 04 3F A9 10 00");
    ticks(&dev, 4);
    exchange(&dev, "after the gap, samples stay on the divider's grid", STREAM_0,
             "03 85 08 01 01 02 02 02 02" SAMPLE_PAIR "01 03 80 3F 01 01 04 3F 92 08 00"
             "02 86 02 0C 01 01 03 E3 18 00");

    demo_device(&dev, NULL);
    exchange(&dev, "ENABLE 1", "05 04 01 EA C1 00", "03 86 01 01 01 01 03 80 FD 00");
    check(output_on, "ENABLE 1 switches the output on");
    ticks(&dev, 4999);
    expect_sent("no trip before 500 ms", "");
    check(output_on, "output on for 4999 ticks without the host");
    mt_tick(&dev);
    expect_sent("watchdog trips at 500 ms", "05 86 04 87 13 01 03 F1 48 00");
    check(!output_on, "the watchdog switches the output off");
    exchange(&dev, "ENABLE 1 clears the trip", "05 04 01 EA C1 00", "05 86 01 88 13 01 03 48 BF 00");
    exchange(&dev, "ENABLE 2 disables", "05 04 02 89 F1 00", "02 86 03 88 13 01 03 19 15 00");
    check(!output_on, "only ENABLE 1 enables");

    demo_device(&dev, NULL);
    exchange(&dev, "garbage and a bad CRC",
             "13 37 67 61 72 62 61 67 65 00 04 01 D1 F2 00", "");
    uint8_t oversize[300];
    memset(oversize, 0xFF, sizeof oversize);
    mt_receive(&dev, oversize, sizeof oversize);
    exchange(&dev, "oversize and empty frames", "00 00", "");
    check(mt_frame_errors(&dev) == 4, "four frames dropped");
    exchange(&dev, "resync: HELLO after garbage", HELLO, DESCRIPTION);

    choice_device(&dev);
    mt_receive(&dev, (const uint8_t *)"\x04\x01\xD1\xF1\x00", 5);
    expect_sent_tail("6.7 a named choice ends the HELLO answer",
                     "04 83 06 70 01 01 01 01 01 01 02 40 01 08 80 3F 04 6D 6F 64 65 1A 03 03 6F 66 66 08"
                     "70 6F 73 69 74 69 6F 6E 08 76 65 6C 6F 63 69 74 79 2D 27 00");
    exchange(&dev, "SET 1.6 on a choice holds 2", "09 03 06 CD CC CC 3F 44 40 00", "03 84 06 01 01 04 40 D0 59 00");
    check(param_values[6] == 2.0f, "a whole kind is rounded");
    exchange(&dev, "SET 7 on a choice clamps to 2", "03 03 06 01 05 E0 40 03 55 00",
             "03 84 06 01 01 04 40 D0 59 00");
    exchange(&dev, "SET 0.4 on a choice holds 0", "09 03 06 CD CC CC 3E 65 50 00", "03 84 06 01 01 01 03 14 11 00");

    if (failures == 0)
        printf("all protocol vectors match\n");
    return failures == 0 ? 0 : 1;
}
