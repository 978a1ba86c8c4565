//! The one interface between the link thread and a wire format. An
//! [`Adapter`] turns the bytes a device sends into [`Event`]s and the app's
//! [`Command`]s into bytes; nothing outside `protocol/` knows which wire
//! format is connected. Each adapter also says what bytes to send of its own
//! accord: handshake requests, polls, heartbeats, and what it puts back as
//! the connection closes.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::host_clock::HostTiming;
use super::{Command, DeviceInfo, Event};

/// A wire format the app can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// motiontune's own COBS/CRC binary protocol (docs/PROTOCOL.md).
    Native,
    /// Plain text lines of numbers, the Arduino serial-plotter format.
    Lines,
    /// SimpleFOC Commander (Arduino-FOC 2.x).
    SimpleFoc,
    /// ODrive ASCII protocol (firmware 0.5.x).
    Odrive,
}

impl Protocol {
    /// Every wire format motiontune speaks.
    pub const ALL: [Protocol; 4] = [
        Protocol::Native,
        Protocol::Lines,
        Protocol::SimpleFoc,
        Protocol::Odrive,
    ];

    /// The name used on the command line and in profiles.
    pub fn key(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Lines => "lines",
            Self::SimpleFoc => "simplefoc",
            Self::Odrive => "odrive",
        }
    }

    /// The name shown to the user.
    pub fn title(self) -> &'static str {
        match self {
            Self::Native => "motiontune native protocol",
            Self::Lines => "plain text lines",
            Self::SimpleFoc => "SimpleFOC Commander",
            Self::Odrive => "ODrive ASCII",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// The protocol a connection should speak: one named, or found by probing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ProtocolChoice {
    #[default]
    /// Probe for the protocol, read-only first.
    Auto,
    /// Speak this protocol only.
    Only(Protocol),
}

impl ProtocolChoice {
    /// The choice as `--protocol` spells it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Only(protocol) => protocol.key(),
        }
    }
}

impl fmt::Display for ProtocolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.key() == text)
            .ok_or_else(|| {
                format!("unknown protocol {text:?}: use native, lines, simplefoc or odrive")
            })
    }
}

impl FromStr for ProtocolChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        text.parse().map(Self::Only).map_err(|_| {
            format!("unknown protocol {text:?}: use auto, native, lines, simplefoc or odrive")
        })
    }
}

/// What the user chose about each wire format: whatever a firmware cannot
/// say about itself (the channels a plain-text sketch prints and the
/// commands that set its gains, SimpleFOC's command letter, ODrive's axis
/// and poll rate). Saved with a profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdapterSettings {
    /// The ODrive adapter's axis and poll rate.
    pub odrive: super::odrive::OdriveSettings,
    /// The axis of a native device that names several (docs/PROTOCOL.md,
    /// "Several axes"), connected as a device of its own; `None` for the
    /// whole device.
    pub native_axis: Option<String>,
    /// The plain-text sketch's time column, channel roles and parameters
    /// (boxed: a port target carries these settings and stays small).
    pub lines: Box<super::lines::LinesSettings>,
    /// SimpleFOC: the motor's command letter and the monitored variables.
    pub simplefoc: super::simplefoc::SimpleFocSettings,
}

/// What an adapter could not decode, added to the link's health counters.
/// Every whole unit received counts once, in `ok`, `framing_errors` or
/// `checksum_errors`; `message_errors` counts those in `ok` whose content
/// made no sense, so a fault-injection test can account for every unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeTally {
    /// Units (frames, lines, replies) whose framing and checksum held.
    pub ok: u64,
    /// Units dropped for their framing: bad stuffing, oversize, malformed
    /// line.
    pub framing_errors: u64,
    /// Units dropped for a failed checksum.
    pub checksum_errors: u64,
    /// Well-framed units whose content made no sense.
    pub message_errors: u64,
}

/// Why an adapter gives up on a device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("the device speaks protocol version {0}, this app speaks 1")]
    /// The device speaks another protocol version.
    UnsupportedVersion(u8),
    #[error("{0}")]
    /// The device is not one this adapter can work with; the reason is for the user.
    Incompatible(String),
}

/// How long the link and auto-detection wait after an adapter's last
/// [`Adapter::progress`] before giving up on the description.
pub const PROGRESS_GRACE: Duration = Duration::from_secs(4);
/// However the device keeps showing progress, a description that takes
/// longer than this is given up.
pub const LONGEST_HANDSHAKE: Duration = Duration::from_secs(60);

/// A command the connected firmware has no way to carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the device's firmware has no way to do this")]
pub struct Unsupported;

/// One wire format's side of a connection. The link thread calls
/// [`Adapter::poll`] every time round its loop (a few milliseconds apart),
/// [`Adapter::receive`] with every chunk of bytes read, and
/// [`Adapter::encode`] for every command of the app. Nothing here blocks or
/// does I/O.
pub trait Adapter: Send {
    /// The protocol spoken (while probing, the one being tried).
    fn protocol(&self) -> Protocol;

    /// What the adapter expects to hear, for the message when nothing
    /// valid came.
    fn expecting(&self) -> String {
        self.protocol().title().to_owned()
    }

    /// How long the device may take to describe itself, given the link's
    /// usual allowance (probing several protocols takes longer).
    fn describe_timeout(&self, usual: Duration) -> Duration {
        usual
    }

    /// When the device last showed, before it described itself, that it
    /// speaks this protocol and is on its way (a reply, a line of its boot
    /// text): the link and auto-detection wait [`PROGRESS_GRACE`] after it
    /// before they give up. `None` (the default) says nothing.
    fn progress(&self) -> Option<Instant> {
        None
    }

    /// `links` links speak over the port now, this one included (the axes
    /// of one board, [`crate::link`]'s shared port): an adapter that
    /// budgets the port's capacity takes its share. Nothing by default.
    fn port_shared_by(&mut self, _links: usize) {}

    /// Bytes to send now of the adapter's own accord: the handshake until
    /// the device is described, then polls for firmware that does not
    /// stream by itself.
    fn poll(&mut self, now: Instant, out: &mut Vec<u8>);

    /// Decodes bytes from the device; every event goes to `emit` in order.
    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError>;

    /// The bytes that carry out `command`.
    fn encode(
        &mut self,
        command: &Command,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported>;

    /// The device's description, once complete.
    fn device(&self) -> Option<&DeviceInfo>;

    /// How host timing is holding up, for a described device whose samples
    /// are timed by their arrival on the host; `None` (the default) for
    /// device time.
    fn host_timing(&self) -> Option<HostTiming> {
        None
    }

    /// Why [`Command::Text`] with `line` was refused by [`Adapter::encode`],
    /// in one line for the console. The default is a wire format that
    /// carries no typed lines at all.
    fn text_refusal(&self, _line: &str) -> String {
        format!(
            "not supported: the {} carries no typed lines",
            self.protocol().title()
        )
    }

    /// Bytes that put back what this connection changed on the device to
    /// stream (a stream it started, a monitoring rate or selection it
    /// replaced), written as the link closes; nothing by default. The
    /// output is not the adapter's to decide: the link disables it first
    /// when, and only when, this connection enabled it.
    fn close(&mut self, _now: Instant, _out: &mut Vec<u8>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_choice_parses_every_key_and_refuses_others() {
        for protocol in Protocol::ALL {
            assert_eq!(
                protocol.key().parse::<ProtocolChoice>(),
                Ok(ProtocolChoice::Only(protocol))
            );
        }
        assert_eq!("auto".parse::<ProtocolChoice>(), Ok(ProtocolChoice::Auto));
        let error = "modbus"
            .parse::<ProtocolChoice>()
            .expect_err("modbus is no protocol");
        assert!(error.contains("unknown protocol \"modbus\""), "{error}");
    }
}
