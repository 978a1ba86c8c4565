//! A fault-injection proxy between a device on one pseudo-terminal and the
//! app on another: it passes the host's bytes through untouched and the
//! device's frame by frame, corrupting some, holding them back (a stall),
//! or pulling the plug halfway through one. It can also unplug the app's
//! side and plug a new one in at the same path (a symlink re-pointed to a
//! new pty, as a USB device re-enumerates under the same udev name) while
//! the device runs on. It decodes the device's clean stream itself, so a
//! test can check every value the app accepted. On request it keeps the
//! host's bytes too ([`Proxy::keep_host_bytes`]), so a test can tell
//! exactly what the app wrote to a text firmware.
//!
//! A native device's frames end at their zero delimiter; a text firmware's
//! (lines, SimpleFOC, ODrive ASCII) at each newline: [`Framing`].

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use motiontune::protocol::native::{DeviceMessage, FrameDecoder, encode_frame};
use serialport::{SerialPort, TTYPort};

/// Where one device frame ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// COBS frames of the native protocol, each ended by a zero byte.
    Native,
    /// Text lines, each ended by `\n`: every other firmware.
    Lines,
}

impl Framing {
    fn delimiter(self) -> u8 {
        match self {
            Framing::Native => 0,
            Framing::Lines => b'\n',
        }
    }

    /// Whether corruption may turn a byte into `byte`: never into a
    /// delimiter (or, in text, a carriage return, which also ends a line),
    /// so a corrupted frame stays one frame.
    fn may_become(self, byte: u8) -> bool {
        byte != self.delimiter() && !(self == Framing::Lines && byte == b'\r')
    }
}

/// What the proxy does to the device's frames; change it while it runs.
#[derive(Default)]
pub struct Faults {
    /// Frames corrupted per million (one bit of one byte flipped, never
    /// making or removing a delimiter, so each stays one frame).
    pub corrupt_per_million: AtomicU32,
    /// Frames dropped whole per million, as a USB packet lost.
    pub drop_per_million: AtomicU32,
    /// Device frames are dropped while set, as if the device fell silent.
    pub stalled: AtomicBool,
    /// Send the first half of the next frame, then close the app's side.
    pub unplug_mid_frame: AtomicBool,
    /// The app's side is closed and its path gone while set; a new one
    /// appears at the same path when cleared. The device runs on and its
    /// frames are dropped meanwhile.
    pub unplugged: AtomicBool,
    /// The device's SAMPLES frames are replaced by a stream of valid ones,
    /// continuing its ticks, written as fast as the app's side takes them:
    /// a device flooding the link at its full rate.
    pub flood: AtomicBool,
    /// Every device byte goes through a fixed byte map, as when device and
    /// host disagree on the baud rate: bytes arrive, no frame is valid.
    pub garble: AtomicBool,
    /// The host's bytes are dropped while set, as from a host that froze:
    /// the device hears nothing, not even the heartbeat.
    pub host_dropped: AtomicBool,
}

/// What went through the proxy.
#[derive(Default)]
pub struct ProxyLog {
    /// Device frames the proxy corrupted.
    pub corrupted_frames: AtomicU64,
    /// Every sample the device sent, by raw tick, as sent (not while
    /// flooding).
    pub clean_samples: Mutex<HashMap<u32, Vec<u32>>>,
    /// SAMPLES frames the flood wrote.
    pub flood_frames: AtomicU64,
    /// Device frames passed on whole to the app's side, corrupted or not.
    pub frames_forwarded: AtomicU64,
    /// Device frames dropped whole (`drop_per_million`).
    pub dropped_frames: AtomicU64,
    /// Whether `host_bytes` is kept (off by default: a soak would hoard it).
    pub keeping_host_bytes: AtomicBool,
    /// The host's bytes as passed to the device, while kept.
    pub host_bytes: Mutex<Vec<u8>>,
}

/// A running proxy; stops (and closes the app's side) on drop.
pub struct Proxy {
    /// The app's side: open this as the serial port. A symlink to the
    /// current pty.
    pub path: String,
    _folder: tempfile::TempDir,
    pub faults: Arc<Faults>,
    pub log: Arc<ProxyLog>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Connects to a native device at `device_path` and opens the app's
    /// side.
    pub fn start(device_path: &str) -> Self {
        Self::start_framed(device_path, Framing::Native)
    }

    /// Connects to the device at `device_path`, whose frames end as
    /// `framing` says, and opens the app's side.
    pub fn start_framed(device_path: &str, framing: Framing) -> Self {
        let device = serialport::new(device_path, 115_200)
            .timeout(Duration::from_millis(1))
            .open()
            .expect("open the device side");
        let folder = tempfile::tempdir().expect("folder for the app side's path");
        let link_path = folder.path().join("device");
        let (app, app_slave) = plug_in(&link_path);
        let path = link_path.to_str().expect("utf8 path").to_owned();
        let faults = Arc::new(Faults::default());
        let log = Arc::new(ProxyLog::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (faults, log, stop) = (Arc::clone(&faults), Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut pump = Pump {
                    framing,
                    device,
                    app: Some(app),
                    app_slave: Some(app_slave),
                    link_path,
                    faults: &faults,
                    log: &log,
                    frame: Vec::new(),
                    clean: FrameDecoder::new(),
                    random: 0x9E37_79B9_7F4A_7C15,
                    last_samples: None,
                };
                pump.run(&stop);
            })
        };
        Self {
            path,
            _folder: folder,
            faults,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn set_corruption(&self, fraction: f64) {
        self.faults
            .corrupt_per_million
            .store((fraction * 1e6) as u32, Ordering::Relaxed);
    }

    /// Closes the app's side and removes its path, as a cable pulled out.
    pub fn unplug(&self) {
        self.faults.unplugged.store(true, Ordering::Relaxed);
    }

    /// A new app side at the same path, as the cable plugged back in.
    pub fn replug(&self) {
        self.faults.unplugged.store(false, Ordering::Relaxed);
    }

    pub fn flood_frames(&self) -> u64 {
        self.log.flood_frames.load(Ordering::Relaxed)
    }

    pub fn corrupted_frames(&self) -> u64 {
        self.log.corrupted_frames.load(Ordering::Relaxed)
    }

    pub fn set_dropping(&self, fraction: f64) {
        self.faults
            .drop_per_million
            .store((fraction * 1e6) as u32, Ordering::Relaxed);
    }

    pub fn dropped_frames(&self) -> u64 {
        self.log.dropped_frames.load(Ordering::Relaxed)
    }

    pub fn frames_forwarded(&self) -> u64 {
        self.log.frames_forwarded.load(Ordering::Relaxed)
    }

    pub fn set_stalled(&self, stalled: bool) {
        self.faults.stalled.store(stalled, Ordering::Relaxed);
    }

    /// Keeps every byte the host sends from now on, for [`Self::host_lines`].
    pub fn keep_host_bytes(&self) {
        self.log.keeping_host_bytes.store(true, Ordering::Relaxed);
    }

    /// The lines the host sent since [`Self::keep_host_bytes`] (a text
    /// firmware's commands), without their line ends.
    pub fn host_lines(&self) -> Vec<String> {
        let bytes = self.log.host_bytes.lock().expect("log lock");
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The samples the device sent at raw tick `tick`, as f32 bits.
    pub fn clean_sample(&self, tick: u32) -> Option<Vec<u32>> {
        let samples = self.log.clean_samples.lock().expect("log lock");
        samples.get(&tick).cloned()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Pump<'a> {
    framing: Framing,
    device: Box<dyn SerialPort>,
    /// `None` while unplugged.
    app: Option<TTYPort>,
    /// Held so the app's side stays readable between its opens; dropped
    /// with `app` to unplug.
    app_slave: Option<TTYPort>,
    /// The symlink the app opens.
    link_path: PathBuf,
    faults: &'a Faults,
    log: &'a ProxyLog,
    /// Device bytes of the frame in progress.
    frame: Vec<u8>,
    clean: FrameDecoder,
    random: u64,
    /// The device's last SAMPLES frame: (tick after it, stride, count,
    /// channels), where a flood goes on from.
    last_samples: Option<(u32, u16, u8, usize)>,
}

impl Pump<'_> {
    fn run(&mut self, stop: &AtomicBool) {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let unplugged = self.faults.unplugged.load(Ordering::Relaxed);
            if unplugged && self.app.is_some() {
                let _ = std::fs::remove_file(&self.link_path);
                self.app = None;
                self.app_slave = None;
            } else if !unplugged && self.app.is_none() {
                let (app, app_slave) = plug_in(&self.link_path);
                self.app = Some(app);
                self.app_slave = Some(app_slave);
            }
            if let Some(app) = &mut self.app {
                match read(app, &mut buf) {
                    Some(0) => {}
                    Some(_) if self.faults.host_dropped.load(Ordering::Relaxed) => {}
                    Some(n) => {
                        if self.log.keeping_host_bytes.load(Ordering::Relaxed) {
                            let mut kept = self.log.host_bytes.lock().expect("log lock");
                            kept.extend_from_slice(&buf[..n]);
                        }
                        write_all(self.device.as_mut(), &buf[..n], stop);
                    }
                    None => return,
                }
            }
            let n = match read(self.device.as_mut(), &mut buf) {
                Some(n) => n,
                None => return,
            };
            if self.faults.flood.load(Ordering::Relaxed) {
                self.flood(stop);
            }
            let delimiter = self.framing.delimiter();
            for &byte in &buf[..n] {
                self.frame.push(byte);
                if byte == delimiter && !self.forward_frame(stop) {
                    return;
                }
            }
        }
    }

    /// Writes a burst of valid SAMPLES frames that continue the device's
    /// ticks, waiting as long as the app's side is full.
    fn flood(&mut self, stop: &AtomicBool) {
        const BURST: usize = 64;
        let (Some(app), Some((tick, stride, count, channels))) = (&mut self.app, self.last_samples)
        else {
            return;
        };
        let mut wire = Vec::new();
        let mut next = tick;
        for k in 0..BURST {
            let message = DeviceMessage::Samples {
                tick: next,
                stride,
                count,
                values: vec![k as f32; usize::from(count) * channels],
            };
            encode_frame(&message.encode(), &mut wire);
            next = next.wrapping_add(u32::from(count) * u32::from(stride));
        }
        write_all(app, &wire, stop);
        self.last_samples = Some((next, stride, count, channels));
        self.log
            .flood_frames
            .fetch_add(BURST as u64, Ordering::Relaxed);
    }

    /// Passes on one whole device frame, delimiter included; false once
    /// the plug is pulled.
    fn forward_frame(&mut self, stop: &AtomicBool) -> bool {
        let mut frame = std::mem::take(&mut self.frame);
        let is_samples = self.framing == Framing::Native && self.record_clean(&frame);
        if is_samples && self.faults.flood.load(Ordering::Relaxed) {
            // The flood stands in for the device's own stream.
            return true;
        }
        if self.faults.garble.load(Ordering::Relaxed) {
            for byte in &mut frame {
                *byte = garbled(*byte);
            }
        }
        let Some(app) = &mut self.app else {
            return true;
        };
        if self.faults.unplug_mid_frame.load(Ordering::Relaxed) {
            write_all(app, &frame[..frame.len() / 2], stop);
            self.app_slave = None;
            return false;
        }
        if self.faults.stalled.load(Ordering::Relaxed) {
            return true;
        }
        let drop_per_million = self.faults.drop_per_million.load(Ordering::Relaxed);
        if self.next_random() % 1_000_000 < u64::from(drop_per_million) {
            self.log.dropped_frames.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let per_million = self.faults.corrupt_per_million.load(Ordering::Relaxed);
        // The last byte is the delimiter; in text, a `\r` before it is
        // part of the line's end too.
        let body = match self.framing {
            Framing::Lines => frame.len() - 1 - usize::from(frame.ends_with(b"\r\n")),
            Framing::Native => frame.len() - 1,
        };
        if body > 0 && self.next_random() % 1_000_000 < u64::from(per_million) {
            let at = (self.next_random() % body as u64) as usize;
            let mut bit = 1u8 << (self.next_random() % 8);
            // A byte that would end the frame gets another bit flipped.
            while !self.framing.may_become(frame[at] ^ bit) {
                bit = bit.rotate_left(1);
            }
            frame[at] ^= bit;
            self.log.corrupted_frames.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(app) = &mut self.app {
            write_all(app, &frame, stop);
            self.log.frames_forwarded.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Notes the samples of a clean device frame; true if it held samples.
    fn record_clean(&mut self, frame: &[u8]) -> bool {
        let log = self.log;
        let flooding = self.faults.flood.load(Ordering::Relaxed);
        let mut last_samples = None;
        self.clean.push(frame, |payload| {
            let Ok(payload) = payload else { return };
            if let Ok(DeviceMessage::Samples {
                tick,
                stride,
                count,
                values,
            }) = DeviceMessage::decode(payload)
            {
                let channels = values.len() / usize::from(count.max(1));
                last_samples = Some((
                    tick.wrapping_add(u32::from(count) * u32::from(stride)),
                    stride,
                    count,
                    channels,
                ));
                if flooding {
                    return;
                }
                let mut samples = log.clean_samples.lock().expect("log lock");
                for (k, sample) in values.chunks(channels.max(1)).enumerate() {
                    let at = tick.wrapping_add(k as u32 * u32::from(stride));
                    samples.insert(at, sample.iter().map(|v| v.to_bits()).collect());
                }
            }
        });
        // While flooding, the flood's own ticks are the ones to go on from.
        if last_samples.is_some() && !(flooding && self.last_samples.is_some()) {
            self.last_samples = last_samples;
        }
        last_samples.is_some()
    }

    /// xorshift64: the same faults on every run.
    fn next_random(&mut self) -> u64 {
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random
    }
}

/// A byte as it arrives when the receiver samples the line at another baud
/// rate: a fixed scramble (a bijection, so the byte count stays) that turns
/// frames into noise.
fn garbled(byte: u8) -> u8 {
    byte.wrapping_mul(0x9D).rotate_left(3) ^ 0xA5
}

/// A new pty pair for the app's side, its slave's path behind `link_path`
/// (replaced in one step, so the app never sees a half-made path).
fn plug_in(link_path: &Path) -> (TTYPort, TTYPort) {
    let (mut app, app_slave) = TTYPort::pair().expect("pty pair for the app side");
    app.set_timeout(Duration::from_millis(1))
        .expect("app side timeout");
    let target = app_slave.name().expect("app side name");
    let fresh = link_path.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(&target, &fresh).expect("symlink to the app side");
    std::fs::rename(&fresh, link_path).expect("point the app side's path");
    (app, app_slave)
}

/// What is there to read now; `None` once the port has gone.
fn read(port: &mut dyn Read, buf: &mut [u8]) -> Option<usize> {
    match port.read(buf) {
        Ok(n) => Some(n),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
            ) =>
        {
            Some(0)
        }
        Err(_) => None,
    }
}

fn write_all(port: &mut dyn Write, mut bytes: &[u8], stop: &AtomicBool) {
    while !bytes.is_empty() && !stop.load(Ordering::Relaxed) {
        match port.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}
