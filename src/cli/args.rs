//! The command line's shape: every subcommand's arguments as clap parses
//! them, each value checked by a parser ([`values`]) that refuses it in one
//! line naming it. No I/O here; [`super`] dispatches and each command's
//! module runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::control_lines;
use crate::analysis::{StepOptions, UltimateRule};
use crate::protocol::adapter::Protocol;
use crate::record::read::TimeUnit;
use crate::tuning::{ModelKind, ModelRule};
use values::{
    parse_amplitude, parse_assignment, parse_divider, parse_effort_limit, parse_excursion,
    parse_factor, parse_hz, parse_recording, parse_rise_limits, parse_seconds, parse_settle,
    parse_settling_band,
};

mod device;
mod values;

pub use device::{AdapterArgs, DevicesArgs, LinesArgs, LinkArgs, PortArgs};

/// Tune motor drives over USB serial.
#[derive(Debug, Parser)]
#[command(name = "motiontune", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    /// The headless command; none opens the GUI.
    pub command: Option<CliCommand>,
    /// Recordings (CSV or Parquet) to open in the GUI, beside the device.
    #[arg(value_name = "FILE", value_parser = parse_recording)]
    pub files: Vec<PathBuf>,
    /// A recording to open in the GUI, as FILE (may be given again).
    #[arg(long = "open", value_name = "FILE", value_parser = parse_recording)]
    pub open: Vec<PathBuf>,
    /// Serial port to open in the GUI (`sim` = built-in simulated drive,
    /// the default; `sim:native|lines|simplefoc|odrive` = an emulator;
    /// `replay:FILE` = a recording played as a device).
    #[arg(long, value_name = "PORT", value_parser = control_lines::parse_port)]
    pub port: Option<String>,
    #[command(flatten)]
    /// How to speak to it, as every command that takes a port.
    pub link: LinkArgs,
    /// Stream every Nth control-loop sample (1 = full rate).
    #[arg(long, default_value_t = 1, value_parser = parse_divider)]
    pub divider: u16,
    /// Seconds of the stream the scope keeps [default: as many as fit in
    /// 48 million values, 10 minutes at 10 kHz × 8 channels].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_hyphen_values = true)]
    pub history_seconds: Option<f64>,
    /// File the GUI keeps step runs in [default: step-runs.json in the
    /// user's data folder].
    #[arg(long, value_name = "FILE.json")]
    pub runs_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
/// The headless commands.
pub enum CliCommand {
    /// List serial ports with their USB descriptions.
    Ports,
    /// Run the simulated drive behind a pseudo-terminal.
    Sim(SimArgs),
    /// Record streamed samples to CSV, headless.
    Record(RecordArgs),
    /// Write parameters (NAME=VALUE …), then print every parameter in force.
    Params(ParamsArgs),
    /// Step metrics of every step in a recorded CSV.
    Analyze(AnalyzeArgs),
    /// Run a step test on a device and print its step metrics.
    Step(StepArgs),
    /// Identify the loop from a step, propose gains, and write them only
    /// with --write.
    Autotune(AutotuneArgs),
    /// Measure the loop's frequency response (Bode) by exciting the
    /// setpoint; print bandwidth, resonance and margins.
    Bode(BodeArgs),
    /// Save devices' gains and settings to a profile, or show what one
    /// would change and write it with --write.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Debug, Subcommand)]
/// `motiontune profile`'s two commands.
pub enum ProfileCommand {
    /// Save every gain and plain setting of one device, or of several (a
    /// section per device label), to a TOML file.
    Save(ProfileSaveArgs),
    /// Show what a profile would change on the devices present, and write
    /// it only with --write.
    Load(ProfileLoadArgs),
}

#[derive(Debug, Args)]
/// `motiontune profile save`'s options.
pub struct ProfileSaveArgs {
    #[command(flatten)]
    /// The device or devices to save.
    pub devices: DevicesArgs,
    /// The profile file to write (TOML).
    #[arg(long, value_name = "FILE.toml")]
    pub out: PathBuf,
    /// The profile's name, kept in the file.
    #[arg(long, default_value = "profile")]
    pub name: String,
}

#[derive(Debug, Args)]
/// `motiontune profile load`'s options.
pub struct ProfileLoadArgs {
    /// The profile file (TOML), of one device or of several.
    #[arg(value_name = "FILE.toml")]
    pub file: PathBuf,
    #[command(flatten)]
    /// The devices to compare it with.
    pub devices: DevicesArgs,
    /// Write the changes shown; without it nothing is written.
    #[arg(long)]
    pub write: bool,
    /// With --write, also write a gain that moves further than the write
    /// guard allows in one write.
    #[arg(long, requires = "write")]
    pub allow_large_change: bool,
}

#[derive(Debug, Args)]
/// `motiontune sim`'s options.
pub struct SimArgs {
    /// Serve on a new pseudo-terminal and print its path.
    #[arg(long)]
    pub pty: bool,
    /// Control-loop rate of the simulated drive, Hz.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(100..=100_000))]
    pub loop_hz: u32,
    /// Watchdog timeout, ms (0 = none).
    #[arg(long, default_value_t = 500)]
    pub watchdog_ms: u16,
    /// Enable the drive's output when a host says HELLO, as a bench drive
    /// wired to arm on connection does (for watchdog tests).
    #[arg(long)]
    pub enable_on_connect: bool,
    /// The firmware to emulate: native, lines, simplefoc or odrive.
    #[arg(long, default_value = "native", value_name = "PROTOCOL")]
    pub firmware: Protocol,
    /// The native drive runs a P position loop around a PI velocity loop
    /// (`pos.kp`, `vel.kp`, `vel.ki`, docs/PROTOCOL.md 4.7) in place of its
    /// position PID.
    #[arg(long)]
    pub cascade: bool,
    /// The ODrive release `--firmware odrive` emulates, 0.5.1 to 0.5.6.
    #[arg(long, default_value = "0.5.6", value_name = "0.5.N")]
    pub odrive_version: crate::sim::firmware::odrive::OdriveVersion,
}

#[derive(Debug, Args)]
/// `motiontune record`'s options.
pub struct RecordArgs {
    #[command(flatten)]
    /// The device or devices to record.
    pub devices: DevicesArgs,
    /// Seconds of device time to record.
    #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub seconds: f64,
    /// File to write: CSV, or Parquet when named `.parquet`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The file's format, `csv` or `parquet` (smaller and faster for long
    /// recordings, docs/RECORDINGS.md); by default the file name's.
    #[arg(long, value_name = "csv|parquet")]
    pub format: Option<crate::record::RecordFormat>,
    /// Stream every Nth control-loop sample (1 = full rate).
    #[arg(long, default_value_t = 1, value_parser = parse_divider)]
    pub divider: u16,
    /// Also write the device's text lines that are not data (banners,
    /// debug prints, warnings) to this CSV file, each with its time.
    #[arg(long, value_name = "FILE.csv")]
    pub text_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
/// `motiontune params`' options.
pub struct ParamsArgs {
    #[command(flatten)]
    /// The device to read and write, or the devices to list.
    pub devices: DevicesArgs,
    /// Parameter writes, applied in order.
    #[arg(value_name = "NAME=VALUE", value_parser = parse_assignment)]
    pub writes: Vec<Assignment>,
    /// Print the parameters as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
/// `motiontune analyze`'s options.
pub struct AnalyzeArgs {
    /// The recording: CSV or Parquet as `motiontune record` writes it, or
    /// any CSV with a time column (pandas, PlotJuggler, a serial log).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The time column of a CSV, by header or number from 1
    /// [default: time_s, else the first named like a time].
    #[arg(long, value_name = "COLUMN")]
    pub time_column: Option<String>,
    /// The time column's unit: s, ms or us [default: from its header,
    /// else s].
    #[arg(long, value_name = "UNIT")]
    pub time_unit: Option<TimeUnit>,
    /// In a recording of several devices (`record --port A --port B`),
    /// the label of the device to measure.
    #[arg(long, value_name = "LABEL")]
    pub device: Option<String>,
    /// Column of the reference, by header or name without the unit
    /// [default: setpoint, else reference].
    #[arg(long, value_name = "COLUMN")]
    pub reference: Option<String>,
    /// Column of the feedback [default: position, else feedback].
    #[arg(long, value_name = "COLUMN")]
    pub feedback: Option<String>,
    /// Column of the effort [default: effort, when there is one].
    #[arg(long, value_name = "COLUMN")]
    pub effort: Option<String>,
    #[command(flatten)]
    /// How steps are measured.
    pub metrics: MetricArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
/// `motiontune step`'s options.
pub struct StepArgs {
    #[command(flatten)]
    /// The device to test.
    pub port: PortArgs,
    /// Size of each step, in the setpoint's unit.
    #[arg(long, value_parser = parse_amplitude, allow_hyphen_values = true)]
    pub amplitude: f64,
    /// Seconds each target is held.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_hyphen_values = true)]
    pub hold: f64,
    /// Which way the setpoint moves from where it is (then back).
    #[arg(long, value_enum, default_value_t = StepDirectionArg::Up)]
    pub direction: StepDirectionArg,
    /// How many times the sequence runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::tuning::MAX_REPEATS)))]
    pub repeats: u32,
    /// Seconds of device time the loop holds the setpoint after the output
    /// is enabled, before the test starts.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = parse_settle, allow_hyphen_values = true)]
    pub settle: f64,
    /// Parameter writes before the test; they stay in force.
    #[arg(long = "set", value_name = "NAME=VALUE", num_args = 1.., value_parser = parse_assignment)]
    pub set: Vec<Assignment>,
    /// Stream every Nth control-loop sample (1 = full rate).
    #[arg(long, default_value_t = 1, value_parser = parse_divider)]
    pub divider: u16,
    #[command(flatten)]
    /// How steps are measured.
    pub metrics: MetricArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
/// `motiontune autotune`'s options.
pub struct AutotuneArgs {
    #[command(flatten)]
    /// The device to tune.
    pub port: PortArgs,
    /// How the loop is identified (relay needs a device-side relay mode).
    #[arg(long, value_enum)]
    pub method: AutotuneMethod,
    /// The tuning rule (cascade: simc or lambda for the velocity loop,
    /// default simc).
    #[arg(long, value_enum, required_if_eq_any([("method", "step"), ("method", "relay")]))]
    pub rule: Option<RuleArg>,
    /// The model fitted from effort to position.
    #[arg(long, value_enum, default_value_t = ModelArg::Motor)]
    pub model: ModelArg,
    /// Closed-loop time constant, s.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, conflicts_with = "bandwidth", allow_hyphen_values = true)]
    pub tau: Option<f64>,
    /// Target closed-loop bandwidth, Hz (cascade: the velocity loop's,
    /// default 30).
    #[arg(long, value_name = "HZ", value_parser = parse_hz, allow_hyphen_values = true)]
    pub bandwidth: Option<f64>,
    /// Cascade: the position loop's bandwidth is the velocity loop's over
    /// this [default: of 2 to 6, the one whose predicted step settles
    /// first with at most 2 % overshoot and 45° of phase margin].
    #[arg(long, value_parser = parse_factor, allow_hyphen_values = true)]
    pub factor: Option<f64>,
    /// Size of the identification step, in the setpoint's unit [default:
    /// 0.1; cascade: the step whose velocity command is half the velocity
    /// limit].
    #[arg(long, value_parser = parse_amplitude, allow_hyphen_values = true)]
    pub amplitude: Option<f64>,
    /// Cascade: the rate the device's loops run at, Hz [default: ODrive
    /// 8000, SimpleFOC 10000 (its wire does not say), a native device's
    /// declared rate].
    #[arg(long, value_name = "HZ", value_parser = parse_hz, allow_hyphen_values = true)]
    pub loop_hz: Option<f64>,
    /// Cascade: size of the step that verifies the position loop
    /// [default: the identification step's].
    #[arg(long, value_parser = parse_amplitude, allow_hyphen_values = true, requires = "write")]
    pub verify_amplitude: Option<f64>,
    /// Seconds the step is held.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub hold: f64,
    /// Relay amplitude d in the effort's unit (relay; default a fifth of the output limit).
    #[arg(long, value_parser = parse_amplitude, allow_hyphen_values = true)]
    pub relay_amplitude: Option<f64>,
    /// Relay hysteresis in the feedback's unit (relay; default the noise band at rest).
    #[arg(long, allow_hyphen_values = true)]
    pub hysteresis: Option<f64>,
    /// Largest distance from the start position (relay; default the device's relay.travel).
    #[arg(long, value_parser = parse_amplitude, allow_hyphen_values = true)]
    pub travel: Option<f64>,
    /// Longest the relay may run, s (relay).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub time_limit: f64,
    /// Write the proposed gains (step: then run a verification step).
    #[arg(long)]
    pub write: bool,
    /// With --write: write gains that move further in one write than the
    /// write guard allows (a factor of 3 for a gain); without it such a
    /// proposal is refused and nothing is written.
    #[arg(long, requires = "write")]
    pub allow_large_change: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
/// `motiontune bode`'s options.
pub struct BodeArgs {
    #[command(flatten)]
    /// The device to measure.
    pub port: PortArgs,
    /// Lowest frequency, Hz [default: a hundredth of --to].
    #[arg(long, value_name = "HZ", value_parser = parse_hz, allow_hyphen_values = true)]
    pub from: Option<f64>,
    /// Highest frequency, Hz [default: a fifth of the slower of the stream
    /// and the setpoint writes, at most a twentieth of the loop rate].
    #[arg(long, value_name = "HZ", value_parser = parse_hz, allow_hyphen_values = true)]
    pub to: Option<f64>,
    /// The excitation signal [default: prbs when the device excites
    /// itself, chirp otherwise].
    #[arg(long, value_enum)]
    pub signal: Option<SignalArg>,
    /// Excite by writing the setpoint from the host, even when the device
    /// declares its own excitation (docs/PROTOCOL.md 4.6).
    #[arg(long)]
    pub host_writes: bool,
    /// Peak excursion about the setpoint, in its unit [default: 1/10000
    /// of the setpoint's range]; when the device injects on its output,
    /// the peak injected, in the effort's unit [default: 0.8 of its
    /// output limit].
    #[arg(long, value_parser = parse_excursion, allow_hyphen_values = true)]
    pub amplitude: Option<f64>,
    /// Seconds of device time the excitation lasts.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub duration: f64,
    /// Seconds of device time the loop holds the setpoint after the output
    /// is enabled, before the excitation starts.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = parse_settle, allow_hyphen_values = true)]
    pub settle: f64,
    /// Stream every Nth control-loop sample (1 = full rate).
    #[arg(long, default_value_t = 1, value_parser = parse_divider)]
    pub divider: u16,
    /// Print the figures and every point as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write every point to this CSV file (one row per frequency) and
    /// print the figures.
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
}

/// `--signal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalArg {
    /// Logarithmic sweep.
    Chirp,
    /// Stepped sine, ten frequencies a decade.
    Sine,
    /// Pseudo-random binary sequence.
    Prbs,
}

/// `--method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AutotuneMethod {
    /// The device's relay mode: Ku and Tu, then a rule.
    Relay,
    /// An identification step, a model, then SIMC or lambda.
    Step,
    /// A position P around a velocity PI: the velocity loop tuned first,
    /// then the position loop a factor below it.
    Cascade,
}

/// `--rule`: SIMC or lambda for the step method, the Ku/Tu rules for relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleArg {
    /// SIMC (Skogestad), from a model.
    Simc,
    /// Lambda (IMC), from a model.
    Lambda,
    /// Ziegler–Nichols P.
    ZnP,
    /// Ziegler–Nichols PI.
    ZnPi,
    /// Ziegler–Nichols PD.
    ZnPd,
    /// Ziegler–Nichols PID.
    ZnPid,
    /// Tyreus–Luyben PI.
    TlPi,
    /// Tyreus–Luyben PID.
    TlPid,
    /// Pessen integral rule.
    Pessen,
    /// Modified Ziegler–Nichols, some overshoot.
    SomeOvershoot,
    /// Modified Ziegler–Nichols, no overshoot.
    NoOvershoot,
}

impl RuleArg {
    /// The model rule it names; `None` for the Ku/Tu rules.
    pub fn model_rule(self) -> Option<ModelRule> {
        match self {
            Self::Simc => Some(ModelRule::Simc),
            Self::Lambda => Some(ModelRule::Lambda),
            _ => None,
        }
    }

    /// The Ku/Tu rule it names; `None` for the model rules.
    pub fn ultimate_rule(self) -> Option<UltimateRule> {
        Some(match self {
            Self::Simc | Self::Lambda => return None,
            Self::ZnP => UltimateRule::ZieglerNicholsP,
            Self::ZnPi => UltimateRule::ZieglerNicholsPi,
            Self::ZnPd => UltimateRule::ZieglerNicholsPd,
            Self::ZnPid => UltimateRule::ZieglerNicholsPid,
            Self::TlPi => UltimateRule::TyreusLuybenPi,
            Self::TlPid => UltimateRule::TyreusLuybenPid,
            Self::Pessen => UltimateRule::PessenIntegral,
            Self::SomeOvershoot => UltimateRule::SomeOvershoot,
            Self::NoOvershoot => UltimateRule::NoOvershoot,
        })
    }
}

/// `--model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// Motor: effort to position.
    Motor,
    /// First order plus dead time.
    Fopdt,
    /// Integrating plus dead time.
    Ipdt,
}

impl ModelArg {
    /// The model this option names.
    pub fn kind(self) -> ModelKind {
        match self {
            Self::Motor => ModelKind::Motor,
            Self::Fopdt => ModelKind::Fopdt,
            Self::Ipdt => ModelKind::Ipdt,
        }
    }
}

/// `--direction`: up, down, or up then down (both measured).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StepDirectionArg {
    /// Up by the amplitude, measured; back down, not measured.
    Up,
    /// Down by the amplitude, measured; back up, not measured.
    Down,
    /// Up by the amplitude and back down, both measured.
    UpDown,
}

impl StepDirectionArg {
    /// The direction as the option spells it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::UpDown => "up-down",
        }
    }
}

/// How steps are measured: `stepinfo`'s options.
#[derive(Debug, Args)]
pub struct MetricArgs {
    /// Rise thresholds as fractions of the change.
    #[arg(long, value_name = "LOW,HIGH", default_value = "0.1,0.9", value_parser = parse_rise_limits, allow_hyphen_values = true)]
    pub rise: (f64, f64),
    /// Half-width of the settling band as a fraction of the change.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.02, value_parser = parse_settling_band, allow_hyphen_values = true)]
    pub settling_band: f64,
    /// |effort| at or above which the drive counts as saturated [step:
    /// default the device's `…output_limit` parameter].
    #[arg(long, value_name = "X", value_parser = parse_effort_limit, allow_hyphen_values = true)]
    pub effort_limit: Option<f64>,
}

impl MetricArgs {
    /// These options as the step metrics take them.
    pub fn step_options(&self) -> StepOptions {
        StepOptions {
            rise_limits: self.rise,
            settling_band: self.settling_band,
            effort_limit: self.effort_limit,
            ..StepOptions::default()
        }
    }
}

/// One `NAME=VALUE` write.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The parameter's name.
    pub name: String,
    /// The value to write, in its unit.
    pub value: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_shapes() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "motiontune",
            "params",
            "--port",
            "sim",
            "pos.kp=3",
            "--json",
        ])
        .expect("valid");
        match cli.command {
            Some(CliCommand::Params(args)) => {
                assert!(args.json);
                assert_eq!(args.writes.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from([
            "motiontune",
            "step",
            "--port",
            "sim",
            "--amplitude",
            "0.5",
            "--hold",
            "1",
            "--direction",
            "up-down",
            "--set",
            "pos.kp=3",
            "pos.kd=1",
            "--rise",
            "0.05,0.95",
        ])
        .expect("valid");
        match cli.command {
            Some(CliCommand::Step(args)) => {
                assert_eq!(args.direction, StepDirectionArg::UpDown);
                assert_eq!(args.set.len(), 2);
                assert_eq!(args.repeats, 1);
                assert_eq!(args.metrics.step_options().rise_limits, (0.05, 0.95));
                assert_eq!(args.metrics.step_options().settling_band, 0.02);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from([
            "motiontune",
            "bode",
            "--port",
            "sim",
            "--to",
            "40",
            "--signal",
            "prbs",
            "--csv",
            "out.csv",
        ])
        .expect("valid");
        match cli.command {
            Some(CliCommand::Bode(args)) => {
                assert_eq!((args.from, args.to), (None, Some(40.0)));
                assert_eq!(args.signal, Some(SignalArg::Prbs));
                assert_eq!(args.duration, 10.0);
                assert_eq!(args.csv, Some(PathBuf::from("out.csv")));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from([
                "motiontune",
                "bode",
                "--port",
                "sim",
                "--json",
                "--csv",
                "x"
            ])
            .is_err(),
            "--json and --csv exclude each other"
        );
    }
}
