//! The device model every wire format is turned into: what a device is
//! ([`DeviceInfo`], [`ChannelInfo`], [`ParamInfo`]), what it tells the app
//! ([`Event`]) and what the app asks of it ([`Command`]).
//!
//! Nothing here does I/O; each wire format lives in a submodule that turns
//! bytes into these types and back.

pub mod adapter;
pub mod auto;
pub mod host_clock;
pub mod lines;
pub mod loops;
pub mod native;
pub mod odrive;
mod sample_batch;
pub mod simplefoc;

use std::time::Instant;

use adapter::{Adapter, AdapterSettings, Protocol, ProtocolChoice};
pub use sample_batch::SampleBatch;

/// What a channel measures, so analysis knows which trace is which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChannelRole {
    #[default]
    /// Any other signal (a P, I or D term, a velocity, a current …).
    Other,
    /// The reference the loop follows (setpoint).
    Reference,
    /// The measured quantity the loop controls.
    Feedback,
    /// The controller's output (drive effort).
    Effort,
}

impl ChannelRole {
    /// The role for a wire code; unknown codes are treated as `Other`.
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Reference,
            2 => Self::Feedback,
            3 => Self::Effort,
            _ => Self::Other,
        }
    }

    /// The wire code of this role.
    pub fn code(self) -> u8 {
        match self {
            Self::Other => 0,
            Self::Reference => 1,
            Self::Feedback => 2,
            Self::Effort => 3,
        }
    }
}

/// One streamed signal of a device.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelInfo {
    /// The channel's name as the device declares it (`position`).
    pub name: String,
    /// Its unit (`rad`), empty when it has none.
    pub unit: String,
    /// What it plays in the loop.
    pub role: ChannelRole,
}

impl ChannelInfo {
    /// `name [unit]`, or just the name when the unit is empty.
    pub fn label(&self) -> String {
        if self.unit.is_empty() {
            self.name.clone()
        } else {
            format!("{} [{}]", self.name, self.unit)
        }
    }
}

/// Flags a device declares on a parameter (the native protocol's PARAM
/// flags byte, docs/PROTOCOL.md 3.4). Bits 4–5 carry the parameter's
/// [`ParamKind`] on the wire; inside the app [`ParamInfo::kind`] is what
/// counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ParamFlags(pub u8);

impl ParamFlags {
    /// The parameter can be read but not written.
    pub const READ_ONLY: u8 = 1 << 0;
    /// The parameter is the loop's setpoint, the one step tests drive.
    pub const SETPOINT: u8 = 1 << 1;
    /// The parameter is a tuning gain (kp, ki, kd), shown with the gains.
    pub const TUNING_GAIN: u8 = 1 << 2;
    /// The slider moves on a logarithmic scale.
    pub const LOG_SCALE: u8 = 1 << 3;
    /// Bits 4–5: 0 a real number, 1 an integer, 2 a switch, 3 a choice.
    pub const KIND_MASK: u8 = 0b11 << 4;
    /// Bits 4–5 for an integer.
    pub const KIND_INTEGER: u8 = 1 << 4;
    /// Bits 4–5 for a switch (0 or 1).
    pub const KIND_SWITCH: u8 = 2 << 4;
    /// Bits 4–5 for a choice among named values.
    pub const KIND_CHOICE: u8 = 3 << 4;
    /// A mode, state or enable the drive runs in (what it does, not how
    /// well): written only when the user asks for this parameter itself.
    pub const MODE: u8 = 1 << 6;

    /// The parameter can be read but not written.
    pub fn read_only(self) -> bool {
        self.0 & Self::READ_ONLY != 0
    }
    /// The parameter step tests drive.
    pub fn setpoint(self) -> bool {
        self.0 & Self::SETPOINT != 0
    }
    /// The parameter is a tuning gain (kp, ki, kd), shown with the gains.
    pub fn tuning_gain(self) -> bool {
        self.0 & Self::TUNING_GAIN != 0
    }
    /// The slider should move on a logarithmic scale.
    pub fn log_scale(self) -> bool {
        self.0 & Self::LOG_SCALE != 0
    }
    /// The parameter switches the drive's mode, state or enable.
    pub fn mode(self) -> bool {
        self.0 & Self::MODE != 0
    }
}

/// What values a parameter takes, and so how it is edited: a slider and a
/// field for numbers, a checkbox for a switch, a drop-down for a choice.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ParamKind {
    /// Any number in [min, max].
    #[default]
    Real,
    /// Whole numbers in [min, max].
    Integer,
    /// 0 (off) or 1 (on).
    Switch,
    /// Whole numbers from min, each named: `names[i]` is the value min + i.
    Choice(Vec<String>),
}

impl ParamKind {
    /// The kind a native PARAM declares: its flags' kind bits, and the
    /// names that follow a choice (a choice without names is an integer).
    pub fn from_wire(flags: u8, names: Vec<String>) -> Self {
        match flags & ParamFlags::KIND_MASK {
            ParamFlags::KIND_INTEGER => Self::Integer,
            ParamFlags::KIND_SWITCH => Self::Switch,
            ParamFlags::KIND_CHOICE if names.is_empty() => Self::Integer,
            ParamFlags::KIND_CHOICE => Self::Choice(names),
            _ => Self::Real,
        }
    }

    /// The flags' kind bits for this kind.
    pub fn wire_bits(&self) -> u8 {
        match self {
            Self::Real => 0,
            Self::Integer => ParamFlags::KIND_INTEGER,
            Self::Switch => ParamFlags::KIND_SWITCH,
            Self::Choice(_) => ParamFlags::KIND_CHOICE,
        }
    }

    /// Takes whole values only.
    pub fn is_whole(&self) -> bool {
        !matches!(self, Self::Real)
    }

    /// The names of a choice's values, none for other kinds.
    pub fn names(&self) -> &[String] {
        match self {
            Self::Choice(names) => names,
            _ => &[],
        }
    }
}

/// What a parameter is to the app, which decides who may write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamRole {
    /// A loop gain (kp, ki, kd, filter constants the device marks as gains).
    Gain,
    /// Any other plain setting: limits, plant and encoder settings.
    Setting,
    /// What the loop follows: step tests and excitations move it.
    Setpoint,
    /// A mode, state, enable or experiment switch of the drive.
    Mode,
    /// The device does not take writes.
    ReadOnly,
}

impl ParamRole {
    /// Why a parameter of this role is left out of undo, restore, profiles
    /// and auto-tune; `None` for gains and settings, which they move.
    pub fn not_tunable_reason(self) -> Option<&'static str> {
        match self {
            Self::Gain | Self::Setting => None,
            Self::Setpoint => Some("it is the setpoint: writing it moves the axis"),
            Self::Mode => Some("it switches the drive's mode or state"),
            Self::ReadOnly => Some("it is read-only"),
        }
    }
}

/// The value a setting holds when it is not set: SimpleFOC's `NOT_SET`
/// (Arduino-FOC `src/common/foc_utils.h`:34), which its velocity PID's
/// ramp holds by default. Outside a parameter's range it is shown as "not
/// set" ([`ParamInfo::is_not_set`]).
pub const NOT_SET: f32 = -12345.0;

/// One parameter a device declares, with its limits and the value last known.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// The parameter's name as the device declares it (`pos.kp`).
    pub name: String,
    /// Its unit (`A/rad`), empty when it has none.
    pub unit: String,
    /// What the device declared about it.
    pub flags: ParamFlags,
    /// The lowest value the device accepts, in its unit.
    pub min: f32,
    /// The highest value the device accepts, in its unit.
    pub max: f32,
    /// The value last known to be in force, in its unit.
    pub value: f32,
    /// What values it takes.
    pub kind: ParamKind,
}

impl ParamInfo {
    /// A real-valued parameter (the kind every parameter had before kinds).
    pub fn real(name: &str, unit: &str, flags: u8, min: f32, max: f32, value: f32) -> Self {
        Self {
            name: name.to_owned(),
            unit: unit.to_owned(),
            flags: ParamFlags(flags),
            min,
            max,
            value,
            kind: ParamKind::Real,
        }
    }

    /// The same parameter, of `kind`.
    pub fn with_kind(mut self, kind: ParamKind) -> Self {
        self.kind = kind;
        self
    }

    /// What the parameter is to the app. A mode is what the device flags
    /// as one, or a relay-mode parameter (named `relay.*`, docs/PROTOCOL.md
    /// 4.5, which devices declared before the flag existed).
    pub fn role(&self) -> ParamRole {
        if self.flags.read_only() {
            ParamRole::ReadOnly
        } else if self.flags.setpoint() {
            ParamRole::Setpoint
        } else if self.flags.mode() || self.name.starts_with("relay.") {
            ParamRole::Mode
        } else if self.flags.tuning_gain() {
            ParamRole::Gain
        } else {
            ParamRole::Setting
        }
    }

    /// Whether undo, redo, restore, profiles and auto-tune may move it: a
    /// gain or a plain setting, never the setpoint, a mode or a read-only
    /// value.
    pub fn is_tunable(&self) -> bool {
        self.role().not_tunable_reason().is_none()
    }

    /// `value` as this parameter can hold it: whole kinds are rounded to
    /// the nearest whole number; nothing is clamped (the device's limits
    /// are its own to apply).
    pub fn fit(&self, value: f32) -> f32 {
        if self.kind.is_whole() {
            value.round()
        } else {
            value
        }
    }

    /// The name of `value`: a choice's name for it, or on/off for a
    /// switch; `None` for other kinds and values they do not name.
    pub fn value_name(&self, value: f32) -> Option<&str> {
        match &self.kind {
            ParamKind::Choice(names) if value == value.round() && value >= self.min => {
                names.get((value - self.min) as usize).map(String::as_str)
            }
            ParamKind::Switch if value == 0.0 => Some("off"),
            ParamKind::Switch if value == 1.0 => Some("on"),
            _ if self.is_not_set(value) => Some("not set"),
            _ => None,
        }
    }

    /// Whether `value` is [`NOT_SET`] outside the parameter's range: the
    /// firmware's "no value", not a number to show on a slider.
    pub fn is_not_set(&self, value: f32) -> bool {
        value == NOT_SET && !(self.min..=self.max).contains(&value)
    }

    /// The value as the user reads it: a choice's name, on/off, a whole
    /// number, or the number with its unit ("not set" without one).
    pub fn display(&self, value: f32) -> String {
        let name = match (&self.kind, self.value_name(value)) {
            (_, Some(name)) if self.is_not_set(value) => return name.to_owned(),
            (ParamKind::Choice(_), Some(name)) => Some(format!("{name} ({})", value.round())),
            (_, name) => name.map(str::to_owned),
        };
        let number = name.unwrap_or_else(|| value.to_string());
        if self.unit.is_empty() {
            number
        } else {
            format!("{number} {}", self.unit)
        }
    }
}

/// Everything a device says about itself on connect.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// The device's name (`motiontune simulated drive`).
    pub name: String,
    /// Its firmware and version, as it reports them.
    pub firmware: String,
    /// The wire protocol's version the device speaks.
    pub protocol_version: u8,
    /// Control-loop rate: sample ticks per second of device time.
    pub loop_hz: u32,
    /// The device disables its output when no host frame arrives for this
    /// long while enabled; 0 means it has no watchdog.
    pub watchdog_ms: u16,
    /// The signals it streams, in the order of each sample's values.
    pub channels: Vec<ChannelInfo>,
    /// Its parameters, in index order.
    pub params: Vec<ParamInfo>,
    /// The other axes of the same board the firmware names, each reachable
    /// over the same port as a device of its own, as the protocol's axis
    /// setting names it (a SimpleFOC sketch's other motors' letters).
    pub other_axes: Vec<String>,
}

/// Device status flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StatusFlags(pub u8);

impl StatusFlags {
    /// The drive's output is on.
    pub const ENABLED: u8 = 1 << 0;
    /// The drive reports a fault.
    pub const FAULT: u8 = 1 << 1;
    /// The watchdog tripped: no host frame came in time.
    pub const WATCHDOG: u8 = 1 << 2;
    /// The drive's output is saturated (at its limit).
    pub const SATURATED: u8 = 1 << 3;

    /// The drive's output is on.
    pub fn enabled(self) -> bool {
        self.0 & Self::ENABLED != 0
    }
    /// The drive reports a fault.
    pub fn fault(self) -> bool {
        self.0 & Self::FAULT != 0
    }
    /// The watchdog tripped: no host frame came in time.
    pub fn watchdog_tripped(self) -> bool {
        self.0 & Self::WATCHDOG != 0
    }
    /// The drive's output is saturated (at its limit).
    pub fn saturated(self) -> bool {
        self.0 & Self::SATURATED != 0
    }
}

/// Severity of a device's text message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextLevel {
    /// Information.
    Info,
    /// Something the user should look at.
    Warning,
    /// Something went wrong on the device.
    Error,
}

/// Something the device reported, in wire-independent form.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The device described itself (after HELLO).
    Described(DeviceInfo),
    /// Samples arrived; `lost_before` samples were missing just before them.
    Samples {
        /// The samples, in device time.
        batch: SampleBatch,
        /// Samples missing just before this batch (a gap in the ticks).
        lost_before: u64,
    },
    /// A parameter's value in force (answer to SET or GET, or unprompted).
    Value {
        /// The parameter's index in the device's table.
        index: u8,
        /// Its value in force, in its unit.
        value: f32,
    },
    /// The drive's state changed, or the device reported it.
    Status {
        /// The state.
        flags: StatusFlags,
        /// The control-loop tick the report was sent at.
        tick: u32,
    },
    /// The answer to a PING.
    Pong {
        /// The PING's token, to pair it with its request.
        token: u32,
    },
    /// A line of text from the device (a banner, a print, an error string).
    Text {
        /// How serious it is.
        level: TextLevel,
        /// The text, without its line end.
        message: String,
    },
    /// The device refused a request.
    Refused {
        /// The host message type that was refused.
        request: u8,
        /// Why.
        code: DeviceErrorCode,
    },
}

/// Why a device refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceErrorCode {
    /// The device does not know the request's type.
    UnknownType,
    /// The request's payload has the wrong length.
    BadLength,
    /// No parameter has that index.
    BadIndex,
    /// The parameter cannot be written.
    ReadOnly,
    /// The device does not do what was asked.
    Unsupported,
    /// A code this host does not know.
    Other(u8),
}

impl DeviceErrorCode {
    /// The error for a wire code; unknown codes become [`Self::Other`].
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::UnknownType,
            2 => Self::BadLength,
            3 => Self::BadIndex,
            4 => Self::ReadOnly,
            5 => Self::Unsupported,
            other => Self::Other(other),
        }
    }

    /// The wire code of this error.
    pub fn code(self) -> u8 {
        match self {
            Self::UnknownType => 1,
            Self::BadLength => 2,
            Self::BadIndex => 3,
            Self::ReadOnly => 4,
            Self::Unsupported => 5,
            Self::Other(code) => code,
        }
    }
}

impl std::fmt::Display for DeviceErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownType => write!(f, "unknown request type"),
            Self::BadLength => write!(f, "bad request length"),
            Self::BadIndex => write!(f, "no such parameter index"),
            Self::ReadOnly => write!(f, "parameter is read-only"),
            Self::Unsupported => write!(f, "not supported by the device"),
            Self::Other(code) => write!(f, "device error code {code}"),
        }
    }
}

/// Something the app asks of the device.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Ask the device to describe itself.
    Hello,
    /// Read a parameter's value.
    Get {
        /// The parameter's index in the device's table.
        index: u8,
    },
    /// Write a parameter.
    Set {
        /// The parameter's index in the device's table.
        index: u8,
        /// The value, in the parameter's unit.
        value: f32,
    },
    /// Switch the drive output on or off.
    Enable(bool),
    /// Stream every Nth control-loop sample; 0 stops streaming.
    Stream {
        /// The divider: every Nth sample, 0 for none.
        divider: u16,
    },
    /// Heartbeat and round-trip probe; feeds the watchdog.
    Ping {
        /// Echoed back in the PONG.
        token: u32,
    },
    /// Ask the device to keep its parameters across a power cycle.
    Save,
    /// A line the user typed in the console, written as it is with the
    /// wire format's line end. It holds no control character (a line end
    /// inside would make it two lines); an adapter refuses one that does,
    /// and a wire format without text lines refuses every one
    /// ([`Adapter::text_refusal`] says why).
    Text(String),
}

/// What [`Command::type_code`] gives a typed line: the native protocol has
/// no such request (its codes start at 1).
pub const TYPED_LINE_CODE: u8 = 0;

/// Whether `line` may go out as [`Command::Text`]: something to send, and
/// no control character in it.
pub fn is_sendable_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control)
}

/// Why a text wire format refused a typed line that is not
/// [`is_sendable_line`].
pub const UNSENDABLE_LINE: &str =
    "not sent: a typed line must hold something and no control character";

impl Command {
    /// The native protocol's code for this request, which also names it in
    /// a refusal whatever the wire format.
    pub fn type_code(&self) -> u8 {
        use native::message::host_type::*;
        match self {
            Self::Hello => HELLO,
            Self::Get { .. } => GET,
            Self::Set { .. } => SET,
            Self::Enable(_) => ENABLE,
            Self::Stream { .. } => STREAM,
            Self::Ping { .. } => PING,
            Self::Save => SAVE,
            Self::Text(_) => TYPED_LINE_CODE,
        }
    }
}

/// The adapter for a connection that speaks `choice`.
pub fn open_adapter(
    choice: ProtocolChoice,
    settings: &AdapterSettings,
    now: Instant,
) -> Box<dyn Adapter> {
    match choice {
        ProtocolChoice::Auto => Box::new(auto::AutoAdapter::new(settings, now)),
        ProtocolChoice::Only(Protocol::Native) => Box::new(native::adapter::NativeAdapter::new()),
        ProtocolChoice::Only(Protocol::Odrive) => {
            Box::new(odrive::OdriveAdapter::new(settings, now))
        }
        ProtocolChoice::Only(Protocol::Lines) => Box::new(lines::LinesAdapter::new(settings, now)),
        ProtocolChoice::Only(Protocol::SimpleFoc) => {
            Box::new(simplefoc::adapter::SimpleFocAdapter::new(settings, now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_line_is_written_with_its_line_end_or_refused_in_one_line() {
        let now = Instant::now();
        let typed = |line: &str| Command::Text(line.to_owned());
        let mut out = Vec::new();

        let mut lines = lines::LinesAdapter::new(&AdapterSettings::default(), now);
        assert_eq!(lines.encode(&typed("kp 3"), now, &mut out), Ok(()));
        assert_eq!(out, b"kp 3\n");
        out.clear();
        for bad in ["", "kp\r3", "a\nb"] {
            assert!(lines.encode(&typed(bad), now, &mut out).is_err(), "{bad:?}");
        }
        assert!(out.is_empty());
        assert_eq!(lines.text_refusal("a\nb"), UNSENDABLE_LINE);

        let mut native = native::adapter::NativeAdapter::new();
        assert!(native.encode(&typed("kp 3"), now, &mut out).is_err());
        assert!(out.is_empty(), "nothing written");
        let why = native.text_refusal("kp 3");
        assert!(why.starts_with("not supported: "), "{why}");
        assert_eq!(why.lines().count(), 1);
        assert_eq!(typed("kp 3").type_code(), TYPED_LINE_CODE);
    }

    #[test]
    fn not_set_outside_the_range_is_named_not_a_number() {
        let ramp = ParamInfo::real("vel.ramp", "V/s", 0, 0.0, 1.0e6, NOT_SET);
        assert_eq!(ramp.value_name(NOT_SET), Some("not set"));
        assert_eq!(ramp.display(NOT_SET), "not set");
        assert_eq!(ramp.display(1000.0), "1000 V/s");
        // A range that holds the number: a number.
        let wide = ParamInfo::real("offset", "", 0, -20_000.0, 0.0, NOT_SET);
        assert_eq!(wide.value_name(NOT_SET), None);
    }
}
