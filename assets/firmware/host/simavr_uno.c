/*
 * simavr_uno: an Arduino Uno sketch's compiled ELF on simavr's simulated
 * ATmega328P at 16 MHz, its UART0 on a pseudo-terminal, and a DC motor
 * with a quadrature encoder wired as assets/firmware/arduino/motiontune_servo
 * expects: H-bridge PWM on pin 6 (PD6, OC0A), direction on pins 7 (PD7,
 * IN1) and 8 (PB0, IN2), encoder A and B back on pins 2 and 3 (PD2/INT0,
 * PD3/INT1). Runs in real time, so the UART carries what a real one does
 * (simavr counts 11 bits a byte: ~10.5 kB/s at 115200 baud).
 *
 *   simavr_uno SKETCH.elf [--load DUTY] [--reset-on-open[=MS]] [--trace] [--fast]
 *
 * The first line on stdout is the pty's path; with --trace, a line
 * "trace t=SECONDS duty=D position=RAD" follows every 10 ms of simulated
 * time. --load gives the motor a constant load torque (a hanging weight)
 * that takes DUTY to hold: a loop holding position then drives the bridge,
 * and a switched-off output lets the rotor run back. --reset-on-open does
 * what an Uno's DTR line does when a host opens the port (Linux and macOS
 * raise DTR on open): every open of the pty restarts the core, held in
 * reset for MS milliseconds (default 1000, optiboot's wait for an upload)
 * before the sketch starts again. --fast runs as fast as the host can.
 *
 * Build (Debian: simavr, libsimavr-dev, libsimavrparts1):
 *   cc -O2 -I/usr/include/simavr -o simavr_uno simavr_uno.c \
 *      -lsimavr -lsimavrparts -lpthread -lutil
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <avr_extint.h>
#include <avr_ioport.h>
#include <parts/uart_pty.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_time.h>

/* ATmega328P data-space addresses (datasheet, "Register Summary"). */
#define PORTB 0x25
#define PORTD 0x2B
#define TCCR0A 0x44
#define OCR0A 0x47
#define COM0A1 7

#define CPU_HZ 16000000u
/* The motor model's step: each step moves the encoder at most one edge,
 * so the fastest the model turns is 1 / (STEP_US * COUNTS_PER_RAD). */
#define STEP_US 50
#define COUNTS_PER_REV 1200.0 /* the sketch's COUNTS_PER_REV */
/* A small geared DC motor: 20 rad/s at full duty, 50 ms to get there. */
#define FULL_SPEED 20.0
#define TIME_CONSTANT 0.05

typedef struct {
    avr_t *avr;
    avr_irq_t *encoder_a, *encoder_b;
    double velocity, position;
    long count;      /* encoder counts the pins have shown */
    uint8_t phase;   /* A << 1 | B */
    double duty;     /* signed, -1 to 1 */
    double load;     /* the duty that holds the load torque */
    FILE *trace; /* NULL: no trace */
    avr_cycle_count_t next_trace;
    double time_offset; /* seconds of simulated time before the last reset */
} motor_t;

/* The H-bridge's drive as the sketch sets it: analogWrite(6, d) runs OC0A's
 * PWM for 0 < d < 255 and writes the pin for 0 and 255. */
static double bridge_duty(const avr_t *avr)
{
    uint8_t portd = avr->data[PORTD], portb = avr->data[PORTB];
    double magnitude = (avr->data[TCCR0A] >> COM0A1) & 1 ? avr->data[OCR0A] / 255.0
                                                          : (double)((portd >> 6) & 1);
    int in1 = (portd >> 7) & 1, in2 = portb & 1;
    return in1 && !in2 ? magnitude : in2 && !in1 ? -magnitude : 0.0;
}

/* Shows the encoder's pins at `phase`, telling the port they are driven
 * from outside, so a write to PORTD does not pull them back up. */
static void show_phase(motor_t *m, uint8_t phase)
{
    /* A is pin 2 (bit 2), B pin 3 (bit 3): phase bit 1 is A, bit 0 is B. */
    avr_ioport_external_t external = {
        .name = 'D', .mask = 0x0C, .value = (uint8_t)(((phase >> 1) & 1) << 2 | (phase & 1) << 3)};
    avr_ioctl(m->avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &external);
    avr_raise_irq(m->encoder_a, (phase >> 1) & 1);
    avr_raise_irq(m->encoder_b, phase & 1);
    m->phase = phase;
}

static avr_cycle_count_t motor_step(avr_t *avr, avr_cycle_count_t when, void *param)
{
    motor_t *m = param;
    const double dt = STEP_US * 1e-6;
    m->duty = bridge_duty(avr);
    m->velocity += (FULL_SPEED * (m->duty - m->load) - m->velocity) * dt / TIME_CONSTANT;
    m->position += m->velocity * dt;
    long wanted = (long)floor(m->position * COUNTS_PER_REV / (2.0 * M_PI));
    /* Quadrature forward: 00, 01, 11, 10 (the sketch's step table). */
    static const uint8_t forward[4] = {1, 3, 0, 2}, backward[4] = {2, 0, 3, 1};
    if (wanted > m->count) {
        show_phase(m, forward[m->phase]);
        m->count++;
    } else if (wanted < m->count) {
        show_phase(m, backward[m->phase]);
        m->count--;
    }
    if (m->trace && when >= m->next_trace) {
        fprintf(m->trace, "trace t=%.4f duty=%.4f position=%.5f\n",
                m->time_offset + (double)when / CPU_HZ,
                m->duty, m->count * 2.0 * M_PI / COUNTS_PER_REV);
        fflush(m->trace);
        m->next_trace += CPU_HZ / 100;
    }
    return when + avr_usec_to_cycles(avr, STEP_US);
}

/* Connects the motor to the core's pins; again after each reset, which
 * clears the cycle timers and the pin registers. */
static void wire_motor(avr_t *avr, motor_t *m)
{
    show_phase(m, m->phase);
    /* A pin held low would re-fire a level-triggered INT0/INT1 every cycle
     * in simavr until the sketch sets them to CHANGE. */
    avr_extint_set_strict_lvl_trig(avr, 0, 0);
    avr_extint_set_strict_lvl_trig(avr, 1, 0);
    m->next_trace = avr->cycle;
    avr_cycle_timer_register_usec(avr, STEP_US, motor_step, m);
}

/* Whether a process opened the pty since the last call. */
static int port_opened(int opens)
{
    char events[4096];
    int opened = 0;
    while (read(opens, events, sizeof events) > 0)
        opened = 1;
    return opened;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *elf = NULL;
    int trace = 0, fast = 0;
    double load = 0.0;
    int reset_ms = -1; /* no reset on open */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--load") && i + 1 < argc)
            load = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reset-on-open"))
            reset_ms = 1000;
        else if (!strncmp(argv[i], "--reset-on-open=", 16))
            reset_ms = atoi(argv[i] + 16);
        else if (!strcmp(argv[i], "--trace"))
            trace = 1;
        else if (!strcmp(argv[i], "--fast"))
            fast = 1;
        else if (argv[i][0] != '-' && !elf)
            elf = argv[i];
        else {
            fprintf(stderr, "simavr_uno: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!elf) {
        fprintf(stderr, "usage: simavr_uno SKETCH.elf [--load DUTY] [--reset-on-open[=MS]] [--trace] "
                        "[--fast]\n");
        return 2;
    }
    /* simavr and its uart_pty part print their progress on stdout: send
     * that to stderr, so stdout's first line is the pty's path alone. */
    FILE *report = fdopen(dup(STDOUT_FILENO), "w");
    if (!report || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        perror("simavr_uno: stdout");
        return 1;
    }
    elf_firmware_t firmware;
    memset(&firmware, 0, sizeof firmware);
    if (elf_read_firmware(elf, &firmware) != 0) {
        fprintf(stderr, "simavr_uno: cannot read %s as an AVR ELF\n", elf);
        return 1;
    }
    avr_t *avr = avr_make_mcu_by_name("atmega328p");
    if (!avr || avr_init(avr) != 0) {
        fprintf(stderr, "simavr_uno: simavr has no atmega328p\n");
        return 1;
    }
    avr_load_firmware(avr, &firmware);
    avr->frequency = CPU_HZ;
    avr->log = LOG_ERROR;

    static uart_pty_t uart;
    uart_pty_init(avr, &uart);
    uart_pty_connect(&uart, '0');
    fprintf(report, "%s\n", uart.pty.slavename);
    fflush(report);

    static motor_t motor;
    motor.avr = avr;
    motor.trace = trace ? report : NULL;
    motor.load = load;
    motor.encoder_a = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 2);
    motor.encoder_b = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 3);
    wire_motor(avr, &motor);

    int opens = -1;
    if (reset_ms >= 0) {
        opens = inotify_init1(IN_NONBLOCK);
        if (opens < 0 || inotify_add_watch(opens, uart.pty.slavename, IN_OPEN) < 0) {
            perror("simavr_uno: watching the pty for opens");
            return 1;
        }
    }
    double start = now_s();
    avr_cycle_count_t cycle_base = 0;
    for (unsigned long n = 0;; n++) {
        if (opens >= 0 && (n & 1023) == 0 && port_opened(opens)) {
            /* The core stops; the pins float (bridge off) until the sketch
             * runs again. */
            double at = motor.time_offset + (double)avr->cycle / CPU_HZ;
            fprintf(stderr, "simavr_uno: the port was opened at %.4f s: reset\n", at);
            avr_reset(avr);
            /* simavr 1.6 keeps counting cycles through a reset; later
             * releases start again from 0. */
            cycle_base = avr->cycle;
            motor.time_offset = at + reset_ms / 1000.0 - (double)cycle_base / CPU_HZ;
            wire_motor(avr, &motor);
            struct timespec hold = {reset_ms / 1000, (long)(reset_ms % 1000) * 1000000L};
            nanosleep(&hold, NULL);
            port_opened(opens); /* opens during the hold: the same reset */
            start = now_s();
        }
        int state = avr_run(avr);
        if (state == cpu_Done || state == cpu_Crashed) {
            fprintf(stderr, "simavr_uno: the core stopped (state %d)\n", state);
            return 1;
        }
        /* Hold simulated time to wall time, checked every ~100 µs. */
        if (!fast && (n & 1023) == 0) {
            double ahead = (double)(avr->cycle - cycle_base) / CPU_HZ - (now_s() - start);
            if (ahead > 0.001) {
                struct timespec pause = {0, (long)(ahead * 1e9)};
                nanosleep(&pause, NULL);
            }
        }
    }
}
