//! The properties `r` and `w` reach, by their path from the root object,
//! with their type as the firmware prints and scans it (fw-v0.5.x
//! `fibre-cpp/protocol.hpp` `to_string`/`from_string`, fw-v0.5.6 lines
//! 182-233):
//!
//! - `r` prints into a 10-byte buffer (ascii_protocol.cpp:356-358): at most
//!   9 characters. Floats print `%f` (six decimals, so `1234.5678` reads
//!   `1234.5677` and `1e10` reads `100000000`), booleans `0`/`1`, integers
//!   `%u`/`%d`. A flags type whose bits need 32 bits is an `unsigned int`
//!   (short enums, as arm-none-eabi lays them out: fibre's wire types for
//!   enums are sized by their largest value, interface_generator.py
//!   444-456), and up to fw-v0.5.3 `unsigned int` prints `%ud`
//!   (fw-v0.5.3 fibre-cpp/protocol.hpp 151-154; fw-v0.5.1
//!   fibre/cpp/include/fibre/protocol.hpp 471-474): `axis0.error` reads
//!   `0d`. From fw-v0.5.4 it prints `%u` (fw-v0.5.4 protocol.hpp 156-160).
//! - `w` scans the value with `sscanf` (`%f`, `%d` for booleans, `%u`):
//!   a valid prefix is taken. A read-only property has no `set_string`
//!   (introspection.hpp:142-144, 167-169) and answers "not implemented",
//!   as does a value that does not scan.
//! - A path that names no property, or an object rather than a value
//!   (`axis0.controller`), is "invalid property".
//!
//! Board configuration names changed in 0.5.2: `config.enable_uart`,
//! `config.uart_baudrate` and `config.enable_ascii_protocol_on_usb` of
//! fw-v0.5.1 (odrive-interface.yaml 86-117) became `config.enable_uart_a`,
//! `config.uart_a_baudrate` and `config.usb_cdc_protocol` (fw-v0.5.6
//! odrive-interface.yaml 244, 259, 317; defaults odrive_main.h 68, 71, 79).

use super::OdriveSim;
use super::axis::{MODE_POSITION, OdriveAxis};
use super::scan::Scanner;

/// A property's value as the firmware holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Float(f32),
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    /// A 32-bit flags enum (an `unsigned int`).
    Flags(u32),
}

impl Value {
    /// The reply to `r`: the value printed into the firmware's 10-byte
    /// buffer.
    pub fn printed(self, revision: u8) -> String {
        let mut text = match self {
            Value::Float(v) => printf_f(v),
            Value::Bool(v) => u8::from(v).to_string(),
            Value::Unsigned(v) => v.to_string(),
            Value::Signed(v) => v.to_string(),
            Value::Flags(v) if revision <= 3 => format!("{v}d"),
            Value::Flags(v) => v.to_string(),
        };
        text.truncate(9);
        text
    }
}

/// C's `%f` of a float promoted to double.
fn printf_f(value: f32) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    format!("{:.6}", f64::from(value))
}

/// Why a `w` did not take.
pub enum Refusal {
    /// "invalid property"
    NoSuchProperty,
    /// "not implemented": read-only, or a value that does not scan.
    NotImplemented,
}

/// The variables of the root object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Board {
    FwMajor,
    FwMinor,
    FwRevision,
    FwUnreleased,
    HwMajor,
    HwMinor,
    HwVariant,
    SerialNumber,
    VbusVoltage,
    EnableAsciiOnUsb,
    EnableUart,
    UartBaudrate,
    EnableUartA,
    UartABaudrate,
    UsbCdcProtocol,
}

/// The variables of an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Error,
    CurrentState,
    RequestedState,
    EnableWatchdog,
    WatchdogTimeout,
    PosGain,
    VelGain,
    VelIntegratorGain,
    VelLimit,
    ControlMode,
    InputMode,
    ControllerError,
    InputPos,
    InputVel,
    InputTorque,
    CurrentLim,
    TorqueConstant,
    MotorError,
    IqMeasured,
    EncoderError,
    PosEstimate,
    VelEstimate,
    Cpr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Board(Board),
    Axis(usize, Field),
}

/// Board properties: path, variable, writable, the revisions that have it.
const BOARD: &[(&str, Board, bool, std::ops::RangeInclusive<u8>)] = &[
    ("fw_version_major", Board::FwMajor, false, 1..=6),
    ("fw_version_minor", Board::FwMinor, false, 1..=6),
    ("fw_version_revision", Board::FwRevision, false, 1..=6),
    ("fw_version_unreleased", Board::FwUnreleased, false, 1..=6),
    ("hw_version_major", Board::HwMajor, false, 1..=6),
    ("hw_version_minor", Board::HwMinor, false, 1..=6),
    ("hw_version_variant", Board::HwVariant, false, 1..=6),
    ("serial_number", Board::SerialNumber, false, 1..=6),
    ("vbus_voltage", Board::VbusVoltage, false, 1..=6),
    (
        "config.enable_ascii_protocol_on_usb",
        Board::EnableAsciiOnUsb,
        true,
        1..=1,
    ),
    ("config.enable_uart", Board::EnableUart, true, 1..=1),
    ("config.uart_baudrate", Board::UartBaudrate, true, 1..=1),
    ("config.enable_uart_a", Board::EnableUartA, true, 2..=6),
    ("config.uart_a_baudrate", Board::UartABaudrate, true, 2..=6),
    (
        "config.usb_cdc_protocol",
        Board::UsbCdcProtocol,
        true,
        2..=6,
    ),
];

/// Axis properties below `axisN.`: path, variable, writable (from 0.5.1
/// to 0.5.6 unless the revision says otherwise, see [`writable`]).
const AXIS: &[(&str, Field, bool)] = &[
    ("error", Field::Error, true),
    ("current_state", Field::CurrentState, false),
    ("requested_state", Field::RequestedState, true),
    ("config.enable_watchdog", Field::EnableWatchdog, true),
    ("config.watchdog_timeout", Field::WatchdogTimeout, true),
    ("controller.config.pos_gain", Field::PosGain, true),
    ("controller.config.vel_gain", Field::VelGain, true),
    (
        "controller.config.vel_integrator_gain",
        Field::VelIntegratorGain,
        true,
    ),
    ("controller.config.vel_limit", Field::VelLimit, true),
    ("controller.config.control_mode", Field::ControlMode, true),
    ("controller.config.input_mode", Field::InputMode, true),
    ("controller.error", Field::ControllerError, true),
    ("controller.input_pos", Field::InputPos, true),
    ("controller.input_vel", Field::InputVel, true),
    ("controller.input_torque", Field::InputTorque, true),
    ("motor.config.current_lim", Field::CurrentLim, true),
    ("motor.config.torque_constant", Field::TorqueConstant, true),
    ("motor.error", Field::MotorError, true),
    ("motor.current_control.Iq_measured", Field::IqMeasured, true),
    ("encoder.error", Field::EncoderError, true),
    ("encoder.pos_estimate", Field::PosEstimate, false),
    ("encoder.vel_estimate", Field::VelEstimate, false),
    ("encoder.config.cpr", Field::Cpr, true),
];

/// Whether `field` takes writes in `revision`: `Iq_measured` was a plain
/// float in fw-v0.5.1 (odrive-interface.yaml 543) and is read-only from
/// 0.5.2 (fw-v0.5.2 odrive-interface.yaml 744).
fn writable(field: Field, listed: bool, revision: u8) -> bool {
    match field {
        Field::IqMeasured => revision == 1,
        _ => listed,
    }
}

/// The property `name` names in `revision`, and whether it takes writes.
fn find(name: &str, revision: u8) -> Option<(Target, bool)> {
    if let Some(&(_, board, writable, ref revisions)) =
        BOARD.iter().find(|(path, ..)| *path == name)
    {
        return revisions
            .contains(&revision)
            .then_some((Target::Board(board), writable));
    }
    let rest = name.strip_prefix("axis")?;
    let (number, path) = rest.split_once('.')?;
    let axis = match number {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    AXIS.iter()
        .find(|(p, ..)| *p == path)
        .map(|&(_, field, listed)| (Target::Axis(axis, field), writable(field, listed, revision)))
}

impl OdriveSim {
    /// `r NAME`: the property's value, or `None` for "invalid property".
    pub(super) fn read_property(&self, name: &str) -> Option<Value> {
        let (target, _) = find(name, self.version.revision)?;
        Some(match target {
            Target::Board(board) => self.board_value(board),
            Target::Axis(index, field) => self.axis_value(index, field),
        })
    }

    fn board_value(&self, board: Board) -> Value {
        let b = &self.board;
        match board {
            Board::FwMajor => Value::Unsigned(0),
            Board::FwMinor => Value::Unsigned(5),
            Board::FwRevision => Value::Unsigned(u64::from(self.version.revision)),
            Board::FwUnreleased => Value::Unsigned(0),
            Board::HwMajor => Value::Unsigned(3),
            Board::HwMinor => Value::Unsigned(6),
            Board::HwVariant => Value::Unsigned(56),
            Board::SerialNumber => Value::Unsigned(super::SERIAL_NUMBER),
            Board::VbusVoltage => Value::Float(24.0),
            Board::EnableAsciiOnUsb => Value::Bool(b.enable_ascii_protocol_on_usb),
            Board::EnableUart => Value::Bool(b.enable_uart),
            Board::UartBaudrate => Value::Unsigned(u64::from(b.uart_baudrate)),
            Board::EnableUartA => Value::Bool(b.enable_uart),
            Board::UartABaudrate => Value::Unsigned(u64::from(b.uart_baudrate)),
            Board::UsbCdcProtocol => Value::Unsigned(u64::from(b.usb_cdc_protocol)),
        }
    }

    fn axis_value(&self, index: usize, field: Field) -> Value {
        let a = &self.axes[index];
        let (position, velocity) = self.estimates(index);
        match field {
            Field::Error => Value::Flags(a.error),
            Field::CurrentState => Value::Unsigned(u64::from(a.current_state)),
            Field::RequestedState => Value::Unsigned(u64::from(a.requested_state)),
            Field::EnableWatchdog => Value::Bool(a.enable_watchdog),
            Field::WatchdogTimeout => Value::Float(a.watchdog_timeout),
            Field::PosGain => Value::Float(a.pos_gain),
            Field::VelGain => Value::Float(a.vel_gain),
            Field::VelIntegratorGain => Value::Float(a.vel_integrator_gain),
            Field::VelLimit => Value::Float(a.vel_limit),
            Field::ControlMode => Value::Unsigned(u64::from(a.control_mode)),
            Field::InputMode => Value::Unsigned(u64::from(a.input_mode)),
            Field::ControllerError | Field::MotorError | Field::EncoderError => Value::Unsigned(0),
            Field::InputPos => Value::Float(a.input_pos),
            Field::InputVel => Value::Float(a.input_vel),
            Field::InputTorque => Value::Float(a.input_torque),
            Field::CurrentLim => Value::Float(a.current_lim),
            Field::TorqueConstant => {
                Value::Float(self.plant(index).plant.constants.torque_constant as f32)
            }
            Field::IqMeasured => Value::Float(a.iq() as f32),
            Field::PosEstimate => Value::Float(position as f32),
            Field::VelEstimate => Value::Float(velocity as f32),
            Field::Cpr => Value::Signed(i64::from(self.cpr)),
        }
    }

    /// `w NAME VALUE`.
    pub(super) fn write_property(&mut self, name: &str, text: Option<&str>) -> Result<(), Refusal> {
        let (target, writable) =
            find(name, self.version.revision).ok_or(Refusal::NoSuchProperty)?;
        if !writable {
            return Err(Refusal::NotImplemented);
        }
        let mut scan = Scanner::new(text.unwrap_or(""));
        let float = scan.float();
        let mut scan = Scanner::new(text.unwrap_or(""));
        let unsigned = scan.unsigned();
        let mut scan = Scanner::new(text.unwrap_or(""));
        let boolean = scan.signed().map(|v| v != 0);
        let no = || Refusal::NotImplemented;
        match target {
            Target::Board(board) => {
                let b = &mut self.board;
                match board {
                    Board::EnableAsciiOnUsb => {
                        b.enable_ascii_protocol_on_usb = boolean.ok_or_else(no)?
                    }
                    Board::EnableUart | Board::EnableUartA => {
                        b.enable_uart = boolean.ok_or_else(no)?
                    }
                    Board::UartBaudrate | Board::UartABaudrate => {
                        b.uart_baudrate = unsigned.ok_or_else(no)?;
                    }
                    Board::UsbCdcProtocol => b.usb_cdc_protocol = unsigned.ok_or_else(no)? as u8,
                    _ => return Err(no()),
                }
            }
            Target::Axis(index, field) => {
                let position = self.estimates(index).0 as f32;
                let revision = self.version.revision;
                if field == Field::TorqueConstant {
                    let kt = float.ok_or_else(no)?;
                    self.plant_mut(index).plant.constants.torque_constant = f64::from(kt);
                    return Ok(());
                }
                if field == Field::Cpr {
                    let mut scan = Scanner::new(text.unwrap_or(""));
                    self.cpr = scan.signed().ok_or_else(no)?;
                    return Ok(());
                }
                let a = &mut self.axes[index];
                write_axis(a, field, float, unsigned, boolean, revision, position)?;
            }
        }
        Ok(())
    }
}

/// A write to one of an axis's own variables.
fn write_axis(
    a: &mut OdriveAxis,
    field: Field,
    float: Option<f32>,
    unsigned: Option<u32>,
    boolean: Option<bool>,
    revision: u8,
    position: f32,
) -> Result<(), Refusal> {
    let no = || Refusal::NotImplemented;
    let float = || float.ok_or_else(no);
    // Enums and flags are scanned as `unsigned int` and cast.
    let unsigned = || unsigned.ok_or_else(no);
    match field {
        Field::Error => a.error = unsigned()?,
        Field::RequestedState => a.requested_state = unsigned()? as u8,
        Field::EnableWatchdog => a.enable_watchdog = boolean.ok_or_else(no)?,
        Field::WatchdogTimeout => a.watchdog_timeout = float()?,
        Field::PosGain => a.pos_gain = float()?,
        Field::VelGain => a.vel_gain = float()?,
        Field::VelIntegratorGain => a.vel_integrator_gain = float()?,
        Field::VelLimit => a.vel_limit = float()?,
        Field::ControlMode => {
            a.control_mode = unsigned()? as u8;
            // A plain member up to 0.5.4; from 0.5.5 its setter re-seeds
            // input_pos (fw-v0.5.5 odrive-interface.yaml `c_setter:
            // set_control_mode`).
            if revision >= 5 && a.control_mode >= MODE_POSITION {
                a.control_mode_updated(position);
            }
        }
        Field::InputMode => a.input_mode = unsigned()? as u8,
        Field::InputPos => a.input_pos = float()?,
        Field::InputVel => a.input_vel = float()?,
        Field::InputTorque => a.input_torque = float()?,
        Field::CurrentLim => a.current_lim = float()?,
        // Errors of parts not emulated read 0 whatever is written; so does
        // a measurement the firmware overwrites at its next loop.
        Field::ControllerError | Field::MotorError | Field::EncoderError => {
            unsigned()?;
        }
        Field::IqMeasured => {
            float()?;
        }
        Field::CurrentState
        | Field::PosEstimate
        | Field::VelEstimate
        | Field::TorqueConstant
        | Field::Cpr => return Err(no()),
    }
    Ok(())
}
