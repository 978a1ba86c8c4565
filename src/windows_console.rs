//! Windows only, for the binary: a program built as a GUI program
//! (`windows_subsystem = "windows"`) opens no console window when started
//! from Explorer, and has none of its own when started from a terminal,
//! so `motiontune ports` and every error line would go nowhere. Attaching
//! to the console of the terminal that started it
//! (`AttachConsole(ATTACH_PARENT_PROCESS)`) gives them that terminal back.
//! Not when stdout is already a pipe or a file (`motiontune ports >
//! ports.txt`, a test reading the output): attaching would replace that
//! handle with the console's and the redirection would be lost.
//!
//! The terminal does not wait for a GUI program: its prompt may come back
//! before the output. A script that needs the output whole pipes it
//! (`motiontune ports | more`).
//!
//! `windows-sys` (Microsoft's raw bindings, already built for Windows by
//! serialport and winit) rather than a wrapper crate: two calls need no
//! more.
#![allow(unsafe_code)] // two Win32 calls, each with its reason below

use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_DISK, FILE_TYPE_PIPE, GetFileType};
use windows_sys::Win32::System::Console::{
    ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_OUTPUT_HANDLE,
};

/// Attaches to the starting process's console unless stdout is
/// redirected. Without one (started from Explorer) nothing happens.
pub fn attach_to_parent() {
    // SAFETY: GetStdHandle takes a constant and returns a handle value,
    // null or INVALID_HANDLE_VALUE, each of which GetFileType accepts
    // (FILE_TYPE_UNKNOWN for the last two); no pointer is passed or kept.
    let redirected = unsafe {
        matches!(
            GetFileType(GetStdHandle(STD_OUTPUT_HANDLE)),
            FILE_TYPE_DISK | FILE_TYPE_PIPE
        )
    };
    if !redirected {
        // SAFETY: takes a constant; when the parent has no console it
        // returns 0 and changes nothing, which is the case to ignore.
        unsafe { AttachConsole(ATTACH_PARENT_PROCESS) };
    }
}
