//! Which device or devices a command talks to: the port, and how the link
//! speaks to what is on it (baud, protocol, adapter settings, DTR and RTS).
//! `record` and `params` take several ports ([`DevicesArgs`]), each spoken
//! to with the same settings; every other command takes one
//! ([`PortArgs`]), where clap refuses a second `--port` in one line.

use clap::Args;

use super::super::control_lines;
use super::values::{parse_baud, parse_speed};
use crate::link::PortTarget;
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};

/// Which device to talk to.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// Serial port (`sim` = built-in simulated drive;
    /// `sim:native|lines|simplefoc|odrive` = an emulator; `replay:FILE` =
    /// a recording played as a device).
    #[arg(long, value_name = "PORT", value_parser = control_lines::parse_port)]
    pub port: String,
    #[command(flatten)]
    /// How to speak to it.
    pub link: LinkArgs,
}

impl PortArgs {
    /// The port to open, the protocol to speak and its settings.
    pub fn target(&self) -> anyhow::Result<PortTarget> {
        self.link.one_target(&self.port)
    }
}

/// Which devices to talk to, together.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Serial port (`sim` = built-in simulated drive;
    /// `sim:native|lines|simplefoc|odrive` = an emulator; `replay:FILE` =
    /// a recording played as a device). Repeat for several devices.
    #[arg(long = "port", value_name = "PORT", required = true, value_parser = control_lines::parse_port)]
    pub ports: Vec<String>,
    /// With several ports: each device's name in the file's column
    /// names, in the order of --port [default: the name the device
    /// gives, numbered when two give the same].
    #[arg(long = "label", value_name = "NAME", value_parser = parse_label)]
    pub labels: Vec<String>,
    #[command(flatten)]
    /// How to speak to each.
    pub link: LinkArgs,
}

impl DevicesArgs {
    /// Each port to open, in the order given, with the protocol and
    /// settings to speak. `--odrive-axis`, `--axis` or
    /// `--simplefoc-letter` given once per `--port` says each port's axis:
    /// the same port twice with `--odrive-axis 0` and `1` is both axes of
    /// one ODrive, with `--axis x` and `y` two axes of one native device,
    /// with `--simplefoc-letter M` and `N` two motors of one SimpleFOC
    /// sketch, each a device (spoken to in that protocol when it is left
    /// to probing).
    pub fn targets(&self) -> anyhow::Result<Vec<PortTarget>> {
        let adapter = &self.link.adapter;
        for (flag, given) in adapter.axis_flags() {
            if given > 1 && given != self.ports.len() {
                anyhow::bail!(
                    "{flag} was given {given} times for {} --port: give it once, or once per --port",
                    self.ports.len()
                );
            }
        }
        let each = |values: usize, at: usize| if values > 1 { Some(at) } else { Some(0) };
        Ok(self
            .ports
            .iter()
            .enumerate()
            .map(|(at, port)| {
                let mut target = self.link.target(port);
                let twice = self.ports.iter().filter(|p| *p == port).count() > 1;
                if twice && self.link.protocol == ProtocolChoice::Auto {
                    // Only a device with axes carries several devices over
                    // one port.
                    let protocol = if !adapter.native_axis.is_empty() {
                        Protocol::Native
                    } else if adapter.simplefoc_letter.len() > 1 {
                        Protocol::SimpleFoc
                    } else {
                        Protocol::Odrive
                    };
                    let (_, settings) = target.protocol();
                    target = target.speaking(ProtocolChoice::Only(protocol), settings);
                }
                if let PortTarget::Serial { settings, .. } | PortTarget::Emulated { settings, .. } =
                    &mut target
                {
                    let odrive = each(adapter.odrive_axis.len(), at);
                    if let Some(&axis) = odrive.and_then(|k| adapter.odrive_axis.get(k)) {
                        settings.odrive.axis = axis;
                    }
                    let native = each(adapter.native_axis.len(), at);
                    settings.native_axis = native.and_then(|k| adapter.native_axis.get(k)).cloned();
                    let simplefoc = each(adapter.simplefoc_letter.len(), at);
                    if let Some(&letter) = simplefoc.and_then(|k| adapter.simplefoc_letter.get(k)) {
                        settings.simplefoc.letter = letter;
                    }
                }
                axis_is_native(target, self.link.protocol)
            })
            .collect())
    }
}

fn parse_label(text: &str) -> Result<String, String> {
    crate::device::label::check(text).map(|()| text.to_owned())
}

/// How the link speaks to the device on a port.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Pace of a `replay:FILE` port, times the recorded one.
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = parse_speed)]
    pub replay_speed: f64,
    /// Baud rate (ignored by USB CDC devices).
    #[arg(long, default_value_t = 115_200, value_parser = parse_baud)]
    pub baud: u32,
    /// Wire format: auto (probe, read-only first), native, lines,
    /// simplefoc or odrive.
    #[arg(long, default_value = "auto", value_name = "PROTOCOL")]
    pub protocol: ProtocolChoice,
    #[command(flatten)]
    /// Settings for adapters of firmware that cannot describe itself.
    pub adapter: AdapterArgs,
    #[command(flatten)]
    /// The serial port's DTR and RTS lines.
    pub control: control_lines::ControlLineArgs,
}

impl LinkArgs {
    /// `port` as the one device of a command: `--odrive-axis`, `--axis`
    /// and `--simplefoc-letter` at most once.
    pub fn one_target(&self, port: &str) -> anyhow::Result<PortTarget> {
        for (flag, given) in self.adapter.axis_flags() {
            if given > 1 {
                anyhow::bail!(
                    "{flag} was given {given} times for one --port: one device is one axis"
                );
            }
        }
        Ok(axis_is_native(self.target(port), self.protocol))
    }

    /// `port` to open, with the protocol to speak and its settings.
    pub fn target(&self, port: &str) -> PortTarget {
        PortTarget::parse(port, self.baud)
            .speaking(self.protocol, self.adapter.settings())
            .with_control_lines(self.control.lines())
            .with_replay_speed(self.replay_speed)
    }
}

fn parse_simplefoc_letter(text: &str) -> Result<char, String> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), None) if letter.is_ascii_alphabetic() => Ok(letter),
        _ => Err(format!(
            "{text:?} is not one letter (the sketch's command.add('M', …))"
        )),
    }
}

/// What the user tells each protocol adapter: whatever the firmware
/// cannot say about itself.
#[derive(Debug, Args)]
pub struct AdapterArgs {
    #[command(flatten)]
    /// The plain-text-lines adapter's settings.
    pub lines: LinesArgs,
    /// ODrive: the axis to tune (0 or 1) [default: 0]. With several
    /// --port, once per port: the same port given twice with axes 0 and
    /// 1 is both axes of one board.
    #[arg(long, value_name = "AXIS", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub odrive_axis: Vec<u8>,
    /// Native: the axis to connect, of a device that names several by
    /// prefix (`x` of `x.position`, docs/PROTOCOL.md "Several axes"), as
    /// a device of its own [default: the whole device]. With several
    /// --port, once per port: the same port given twice with `x` and `y`
    /// is two axes of one device.
    #[arg(long = "axis", value_name = "NAME", value_parser = parse_axis)]
    pub native_axis: Vec<String>,
    /// ODrive: feedback polls per second.
    #[arg(long, default_value_t = 200.0, value_name = "HZ", value_parser = parse_poll_hz)]
    pub odrive_poll_hz: f64,
    /// SimpleFOC: the motor's command letter in the sketch's Commander
    /// [default: M]. With several --port, once per port: the same port
    /// given twice with M and N is two motors of one sketch.
    #[arg(long, value_name = "LETTER", value_parser = parse_simplefoc_letter)]
    pub simplefoc_letter: Vec<char>,
}

impl AdapterArgs {
    /// The options that say which axis of a port, with how often each
    /// was given.
    fn axis_flags(&self) -> [(&'static str, usize); 3] {
        [
            ("--odrive-axis", self.odrive_axis.len()),
            ("--axis", self.native_axis.len()),
            ("--simplefoc-letter", self.simplefoc_letter.len()),
        ]
    }

    /// These settings as the adapters take them.
    pub fn settings(&self) -> AdapterSettings {
        let mut settings = self.lines.settings();
        settings.odrive.axis = self.odrive_axis.first().copied().unwrap_or(0);
        settings.odrive.poll_hz = self.odrive_poll_hz;
        settings.native_axis = self.native_axis.first().cloned();
        if let Some(&letter) = self.simplefoc_letter.first() {
            settings.simplefoc.letter = letter;
        }
        settings
    }
}

/// A target with a native axis named and the protocol left to probing is
/// spoken to in the native protocol: only a native device names axes.
fn axis_is_native(target: PortTarget, protocol: ProtocolChoice) -> PortTarget {
    let (_, settings) = target.protocol();
    if protocol == ProtocolChoice::Auto && settings.native_axis.is_some() {
        target.speaking(ProtocolChoice::Only(Protocol::Native), settings)
    } else {
        target
    }
}

fn parse_axis(text: &str) -> Result<String, String> {
    let fits = !text.is_empty()
        && text.len() <= 32
        && !text.contains('.')
        && !text.chars().any(|c| c.is_control() || c.is_whitespace());
    if fits {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not an axis name: the prefix before the '.' of the device's channel names, e.g. x"
        ))
    }
}

fn parse_poll_hz(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(hz) if (1.0..=2000.0).contains(&hz) => Ok(hz),
        _ => Err(format!("{text:?} is not a poll rate from 1 to 2000 Hz")),
    }
}

/// What a plain-text (`--protocol lines`) sketch cannot say about itself.
#[derive(Debug, Args)]
pub struct LinesArgs {
    /// Lines: field N is device time in µs, ms or s (default: time lines by
    /// their arrival).
    #[arg(long, value_name = "N:us|ms|s")]
    pub lines_time_column: Option<crate::protocol::lines::TimeColumn>,
    /// Lines: a parameter and the command that sets it, e.g.
    /// 'kp:0:100:A/rad:gain=kp {value}\n' (flags gain, setpoint, log,
    /// none joined with +; default gain). Repeatable.
    #[arg(long, value_name = "NAME:MIN:MAX[:UNIT[:FLAGS]]=TEMPLATE")]
    pub lines_param: Vec<crate::protocol::lines::LineParam>,
    /// Lines: which channel is the reference, feedback and effort, by
    /// number from 1 or by name, e.g. ref=1,fb=position,effort=3.
    #[arg(long, value_name = "ref=CH,fb=CH,effort=CH")]
    pub lines_roles: Option<crate::protocol::lines::LineRoles>,
    /// Lines: the command that enables the sketch's output (e.g. enable).
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_fixed_template)]
    pub lines_enable: Option<crate::protocol::lines::CommandTemplate>,
    /// Lines: the command that disables the sketch's output.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_fixed_template)]
    pub lines_disable: Option<crate::protocol::lines::CommandTemplate>,
}

impl LinesArgs {
    /// The adapter settings these arguments declare.
    // The other protocols' settings join `AdapterSettings` beside these.
    #[allow(clippy::needless_update)]
    pub fn settings(&self) -> AdapterSettings {
        AdapterSettings {
            lines: Box::new(crate::protocol::lines::LinesSettings {
                time_column: self.lines_time_column,
                roles: self.lines_roles.clone().unwrap_or_default(),
                params: self.lines_param.clone(),
                enable: self.lines_enable.clone(),
                disable: self.lines_disable.clone(),
            }),
            ..AdapterSettings::default()
        }
    }
}

fn parse_fixed_template(text: &str) -> Result<crate::protocol::lines::CommandTemplate, String> {
    crate::protocol::lines::CommandTemplate::fixed(text)
}
