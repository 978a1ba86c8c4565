//! The file a recording is written to, which always ends on a whole row:
//! a write the disk refuses halfway (full, over a size limit) is cut back
//! to the end of the last row that went in whole, so the file keeps every
//! row that fitted and no part of one that did not.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// A file of `\n`-ended rows that is cut back to its last whole row when a
/// write fails.
pub struct RowFile {
    file: File,
    /// Bytes in the file.
    len: u64,
    /// Bytes up to and including the last `\n` in the file.
    whole: u64,
}

impl RowFile {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: File::create(path)?,
            len: 0,
            whole: 0,
        })
    }

    /// Flushes to the disk itself, as a finished recording should be.
    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Cuts off the part of a row a failed write left; if even that fails,
    /// the write's own error is the one to report.
    fn cut_to_whole_row(&mut self) {
        let _ = self.file.set_len(self.whole);
        let _ = self.file.seek(SeekFrom::Start(self.whole));
        self.len = self.whole;
    }
}

impl Write for RowFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        if let Some(last) = bytes[..written].iter().rposition(|&b| b == b'\n') {
            self.whole = self.len + last as u64 + 1;
        }
        self.len += written as u64;
        Ok(written)
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.write(bytes) {
                Ok(0) => {
                    self.cut_to_whole_row();
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.cut_to_whole_row();
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const ROW: &str = "0.123456,1.5,-2.25,3.125\n";
    const ROWS_PER_WRITE: usize = 10;

    /// A file-size limit refuses a write halfway, as a full disk does. The
    /// limit is set on a child process (in the test process it would reach
    /// every other test's files) by a shell that also ignores SIGXFSZ, so
    /// the write fails instead of killing the child.
    #[test]
    fn a_write_refused_halfway_keeps_every_whole_row_that_fitted() {
        let folder = tempfile::tempdir().expect("temp folder");
        let path = folder.path().join("rows.csv");
        let output = std::process::Command::new("sh")
            .args(["-c", "trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\""])
            .arg(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "record::row_file::tests::write_rows_under_a_size_limit",
                "--ignored",
                "--nocapture",
            ])
            .env("ROW_FILE_PATH", &path)
            .output()
            .expect("run the child");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "child failed: {stderr}");
        let limit: usize = stderr
            .lines()
            .find_map(|line| line.strip_prefix("refused at a limit of "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|bytes| bytes.parse().ok())
            .unwrap_or_else(|| panic!("the limit never refused a write: {stderr}"));
        let written = std::fs::read_to_string(&path).expect("readable").len();
        assert_eq!(written % ROW.len(), 0, "part of a row was left");
        assert!(
            written <= limit && written + ROW.len() > limit,
            "{written} bytes under a {limit} byte limit: whole rows that fitted were lost"
        );
    }

    /// Run by the test above in a child process under the size limit.
    #[test]
    #[ignore = "run by a_write_refused_halfway_keeps_every_whole_row_that_fitted"]
    fn write_rows_under_a_size_limit() {
        use nix::sys::resource::{Resource, getrlimit};

        let path = std::env::var("ROW_FILE_PATH").expect("run by its parent test");
        let (limit, _) = getrlimit(Resource::RLIMIT_FSIZE).expect("file size limit");
        let mut file = RowFile::create(Path::new(&path)).expect("create");
        let write = ROW.repeat(ROWS_PER_WRITE);
        for _ in 0..1000 {
            if let Err(error) = file.write_all(write.as_bytes()) {
                eprintln!("refused at a limit of {limit} bytes: {error}");
                return;
            }
        }
    }
}
