//! Who owns an audit directory: exactly one process writes it.
//!
//! The writer takes an exclusive advisory lock (`flock`) on `crmgate.lock` in the directory
//! before it writes anything there (no start entry, no checkpoint, no signing key, no
//! index), and holds it until the log is closed or the process ends (the kernel releases it
//! on any exit, kill -9 included, so a stale lock never blocks a restart). The file holds
//! the owner's pid, for the message a second process gets. Readers (`audit verify`, `audit
//! query`, the central shipper) take no lock and ignore the file: segments are
//! `seg-*.jsonl`. This module must never let a second writer in, nor change the directory
//! when it refuses one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::sink::AuditError;

/// The lock file's name in the audit directory.
pub const LOCK_FILE: &str = "crmgate.lock";

/// The held lock on an audit directory; released when dropped.
#[derive(Debug)]
pub struct DirLock {
    /// Held open: closing it releases the lock.
    _file: File,
}

impl DirLock {
    /// Take the directory (which must exist), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, AuditError> {
        let path = dir.join(LOCK_FILE);
        let open_err = |e: std::io::Error| AuditError::Open {
            path: dir.to_path_buf(),
            message: format!("cannot open the lock file `{}`: {e}", path.display()),
        };
        // Opened without truncating: a refused process must not change the owner's file.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(open_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    dir: dir.to_path_buf(),
                    holder: holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(open_err(e)),
        }
        // Ours now: say who holds it. (A failure here costs only the message's pid.)
        let pid = std::process::id();
        let said = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()))
            .and_then(|()| file.sync_data());
        if let Err(e) = said {
            tracing::warn!(lock = %path.display(), error = %e, "cannot write the pid into the audit directory's lock file");
        }
        Ok(DirLock { _file: file })
    }
}

/// The pid the holder wrote into the lock file (`None` while it has not yet).
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
