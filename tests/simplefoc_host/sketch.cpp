// A SimpleFOC sketch as the library's examples write one (a BLDCMotor with
// a magnetic sensor in angle mode, a Commander with the motor under one
// letter, motor.monitor() in loop()), run on a Linux host against the real
// SimpleFOC 2.4.0 sources, with the simulated driver and sensor of
// sim_hardware.h and `Serial` on a pseudo-terminal. For tests of the
// motiontune SimpleFOC adapter; `sketch --help` lists the options. With
// --second-letter, a second motor of its own bench runs beside the first
// under that letter, its monitoring lines starting with the letter, as the
// library's two-motor examples add one.
//
// Output: the pty slave's path is the first line on stdout. With
// --state-on-stdin, every '\n' written to stdin makes the program print one
// line of JSON on stdout holding the firmware's own variables (see
// write_state), between two loop() calls so it is never caught halfway
// through a command; the serial port is not touched. End of stdin ends the
// program.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>

#include "BLDCMotor.h"
#include "communication/Commander.h"
#include "host_runtime.h"
#include "sim_hardware.h"

namespace {

/// The sketch's configuration, from the command line.
struct SketchOptions {
  char letter = 'M';
  int verbose = VerboseMode::user_friendly;
  int decimal_places = 3;
  char separator = '\t';
  char start_char = '\0';
  char end_char = '\0';
  int monitor_decimals = 4;
  int motion = MotionControlType::angle;
  int torque = TorqueControlType::voltage;
  bool monitor = true;
  char target_letter = '\0';
  bool enabled = true;
  long downsample = 100;
  int monitor_variables = _MON_TARGET | _MON_VOLT_Q | _MON_VEL | _MON_ANGLE;
  long boot_ms = 0;
  bool calibrate = false;
  bool library_defaults = false;
  long loop_hz = 10000;
  long baud = 0;
  bool motor_handler = true;
  float target = 0;
  bool state_on_stdin = false;
  char second_letter = '\0';
};

SketchOptions options;

/// The bench motor's electrical zero, which the sketch tells the library
/// (unless --calibrate makes it find it).
constexpr float kElectricalZero = 0.5f;
constexpr int kPolePairs = 7;

unsigned long loops = 0;
unsigned long motor_commands = 0;
unsigned long target_commands = 0;

}  // namespace

// ---- the sketch, as an .ino would have it -----------------------------------

MotorModel bench(kPolePairs, kElectricalZero, 4.0f, 0.02f);
BLDCMotor motor(kPolePairs);
SimDriver driver(bench);
SimSensor sensor(bench);
Commander command(Serial);

// The second motor (--second-letter): a bench, driver and sensor of its own.
MotorModel bench2(kPolePairs, kElectricalZero, 4.0f, 0.02f);
BLDCMotor motor2(kPolePairs);
SimDriver driver2(bench2);
SimSensor sensor2(bench2);
unsigned long motor2_commands = 0;

void doMotor2(char* cmd) {
  ++motor2_commands;
  command.motor(&motor2, cmd);
}

void doMotor(char* cmd) {
  ++motor_commands;
  command.motor(&motor, cmd);
}

void doTarget(char* cmd) {
  ++target_commands;
  command.motion(&motor, cmd);
}

void setup() {
  Serial.begin(115200);
  motor.useMonitoring(Serial);

  sensor.init();
  motor.linkSensor(&sensor);
  driver.voltage_power_supply = 12;
  driver.init();
  motor.linkDriver(&driver);

  motor.controller = static_cast<MotionControlType>(options.motion);
  motor.torque_controller = static_cast<TorqueControlType>(options.torque);
  if (!options.library_defaults) {
    // The values of the library's angle_control example.
    motor.PID_velocity.P = 0.2f;
    motor.PID_velocity.I = 20;
    motor.PID_velocity.D = 0;
    motor.PID_velocity.output_ramp = 1000;
    motor.LPF_velocity.Tf = 0.01f;
    motor.P_angle.P = 20;
    motor.velocity_limit = 20;
    motor.voltage_limit = 6;
  }
  motor.monitor_downsample = static_cast<unsigned int>(options.downsample);
  motor.monitor_variables = static_cast<uint8_t>(options.monitor_variables);
  motor.monitor_separator = options.separator;
  motor.monitor_start_char = options.start_char;
  motor.monitor_end_char = options.end_char;
  motor.monitor_decimals = static_cast<unsigned int>(options.monitor_decimals);
  if (!options.calibrate) {
    // Known from an earlier calibration, as sketches store them.
    motor.zero_electric_angle = kElectricalZero;
    motor.sensor_direction = Direction::CW;
  }

  motor.init();
  motor.initFOC();

  if (options.second_letter) {
    motor2.useMonitoring(Serial);
    sensor2.init();
    motor2.linkSensor(&sensor2);
    driver2.voltage_power_supply = 12;
    driver2.init();
    motor2.linkDriver(&driver2);
    motor2.controller = static_cast<MotionControlType>(options.motion);
    motor2.torque_controller = static_cast<TorqueControlType>(options.torque);
    // Gains of its own, so a value read from the wrong motor shows.
    motor2.PID_velocity.P = 0.3f;
    motor2.PID_velocity.I = 15;
    motor2.PID_velocity.output_ramp = 1000;
    motor2.LPF_velocity.Tf = 0.02f;
    motor2.P_angle.P = 15;
    motor2.velocity_limit = 15;
    motor2.voltage_limit = 5;
    motor2.monitor_downsample = static_cast<unsigned int>(options.downsample);
    motor2.monitor_variables = static_cast<uint8_t>(options.monitor_variables);
    motor2.monitor_separator = options.separator;
    motor2.monitor_start_char = options.second_letter;
    motor2.monitor_decimals = static_cast<unsigned int>(options.monitor_decimals);
    motor2.zero_electric_angle = kElectricalZero;
    motor2.sensor_direction = Direction::CW;
    motor2.init();
    motor2.initFOC();
  }

  command.verbose = static_cast<VerboseMode>(options.verbose);
  command.decimal_places = static_cast<uint8_t>(options.decimal_places);
  if (options.motor_handler) command.add(options.letter, doMotor, "motor");
  if (options.target_letter) command.add(options.target_letter, doTarget, "target");
  if (options.second_letter) command.add(options.second_letter, doMotor2, "motor 2");
  if (!options.enabled) motor.disable();
  motor.target = options.target;

  if (options.boot_ms > 0) {
    // A long calibration of the sketch's own, printing as it goes.
    Serial.println(F("Calibrating..."));
    for (long waited = 0; waited < options.boot_ms; waited += 100) {
      _delay(100);
      Serial.print('.');
    }
    Serial.println();
  }
  Serial.println(F("Motor ready."));
  Serial.println(F("Set the target using serial terminal:"));
}

void loop() {
  motor.loopFOC();
  motor.move();
  if (options.monitor) motor.monitor();
  if (options.second_letter) {
    motor2.loopFOC();
    motor2.move();
    if (options.monitor) motor2.monitor();
  }
  command.run();
}

// ---- the host program around it ---------------------------------------------

namespace {

/// Writes JSON by hand: the state is flat numbers and a few strings.
class JsonLine {
 public:
  explicit JsonLine(FILE* out) : out_(out) { fputc('{', out_); }
  ~JsonLine() { fputc('}', out_); }

  void number(const char* key, double value) {
    name(key);
    if (isfinite(value)) {
      fprintf(out_, "%.17g", value);
    } else {
      fputs("null", out_);
    }
  }
  void integer(const char* key, long value) {
    name(key);
    fprintf(out_, "%ld", value);
  }
  void boolean(const char* key, bool value) {
    name(key);
    fputs(value ? "true" : "false", out_);
  }
  void strings(const char* key, const std::deque<std::string>& values) {
    name(key);
    fputc('[', out_);
    bool first = true;
    for (const std::string& value : values) {
      if (!first) fputc(',', out_);
      first = false;
      text(value);
    }
    fputc(']', out_);
  }
  void pid(const char* key, const PIDController& pid) {
    name(key);
    JsonLine inner(out_);
    inner.number("P", pid.P);
    inner.number("I", pid.I);
    inner.number("D", pid.D);
    inner.number("output_ramp", pid.output_ramp);
    inner.number("limit", pid.limit);
  }

  /// The key of a value written next by a JsonLine of its own.
  void name(const char* key) {
    if (!first_) fputc(',', out_);
    first_ = false;
    text(key);
    fputc(':', out_);
  }
  /// A JSON string; every byte outside printable ASCII as \u00XX.
  void text(const std::string& value) {
    fputc('"', out_);
    for (unsigned char c : value) {
      if (c == '"' || c == '\\') {
        fputc('\\', out_);
        fputc(c, out_);
      } else if (c < 0x20 || c >= 0x7f) {
        fprintf(out_, "\\u%04x", c);
      } else {
        fputc(c, out_);
      }
    }
    fputc('"', out_);
  }

 private:
  FILE* out_;
  bool first_ = true;
};

/// One JSON object of the firmware's variables, named as in the library.
void write_state(FILE* out) {
  const host::SerialCounters serial = host::serial_counters();
  JsonLine state(out);
  state.integer("micros", static_cast<long>(micros()));
  state.integer("loops", static_cast<long>(loops));
  state.integer("commands", static_cast<long>(serial.lines));
  state.integer("motor_commands", static_cast<long>(motor_commands));
  state.integer("target_commands", static_cast<long>(target_commands));
  state.strings("lines", host::lines_read());
  state.integer("bytes_in", static_cast<long>(serial.bytes_in));
  state.integer("bytes_out", static_cast<long>(serial.bytes_out));
  state.integer("bytes_dropped", static_cast<long>(serial.bytes_dropped));
  state.integer("blocked_us", static_cast<long>(serial.blocked_us));

  state.integer("enabled", motor.enabled);
  state.integer("motor_status", motor.motor_status);
  state.integer("controller", motor.controller);
  state.integer("torque_controller", motor.torque_controller);
  state.number("target", motor.target);
  state.number("shaft_angle", motor.shaft_angle);
  state.number("shaft_velocity", motor.shaft_velocity);
  state.number("current_sp", motor.current_sp);
  state.number("shaft_velocity_sp", motor.shaft_velocity_sp);
  state.number("shaft_angle_sp", motor.shaft_angle_sp);
  state.number("voltage_q", motor.voltage.q);
  state.number("voltage_d", motor.voltage.d);
  state.number("voltage_limit", motor.voltage_limit);
  state.number("current_limit", motor.current_limit);
  state.number("velocity_limit", motor.velocity_limit);
  state.pid("P_angle", motor.P_angle);
  state.pid("PID_velocity", motor.PID_velocity);
  state.pid("PID_current_q", motor.PID_current_q);
  state.pid("PID_current_d", motor.PID_current_d);
  state.number("LPF_angle_Tf", motor.LPF_angle.Tf);
  state.number("LPF_velocity_Tf", motor.LPF_velocity.Tf);
  state.number("LPF_current_q_Tf", motor.LPF_current_q.Tf);
  state.number("LPF_current_d_Tf", motor.LPF_current_d.Tf);
  state.integer("monitor_downsample", static_cast<long>(motor.monitor_downsample));
  state.integer("monitor_variables", motor.monitor_variables);
  state.integer("monitor_decimals", static_cast<long>(motor.monitor_decimals));
  state.integer("verbose", command.verbose);
  state.integer("decimal_places", command.decimal_places);
  state.number("zero_electric_angle", motor.zero_electric_angle);
  state.integer("sensor_direction", motor.sensor_direction);

  state.boolean("driver_enabled", driver.is_enabled);
  state.integer("driver_enable_calls", static_cast<long>(driver.enable_calls));
  state.integer("driver_disable_calls", static_cast<long>(driver.disable_calls));
  state.number("plant_angle", bench.angle());
  state.number("plant_velocity", bench.velocity());
  if (options.second_letter) {
    state.name("second");
    JsonLine second(out);
    second.integer("motor_commands", static_cast<long>(motor2_commands));
    second.integer("enabled", motor2.enabled);
    second.number("target", motor2.target);
    second.number("velocity_P", motor2.PID_velocity.P);
    second.number("voltage_limit", motor2.voltage_limit);
    second.integer("monitor_downsample", static_cast<long>(motor2.monitor_downsample));
    second.integer("monitor_variables", motor2.monitor_variables);
    second.number("plant_angle", bench2.angle());
  }
}

const char kUsage[] =
    "usage: sketch [options]\n"
    "Runs a SimpleFOC sketch (BLDCMotor, Commander, monitor) on a pseudo-terminal\n"
    "and prints the pty's path as its first line.\n"
    "  --letter C             the motor's Commander letter (M)\n"
    "  --verbose N            Commander verbosity 0-3 (2)\n"
    "  --decimals N           Commander decimal places, up to 20 (3)\n"
    "  --separator C          monitor_separator: a character, 'tab' or 'space' (tab)\n"
    "  --start-char C         monitor_start_char (none)\n"
    "  --end-char C           monitor_end_char (none)\n"
    "  --monitor-decimals N   monitor_decimals, up to 20 (4)\n"
    "  --motion N             motion control type 0-6 (2, angle)\n"
    "  --torque N             torque control type 0-3 (0, voltage)\n"
    "  --no-monitor           loop() does not call motor.monitor()\n"
    "  --target-letter C      also command.add(C, doTarget) with command.motion()\n"
    "  --disabled             the motor starts disabled\n"
    "  --downsample N         initial monitor_downsample (100)\n"
    "  --monitor-vars BITS    initial monitor_variables, 7 bits (1100011)\n"
    "  --boot-ms N            print for N ms at the end of setup() (0)\n"
    "  --calibrate            let initFOC() find the sensor direction and zero\n"
    "  --library-defaults     keep the library's gains (not the example's)\n"
    "  --loop-hz N            loop() calls per second of wall time (10000)\n"
    "  --baud N               a UART of N baud behind Serial: writes wait for its FIFO (none)\n"
    "  --no-motor             no command.motor handler (only --target-letter's, if any)\n"
    "  --target X             motor.target when setup() ends (0)\n"
    "  --state-on-stdin       a '\\n' on stdin prints the state as JSON\n"
    "  --second-letter C      a second motor under C, monitoring lines starting with C (none)\n";

[[noreturn]] void usage_error(const char* message, const char* value) {
  fprintf(stderr, "sketch: %s '%s'\n%s", message, value, kUsage);
  exit(2);
}

long number_option(const char* value, long low, long high) {
  char* end = nullptr;
  const long number = strtol(value, &end, 10);
  if (end == value || *end != '\0' || number < low || number > high) {
    usage_error("not a number in range:", value);
  }
  return number;
}

char char_option(const char* value, bool none_allowed) {
  if (strcmp(value, "tab") == 0) return '\t';
  if (strcmp(value, "space") == 0) return ' ';
  if (none_allowed && strcmp(value, "none") == 0) return '\0';
  if (strlen(value) != 1) usage_error("not one character:", value);
  return value[0];
}

float float_option(const char* value) {
  char* end = nullptr;
  const float number = strtof(value, &end);
  if (end == value || *end != '\0' || !isfinite(number)) usage_error("not a number:", value);
  return number;
}

int bits_option(const char* value) {
  if (strlen(value) != 7 || strspn(value, "01") != 7) usage_error("not 7 bits:", value);
  return static_cast<int>(strtol(value, nullptr, 2));
}

void parse_options(int argc, char** argv) {
  enum { kLetter = 1000, kVerbose, kDecimals, kSeparator, kStart, kEnd, kMonitorDecimals,
         kMotion, kTorque, kNoMonitor, kTargetLetter, kDisabled, kDownsample,
         kMonitorVars, kBoot, kCalibrate, kLibraryDefaults, kLoopHz, kBaud, kNoMotor, kTarget,
         kStateOnStdin, kSecondLetter, kHelp };
  static const option known[] = {
      {"letter", required_argument, nullptr, kLetter},
      {"verbose", required_argument, nullptr, kVerbose},
      {"decimals", required_argument, nullptr, kDecimals},
      {"separator", required_argument, nullptr, kSeparator},
      {"start-char", required_argument, nullptr, kStart},
      {"end-char", required_argument, nullptr, kEnd},
      {"monitor-decimals", required_argument, nullptr, kMonitorDecimals},
      {"motion", required_argument, nullptr, kMotion},
      {"torque", required_argument, nullptr, kTorque},
      {"no-monitor", no_argument, nullptr, kNoMonitor},
      {"target-letter", required_argument, nullptr, kTargetLetter},
      {"disabled", no_argument, nullptr, kDisabled},
      {"downsample", required_argument, nullptr, kDownsample},
      {"monitor-vars", required_argument, nullptr, kMonitorVars},
      {"boot-ms", required_argument, nullptr, kBoot},
      {"calibrate", no_argument, nullptr, kCalibrate},
      {"library-defaults", no_argument, nullptr, kLibraryDefaults},
      {"loop-hz", required_argument, nullptr, kLoopHz},
      {"baud", required_argument, nullptr, kBaud},
      {"no-motor", no_argument, nullptr, kNoMotor},
      {"target", required_argument, nullptr, kTarget},
      {"state-on-stdin", no_argument, nullptr, kStateOnStdin},
      {"second-letter", required_argument, nullptr, kSecondLetter},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  for (;;) {
    const int which = getopt_long(argc, argv, "", known, nullptr);
    if (which == -1) break;
    switch (which) {
      case kLetter: options.letter = char_option(optarg, false); break;
      case kVerbose: options.verbose = static_cast<int>(number_option(optarg, 0, 3)); break;
      case kDecimals: options.decimal_places = static_cast<int>(number_option(optarg, 0, 20)); break;
      case kSeparator: options.separator = char_option(optarg, false); break;
      case kStart: options.start_char = char_option(optarg, true); break;
      case kEnd: options.end_char = char_option(optarg, true); break;
      case kMonitorDecimals: options.monitor_decimals = static_cast<int>(number_option(optarg, 0, 20)); break;
      case kMotion: options.motion = static_cast<int>(number_option(optarg, 0, 6)); break;
      case kTorque: options.torque = static_cast<int>(number_option(optarg, 0, 3)); break;
      case kNoMonitor: options.monitor = false; break;
      case kTargetLetter: options.target_letter = char_option(optarg, false); break;
      case kDisabled: options.enabled = false; break;
      case kDownsample: options.downsample = number_option(optarg, 0, 1000000); break;
      case kMonitorVars: options.monitor_variables = bits_option(optarg); break;
      case kBoot: options.boot_ms = number_option(optarg, 0, 600000); break;
      case kCalibrate: options.calibrate = true; break;
      case kLibraryDefaults: options.library_defaults = true; break;
      case kLoopHz: options.loop_hz = number_option(optarg, 1, 100000); break;
      case kBaud: options.baud = number_option(optarg, 300, 10000000); break;
      case kNoMotor: options.motor_handler = false; break;
      case kTarget: options.target = float_option(optarg); break;
      case kStateOnStdin: options.state_on_stdin = true; break;
      case kSecondLetter: options.second_letter = char_option(optarg, false); break;
      case kHelp: fputs(kUsage, stdout); exit(0);
      default: fputs(kUsage, stderr); exit(2);
    }
  }
  if (optind < argc) usage_error("unexpected argument", argv[optind]);
}

}  // namespace

int main(int argc, char** argv) {
  parse_options(argc, argv);
  printf("%s\n", host::open_serial());
  host::set_line_baud(static_cast<unsigned long>(options.baud));
  fflush(stdout);
  if (options.state_on_stdin) host::serve_state_requests(write_state);

  setup();
  // loop() as often as a board of this loop rate calls it. After the host
  // stalled, up to 10 missed calls are made up, but never closer than a
  // quarter period: on a board loop() takes time, and the library's filters
  // divide by the time between calls (LowPassFilter with Tf = 0, as
  // LPF_angle has, turns to NaN for good when two calls share a
  // microsecond).
  const unsigned long period = 1000000ul / static_cast<unsigned long>(options.loop_hz);
  const unsigned long shortest = period / 4 > 0 ? period / 4 : 1;
  unsigned long next = micros();
  for (;;) {
    const unsigned long started = micros();
    loop();
    ++loops;
    next += period;
    const unsigned long now = micros();
    if (static_cast<long>(now - next) > static_cast<long>(10 * period)) next = now;
    if (static_cast<long>(next - (started + shortest)) < 0) next = started + shortest;
    host::idle_until(next);
  }
}
