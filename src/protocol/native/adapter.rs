//! The native protocol as an [`Adapter`]: frames cut and checked by
//! [`FrameDecoder`], messages turned into events by [`HostSession`], HELLO
//! repeated until the device has described itself. On close it stops a
//! stream this connection started (STREAM 0) and nothing else: the
//! protocol cannot read a stream's divider, so a stream is this
//! connection's only when it sent the STREAM that started it.

use std::time::{Duration, Instant};

use super::session::SessionError;
use super::{DeviceMessage, FrameDecoder, HostSession, encode_command, encode_frame};
use crate::protocol::adapter::{Adapter, AdapterError, DecodeTally, Protocol, Unsupported};
use crate::protocol::{Command, DeviceInfo, Event};

/// How often HELLO is repeated while the device has not described itself.
const HELLO_PERIOD: Duration = Duration::from_millis(500);

/// Host side of a native-protocol connection.
#[derive(Debug, Default)]
pub struct NativeAdapter {
    decoder: FrameDecoder,
    session: HostSession,
    next_hello: Option<Instant>,
    /// The last STREAM this connection sent started a stream.
    streaming: bool,
}

impl NativeAdapter {
    /// An adapter that has sent nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Adapter for NativeAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::Native
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        if self.session.device().is_some() {
            return;
        }
        if self.next_hello.is_none_or(|at| now >= at) {
            encode_frame(&encode_command(&Command::Hello), out);
            self.next_hello = Some(now + HELLO_PERIOD);
        }
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        _now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        let Self {
            decoder, session, ..
        } = self;
        let mut fatal = None;
        decoder.push(bytes, |frame| {
            let payload = match frame {
                Ok(payload) => payload,
                Err(error) if error.is_crc() => {
                    tally.checksum_errors += 1;
                    return;
                }
                Err(_) => {
                    tally.framing_errors += 1;
                    return;
                }
            };
            tally.ok += 1;
            let Ok(message) = DeviceMessage::decode(payload) else {
                tally.message_errors += 1;
                return;
            };
            match session.handle(message) {
                Ok(Some(event)) => emit(event),
                Ok(None) => {}
                // Stale samples from before the description are expected
                // right after connecting, not an error of the device.
                Err(SessionError::SamplesBeforeDescription) => {}
                Err(SessionError::UnsupportedVersion(version)) => {
                    fatal = Some(AdapterError::UnsupportedVersion(version));
                }
                Err(_) => tally.message_errors += 1,
            }
        });
        fatal.map_or(Ok(()), Err)
    }

    fn encode(
        &mut self,
        command: &Command,
        _now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        if let Command::Text(_) = command {
            // The protocol has no request for a typed line.
            return Err(Unsupported);
        }
        if let Command::Stream { divider } = *command {
            self.session.restart_stream(divider);
            self.streaming = divider > 0;
        }
        encode_frame(&encode_command(command), out);
        Ok(())
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.session.device()
    }

    fn close(&mut self, _now: Instant, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.streaming) {
            encode_frame(&encode_command(&Command::Stream { divider: 0 }), out);
        }
    }
}
