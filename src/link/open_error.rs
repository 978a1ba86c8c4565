//! Why a serial port would not open, told by the error's kind and the OS's
//! error code, never by its text: Windows words its messages in the
//! user's language ("Zugriff verweigert"), so text that matches on an
//! English system says nothing on another.
//!
//! What each OS gives, as `serialport` 4.10 reports it:
//! - Linux and macOS: a missing path is `Io(NotFound)` (ENOENT); a port
//!   another program holds is `NoDevice`, which `serialport` uses for
//!   nothing else (EBUSY from TIOCEXCL, or its own failed `flock`); no
//!   permission is `Io(PermissionDenied)` (EACCES: not in `dialout`).
//! - Windows: `CreateFileW` failing with ERROR_FILE_NOT_FOUND (2),
//!   ERROR_PATH_NOT_FOUND (3) and ERROR_ACCESS_DENIED (5, which a COM port
//!   another program holds gives) all become `NoDevice`, every other code
//!   (ERROR_SHARING_VIOLATION, 32, from some USB serial drivers when the
//!   port is held) `Io(Other)`, with the code dropped. Opening the device
//!   again through `std::fs` gives the code back in an `io::Error`
//!   ([`windows_code_probe`]).

use std::io;

use super::LinkError;

/// How an OS reports a failed open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Unix,
    Windows,
}

/// The OS this build runs on.
const THIS_OS: Family = if cfg!(windows) {
    Family::Windows
} else {
    Family::Unix
};

/// Windows error codes an open of a COM port fails with.
const ERROR_FILE_NOT_FOUND: i32 = 2;
const ERROR_PATH_NOT_FOUND: i32 = 3;
const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SHARING_VIOLATION: i32 = 32;

/// Classifies a failed open of `path` on this OS.
pub(super) fn classify_here(path: &str, error: &serialport::Error) -> LinkError {
    let probe = match THIS_OS {
        Family::Windows => windows_code_probe(path, error),
        Family::Unix => None,
    };
    let missing = THIS_OS == Family::Unix && !std::path::Path::new(path).exists();
    classify(THIS_OS, path, error, probe.as_ref(), missing)
}

/// On Windows, `serialport` keeps only the text of the OS's error;
/// opening the device again with `std::fs` (as `CreateFileW` with the
/// same access) returns the error with its code. Only for the kinds
/// that hide a code: `NoDevice` and `Io(Other)`.
fn windows_code_probe(path: &str, error: &serialport::Error) -> Option<io::Error> {
    use serialport::ErrorKind;
    if !matches!(
        error.kind(),
        ErrorKind::NoDevice | ErrorKind::Io(io::ErrorKind::Other)
    ) {
        return None;
    }
    let device = if path.starts_with('\\') {
        path.to_owned()
    } else {
        format!(r"\\.\{path}")
    };
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .err()
}

/// `error` from opening `path`, with `probe` (Windows: the same open's
/// error with its code) and whether the path is known to be missing.
fn classify(
    os: Family,
    path: &str,
    error: &serialport::Error,
    probe: Option<&io::Error>,
    missing: bool,
) -> LinkError {
    use serialport::ErrorKind;
    let port = path.to_owned();
    match (os, error.kind()) {
        (Family::Windows, ErrorKind::NoDevice | ErrorKind::Io(io::ErrorKind::Other)) => {
            match probe.and_then(io::Error::raw_os_error) {
                Some(ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND) => LinkError::NoSuchPort(port),
                // A COM port opens for one program at a time; a second
                // open is refused as access denied, or by some drivers as
                // a sharing violation.
                Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION) => LinkError::PortBusy(port),
                _ => LinkError::Open {
                    port,
                    reason: error.to_string(),
                },
            }
        }
        (Family::Unix, ErrorKind::NoDevice) => LinkError::PortBusy(port),
        (_, ErrorKind::Io(io::ErrorKind::NotFound)) => LinkError::NoSuchPort(port),
        (Family::Unix, ErrorKind::Io(io::ErrorKind::PermissionDenied)) => {
            LinkError::NoPermission(port)
        }
        _ if missing => LinkError::NoSuchPort(port),
        _ => LinkError::Open {
            port,
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::{Error, ErrorKind};

    /// What `serialport` returns when `CreateFileW` fails with `code`:
    /// `NoDevice` and the message in the user's language (German here).
    fn windows_open_failure(code: i32, text: &str) -> (Error, io::Error) {
        (
            Error::new(ErrorKind::NoDevice, text),
            io::Error::from_raw_os_error(code),
        )
    }

    #[test]
    fn windows_is_told_by_its_error_code_in_any_language() {
        let cases = [
            (
                ERROR_ACCESS_DENIED,
                "Zugriff verweigert",
                LinkError::PortBusy("COM3".into()),
            ),
            (
                ERROR_FILE_NOT_FOUND,
                "Das System kann die angegebene Datei nicht finden.",
                LinkError::NoSuchPort("COM3".into()),
            ),
            (
                ERROR_PATH_NOT_FOUND,
                "Le chemin d’accès spécifié est introuvable.",
                LinkError::NoSuchPort("COM3".into()),
            ),
        ];
        for (code, text, expected) in cases {
            let (error, probe) = windows_open_failure(code, text);
            assert_eq!(
                classify(Family::Windows, "COM3", &error, Some(&probe), false),
                expected,
                "code {code}"
            );
        }
        // Some drivers refuse a held port as a sharing violation, which
        // serialport reports as Io(Other).
        assert_eq!(
            classify(
                Family::Windows,
                "COM3",
                &Error::new(
                    ErrorKind::Io(io::ErrorKind::Other),
                    "Der Prozess kann nicht auf die Datei zugreifen"
                ),
                Some(&io::Error::from_raw_os_error(ERROR_SHARING_VIOLATION)),
                false
            ),
            LinkError::PortBusy("COM3".into())
        );
        // An English "access is denied" is no longer what decides: the code is.
        let (error, probe) = windows_open_failure(ERROR_FILE_NOT_FOUND, "Access is denied.");
        assert_eq!(
            classify(Family::Windows, "COM3", &error, Some(&probe), false),
            LinkError::NoSuchPort("COM3".into())
        );
    }

    #[test]
    fn windows_without_a_known_code_says_what_the_os_said() {
        // The device is there but broken (ERROR_GEN_FAILURE), or the
        // probe opened it after all (the other program let go).
        let error = Error::new(
            ErrorKind::NoDevice,
            "Ein an das System angeschlossenes Gerät funktioniert nicht.",
        );
        for probe in [Some(io::Error::from_raw_os_error(31)), None] {
            match classify(Family::Windows, "COM7", &error, probe.as_ref(), false) {
                LinkError::Open { port, reason } => {
                    assert_eq!(port, "COM7");
                    assert!(reason.contains("funktioniert nicht"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        let other = Error::new(ErrorKind::Io(io::ErrorKind::Other), "Zeitlimit");
        assert!(matches!(
            classify(Family::Windows, "COM7", &other, None, false),
            LinkError::Open { .. }
        ));
    }

    #[test]
    fn unix_is_told_by_the_error_kind() {
        let path = "/dev/ttyACM0";
        let cases = [
            // TIOCEXCL refused (EBUSY) and serialport's own flock.
            (
                Error::new(ErrorKind::NoDevice, "Device or resource busy"),
                LinkError::PortBusy(path.into()),
            ),
            (
                Error::new(
                    ErrorKind::NoDevice,
                    "Unable to acquire exclusive lock on serial port",
                ),
                LinkError::PortBusy(path.into()),
            ),
            (
                Error::new(
                    ErrorKind::Io(io::ErrorKind::NotFound),
                    "No such file or directory",
                ),
                LinkError::NoSuchPort(path.into()),
            ),
            (
                Error::new(
                    ErrorKind::Io(io::ErrorKind::PermissionDenied),
                    "Permission denied",
                ),
                LinkError::NoPermission(path.into()),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(classify(Family::Unix, path, &error, None, false), expected);
        }
        // A device unplugged while its node lingers: ENXIO, kind Unknown.
        let gone = Error::new(ErrorKind::Unknown, "No such device or address");
        assert_eq!(
            classify(Family::Unix, path, &gone, None, true),
            LinkError::NoSuchPort(path.into())
        );
        assert!(matches!(
            classify(Family::Unix, path, &gone, None, false),
            LinkError::Open { reason, .. } if reason == "No such device or address"
        ));
    }

    #[test]
    fn opening_a_missing_port_here_says_no_such_port() {
        let path = if cfg!(windows) {
            "COM239"
        } else {
            "/dev/motiontune-no-such-port"
        };
        let error = serialport::new(path, 115_200)
            .open()
            .expect_err("no such port");
        assert_eq!(
            classify_here(path, &error),
            LinkError::NoSuchPort(path.into())
        );
    }
}
