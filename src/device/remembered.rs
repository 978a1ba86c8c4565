//! The devices connected when the app last closed, remembered so the next
//! launch can offer them back in one click. No egui and no I/O: this owns
//! what is remembered of each device (its port as typed, baud rate,
//! protocol, ODrive axis or native axis, DTR and RTS, a replay's pace, stream divider,
//! and its label when the user typed one) and how that is turned back
//! into port targets.
//!
//! What it promises: a list read back is all good or refused as a whole,
//! with one line saying which entry is wrong and why, so a stale or
//! hand-edited entry never connects half a set; what cannot be read stays
//! as it was stored (the list is kept as raw JSON), so one bad entry never
//! costs the user the rest of the settings. Nothing here opens a port.

use serde::{Deserialize, Serialize};

use super::Devices;
use super::label;
use crate::link::{ControlLines, PortTarget, REPLAY_PREFIX, SIM_PORT, emulator_port};
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};

/// The most a stream divider may be, as the connection bar allows.
const MAX_DIVIDER: u16 = 1000;

/// One device as remembered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RememberedDevice {
    /// The port as the connection bar spells it: `sim`, `sim:odrive`,
    /// `replay:FILE` or a serial path.
    pub port: String,
    /// A serial port's baud rate.
    pub baud: u32,
    /// The protocol, as `--protocol` spells it.
    pub protocol: String,
    /// The ODrive axis tuned: 0 or 1.
    pub odrive_axis: u8,
    /// The axis of a native device that names several, connected alone.
    pub native_axis: Option<String>,
    /// The SimpleFOC motor's Commander letter; `None` for the default.
    pub simplefoc_letter: Option<char>,
    /// Raise DTR on opening (a serial port).
    pub dtr: bool,
    /// Raise RTS on opening (a serial port).
    pub rts: bool,
    /// A replay's pace, times the recorded one.
    pub replay_speed: f64,
    /// Stream every Nth sample.
    pub divider: u16,
    /// The label the user typed; `None` when it came by itself.
    pub label: Option<String>,
}

impl Default for RememberedDevice {
    fn default() -> Self {
        let lines = ControlLines::default();
        Self {
            port: String::new(),
            baud: 115_200,
            protocol: ProtocolChoice::Auto.key().to_owned(),
            odrive_axis: 0,
            native_axis: None,
            simplefoc_letter: None,
            dtr: lines.dtr,
            rts: lines.rts,
            replay_speed: 1.0,
            divider: 1,
            label: None,
        }
    }
}

/// A remembered device made a target again, ready to connect.
#[derive(Clone, Debug, PartialEq)]
pub struct Restored {
    /// Where to connect, and how to speak to it.
    pub target: PortTarget,
    /// Stream every Nth sample.
    pub divider: u16,
    /// The label to give it once added, when the user had typed one.
    pub label: Option<String>,
}

impl Restored {
    /// How the device is named on the button that reconnects it: its
    /// typed label, else its port (with the axis for an ODrive's).
    pub fn name(&self) -> String {
        if let Some(label) = &self.label {
            return label.clone();
        }
        let port = self.target.name().to_owned();
        match self.target.protocol() {
            (ProtocolChoice::Only(Protocol::Odrive), settings) => {
                format!("{port} axis{}", settings.odrive.axis)
            }
            (
                _,
                AdapterSettings {
                    native_axis: Some(axis),
                    ..
                },
            ) => format!("{port} axis {axis}"),
            (ProtocolChoice::Only(Protocol::SimpleFoc), settings) => {
                format!("{port} motor {}", settings.simplefoc.letter)
            }
            _ => port,
        }
    }
}

impl RememberedDevice {
    /// What to remember of a device connected to `target`.
    pub fn of(target: &PortTarget, divider: u16, label: Option<&str>) -> Self {
        let mut remembered = Self {
            divider,
            label: label.map(str::to_owned),
            ..Self::default()
        };
        let (protocol, settings) = match target {
            PortTarget::Sim => {
                remembered.port = SIM_PORT.to_owned();
                return remembered;
            }
            PortTarget::Emulated {
                firmware,
                protocol,
                settings,
            } => {
                remembered.port = emulator_port(*firmware).to_owned();
                (protocol, settings)
            }
            PortTarget::Replay { path, speed } => {
                remembered.port = format!("{REPLAY_PREFIX}{path}");
                remembered.replay_speed = *speed;
                return remembered;
            }
            PortTarget::Serial {
                path,
                baud,
                protocol,
                settings,
                control,
            } => {
                remembered.port = path.clone();
                remembered.baud = *baud;
                remembered.dtr = control.dtr;
                remembered.rts = control.rts;
                (protocol, settings)
            }
        };
        remembered.protocol = protocol.key().to_owned();
        remembered.odrive_axis = settings.odrive.axis;
        remembered.native_axis = settings.native_axis.clone();
        if *protocol == ProtocolChoice::Only(Protocol::SimpleFoc) {
            remembered.simplefoc_letter = Some(settings.simplefoc.letter);
        }
        remembered
    }

    /// The target to connect to again, the adapters' settings taken from
    /// `base` (what the command line set; not remembered) but for the
    /// axis; refused in one line when an entry makes no sense.
    pub fn restore(&self, base: &AdapterSettings) -> Result<Restored, String> {
        let port = self.port.trim();
        if port.is_empty() {
            return Err("it names no port".into());
        }
        PortTarget::check(port)?;
        let protocol: ProtocolChoice = self.protocol.parse()?;
        if self.odrive_axis > 1 {
            return Err(format!(
                "ODrive axis {} does not exist (0 or 1)",
                self.odrive_axis
            ));
        }
        if self.baud == 0 {
            return Err("its baud rate is 0".into());
        }
        if let Some(letter) = self.simplefoc_letter
            && !letter.is_ascii_alphabetic()
        {
            return Err(format!("{letter:?} is not a SimpleFOC motor's letter"));
        }
        if !(self.replay_speed.is_finite() && self.replay_speed > 0.0) {
            return Err(format!(
                "a replay pace of {} is not above 0",
                self.replay_speed
            ));
        }
        if !(1..=MAX_DIVIDER).contains(&self.divider) {
            return Err(format!(
                "a divider of {} is outside 1 to {MAX_DIVIDER}",
                self.divider
            ));
        }
        if let Some(label) = &self.label {
            label::check(label)?;
        }
        let mut settings = base.clone();
        settings.odrive.axis = self.odrive_axis;
        settings.native_axis = self.native_axis.clone();
        if let Some(letter) = self.simplefoc_letter {
            settings.simplefoc.letter = letter;
        }
        let target = PortTarget::parse(port, self.baud)
            .speaking(protocol, settings)
            .with_control_lines(ControlLines {
                dtr: self.dtr,
                rts: self.rts,
            })
            .with_replay_speed(self.replay_speed);
        Ok(Restored {
            target,
            divider: self.divider,
            label: self.label.as_ref().map(|l| l.trim().to_owned()),
        })
    }
}

/// The devices remembered, as stored: kept as raw JSON so that an entry
/// this version cannot read is reported by [`Self::restore`] instead of
/// making the whole settings file unreadable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RememberedDevices(serde_json::Value);

impl RememberedDevices {
    /// Every device in `devices` (recordings opened as devices aside), in
    /// the order they were added, each with its label when typed.
    pub fn of(devices: &Devices) -> Self {
        let list: Vec<RememberedDevice> = devices
            .iter()
            .filter(|d| d.session.recorded_from.is_none())
            .map(|d| {
                RememberedDevice::of(
                    d.session.target(),
                    d.session.stream_divider(),
                    d.label_typed().then(|| d.label()),
                )
            })
            .collect();
        Self::from_list(&list)
    }

    /// These devices, remembered.
    pub fn from_list(list: &[RememberedDevice]) -> Self {
        // Nothing here fails to serialise; were it to, nothing is
        // remembered rather than something half.
        Self(serde_json::to_value(list).unwrap_or_default())
    }

    /// Whether nothing is remembered (nor anything unreadable).
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            serde_json::Value::Null => true,
            serde_json::Value::Array(list) => list.is_empty(),
            _ => false,
        }
    }

    /// Every remembered device as a target to connect again, in order; or,
    /// when any entry cannot be read or makes no sense, which and why in
    /// one line, and none of them.
    pub fn restore(&self, base: &AdapterSettings) -> Result<Vec<Restored>, String> {
        let entries = match &self.0 {
            serde_json::Value::Null => return Ok(Vec::new()),
            serde_json::Value::Array(entries) => entries,
            _ => return Err("the remembered devices are not a list".into()),
        };
        let mut restored: Vec<Restored> = Vec::with_capacity(entries.len());
        for (n, entry) in (1..).zip(entries) {
            let device = RememberedDevice::deserialize(entry)
                .map_err(|e| one_line(&format!("remembered device {n} is unreadable ({e})")))?;
            let again = device.restore(base).map_err(|why| {
                one_line(&format!("remembered device {n} ({}): {why}", device.port))
            })?;
            if let Some(label) = &again.label
                && restored.iter().any(|r| r.label.as_ref() == Some(label))
            {
                return Err(format!(
                    "remembered device {n}: another one is labelled {label:?}"
                ));
            }
            restored.push(again);
        }
        Ok(restored)
    }
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odrive_axis(path: &str, axis: u8) -> PortTarget {
        let mut settings = AdapterSettings::default();
        settings.odrive.axis = axis;
        PortTarget::parse(path, 921_600).speaking(ProtocolChoice::Only(Protocol::Odrive), settings)
    }

    /// Remembers `targets`, stores them as JSON text and reads them back.
    fn round_trip(targets: &[(PortTarget, u16, Option<&str>)]) -> Vec<Restored> {
        let list: Vec<RememberedDevice> = targets
            .iter()
            .map(|(t, d, l)| RememberedDevice::of(t, *d, *l))
            .collect();
        let text = serde_json::to_string(&RememberedDevices::from_list(&list)).expect("json");
        let stored: RememberedDevices = serde_json::from_str(&text).expect("read back");
        stored
            .restore(&AdapterSettings::default())
            .expect("restored")
    }

    #[test]
    fn every_kind_of_port_comes_back_as_it_was() {
        let lines = ControlLines {
            dtr: false,
            rts: true,
        };
        let serial = PortTarget::parse("/dev/ttyACM0", 57_600)
            .speaking(
                ProtocolChoice::Only(Protocol::Lines),
                AdapterSettings::default(),
            )
            .with_control_lines(lines);
        let targets = [
            (PortTarget::Sim, 1, None),
            (
                PortTarget::parse("sim:odrive", 115_200)
                    .speaking(ProtocolChoice::Auto, AdapterSettings::default()),
                2,
                None,
            ),
            (
                PortTarget::parse("replay:/tmp/run.csv", 0).with_replay_speed(4.0),
                1,
                None,
            ),
            (serial, 10, Some("Left wheel")),
            (odrive_axis("/dev/ttyACM1", 0), 1, None),
            (odrive_axis("/dev/ttyACM1", 1), 1, Some("Right")),
            (
                PortTarget::parse("/dev/ttyUSB0", 115_200).speaking(
                    ProtocolChoice::Only(Protocol::Native),
                    AdapterSettings {
                        native_axis: Some("y".into()),
                        ..AdapterSettings::default()
                    },
                ),
                1,
                None,
            ),
            (
                PortTarget::parse("/dev/ttyUSB1", 115_200).speaking(
                    ProtocolChoice::Only(Protocol::SimpleFoc),
                    AdapterSettings {
                        simplefoc: crate::protocol::simplefoc::SimpleFocSettings {
                            letter: 'N',
                            ..Default::default()
                        },
                        ..AdapterSettings::default()
                    },
                ),
                1,
                None,
            ),
        ];
        let back = round_trip(&targets);
        assert_eq!(back.len(), targets.len());
        for ((target, divider, label), restored) in targets.iter().zip(&back) {
            assert_eq!(&restored.target, target);
            assert_eq!(restored.divider, *divider);
            assert_eq!(restored.label.as_deref(), *label);
        }
        let names: Vec<String> = back.iter().map(Restored::name).collect();
        assert_eq!(
            names,
            [
                "simulated drive",
                "sim:odrive",
                "/tmp/run.csv",
                "Left wheel",
                "/dev/ttyACM1 axis0",
                "Right",
                "/dev/ttyUSB0 axis y",
                "/dev/ttyUSB1 motor N"
            ]
        );
    }

    #[test]
    fn what_the_command_line_set_is_kept_but_the_axis_is_remembered() {
        let mut base = AdapterSettings::default();
        base.odrive.poll_hz = 50.0;
        base.odrive.axis = 0;
        let remembered = RememberedDevice::of(&odrive_axis("/dev/ttyACM1", 1), 1, None);
        let restored = remembered.restore(&base).expect("restored");
        let (_, settings) = restored.target.protocol();
        assert_eq!(settings.odrive.axis, 1);
        assert_eq!(settings.odrive.poll_hz, 50.0);
    }

    #[test]
    fn nothing_stored_is_nothing_to_restore() {
        let none = RememberedDevices::default();
        assert!(none.is_empty());
        assert_eq!(none.restore(&AdapterSettings::default()), Ok(Vec::new()));
        assert!(RememberedDevices::from_list(&[]).is_empty());
    }

    #[test]
    fn a_bad_entry_refuses_the_whole_list_in_one_line() {
        let cases = [
            (r#"{"not": "a list"}"#, "not a list"),
            (
                r#"[{"port": "sim"}, 7]"#,
                "remembered device 2 is unreadable",
            ),
            (
                r#"[{"port": "sim"}, {"port": "/dev/ttyACM0", "baud": "fast"}]"#,
                "remembered device 2 is unreadable",
            ),
            (r#"[{"baud": 9600}]"#, "names no port"),
            (r#"[{"port": "sim:nothing"}]"#, "is no emulator"),
            (r#"[{"port": "replay:"}]"#, "needs a recording"),
            (
                r#"[{"port": "/dev/ttyACM0", "protocol": "modbus"}]"#,
                "unknown protocol",
            ),
            (
                r#"[{"port": "/dev/ttyACM0", "protocol": "odrive", "odrive_axis": 2}]"#,
                "axis 2 does not exist",
            ),
            (r#"[{"port": "/dev/ttyACM0", "baud": 0}]"#, "baud rate is 0"),
            (
                r#"[{"port": "/dev/ttyACM0", "simplefoc_letter": "7"}]"#,
                "not a SimpleFOC motor's letter",
            ),
            (r#"[{"port": "sim", "divider": 0}]"#, "divider of 0"),
            (
                r#"[{"port": "replay:a.csv", "replay_speed": -1}]"#,
                "not above 0",
            ),
            (r#"[{"port": "sim", "label": "a.b"}]"#, "holds '.'"),
            (
                r#"[{"port": "sim", "label": "A"}, {"port": "sim:native", "label": "A"}]"#,
                "another one is labelled",
            ),
        ];
        for (stored, expected) in cases {
            let devices: RememberedDevices = serde_json::from_str(stored).expect("any JSON loads");
            assert!(!devices.is_empty(), "{stored}");
            let why = devices
                .restore(&AdapterSettings::default())
                .expect_err(stored);
            assert!(why.contains(expected), "{stored}: {why}");
            assert!(!why.contains('\n'), "{why}");
        }
    }

    #[test]
    fn fields_missing_from_an_entry_take_their_defaults() {
        let devices: RememberedDevices =
            serde_json::from_str(r#"[{"port": "/dev/ttyUSB0", "from_the_future": 1}]"#)
                .expect("loads");
        let restored = devices
            .restore(&AdapterSettings::default())
            .expect("restored");
        assert_eq!(
            restored[0].target,
            PortTarget::parse("/dev/ttyUSB0", 115_200)
        );
        assert_eq!(restored[0].divider, 1);
        assert_eq!(restored[0].label, None);
    }
}
