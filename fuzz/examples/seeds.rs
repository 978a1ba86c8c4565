//! Writes a seed corpus for every fuzz target into `corpus/<target>/`:
//! real traffic of the simulated drive and of a host, so the fuzzer starts
//! from valid frames and messages instead of guessing CRCs.

use std::path::Path;

use motiontune_fuzz::protocol::Command;
use motiontune_fuzz::protocol::native::{FrameDecoder, encode_command, encode_frame};
use motiontune_fuzz::sim::SimDevice;
use motiontune_fuzz::sim::device::DeviceSettings;
use motiontune_fuzz::sim::drive::DriveConfig;

/// Chunk lengths that precede a stream in the streaming targets.
const LENGTHS: [u8; 8] = [3, 17, 0, 63, 8, 1, 40, 5];

fn commands() -> Vec<Command> {
    vec![
        Command::Hello,
        Command::Get { index: 0 },
        Command::Set {
            index: 0,
            value: 12.5,
        },
        Command::Set {
            index: 200,
            value: f32::NAN,
        },
        Command::Enable(true),
        Command::Stream { divider: 1 },
        Command::Ping { token: 7 },
        Command::Save,
        Command::Enable(false),
    ]
}

/// The host's side of a session: every command, framed.
fn host_stream() -> Vec<u8> {
    let mut wire = Vec::new();
    for command in commands() {
        encode_frame(&encode_command(&command), &mut wire);
    }
    wire
}

/// The drive's side: its description, status, values and 20 ms of samples.
fn device_stream() -> Vec<u8> {
    let settings = DeviceSettings {
        loop_hz: 1000,
        ..DeviceSettings::default()
    };
    let mut device = SimDevice::new(DriveConfig::default(), settings);
    device.receive(&host_stream());
    device.advance(20);
    device.take_output()
}

fn payloads(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    FrameDecoder::new().push(stream, |frame| {
        if let Ok(payload) = frame {
            out.push(payload.to_vec());
        }
    });
    out
}

fn write(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

fn with_lengths(stream: &[u8]) -> Vec<u8> {
    LENGTHS.iter().chain(stream).copied().collect()
}

/// A recording as `motiontune record` writes one, a step in it; the
/// leading byte picks the default column names.
fn recording_csv() -> Vec<u8> {
    let mut csv = vec![0u8];
    csv.extend_from_slice(b"time_s,setpoint [rad],position [rad],velocity [rad/s],effort [A]\n");
    for k in 0..40 {
        let setpoint = if k < 10 { 0.0 } else { 1.0 };
        let position = if k < 10 {
            0.0
        } else {
            1.0 - 0.8f64.powi(k - 9)
        };
        csv.extend_from_slice(
            format!(
                "{:.4},{setpoint},{position:.5},0.5,-0.25\n",
                f64::from(k) * 1e-3
            )
            .as_bytes(),
        );
    }
    csv
}

/// Columns named on the command line (leading byte 1: `a`, `b [u]`, `C`).
fn named_csv() -> Vec<u8> {
    let mut csv = vec![1u8];
    csv.extend_from_slice(
        b"time_s, a ,b [u],c [x],other\n0,0,0,0,x\n0.5,1,0.9,2,\"q,\"\n1,1,1,1e3,\n",
    );
    csv
}

fn main() -> std::io::Result<()> {
    let device = device_stream();
    let host = host_stream();
    let mut garbage_first = b"\x42\x13garbage\x00\x00\x05".to_vec();
    garbage_first.extend_from_slice(&device[..device.len().min(600)]);
    write("frame_decoder", "device", &with_lengths(&device))?;
    write(
        "frame_decoder",
        "garbage-first",
        &with_lengths(&garbage_first),
    )?;
    write("frame_decoder", "host", &with_lengths(&host))?;
    write("host_session", "device", &with_lengths(&device))?;
    write("sim_device", "host", &with_lengths(&host))?;
    for (k, payload) in payloads(&device).iter().enumerate() {
        write("device_messages", &k.to_string(), payload)?;
    }
    for (k, payload) in payloads(&host).iter().enumerate() {
        write("host_commands", &k.to_string(), payload)?;
    }
    let info = motiontune_fuzz::sim_description();
    let profile = motiontune_fuzz::profile::Profile::from_device("seed", &info, &info.params);
    let toml = profile.to_toml().map_err(std::io::Error::other)?;
    write("profile_loader", "sim", toml.as_bytes())?;
    write("csv_columns", "recording", &recording_csv())?;
    write("csv_columns", "named", &named_csv())?;
    Ok(())
}
