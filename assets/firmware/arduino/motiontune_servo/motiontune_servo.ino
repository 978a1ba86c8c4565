/*
 * motiontune_servo: a DC motor with a quadrature encoder under a PID
 * position loop, tuned live from motiontune over the USB serial port.
 *
 * Board: Arduino Uno or Nano (ATmega328P, 16 MHz). The control loop runs at
 * 1 kHz on Timer1, so pins 9 and 10 lose analogWrite and the Servo library
 * cannot be used alongside.
 * Wiring: encoder A to pin 2 and B to pin 3 (the two interrupt pins); an
 * L298N-style H-bridge with its PWM input (ENA) on pin 6 and its direction
 * inputs (IN1, IN2) on pins 7 and 8.
 *
 * Build: copy motiontune_device.h and motiontune_device.c from
 * assets/firmware into this folder (the Arduino IDE compiles every .c file
 * next to the sketch), then upload. Connect with, for example,
 *   motiontune --port /dev/ttyACM0 --divider 5
 * A UART at 115200 baud carries about 11 500 bytes/s: four channels at
 * 1 kHz need a divider of at least 2, and 5 leaves room.
 *
 * Streams setpoint, position, velocity and effort; offers the PID gains, the
 * output limit and the setpoint as parameters; SAVE stores the gains and
 * the limit in EEPROM, and they are loaded again at power-up.
 */
#include <EEPROM.h>

#include "motiontune_device.h"

const uint8_t ENCODER_A_PIN = 2;
const uint8_t ENCODER_B_PIN = 3;
const uint8_t PWM_PIN = 6;
const uint8_t IN1_PIN = 7;
const uint8_t IN2_PIN = 8;

const uint32_t LOOP_HZ = 1000;
const float COUNTS_PER_REV = 1200.0f; /* encoder counts per output turn, x4 decoding */
const float RAD_PER_COUNT = 2.0f * PI / COUNTS_PER_REV;
const float VELOCITY_FILTER = 0.1f; /* first-order low-pass on the differenced position */

/* What the host tunes. SET writes `tuning` from loop(); the control
 * interrupt reads `active`, a copy taken with interrupts off, so it never
 * sees a half-written float. */
struct Tuning {
    float kp, ki, kd, output_limit, setpoint;
};
Tuning tuning = {2.0f, 5.0f, 0.05f, 1.0f, 0.0f};
Tuning active = tuning;

const uint16_t EEPROM_MAGIC = 0x4D54;
const int EEPROM_MAGIC_AT = 0;
const int EEPROM_TUNING_AT = 2;

/* Encoder state, updated on every edge of A and B. */
volatile int32_t encoder_count;
volatile uint8_t encoder_phase;

/* Control state, owned by the timer interrupt (loop() touches it only with
 * interrupts off). */
volatile bool output_on;
float integral;
float last_position;
float velocity;

/* One control tick's channel values, queued from the interrupt to loop(),
 * which hands them to the protocol in order. When the queue is full (the
 * link is slower than the stream) a tick is lost, and the next queued sample
 * says how many were, so the host counts them. */
struct Sample {
    float setpoint, position, velocity, effort;
    uint16_t ticks_lost_before;
};
const uint8_t QUEUE_SIZE = 16;
Sample queue[QUEUE_SIZE];
volatile uint8_t queue_head; /* written by the interrupt */
volatile uint8_t queue_tail; /* written by loop() */
uint16_t ticks_lost;         /* interrupt only */

/* The protocol, and the channel values it streams (set from the queue). */
mt_device device;
float setpoint_channel, position_channel, velocity_channel, effort_channel;

void drive_motor(float duty)
{
    digitalWrite(IN1_PIN, duty > 0.0f ? HIGH : LOW);
    digitalWrite(IN2_PIN, duty < 0.0f ? HIGH : LOW);
    analogWrite(PWM_PIN, (int)(fabs(duty) * 255.0f));
}

void on_encoder_edge()
{
    /* Indexed by previous phase * 4 + new phase: +1 one way round, -1 the
     * other, 0 for no change or a skipped (invalid) transition. */
    static const int8_t steps[16] = {0, 1, -1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 0, -1, 1, 0};
    uint8_t phase = (uint8_t)(digitalRead(ENCODER_A_PIN) << 1 | digitalRead(ENCODER_B_PIN));
    encoder_count += steps[encoder_phase << 2 | phase];
    encoder_phase = phase;
}

/* The control loop, LOOP_HZ times a second. Interrupts do not nest on AVR,
 * so the encoder count is read whole. */
ISR(TIMER1_COMPA_vect)
{
    float position = (float)encoder_count * RAD_PER_COUNT;
    velocity += VELOCITY_FILTER * ((position - last_position) * LOOP_HZ - velocity);
    last_position = position;
    float effort = 0.0f;
    if (output_on) {
        float error = active.setpoint - position;
        float next_integral = integral + active.ki * error / LOOP_HZ;
        float wanted = active.kp * error + next_integral - active.kd * velocity;
        effort = constrain(wanted, -active.output_limit, active.output_limit);
        if (effort == wanted)
            integral = next_integral; /* clamping anti-windup */
    }
    drive_motor(effort);

    uint8_t next = (uint8_t)((queue_head + 1) % QUEUE_SIZE);
    if (next == queue_tail) {
        if (ticks_lost < UINT16_MAX)
            ticks_lost++;
        return;
    }
    Sample &sample = queue[queue_head];
    sample.setpoint = active.setpoint;
    sample.position = position;
    sample.velocity = velocity;
    sample.effort = effort;
    sample.ticks_lost_before = ticks_lost;
    ticks_lost = 0;
    queue_head = next;
}

void start_control_timer()
{
    noInterrupts();
    TCCR1A = 0;
    TCCR1B = _BV(WGM12) | _BV(CS11); /* CTC mode, clock / 8 */
    OCR1A = F_CPU / 8 / LOOP_HZ - 1;
    TIMSK1 = _BV(OCIE1A);
    interrupts();
}

void write_to_serial(void *context, const uint8_t *bytes, size_t len)
{
    (void)context;
    Serial.write(bytes, len);
}

void switch_output(void *context, bool enabled)
{
    (void)context;
    noInterrupts();
    if (enabled && !output_on)
        integral = 0.0f;
    output_on = enabled;
    if (!enabled)
        drive_motor(0.0f);
    interrupts();
}

bool save_tuning(void *context)
{
    (void)context;
    EEPROM.put(EEPROM_MAGIC_AT, EEPROM_MAGIC);
    EEPROM.put(EEPROM_TUNING_AT, tuning);
    return true;
}

void load_tuning()
{
    uint16_t magic = 0;
    EEPROM.get(EEPROM_MAGIC_AT, magic);
    if (magic == EEPROM_MAGIC)
        EEPROM.get(EEPROM_TUNING_AT, tuning);
    tuning.setpoint = 0.0f; /* the encoder counts from wherever the motor is at power-up */
    active = tuning;
}

bool describe_device()
{
    mt_config config = {"arduino servo", "1.0.0", LOOP_HZ, 500, write_to_serial, switch_output, save_tuning, NULL};
    return mt_init(&device, &config) &&
           mt_add_channel(&device, "setpoint", "rad", MT_ROLE_REFERENCE, &setpoint_channel) &&
           mt_add_channel(&device, "position", "rad", MT_ROLE_FEEDBACK, &position_channel) &&
           mt_add_channel(&device, "velocity", "rad/s", MT_ROLE_OTHER, &velocity_channel) &&
           mt_add_channel(&device, "effort", "duty", MT_ROLE_EFFORT, &effort_channel) &&
           mt_add_param(&device, "pos.kp", "duty/rad", MT_PARAM_GAIN | MT_PARAM_LOG_SCALE, 0.001f, 100.0f,
                        &tuning.kp) &&
           mt_add_param(&device, "pos.ki", "duty/(rad*s)", MT_PARAM_GAIN, 0.0f, 1000.0f, &tuning.ki) &&
           mt_add_param(&device, "pos.kd", "duty*s/rad", MT_PARAM_GAIN, 0.0f, 10.0f, &tuning.kd) &&
           mt_add_param(&device, "pos.output_limit", "duty", 0, 0.0f, 1.0f, &tuning.output_limit) &&
           mt_add_param(&device, "pos.setpoint", "rad", MT_PARAM_SETPOINT, -1000.0f, 1000.0f, &tuning.setpoint);
}

void setup()
{
    pinMode(ENCODER_A_PIN, INPUT_PULLUP);
    pinMode(ENCODER_B_PIN, INPUT_PULLUP);
    pinMode(PWM_PIN, OUTPUT);
    pinMode(IN1_PIN, OUTPUT);
    pinMode(IN2_PIN, OUTPUT);
    drive_motor(0.0f);
    load_tuning();
    /* The tables above fit the library's limits; if an edit breaks that,
     * stay here, output off and silent, rather than run half described. */
    if (!describe_device())
        for (;;) {
        }
    encoder_phase = (uint8_t)(digitalRead(ENCODER_A_PIN) << 1 | digitalRead(ENCODER_B_PIN));
    attachInterrupt(digitalPinToInterrupt(ENCODER_A_PIN), on_encoder_edge, CHANGE);
    attachInterrupt(digitalPinToInterrupt(ENCODER_B_PIN), on_encoder_edge, CHANGE);
    Serial.begin(115200);
    start_control_timer();
}

void loop()
{
    while (Serial.available() > 0) {
        uint8_t byte = (uint8_t)Serial.read();
        mt_receive(&device, &byte, 1);
    }
    noInterrupts();
    active = tuning;
    interrupts();
    /* Only the samples queued before this pass. When the stream is more
     * than the link carries, Serial.write waits for room while the control
     * interrupt keeps queueing: draining until the queue is empty would
     * never end, and the host's commands (ENABLE 0 among them) would never
     * be read again. Samples the full queue turns away are counted lost. */
    const uint8_t end = queue_head;
    while (queue_tail != end) {
        const Sample &sample = queue[queue_tail];
        if (sample.ticks_lost_before > 0)
            mt_skip_ticks(&device, sample.ticks_lost_before);
        setpoint_channel = sample.setpoint;
        position_channel = sample.position;
        velocity_channel = sample.velocity;
        effort_channel = sample.effort;
        queue_tail = (uint8_t)((queue_tail + 1) % QUEUE_SIZE);
        mt_tick(&device);
    }
}
