//! The decoders and loaders under fuzz: motiontune's own `src/protocol`,
//! `src/sim` and `src/profile` sources, compiled as modules of this crate
//! at the same paths (they name each other as `crate::protocol` and
//! `crate::sim`), and the CSV column reader of `motiontune analyze`.

#[path = "../../src/cli/analyze/columns.rs"]
pub mod csv_columns;
#[path = "../../src/profile/mod.rs"]
pub mod profile;
#[path = "../../src/protocol/mod.rs"]
pub mod protocol;
#[path = "../../src/sim/mod.rs"]
pub mod sim;

/// The simulated drive's description, as a host receives it after HELLO.
pub fn sim_description() -> protocol::DeviceInfo {
    use protocol::native::{
        DeviceMessage, FrameDecoder, HostSession, encode_command, encode_frame,
    };
    use protocol::{Command, Event};

    let mut device = sim::SimDevice::new(
        sim::drive::DriveConfig::default(),
        sim::device::DeviceSettings::default(),
    );
    let mut hello = Vec::new();
    encode_frame(&encode_command(&Command::Hello), &mut hello);
    device.receive(&hello);
    device.advance(1);
    let mut session = HostSession::new();
    let mut info = None;
    FrameDecoder::new().push(&device.take_output(), |frame| {
        let message = frame
            .ok()
            .and_then(|payload| DeviceMessage::decode(payload).ok());
        if let Some(Ok(Some(Event::Described(described)))) = message.map(|m| session.handle(m)) {
            info = Some(described);
        }
    });
    info.expect("the simulated drive describes itself after HELLO")
}

/// Splits `bytes` into chunks whose lengths cycle through `lengths` (each
/// taken modulo 64, plus one), as reads from a serial port arrive.
pub fn chunks<'a>(bytes: &'a [u8], lengths: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = bytes;
    let mut next = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let length = lengths
            .get(next % lengths.len().max(1))
            .map_or(rest.len(), |&l| usize::from(l % 64) + 1)
            .min(rest.len());
        next += 1;
        let (chunk, tail) = rest.split_at(length);
        rest = tail;
        Some(chunk)
    })
}
