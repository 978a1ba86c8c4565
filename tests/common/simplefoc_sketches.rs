//! One SimpleFOC sketch on both devices the tests have: the real library
//! (Arduino-FOC 2.4.0 built on the host, [`RealSimpleFoc`]) and
//! motiontune's emulator (`src/sim/firmware/simplefoc`), started from the
//! same [`SketchConfig`] and read through the same [`FirmwareState`], so a
//! test holds the adapter to both and the emulator to the real code. The
//! real one is skipped, with one line, where the library is missing.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::simplefoc::motor::{Lpf, Pid as EmulatedPid};
use motiontune::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};
use motiontune::sim::pty::PtyServer;

use super::{FirmwareState, Pid, RealSimpleFoc, SketchConfig};

/// A sketch running on one of the two devices.
pub enum Sketch {
    Real(RealSimpleFoc),
    Emulated(PtyServer<SimpleFocFirmware>),
}

impl Sketch {
    /// Which device, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Real(_) => "the real library",
            Self::Emulated(_) => "the emulator",
        }
    }

    /// The pty to open as a serial port.
    pub fn path(&self) -> &str {
        match self {
            Self::Real(sketch) => sketch.path(),
            Self::Emulated(server) => server.path(),
        }
    }

    /// The firmware's variables once it has taken every byte a client
    /// wrote (a command that just ended may have left its last lines on
    /// the way).
    pub fn state(&mut self) -> FirmwareState {
        match self {
            Self::Real(sketch) => {
                let mut state = sketch.state();
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let again = sketch.state();
                    if again.bytes_in == state.bytes_in {
                        return again;
                    }
                    state = again;
                }
            }
            Self::Emulated(server) => {
                super::settled(server);
                server.with_device(|d| emulated_state(d))
            }
        }
    }

    /// The firmware's variables now.
    pub fn state_now(&mut self) -> FirmwareState {
        match self {
            Self::Real(sketch) => sketch.state(),
            Self::Emulated(server) => server.with_device(|d| emulated_state(d)),
        }
    }

    /// Reads the state until `condition` holds; fails after 15 s.
    pub fn wait_for(
        &mut self,
        what: &str,
        mut condition: impl FnMut(&FirmwareState) -> bool,
    ) -> FirmwareState {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let state = self.state_now();
            if condition(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{}: timed out waiting for {what}; it holds {state:#?}",
                self.name()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `loop()` runs (`setup()` is over).
    pub fn booted(mut self) -> Self {
        self.wait_for("loop() to run", |state| state.loops > 0);
        self
    }
}

impl SketchConfig {
    /// The sketch on both devices, each started, still in `setup()`, as
    /// the iteration reaches it: the real library first, where it can be
    /// built.
    pub fn start_both_booting(&self) -> impl Iterator<Item = Sketch> + '_ {
        let real = std::iter::once(()).filter_map(|()| self.start_booting().map(Sketch::Real));
        let emulated = std::iter::once(()).map(|()| {
            let firmware =
                SimpleFocFirmware::with_settings(DriveConfig::default(), self.emulated());
            Sketch::Emulated(PtyServer::start(firmware).expect("pty available"))
        });
        real.chain(emulated)
    }

    /// The sketch on both devices, each running `loop()` when the
    /// iteration reaches it.
    pub fn start_both(&self) -> impl Iterator<Item = Sketch> + '_ {
        self.start_both_booting().map(Sketch::booted)
    }

    /// The emulator's settings for this sketch (the emulator keeps the
    /// library's defaults and its own loop rate; no UART, no calibration).
    fn emulated(&self) -> SketchSettings {
        SketchSettings {
            letter: self.letter,
            verbose: self.verbose,
            decimals: self.decimals,
            monitor_separator: self.monitor_separator,
            monitor_start_char: self.monitor_start_char,
            monitor_end_char: self.monitor_end_char,
            monitor_decimals: u32::from(self.monitor_decimals),
            motion: self.motion,
            torque: self.torque,
            monitor_in_loop: self.monitor_in_loop,
            motor_handler: self.motor_handler,
            target_letter: self.target_letter,
            target: self.target,
            enabled: self.enabled,
            monitor_downsample: self.monitor_downsample,
            monitor_variables: self.monitor_variables,
            boot: true,
            boot_ms: self.boot_ms,
        }
    }
}

fn pid(pid: &EmulatedPid) -> Pid {
    Pid {
        p: pid.p,
        i: pid.i,
        d: pid.d,
        output_ramp: pid.output_ramp,
        limit: pid.limit,
    }
}

fn tf(filter: &Lpf) -> f32 {
    filter.tf
}

fn text(lines: &VecDeque<Vec<u8>>) -> Vec<String> {
    lines
        .iter()
        .map(|line| line.iter().map(|&b| char::from(b)).collect())
        .collect()
}

/// The emulator's variables under the real library's names.
fn emulated_state(d: &SimpleFocFirmware) -> FirmwareState {
    let m = &d.motor;
    FirmwareState {
        micros: d.ticks * 100,
        loops: d.loops,
        commands: d.lines_run,
        motor_commands: d.handler_calls(d.motor_letter()),
        target_commands: d
            .commander
            .handlers
            .iter()
            .filter(|h| h.label == "target")
            .map(|h| h.calls)
            .sum(),
        lines: text(&d.lines_read),
        bytes_in: 0,
        bytes_out: 0,
        bytes_dropped: 0,
        blocked_us: 0,
        enabled: i32::from(m.enabled),
        motor_status: 4,
        controller: m.controller,
        torque_controller: m.torque_controller,
        target: m.target,
        shaft_angle: m.shaft_angle,
        shaft_velocity: m.shaft_velocity,
        current_sp: m.current_sp,
        shaft_velocity_sp: m.shaft_velocity_sp,
        shaft_angle_sp: m.shaft_angle_sp,
        voltage_q: m.voltage_q,
        voltage_d: m.voltage_d,
        voltage_limit: m.voltage_limit,
        current_limit: m.current_limit,
        velocity_limit: m.velocity_limit,
        p_angle: pid(&m.p_angle),
        pid_velocity: pid(&m.pid_velocity),
        pid_current_q: pid(&m.pid_current_q),
        pid_current_d: pid(&m.pid_current_d),
        lpf_angle_tf: tf(&m.lpf_angle),
        lpf_velocity_tf: tf(&m.lpf_velocity),
        lpf_current_q_tf: tf(&m.lpf_current_q),
        lpf_current_d_tf: tf(&m.lpf_current_d),
        monitor_downsample: m.monitor.downsample,
        monitor_variables: m.monitor.variables,
        monitor_decimals: m.monitor.decimals,
        verbose: d.commander.verbose,
        decimal_places: d.commander.decimal_places,
        zero_electric_angle: m.zero_electric_angle,
        sensor_direction: 1,
        driver_enabled: m.driver_enabled,
        driver_enable_calls: 0,
        driver_disable_calls: 0,
        plant_angle: m.plant.state.position,
        plant_velocity: m.plant.state.velocity,
        second: None,
    }
}
