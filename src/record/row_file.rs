//! The file a recording is written to, which takes each write whole or
//! not at all: a write the disk refuses halfway (full, over a size limit)
//! is cut back off, so the file still ends on the last complete row.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// A file that only ever grows by whole `write_all`s.
pub struct RowFile {
    file: File,
    /// Bytes of whole writes in the file.
    len: u64,
}

impl RowFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: File::create(path)?,
            len: 0,
        })
    }

    /// Flushes to the disk itself, as a finished recording should be.
    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

impl Write for RowFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.len += written as u64;
        Ok(written)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Whatever part went in is cut off; if even that fails the
                // write's own error is the one to report.
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(error)
            }
        }
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
    fn a_write_refused_halfway_is_cut_back_to_the_last_whole_one() {
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
        assert_eq!(written % ROW.len(), 0, "part of a refused write was left");
        assert!(
            written <= limit && written + ROWS_PER_WRITE * ROW.len() > limit,
            "{written} bytes under a {limit} byte limit: whole writes were lost"
        );
    }

    /// Run by the test above in a child process under the size limit.
    #[test]
    #[ignore = "run by a_write_refused_halfway_is_cut_back_to_the_last_whole_one"]
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
