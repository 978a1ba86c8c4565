// The hardware around a SimpleFOC BLDCMotor, simulated on the host: a motor
// on a bench (MotorModel), the three-phase driver that applies the motor's
// phase voltages to it (SimDriver, a BLDCDriver) and the magnetic sensor on
// its shaft (SimSensor, a Sensor). They implement exactly the virtual
// interfaces of the library's BLDCDriver.h/FOCDriver.h and Sensor.h.
#ifndef MOTIONTUNE_HOST_SIM_HARDWARE_H
#define MOTIONTUNE_HOST_SIM_HARDWARE_H

#include "Arduino.h"
#include "common/base_classes/BLDCDriver.h"
#include "common/base_classes/Sensor.h"

/// A BLDC motor whose shaft speed follows the q-axis voltage at its
/// rotor's true electrical angle with a first-order lag (back EMF and
/// friction together):
///
///     tau * dω/dt = speed_per_volt * Uq - ω      (phases driven)
///     coast_tau * dω/dt = -ω                     (phases floating)
///
/// Uq is the Park transform of the phase voltages (their common mode does
/// not count) at θe = pole_pairs * angle - electrical_zero. So a sketch
/// whose motor.zero_electric_angle equals `electrical_zero` (and sensor
/// direction CW) commutates correctly, and one that runs the library's
/// sensor alignment finds it. Time is wall time (micros()); the state moves
/// in steps of at most 20 µs, and at most 0.1 s at once, so a host that
/// stalled does not fling the rotor.
class MotorModel {
 public:
  MotorModel(int pole_pairs, float electrical_zero, float speed_per_volt, float tau);

  /// New phase voltages from now on (the driver's outputs).
  void drive(float ua, float ub, float uc);
  /// Phases floating from now on (driver disabled).
  void release();
  /// The shaft angle now, rad, full turns included.
  double angle();
  /// The shaft speed now, rad/s.
  double velocity();
  /// The q-axis voltage the rotor sees now, V.
  float q_voltage() const;

  const int pole_pairs;
  const float electrical_zero;
  const float speed_per_volt;
  const float tau;
  const float coast_tau = 0.5f;

 private:
  void advance();

  double angle_ = 0.0;
  double velocity_ = 0.0;
  float alpha_ = 0.0f;
  float beta_ = 0.0f;
  bool driven_ = false;
  unsigned long last_us_ = 0;
  bool started_ = false;
};

/// A three-phase driver: clamps each phase voltage to [0, voltage_limit]
/// and records the duty cycles, as BLDCDriver3PWM does, and drives the
/// motor model while enabled.
class SimDriver : public BLDCDriver {
 public:
  explicit SimDriver(MotorModel& motor);

  int init() override;
  void enable() override;
  void disable() override;
  void setPwm(float Ua, float Ub, float Uc) override;
  void setPhaseState(PhaseState sa, PhaseState sb, PhaseState sc) override;

  bool is_enabled = false;
  float phase_a = 0.0f;
  float phase_b = 0.0f;
  float phase_c = 0.0f;
  PhaseState phase_state[3] = {PhaseState::PHASE_ON, PhaseState::PHASE_ON, PhaseState::PHASE_ON};
  unsigned long enable_calls = 0;
  unsigned long disable_calls = 0;

 private:
  MotorModel& motor_;
};

/// A magnetic sensor on the motor's shaft: the exact shaft angle in
/// [0, 2π); the library's Sensor base class counts turns and derives the
/// velocity from it.
class SimSensor : public Sensor {
 public:
  explicit SimSensor(MotorModel& motor) : motor_(motor) {}
  /// Sensor::init() is protected; a real sensor's init() calls it.
  void init() override { Sensor::init(); }

 protected:
  float getSensorAngle() override;

 private:
  MotorModel& motor_;
};

#endif
