//! A virtual X display (Xvfb) for running the real GUI as its own process,
//! and that GUI process itself.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An Xvfb server on a free display number; killed on drop.
pub struct VirtualDisplay {
    server: Child,
    /// A private runtime folder for the GUI (winit warns without one).
    runtime_dir: tempfile::TempDir,
    /// The value for `DISPLAY`, e.g. `:1`.
    pub name: String,
}

impl VirtualDisplay {
    pub fn start() -> Self {
        // -displayfd: Xvfb picks a free display and writes its number on
        // stdout once it accepts connections.
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Xvfb ({e}): install xvfb and mesa-vulkan-drivers, as .ci/run does"
                )
            });
        let mut number = String::new();
        BufReader::new(server.stdout.take().expect("Xvfb stdout"))
            .read_line(&mut number)
            .expect("Xvfb display number");
        let number = number.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb printed {number:?} for its display"
        );
        Self {
            name: format!(":{number}"),
            server,
            runtime_dir: tempfile::tempdir().expect("runtime dir"),
        }
    }

    /// Starts `motiontune` with `args` in a window on this display (X11,
    /// software rendering); its stderr goes to `log`.
    pub fn run_app(&self, args: &[&str], log: &Path) -> AppProcess {
        let log_file = std::fs::File::create(log).expect("GUI log file");
        let child = Command::new(super::BIN)
            .args(args)
            .env("DISPLAY", &self.name)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", self.runtime_dir.path())
            // Settings and runs go to this display's folder, not the user's.
            .env("XDG_CONFIG_HOME", self.runtime_dir.path())
            .env("XDG_DATA_HOME", self.runtime_dir.path())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start the GUI");
        AppProcess {
            child,
            log: log.to_owned(),
        }
    }
}

/// The GUI running as its own process; killed on drop.
pub struct AppProcess {
    child: Child,
    log: PathBuf,
}

impl AppProcess {
    /// Kills the process with SIGKILL: no handler, no cleanup, no last
    /// words to the device.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the GUI");
        let _ = self.child.wait();
    }

    /// Sends SIGINT, as Ctrl-C in the GUI's terminal does.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGINT to the GUI");
    }

    /// Waits up to `timeout` for the process to end; its status, or `None`
    /// if it is still running.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the GUI") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Fails the test, with the GUI's stderr, if the process has ended.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the GUI exited ({status}): {}", self.stderr());
        }
    }

    /// What the GUI printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
