/*
 * A SimpleFOC 2.4.0 sketch for an Uno as the library's open-loop examples
 * write one: a BLDCMotor in velocity_openloop, a Commander with the motor
 * under 'M', motor.monitor() in loop(). Built with SIMPLEFOC_DISABLE_DEBUG,
 * as an Uno needs (the library with its debug output is 1.6 kB over the
 * Uno's 32 kB). The three-phase bridge is a small class of the sketch's own
 * (analogWrite on pins 9, 10 and 11), since ../shared/thirdparty holds the
 * library's core without its drivers.
 */
#include "BLDCMotor.h"
#include "common/base_classes/BLDCDriver.h"
#include "communication/Commander.h"

class UnoBridge : public BLDCDriver
{
  public:
    int init() override
    {
        pinMode(9, OUTPUT);
        pinMode(10, OUTPUT);
        pinMode(11, OUTPUT);
        /* As the library's own drivers do: the supply bounds the limit. */
        voltage_limit = voltage_power_supply;
        initialized = 1;
        return 1;
    }
    void enable() override { setPwm(0, 0, 0); }
    void disable() override { setPwm(0, 0, 0); }
    void setPwm(float a, float b, float c) override
    {
        analogWrite(9, duty(a));
        analogWrite(10, duty(b));
        analogWrite(11, duty(c));
    }
    void setPhaseState(PhaseState, PhaseState, PhaseState) override {}

  private:
    int duty(float volts) { return (int)(255 * constrain(volts / voltage_power_supply, 0.0f, 1.0f)); }
};

BLDCMotor motor(7);
UnoBridge driver;
Commander command(Serial);
void doMotor(char *cmd) { command.motor(&motor, cmd); }

void setup()
{
    Serial.begin(115200);
    motor.useMonitoring(Serial);
    driver.voltage_power_supply = 12;
    driver.init();
    motor.linkDriver(&driver);
    motor.controller = MotionControlType::velocity_openloop;
    motor.voltage_limit = 3;
    motor.init();
    motor.initFOC();
    command.add('M', doMotor, "motor");
    motor.monitor_variables = _MON_TARGET | _MON_VOLT_Q | _MON_VEL | _MON_ANGLE;
}

void loop()
{
    motor.loopFOC();
    motor.move();
    motor.monitor();
    command.run();
}
