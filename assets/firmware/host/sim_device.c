/*
 * sim_device: a simulated servo, a DC motor under a PID position loop at
 * 10 kHz, that speaks the motiontune native protocol through
 * motiontune_device.c on a pseudo-terminal. It prints the terminal's path
 * on the first line of stdout, then serves until it is killed:
 *
 *   cc -std=c99 -I.. ../motiontune_device.c sim_device.c -o sim_device
 *   ./sim_device [--watchdog-ms N] [--first-tick N] [--axes 2]
 *   motiontune --port /dev/pts/N
 *
 * With --axes 2 it is a gantry: two servos, axes x and y, named by prefix
 * (x.position, x.kp, … y.position, y.kp; docs/PROTOCOL.md, "Several
 * axes"), one output for both; each axis can be connected as a device of
 * its own (motiontune --protocol native --axis x, --axis y).
 *
 * Device time is the tick count; the wall clock only paces the loop. POSIX:
 * Linux and macOS.
 */
#define _XOPEN_SOURCE 600 /* posix_openpt, grantpt, unlockpt, ptsname */

#include "motiontune_device.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LOOP_HZ 10000
#define DT (1.0 / LOOP_HZ)
/* When the process falls further behind the wall clock than this (it was
 * suspended, say), the backlog is dropped instead of run: device time stays
 * continuous, as in motiontune's own simulated drive. */
#define MAX_CATCH_UP_TICKS (LOOP_HZ / 4)

/* The servo: what the protocol sees as parameters and channels (floats),
 * and the physics behind them. */
typedef struct {
    float kp, ki, kd, output_limit, setpoint;
    float inertia, viscous, torque_constant;
    float time_constant; /* inertia / viscous, read-only */
    float bad_frames;    /* host frames the device dropped, read-only */
    float position, velocity, effort;
    float reference; /* what the setpoint channel streams */
    bool enabled;
    double angle, speed, integral;
} servo;

#define SERVO                    \
    {                            \
        .kp = 20.0f,             \
        .ki = 20.0f,             \
        .kd = 0.3f,              \
        .output_limit = 5.0f,    \
        .inertia = 1e-4f,        \
        .viscous = 1e-4f,        \
        .torque_constant = 0.05f, \
        .time_constant = 1.0f,   \
    }

/* motors[0] alone, or both with --axes 2. */
static servo motors[2] = {SERVO, SERVO};
static servo *const motor = &motors[0];
static int axis_count = 1;

static mt_device device;
/* Relay mode (docs/PROTOCOL.md 4.5), switched inside the control loop. */
static mt_relay relay;
#ifdef MT_EXCITE_PARAMS
/* Device-side excitation (docs/PROTOCOL.md 4.6), generated in the loop. */
static mt_excite excite;
#endif

/* Bytes waiting for the pseudo-terminal, whole frames only: when it is full,
 * new frames are dropped as a device's transmit buffer would drop them. */
static uint8_t tx_buffer[1 << 20];
static size_t tx_start, tx_end;

static void die(const char *what)
{
    fprintf(stderr, "sim_device: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* One control-loop period: PID with derivative on measurement and clamping
 * anti-windup, then the motor, J dw/dt = kt i - b w, by semi-implicit Euler. */
static void control_step(servo *s)
{
    double effort = 0.0;
    float relay_output = 0.0f;
    double reference = s->setpoint;
    double injected = 0.0;
#ifdef MT_EXCITE_PARAMS
    float signal = 0.0f;
    if (relay.active >= 0.5f && excite.active >= 0.5f) {
        /* Both would drive the output: the relay keeps it and the excitation
         * ends, as docs/PROTOCOL.md 4.6 asks. */
        excite.active = 0.0f;
        mt_param_changed(&device, excite.active_index);
    }
    if (mt_excite_step(&device, &excite, (float)LOOP_HZ, &signal)) {
        if (excite.point >= 0.5f)
            injected = signal;
        else
            reference += signal;
        s->reference = s->setpoint + signal;
    } else {
        s->reference = s->setpoint;
    }
#else
    s->reference = s->setpoint;
#endif
    if (mt_relay_step(&device, &relay, s->setpoint, (float)s->angle, s->output_limit, &relay_output)) {
        effort = relay_output;
        s->integral = 0.0; /* the PID takes over from rest, without a stored kick */
    } else if (s->enabled) {
        double error = reference - s->angle;
        double integral = s->integral + s->ki * error * DT;
        double wanted = s->kp * error + integral - s->kd * s->speed + injected;
        effort = wanted > s->output_limit ? s->output_limit : wanted < -s->output_limit ? -s->output_limit : wanted;
        if (effort == wanted)
            s->integral = integral; /* the integral stops growing at the limit */
    }
    double torque = s->torque_constant * effort - s->viscous * s->speed;
    s->speed += torque / s->inertia * DT;
    s->angle += s->speed * DT;
    s->position = (float)s->angle;
    s->velocity = (float)s->speed;
    s->effort = (float)effort;
}

/* One output for every axis: the protocol's ENABLE switches the device. */
static void switch_output(void *context, bool enabled)
{
    (void)context;
    for (int i = 0; i < axis_count; i++) {
        servo *s = &motors[i];
        if (enabled && !s->enabled)
            s->integral = 0.0;
        if (!enabled)
            s->effort = 0.0f;
        s->enabled = enabled;
    }
}

static void queue_frame(void *context, const uint8_t *bytes, size_t len)
{
    (void)context;
    if (tx_end + len > sizeof tx_buffer) {
        memmove(tx_buffer, tx_buffer + tx_start, tx_end - tx_start);
        tx_end -= tx_start;
        tx_start = 0;
    }
    if (tx_end + len > sizeof tx_buffer)
        return;
    memcpy(tx_buffer + tx_end, bytes, len);
    tx_end += len;
}

static void send_queued(int master)
{
    while (tx_start < tx_end) {
        ssize_t n = write(master, tx_buffer + tx_start, tx_end - tx_start);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            die("write");
        tx_start += (size_t)n;
    }
    tx_start = tx_end = 0;
}

/* Read-only parameters the device changes itself are reported with an
 * unprompted VALUE. */
static void update_derived(float *param, float now, uint8_t index)
{
    if (*param != now) {
        *param = now;
        mt_param_changed(&device, index);
    }
}

/* Indices of the read-only parameters, in register_all()'s order. */
#define TIME_CONSTANT_INDEX 8
#define BAD_FRAMES_INDEX 9
/* With two axes: five parameters each, then link.bad_frames. */
#define GANTRY_BAD_FRAMES_INDEX 10

/* The gantry's axes, by prefix: the names live as long as the device. */
static const char *const axis_names[2][9] = {
    {"x.setpoint", "x.position", "x.velocity", "x.effort", "x.kp", "x.ki", "x.kd", "x.output_limit", "x.setpoint"},
    {"y.setpoint", "y.position", "y.velocity", "y.effort", "y.kp", "y.ki", "y.kd", "y.output_limit", "y.setpoint"},
};

static void register_gantry(void)
{
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        servo *s = &motors[i];
        const char *const *n = axis_names[i];
        ok &= mt_add_channel(&device, n[0], "rad", MT_ROLE_REFERENCE, &s->reference);
        ok &= mt_add_channel(&device, n[1], "rad", MT_ROLE_FEEDBACK, &s->position);
        ok &= mt_add_channel(&device, n[2], "rad/s", MT_ROLE_OTHER, &s->velocity);
        ok &= mt_add_channel(&device, n[3], "A", MT_ROLE_EFFORT, &s->effort);
    }
    for (int i = 0; i < 2; i++) {
        servo *s = &motors[i];
        const char *const *n = axis_names[i];
        ok &= mt_add_param(&device, n[4], "A/rad", MT_PARAM_GAIN | MT_PARAM_LOG_SCALE, 0.01f, 1000.0f, &s->kp);
        ok &= mt_add_param(&device, n[5], "A/(rad·s)", MT_PARAM_GAIN, 0.0f, 10000.0f, &s->ki);
        ok &= mt_add_param(&device, n[6], "A·s/rad", MT_PARAM_GAIN, 0.0f, 50.0f, &s->kd);
        ok &= mt_add_param(&device, n[7], "A", 0, 0.0f, 20.0f, &s->output_limit);
        ok &= mt_add_param(&device, n[8], "rad", MT_PARAM_SETPOINT, -100.0f, 100.0f, &s->setpoint);
    }
    ok &= mt_add_param(&device, "link.bad_frames", "", MT_PARAM_READ_ONLY, 0.0f, 4294967296.0f, &motors[0].bad_frames);
    if (!ok) {
        fprintf(stderr, "sim_device: the gantry's channel and parameter tables do not fit\n");
        exit(1);
    }
}

static void register_all(void)
{
    if (axis_count == 2) {
        register_gantry();
        return;
    }
    bool ok = true;
    ok &= mt_add_channel(&device, "setpoint", "rad", MT_ROLE_REFERENCE, &motor->reference);
    ok &= mt_add_channel(&device, "position", "rad", MT_ROLE_FEEDBACK, &motor->position);
    ok &= mt_add_channel(&device, "velocity", "rad/s", MT_ROLE_OTHER, &motor->velocity);
    ok &= mt_add_channel(&device, "effort", "A", MT_ROLE_EFFORT, &motor->effort);
    ok &= mt_add_param(&device, "pos.kp", "A/rad", MT_PARAM_GAIN | MT_PARAM_LOG_SCALE, 0.01f, 1000.0f, &motor->kp);
    ok &= mt_add_param(&device, "pos.ki", "A/(rad·s)", MT_PARAM_GAIN, 0.0f, 10000.0f, &motor->ki);
    ok &= mt_add_param(&device, "pos.kd", "A·s/rad", MT_PARAM_GAIN, 0.0f, 50.0f, &motor->kd);
    ok &= mt_add_param(&device, "pos.output_limit", "A", 0, 0.0f, 20.0f, &motor->output_limit);
    ok &= mt_add_param(&device, "pos.setpoint", "rad", MT_PARAM_SETPOINT, -100.0f, 100.0f, &motor->setpoint);
    ok &= mt_add_param(&device, "plant.inertia", "kg·m²", MT_PARAM_LOG_SCALE, 1e-6f, 1.0f, &motor->inertia);
    ok &= mt_add_param(&device, "plant.viscous", "N·m·s/rad", MT_PARAM_LOG_SCALE, 1e-6f, 1.0f, &motor->viscous);
    ok &= mt_add_param(&device, "plant.torque_constant", "N·m/A", 0, 1e-3f, 2.0f, &motor->torque_constant);
    ok &= mt_add_param(&device, "plant.time_constant", "s", MT_PARAM_READ_ONLY, 0.0f, 1e6f, &motor->time_constant);
    ok &= mt_add_param(&device, "link.bad_frames", "", MT_PARAM_READ_ONLY, 0.0f, 4294967296.0f, &motor->bad_frames);
    ok &= mt_add_relay(&device, &relay, "A", "rad", 20.0f, 1.0f, 0.5f);
#ifdef MT_EXCITE_PARAMS
    ok &= mt_add_excite(&device, &excite, "rad or A", 20.0f, 5000.0f);
#endif
    if (!ok) {
        fprintf(stderr, "sim_device: the channel and parameter tables do not fit\n");
        exit(1);
    }
}

/* A pseudo-terminal in raw mode; returns the master side, non-blocking. The
 * slave side stays open in this process: without it, reads on the master
 * fail whenever no client has the port open. */
static int open_pty(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        die("pseudo-terminal");
    const char *path = ptsname(master);
    int slave = path == NULL ? -1 : open(path, O_RDWR | O_NOCTTY);
    struct termios raw;
    if (slave < 0 || tcgetattr(slave, &raw) != 0)
        die("pseudo-terminal slave");
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag &= ~(tcflag_t)OPOST;
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    if (tcsetattr(slave, TCSANOW, &raw) != 0 || fcntl(master, F_SETFL, O_NONBLOCK) != 0)
        die("raw mode");
    printf("%s\n", path);
    fflush(stdout);
    return master;
}

static uint64_t ticks_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns = (int64_t)(now.tv_sec - start->tv_sec) * 1000000000 + (now.tv_nsec - start->tv_nsec);
    return (uint64_t)ns / (1000000000 / LOOP_HZ);
}

static void receive(int master)
{
    uint8_t bytes[4096];
    for (;;) {
        ssize_t n = read(master, bytes, sizeof bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            die("read");
        mt_receive(&device, bytes, (size_t)n);
        update_derived(&motor->time_constant, motor->inertia / motor->viscous, TIME_CONSTANT_INDEX);
        update_derived(&motor->bad_frames, (float)mt_frame_errors(&device), BAD_FRAMES_INDEX);
    }
}

int main(int argc, char **argv)
{
    mt_config config = {"motiontune C sim servo", "1.0.0", LOOP_HZ, 500, queue_frame, switch_output, NULL, motor};
    unsigned long first_tick = 0;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--watchdog-ms") == 0) {
            config.watchdog_ms = (uint16_t)strtoul(argv[i + 1], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--first-tick") == 0) {
            first_tick = strtoul(argv[i + 1], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--axes") == 0 && (strcmp(argv[i + 1], "1") == 0 || strcmp(argv[i + 1], "2") == 0)) {
            axis_count = argv[i + 1][0] - '0';
            config.name = "motiontune C sim gantry";
        } else {
            fprintf(stderr, "usage: sim_device [--watchdog-ms N] [--first-tick N] [--axes 1|2]\n");
            return 2;
        }
    }
    if (!mt_init(&device, &config)) {
        fprintf(stderr, "sim_device: bad device configuration\n");
        return 1;
    }
    register_all();
    mt_skip_ticks(&device, (uint32_t)first_tick);
    int master = open_pty();

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint64_t ticks_run = 0;
    for (;;) {
        struct pollfd port = {master, (short)(POLLIN | (tx_end > tx_start ? POLLOUT : 0)), 0};
        if (poll(&port, 1, 1) < 0 && errno != EINTR)
            die("poll");
        if (port.revents & POLLIN)
            receive(master);
        uint64_t due = ticks_since(&start);
        if (due - ticks_run > MAX_CATCH_UP_TICKS)
            ticks_run = due - MAX_CATCH_UP_TICKS;
        for (; ticks_run < due; ticks_run++) {
            for (int i = 0; i < axis_count; i++)
                control_step(&motors[i]);
            mt_tick(&device);
        }
        send_queued(master);
    }
}
