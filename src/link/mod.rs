//! Connections to devices. A link thread owns the transport (serial port or
//! in-process simulated drive), decodes what arrives into
//! [`Event`](crate::protocol::Event)s for the app and writes the app's
//! [`Command`](crate::protocol::Command)s to the device. The app holds a
//! [`Link`]: two channels and a set of health counters, nothing that blocks.
//! The link thread also runs the procedure in progress (step test,
//! frequency response, relay run), fed at the stream's rate ([`Link::run`]).

mod events;
mod handle;
mod health;
mod host_alignment;
mod open_error;
mod open_here;
mod ports;
pub mod replay;
mod runner;
pub mod saturation;
mod shared_port;
mod thread;
mod transport;

pub use events::{STREAM_WAKE, Wake};
pub use handle::{Link, LinkEvent, LinkOptions};
pub use health::{HealthSnapshot, LinkHealth};
pub use host_alignment::{Alignment, HostAlignment, host_seconds};
pub use ports::{PortEntry, list_ports};
pub use runner::ProcedureEvent;
pub use transport::{
    ControlLines, PortTarget, REPLAY_PREFIX, SIM_PORT, Transport, WRITE_BOUND, emulator_port,
    emulator_ports,
};

/// Why a connection failed or ended, in words for the person at the bench.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("no such port: {0}")]
    /// The port does not exist.
    NoSuchPort(String),
    #[error("port {0} is busy: another program has it open")]
    /// Another program has the port open.
    PortBusy(String),
    #[error(
        "no permission to open {0}: on Linux, add yourself to the dialout group and log in again"
    )]
    /// The user may not open the port.
    NoPermission(String),
    #[error("cannot open {port}: {reason}")]
    /// The port would not open for another reason.
    Open {
        /// The port.
        port: String,
        /// What the system said.
        reason: String,
    },
    #[error(
        "{port} did not answer within {seconds} s as {protocol}: check the firmware, the baud rate and the protocol"
    )]
    /// The device said nothing the protocol understands in time.
    NoAnswer {
        /// The port.
        port: String,
        /// The protocol it was spoken to in.
        protocol: String,
        /// How long the link waited, s.
        seconds: u64,
    },
    #[error(
        "{port} sends data that is not {protocol} ({bytes} bytes, nothing valid): check the firmware, the baud rate and the protocol"
    )]
    /// The device sends bytes, none of them valid in the protocol.
    NotThisProtocol {
        /// The port.
        port: String,
        /// Bytes received.
        bytes: u64,
        /// The protocol it was spoken to in.
        protocol: String,
    },
    #[error("{0} speaks an unsupported protocol version")]
    /// The device speaks a version of the protocol this app does not.
    Version(String),
    #[error("connection to {port} lost: {reason}")]
    /// The connection was up and is gone.
    Lost {
        /// The port.
        port: String,
        /// Why, in words for the user.
        reason: String,
    },
}
