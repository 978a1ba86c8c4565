//! How a command ends: its exit status and at most one line on stderr.
//! It promises that a reader of stdout that went away (`| head -1`) ends
//! the command quietly with exit 0, as Unix tools do; that a command ended
//! by Ctrl-C or SIGTERM exits 130 (128 + SIGINT, the shell's convention);
//! and that any other error exits 1 with its causes on one line.

use std::io::Write;
use std::process::ExitCode;

/// The exit status of a command ended by Ctrl-C or SIGTERM.
const EXIT_INTERRUPTED: u8 = 130;

/// The exit status for a command's outcome, its error said on stderr.
pub fn status(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: it panics when stderr is gone too.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            if crate::interrupt::requested() {
                ExitCode::from(EXIT_INTERRUPTED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Catches Ctrl-C and SIGTERM for a command that talks to a device.
pub fn catch_interrupts() -> anyhow::Result<()> {
    crate::interrupt::install()
        .map_err(|reason| anyhow::anyhow!("cannot catch Ctrl-C and SIGTERM: {reason}"))
}

/// Whether `error` comes from writing to a reader that went away: walks
/// the error's causes for the I/O error, as ripgrep's `main` does.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_anywhere_in_the_causes_is_found() {
        use anyhow::Context;
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let wrapped = Err::<(), _>(pipe).context("printing the table");
        assert!(is_broken_pipe(&wrapped.expect_err("an error")));
        let other = anyhow::anyhow!(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&other));
    }
}
