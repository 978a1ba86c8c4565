//! Native protocol v1: COBS-framed, CRC-checked binary messages (see
//! `docs/PROTOCOL.md`). [`frame`] cuts the byte stream into checked payloads,
//! [`message`] gives each payload its meaning, and [`session`] turns the
//! device's messages into the app's [`Event`](super::Event)s; [`axes`]
//! finds the axes a device names by prefix.

pub mod adapter;
pub mod axes;
pub mod frame;
pub mod message;
pub mod session;

pub use frame::{FrameDecoder, FrameError, encode_frame};
pub use message::{DeviceMessage, MessageError, decode_command, encode_command};
pub use session::HostSession;
