//! `motiontune sim --pty` as its own process, with every line it prints
//! after the pty's path (the drive's output changes) timestamped on arrival.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A running `motiontune sim --pty`; killed on drop.
pub struct SimProcess {
    child: Child,
    pub path: String,
    lines: Receiver<(Instant, String)>,
}

impl SimProcess {
    /// Runs `motiontune sim --pty` with `extra` options.
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(super::BIN)
            .args(["sim", "--pty"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start motiontune sim");
        let mut reader = BufReader::new(child.stdout.take().expect("sim stdout"));
        let mut path = String::new();
        reader.read_line(&mut path).expect("pty path line");
        let path = path.trim().to_owned();
        assert!(path.starts_with("/dev/"), "sim printed {path:?}");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Self { child, path, lines }
    }

    /// The next line the sim prints and when it arrived, or `None` if it
    /// prints nothing within `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<(Instant, String)> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the sim process ended"),
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
