//! The `motiontune` binary: everything happens in [`motiontune::cli`].
//!
//! On Windows the binary is a GUI program, so no console window opens
//! beside the app's; started from a terminal it writes to that terminal
//! all the same ([`windows_console`]).
#![cfg_attr(windows, windows_subsystem = "windows")]

#[cfg(windows)]
mod windows_console;

fn main() -> std::process::ExitCode {
    #[cfg(windows)]
    windows_console::attach_to_parent();
    motiontune::cli::main()
}
