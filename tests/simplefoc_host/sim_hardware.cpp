// The simulated motor, driver and sensor (sim_hardware.h states the model).
#include "sim_hardware.h"

#include "common/foc_utils.h"

namespace {

/// Longest step of the motor model, s.
constexpr double kStep = 20e-6;
/// Longest stretch of time simulated at once, s.
constexpr double kMostAtOnce = 0.1;

}  // namespace

MotorModel::MotorModel(int pole_pairs, float electrical_zero, float speed_per_volt, float tau)
    : pole_pairs(pole_pairs), electrical_zero(electrical_zero), speed_per_volt(speed_per_volt), tau(tau) {}

void MotorModel::drive(float ua, float ub, float uc) {
  advance();
  // Clarke transform; the common mode drops out.
  alpha_ = (2.0f * ua - ub - uc) / 3.0f;
  beta_ = (ub - uc) / _SQRT3;
  driven_ = true;
}

void MotorModel::release() {
  advance();
  driven_ = false;
}

double MotorModel::angle() {
  advance();
  return angle_;
}

double MotorModel::velocity() {
  advance();
  return velocity_;
}

float MotorModel::q_voltage() const {
  if (!driven_) return 0.0f;
  const double electrical = pole_pairs * angle_ - electrical_zero;
  return static_cast<float>(-sin(electrical) * alpha_ + cos(electrical) * beta_);
}

void MotorModel::advance() {
  const unsigned long now = micros();
  if (!started_) {
    started_ = true;
    last_us_ = now;
    return;
  }
  double left = (now - last_us_) * 1e-6;
  last_us_ = now;
  if (left > kMostAtOnce) left = kMostAtOnce;
  while (left > 0.0) {
    const double h = left < kStep ? left : kStep;
    const double rate = driven_ ? (speed_per_volt * q_voltage() - velocity_) / tau : -velocity_ / coast_tau;
    velocity_ += h * rate;
    angle_ += h * velocity_;
    left -= h;
  }
}

SimDriver::SimDriver(MotorModel& motor) : motor_(motor) {
  voltage_power_supply = 12.0f;
  voltage_limit = NOT_SET;
  pwm_frequency = 25000;
}

int SimDriver::init() {
  if (!_isset(voltage_limit) || voltage_limit < 0 || voltage_limit > voltage_power_supply) {
    voltage_limit = voltage_power_supply;
  }
  dc_a = dc_b = dc_c = 0.0f;
  initialized = true;
  return 1;
}

void SimDriver::enable() {
  is_enabled = true;
  ++enable_calls;
  setPwm(0.0f, 0.0f, 0.0f);
}

void SimDriver::disable() {
  setPwm(0.0f, 0.0f, 0.0f);
  is_enabled = false;
  ++disable_calls;
  motor_.release();
}

void SimDriver::setPwm(float Ua, float Ub, float Uc) {
  phase_a = _constrain(Ua, 0.0f, voltage_limit);
  phase_b = _constrain(Ub, 0.0f, voltage_limit);
  phase_c = _constrain(Uc, 0.0f, voltage_limit);
  dc_a = phase_a / voltage_power_supply;
  dc_b = phase_b / voltage_power_supply;
  dc_c = phase_c / voltage_power_supply;
  if (is_enabled) motor_.drive(phase_a, phase_b, phase_c);
}

void SimDriver::setPhaseState(PhaseState sa, PhaseState sb, PhaseState sc) {
  // Recorded only: the model drives every phase (trapezoidal modulation,
  // the only caller, is not what this host is for).
  phase_state[0] = sa;
  phase_state[1] = sb;
  phase_state[2] = sc;
}

float SimSensor::getSensorAngle() {
  const float turn = static_cast<float>(fmod(motor_.angle(), static_cast<double>(_2PI)));
  const float wrapped = turn < 0.0f ? turn + _2PI : turn;
  // Rounding may land a tiny negative angle on 2π itself.
  return wrapped < _2PI ? wrapped : 0.0f;
}
