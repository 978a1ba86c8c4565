//! An Arduino sketch running SimpleFOC 2.4.0 as the library's examples
//! write one: a `BLDCMotor` with the library's defaults ([`motor`]) and a
//! `Commander` ([`commander`]) with the motor under a letter, optionally a
//! `command.motion` handler under another, `loop()` calling `loopFOC()`,
//! `move()`, `monitor()` and `command.run()`. Bytes in, text out, as the
//! real library prints them: it is held to the real code by
//! `tests/simplefoc_real.rs`, which runs the same commands against
//! Arduino-FOC 2.4.0 built on the host and compares the replies.
//!
//! What the sketch does around the library, as a board does:
//! - `setup()` takes time and prints the library's debug text
//!   (`MOT:Monitor enabled!`, `MOT:Init`, half a second,
//!   `MOT:Enable driver.`, half a second (BLDCMotor.cpp:73, 100-104), the
//!   sensor alignment it skips, `ERR-MOT:No current sense.`, `MOT:Ready.`
//!   (FOCMotor.cpp:847-925, 811-815)), then the sketch's own lines. Until
//!   `loop()` runs, nothing is answered: what arrives waits in the
//!   serial port's 64-byte receive buffer (Arduino's
//!   `SERIAL_RX_BUFFER_SIZE`), and what does not fit is lost.
//! - `MFR` re-runs the sensor alignment (FOCMotor.cpp:847-925): its text,
//!   over its three seconds, the loop stopped meanwhile; the rotor is not
//!   swept.
//! - `Commander::run` keeps 20 bytes: a line with its `\n` or `\r` runs,
//!   at 20 bytes without one the buffer is cleared (Commander.cpp:34-52),
//!   so a longer line is lost and its tail read as a new line.

mod arduino;
pub mod commander;
mod controllers;
pub mod motor;

use std::collections::VecDeque;

use commander::{Commander, Follow, Handler, HandlerKind};
use motor::Motor;

use crate::sim::drive::DriveConfig;
use crate::sim::emulated::EmulatedDevice;
use crate::sim::plant::Plant;

/// `MAX_COMMAND_LENGTH` (Commander.h:11).
const BUFFER: usize = 20;
/// The serial port's receive buffer while the sketch is not reading.
const RX_BUFFER: usize = 64;
/// `loop()` calls per second.
pub const LOOP_HZ: u32 = 10_000;

/// What the sketch chose in `setup()`: each field one of the choices
/// `tests/common/simplefoc_real.rs`'s `SketchConfig` gives the real
/// library, with the library's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct SketchSettings {
    /// `command.add(letter, doMotor, "motor")`.
    pub letter: char,
    /// `command.verbose`, 0 to 3.
    pub verbose: u8,
    /// `command.decimal_places`.
    pub decimals: u8,
    /// `motor.monitor_separator`.
    pub monitor_separator: char,
    /// `motor.monitor_start_char`; `None` for none.
    pub monitor_start_char: Option<char>,
    /// `motor.monitor_end_char`; `None` for none.
    pub monitor_end_char: Option<char>,
    /// `motor.monitor_decimals`.
    pub monitor_decimals: u32,
    /// `motor.controller` (0 torque … 6 custom).
    pub motion: u8,
    /// `motor.torque_controller` (0 voltage … 3 estimated current).
    pub torque: u8,
    /// Whether `loop()` calls `motor.monitor()`.
    pub monitor_in_loop: bool,
    /// Whether the motor has a `command.motor` handler under `letter`.
    pub motor_handler: bool,
    /// A handler calling `command.motion(&motor, cmd)`, labelled "target".
    pub target_letter: Option<char>,
    /// `motor.target` when `setup()` ends.
    pub target: f32,
    /// Whether the motor is still enabled when `setup()` ends.
    pub enabled: bool,
    /// `motor.monitor_downsample`: print every this many `monitor()` calls; 0 never.
    pub monitor_downsample: u32,
    /// `motor.monitor_variables`, bit 6 the target … bit 0 the angle.
    pub monitor_variables: u8,
    /// Whether `setup()` takes the library's time and prints its text;
    /// off, the sketch starts in `loop()` (for unit tests).
    pub boot: bool,
    /// Further text the sketch prints for this long at the end of
    /// `setup()`, ms.
    pub boot_ms: u32,
}

impl Default for SketchSettings {
    fn default() -> Self {
        Self {
            letter: 'M',
            verbose: 2,
            decimals: 3,
            monitor_separator: '\t',
            monitor_start_char: None,
            monitor_end_char: None,
            monitor_decimals: 4,
            motion: motor::motion::ANGLE,
            torque: motor::torque::VOLTAGE,
            monitor_in_loop: true,
            motor_handler: true,
            target_letter: None,
            target: 0.0,
            enabled: true,
            monitor_downsample: 100,
            monitor_variables: 0b110_0011,
            boot: true,
            boot_ms: 0,
        }
    }
}

/// Something `setup()` or `initFOC()` does at a given tick.
#[derive(Clone, Debug, PartialEq)]
enum Scripted {
    Text(&'static str),
    Owned(String),
    /// `motor.init()` enabling the driver (BLDCMotor.cpp:102-103).
    Enable,
    /// The end of `setup()`: what the sketch chose after `initFOC()`.
    SetupDone,
    /// `initFOC()` of `MFR` found the electrical zero.
    Calibrated,
    /// `MFR`'s `println(F("done"))` (Commander.cpp:292).
    Done,
}

/// The emulated sketch.
pub struct SimpleFocFirmware {
    /// The motor the sketch drives.
    pub motor: Motor,
    /// The sketch's `Commander`.
    pub commander: Commander,
    settings: SketchSettings,
    received: Vec<u8>,
    /// Bytes waiting while `setup()` or `initFOC()` holds the loop.
    rx: VecDeque<u8>,
    /// Bytes lost to a full receive buffer.
    pub rx_dropped: u64,
    output: Vec<u8>,
    /// Ticks since power-up.
    pub ticks: u64,
    /// What is due while the loop is held, by tick; the loop runs when
    /// it is empty.
    script: VecDeque<(u64, Scripted)>,
    /// Lines the Commander ran (a dropped overlong line is not one).
    pub lines_run: u64,
    /// The last 256 lines the sketch read, each with its line end.
    pub lines_read: VecDeque<Vec<u8>>,
    /// The line being read.
    reading: Vec<u8>,
    /// `loop()` calls so far.
    pub loops: u64,
}

impl SimpleFocFirmware {
    /// The library's sketch with its defaults on the simulated plant of
    /// `config`, with its encoder's noise (its gains and counts are the
    /// native drive's: unused).
    pub fn new(config: DriveConfig) -> Self {
        Self::with_settings(config, SketchSettings::default())
    }

    /// A sketch with the choices of `settings`, powered up now.
    pub fn with_settings(config: DriveConfig, settings: SketchSettings) -> Self {
        let mut motor = Motor::new(Plant::new(config.plant.clone()), config.encoder_noise);
        motor.controller = settings.motion;
        motor.torque_controller = settings.torque;
        motor.monitor.downsample = settings.monitor_downsample;
        motor.monitor.variables = settings.monitor_variables;
        motor.monitor.decimals = settings.monitor_decimals;
        motor.monitor.separator = settings.monitor_separator;
        motor.monitor.start_char = settings.monitor_start_char;
        motor.monitor.end_char = settings.monitor_end_char;
        motor.init();
        let mut handlers = Vec::new();
        if settings.motor_handler {
            handlers.push(Handler {
                id: settings.letter as u8,
                kind: HandlerKind::Motor,
                label: "motor".to_owned(),
                calls: 0,
            });
        }
        if let Some(letter) = settings.target_letter {
            handlers.push(Handler {
                id: letter as u8,
                kind: HandlerKind::Motion,
                label: "target".to_owned(),
                calls: 0,
            });
        }
        let commander = Commander {
            verbose: settings.verbose,
            decimal_places: settings.decimals,
            handlers,
            loop_hz: LOOP_HZ,
        };
        let mut firmware = Self {
            motor,
            commander,
            received: Vec::with_capacity(BUFFER),
            rx: VecDeque::new(),
            rx_dropped: 0,
            output: Vec::new(),
            ticks: 0,
            script: VecDeque::new(),
            lines_run: 0,
            lines_read: VecDeque::new(),
            reading: Vec::new(),
            loops: 0,
            settings,
        };
        firmware.schedule_setup();
        firmware
    }

    fn ms(ms: u32) -> u64 {
        u64::from(ms) * u64::from(LOOP_HZ) / 1000
    }

    /// `setup()`: `useMonitoring` (FOCMotor.cpp:87-92), `init()`
    /// (BLDCMotor.cpp:65-107), `initFOC()` with the sensor direction and
    /// zero known (FOCMotor.cpp:774-824), the sketch's own lines.
    fn schedule_setup(&mut self) {
        // The motor is off until init() enables it.
        self.motor.disable();
        let boot = self.settings.boot;
        let at = |ms| if boot { Self::ms(ms) } else { 0 };
        let mut script = vec![
            (
                at(0),
                Scripted::Text("MOT:Monitor enabled!\r\nMOT:Init\r\n"),
            ),
            (at(500), Scripted::Text("MOT:Enable driver.\r\n")),
            (at(500), Scripted::Enable),
            (
                at(1000),
                Scripted::Text(
                    "MOT:Align sensor.\r\nMOT:Skip dir calib.\r\nMOT:Skip offset calib.\r\n\
                     ERR-MOT:No current sense.\r\nMOT:Ready.\r\n",
                ),
            ),
        ];
        let extra = self.settings.boot_ms;
        if extra > 0 {
            script.push((at(1000), Scripted::Text("Calibrating...\r\n")));
            for waited in (100..=extra).step_by(100) {
                script.push((at(1000 + waited), Scripted::Text(".")));
            }
            script.push((at(1000 + extra), Scripted::Text("\r\n")));
        }
        script.push((
            at(1000 + extra),
            Scripted::Text("Motor ready.\r\nSet the target using serial terminal:\r\n"),
        ));
        script.push((at(1000 + extra), Scripted::SetupDone));
        self.script = script.into();
        if !boot {
            self.run_script();
            self.output.clear();
        }
    }

    /// `MFR`'s `initFOC()` with the direction and zero unknown: the text
    /// of `alignSensor()` at its delays (FOCMotor.cpp:857-923, 2 × 501
    /// steps of 2 ms, 200 ms, 700 + 20 ms, 200 ms), then `done`.
    fn schedule_reinit(&mut self) {
        let now = self.ticks;
        let at = |ms| now + Self::ms(ms);
        self.script = VecDeque::from([
            (at(0), Scripted::Text("MOT:Align sensor.\r\n")),
            (
                at(2204),
                Scripted::Text("MOT:sensor dir: CW\r\nMOT:PP check: OK!\r\nSkip dir calib.\r\n"),
            ),
            (at(2924), Scripted::Calibrated),
            (
                at(3124),
                Scripted::Text("ERR-MOT:No current sense.\r\nMOT:Ready.\r\n"),
            ),
            (at(3124), Scripted::Done),
        ]);
    }

    /// Runs what the script has due now; true while the loop is held.
    fn run_script(&mut self) -> bool {
        while let Some((due, _)) = self.script.front() {
            if *due > self.ticks {
                return true;
            }
            let Some((_, item)) = self.script.pop_front() else {
                break;
            };
            match item {
                Scripted::Text(text) => self.output.extend_from_slice(text.as_bytes()),
                Scripted::Owned(text) => self.output.extend_from_slice(text.as_bytes()),
                Scripted::Enable => self.motor.enable(),
                Scripted::SetupDone => {
                    if !self.settings.enabled {
                        self.motor.disable();
                    }
                    self.motor.target = self.settings.target;
                }
                Scripted::Calibrated => {
                    self.motor.zero_electric_angle = 0.5;
                    let text = format!(
                        "MOT:Zero elec. angle: {}\r\n",
                        commander::arduino_float(self.motor.zero_electric_angle, 2)
                    );
                    self.script.push_front((self.ticks, Scripted::Owned(text)));
                }
                Scripted::Done => self.commander.println(&mut self.output, "done"),
            }
        }
        // The loop runs again: the first command.run() reads what waited.
        if !self.rx.is_empty() {
            let waiting: Vec<u8> = self.rx.drain(..).collect();
            self.feed(&waiting);
        }
        !self.script.is_empty()
    }

    /// Whether `setup()` (or an `MFR`) still holds the loop.
    pub fn booting(&self) -> bool {
        !self.script.is_empty()
    }

    /// The motor's enable state (`motor.enabled`).
    pub fn enabled(&self) -> bool {
        self.motor.enabled
    }

    /// The letter the sketch registered (or would register) the motor
    /// under.
    pub fn motor_letter(&self) -> char {
        self.settings.letter
    }

    /// Calls of the handler registered under `letter`.
    pub fn handler_calls(&self, letter: char) -> u64 {
        self.commander
            .handlers
            .iter()
            .find(|h| h.id == letter as u8)
            .map_or(0, |h| h.calls)
    }

    /// Puts `bytes` on the wire as if the line had garbled the output (for
    /// tests of the host's resilience).
    pub fn inject_output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// `Commander::run(Stream&)` over `bytes` (Commander.cpp:27-57); bytes
    /// after a line that holds the loop wait in the receive buffer.
    fn feed(&mut self, bytes: &[u8]) {
        for (at, &byte) in bytes.iter().enumerate() {
            if !self.script.is_empty() {
                self.hold(&bytes[at..]);
                return;
            }
            self.log_read(byte);
            self.received.push(byte);
            if self.commander.is_sentinel(&mut self.output, byte) {
                let line = std::mem::take(&mut self.received);
                self.lines_run += 1;
                let follow = self.commander.run(&line, &mut self.motor, &mut self.output);
                if follow == Follow::Reinit {
                    self.schedule_reinit();
                }
            }
            if self.received.len() >= BUFFER {
                self.received.clear();
            }
        }
    }

    /// Keeps what the sketch read, line by line, as the host program's
    /// state does.
    fn log_read(&mut self, byte: u8) {
        self.reading.push(byte);
        if byte == b'\n' || byte == b'\r' {
            if self.lines_read.len() == 256 {
                self.lines_read.pop_front();
            }
            self.lines_read.push_back(std::mem::take(&mut self.reading));
        }
    }

    fn hold(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.rx.len() < RX_BUFFER {
                self.rx.push_back(byte);
            } else {
                self.rx_dropped += 1;
            }
        }
    }

    /// One `loop()`: `loopFOC()`, `move()`, `monitor()`.
    fn run_loop(&mut self, dt: f32) {
        self.loops += 1;
        self.motor.loop_foc(dt);
        self.motor.motion(dt);
        if self.settings.monitor_in_loop
            && let Some(line) = self.motor.monitor_line()
        {
            self.output.extend_from_slice(line.as_bytes());
        }
    }
}

impl EmulatedDevice for SimpleFocFirmware {
    fn loop_hz(&self) -> u32 {
        LOOP_HZ
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.script.is_empty() {
            self.feed(bytes);
        } else {
            self.hold(bytes);
        }
    }

    fn advance(&mut self, ticks: u64) {
        let dt = 1.0 / f64::from(LOOP_HZ);
        for _ in 0..ticks {
            if !self.run_script() {
                self.run_loop(dt as f32);
            }
            self.motor.drive_plant(dt);
            self.ticks += 1;
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booted(settings: SketchSettings) -> SimpleFocFirmware {
        SimpleFocFirmware::with_settings(
            DriveConfig::default(),
            SketchSettings {
                boot: false,
                ..settings
            },
        )
    }

    fn say(firmware: &mut SimpleFocFirmware, bytes: &str) -> String {
        firmware.take_output();
        firmware.receive(bytes.as_bytes());
        String::from_utf8(firmware.take_output()).expect("text")
    }

    #[test]
    fn replies_follow_the_verbosity() {
        let mut f = booted(SketchSettings::default());
        assert_eq!(say(&mut f, "MVP\n"), "PID vel| P: 0.500\r\n");
        assert_eq!(say(&mut f, "MAP\n"), "PID angle| P: 20.000\r\n");
        assert_eq!(say(&mut f, "@3\n"), "@machine\r\n");
        assert_eq!(say(&mut f, "MVP0.25\n"), "MVP0.250\r\n");
        assert_eq!(say(&mut f, "MC\n"), "MCangle\r\n");
        assert_eq!(say(&mut f, "M\n"), "M0.000\r\n");
        assert_eq!(say(&mut f, "MMG0\n"), "MMG0.000\r\n");
        assert_eq!(say(&mut f, "MX\n"), "MXerr\r\n");
        assert_eq!(say(&mut f, "?\n"), "?M:motor\r\n");
        assert_eq!(say(&mut f, "@1\n"), "on!\r\n");
        assert_eq!(say(&mut f, "MLU\n"), "12.000\r\n");
        assert_eq!(say(&mut f, "M\n"), "", "the target alone prints only in @3");
        assert_eq!(say(&mut f, "@2\n"), "Verb:on!\r\n");
        assert_eq!(say(&mut f, "M1.5\n"), "Target: 1.500\r\n");
        assert_eq!(say(&mut f, "MMS1000011\n"), "Monitor | 1000011\r\n");
        assert_eq!(say(&mut f, "MZ\n"), "unknown cmd err\r\n");
        assert_eq!(say(&mut f, "X\n"), "", "an unregistered letter is ignored");
        assert_eq!(say(&mut f, "MVR\n"), "PID vel| ramp: -12345.000\r\n");
        assert_eq!(say(&mut f, "MR\n"), "R phase: 0\r\n", "not set prints 0");
        assert_eq!(say(&mut f, "@0\n"), "");
        assert_eq!(say(&mut f, "MVP\n"), "");
    }

    #[test]
    fn e1_enables_and_e0_disables() {
        let mut f = booted(SketchSettings::default());
        assert_eq!(say(&mut f, "ME0\n"), "Status: 0\r\n");
        assert!(!f.enabled());
        assert_eq!(say(&mut f, "ME1\n"), "Status: 1\r\n");
        assert!(f.enabled() && f.motor.driver_enabled);
    }

    #[test]
    fn lines_of_twenty_bytes_or_more_are_dropped() {
        let mut f = booted(SketchSettings::default());
        assert_eq!(
            say(&mut f, "MAP2.00000000000000\n"),
            "PID angle| P: 2.000\r\n"
        );
        assert_eq!(say(&mut f, "MAP3.000000000000000\n"), "");
        assert_eq!(f.motor.p_angle.p, 2.0);
        assert_eq!(say(&mut f, "MAP3.000000000000000ME0\n"), "Status: 0\r\n");
    }

    #[test]
    fn every_sentinel_check_warns_of_a_carriage_return() {
        let mut f = booted(SketchSettings::default());
        let warn = "Warn: \\r detected! \n";
        assert_eq!(
            say(&mut f, "MVP\r"),
            format!("{warn}{warn}PID vel| {warn}P: 0.500\r\n")
        );
        assert_eq!(say(&mut f, "M1 2\r"), format!("{warn}Target: 1.000\r\n"));
    }

    #[test]
    fn a_target_handler_reads_motion_and_writes_the_target_on_anything_else() {
        let mut f = booted(SketchSettings {
            target_letter: Some('T'),
            ..SketchSettings::default()
        });
        assert_eq!(say(&mut f, "?\n"), "M:motor\r\nT:target\r\n");
        f.motor.target = 1.0;
        assert_eq!(say(&mut f, "TC\n"), "Motion:angle\r\n");
        assert_eq!(f.motor.target, 1.0);
        // What reads a gain under the motor's letter writes the target.
        assert_eq!(say(&mut f, "TVP\n"), "Target: 0.000\r\n");
        assert_eq!(f.motor.target, 0.0);
        assert_eq!(f.handler_calls('T'), 2);
    }

    #[test]
    fn extra_target_values_set_the_limits() {
        let mut f = booted(SketchSettings::default());
        say(&mut f, "M-0.5 3 4\n");
        assert_eq!(
            (
                f.motor.target,
                f.motor.velocity_limit,
                f.motor.voltage_limit
            ),
            (-0.5, 3.0, 4.0)
        );
        say(&mut f, "MC6\n");
        assert_eq!(say(&mut f, "M2 5\n"), "Target: 0.000\r\n", "custom: none");
    }

    #[test]
    fn setup_takes_the_library_s_time_and_holds_what_arrives() {
        let mut f = SimpleFocFirmware::new(DriveConfig::default());
        f.advance(1);
        assert!(f.booting());
        f.receive(b"MVP\n");
        f.advance(u64::from(LOOP_HZ) / 2);
        let text = String::from_utf8(f.take_output()).expect("text");
        assert_eq!(
            text,
            "MOT:Monitor enabled!\r\nMOT:Init\r\nMOT:Enable driver.\r\n"
        );
        f.advance(u64::from(LOOP_HZ) / 2 + 1);
        assert!(!f.booting());
        let text = String::from_utf8(f.take_output()).expect("text");
        assert!(text.contains("MOT:Ready.\r\n"), "{text}");
        assert!(
            text.contains("PID vel| P: 0.500\r\n"),
            "answered after setup: {text}"
        );
    }

    #[test]
    fn monitor_prints_the_selected_variables_in_the_sketch_s_format() {
        let mut f = booted(SketchSettings {
            monitor_separator: ',',
            monitor_start_char: Some('>'),
            monitor_end_char: Some('<'),
            ..SketchSettings::default()
        });
        say(&mut f, "MMS1000001\n");
        say(&mut f, "MMD10\n");
        f.advance(100);
        let text = String::from_utf8(f.take_output()).expect("text");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 10, "{text}");
        assert!(lines.iter().all(|l| l.starts_with('>') && l.ends_with('<')));
        assert_eq!(lines[0].split(',').count(), 2, "{text}");
        assert_eq!(say(&mut f, "MMD-1\n"), "Monitor | downsample: -1\r\n");
        f.advance(100);
        assert!(f.take_output().is_empty());
    }
}
