//! The durable data file: a versioned header, a checksummed JSON payload, atomic replacement
//! and an exclusive lock.
//!
//! Layout (text header, then the payload):
//!
//! ```text
//! PLOCK-DATA
//! version 1
//! length 1234
//! fnv1a64 0123456789abcdef
//!
//! {...1234 bytes of JSON...}
//! ```
//!
//! Saving writes a temporary file in the same directory, syncs it, renames it over the data
//! file and syncs the directory: a crash leaves either the old file or the new one, never a
//! mix. The lock lives in a sibling `<file>.lock`, because a rename replaces the data file's
//! inode and a lock on it would be lost.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "PLOCK-DATA";
/// The largest payload accepted (1 GiB): a length beyond it is corruption, not data.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// What went wrong with a data file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    /// Another process holds the lock.
    #[error("data file {} is in use by another plock process; try again when it finishes", path.display())]
    InUse {
        /// The data file.
        path: PathBuf,
    },
    /// The lock was not released in time.
    #[error("data file {} stayed locked by another plock process for {waited:?}", path.display())]
    LockTimeout {
        /// The data file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// The file is not a plock data file, or its bytes are damaged.
    #[error("data file {} is corrupt ({reason}); it was left untouched — restore it from a backup", path.display())]
    Corrupt {
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file ends early.
    #[error("data file {} is truncated: the header promises {expected} payload bytes, {actual} are there; it was left untouched", path.display())]
    Truncated {
        /// The data file.
        path: PathBuf,
        /// Bytes promised.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A newer plock wrote the file.
    #[error("data file {} has format version {found}, newer than the {supported} this plock reads; upgrade plock", path.display())]
    NewerVersion {
        /// The data file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Saving is refused because the file on disk could not be read.
    #[error("data file {} could not be read, so it will not be overwritten", path.display())]
    RefusedOverwrite {
        /// The data file.
        path: PathBuf,
    },
    /// The data could not be encoded.
    #[error("data for {} could not be encoded: {source}", path.display())]
    Encode {
        /// The data file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The file system refused.
    #[error("data file {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Why bytes do not decode; [`DataFile`] adds the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a plock data file, or damaged.
    #[error("{0}")]
    Corrupt(String),
    /// Shorter than the header says.
    #[error("truncated: expected {expected} payload bytes, found {actual}")]
    Truncated {
        /// Bytes promised.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// Written by a newer format.
    #[error("format version {found} is newer than {supported}")]
    NewerVersion {
        /// Found.
        found: u32,
        /// Supported.
        supported: u32,
    },
}

/// FNV-1a, 64 bit: enough to catch torn writes and bit rot; not a defence against tampering.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Encodes a snapshot as data-file bytes.
///
/// # Errors
/// When serde cannot encode the value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let payload = serde_json::to_vec(value)?;
    let mut out = format!(
        "{MAGIC}\nversion {FORMAT_VERSION}\nlength {}\nfnv1a64 {:016x}\n\n",
        payload.len(),
        fnv1a64(&payload)
    )
    .into_bytes();
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes data-file bytes: header, length, checksum, then the JSON payload. Never panics.
///
/// # Errors
/// [`DecodeError`] for anything but a whole, intact file of a version this build reads.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let corrupt = |reason: &str| DecodeError::Corrupt(reason.to_owned());
    let mut rest = bytes;
    let mut line = |what: &str| -> Result<&str, DecodeError> {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| corrupt(&format!("header ends before its {what} line")))?;
        let (head, tail) = rest.split_at(end);
        rest = tail.get(1..).unwrap_or_default();
        std::str::from_utf8(head).map_err(|_| corrupt(&format!("{what} line is not text")))
    };
    if line("magic")? != MAGIC {
        return Err(corrupt("not a plock data file"));
    }
    let version: u32 = field(line("version")?, "version")?;
    if version > FORMAT_VERSION {
        return Err(DecodeError::NewerVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(corrupt("version 0 does not exist"));
    }
    let length: u64 = field(line("length")?, "length")?;
    let checksum = line("checksum")?
        .strip_prefix("fnv1a64 ")
        .filter(|hex| {
            hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| corrupt("bad checksum line"))?;
    if !line("blank")?.is_empty() {
        return Err(corrupt("header does not end with a blank line"));
    }
    if length > MAX_PAYLOAD_BYTES {
        return Err(corrupt("payload length beyond the 1 GiB limit"));
    }
    let actual = u64::try_from(rest.len()).unwrap_or(u64::MAX);
    if actual < length {
        return Err(DecodeError::Truncated {
            expected: length,
            actual,
        });
    }
    if actual > length {
        return Err(corrupt("bytes after the payload"));
    }
    if fnv1a64(rest) != checksum {
        return Err(corrupt("checksum mismatch"));
    }
    // Version 1 is the only one so far; a migration from an older version hooks in here.
    serde_json::from_slice(rest).map_err(|e| corrupt(&format!("payload does not decode: {e}")))
}

fn field<N: std::str::FromStr>(line: &str, name: &str) -> Result<N, DecodeError> {
    line.strip_prefix(name)
        .and_then(|v| v.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| DecodeError::Corrupt(format!("bad {name} line")))
}

/// How long to wait for another process's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Fail at once with [`DataFileError::InUse`].
    NoWait,
    /// Retry until the timeout, then [`DataFileError::LockTimeout`].
    Timeout(Duration),
}

/// An open, exclusively locked data file. The lock is released on drop.
#[derive(Debug)]
pub struct DataFile {
    path: PathBuf,
    _lock: File,
    readable: bool,
}

impl DataFile {
    /// Locks the data file at `path` (which need not exist yet).
    ///
    /// # Errors
    /// [`DataFileError::InUse`] or [`DataFileError::LockTimeout`] while another process holds
    /// it; [`DataFileError::Io`].
    pub fn open(path: impl Into<PathBuf>, wait: LockWait) -> Result<DataFile, DataFileError> {
        let path = path.into();
        let lock_path = sibling(&path, ".lock");
        let io = |source| DataFileError::Io {
            path: lock_path.clone(),
            source,
        };
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => match wait {
                    LockWait::NoWait => return Err(DataFileError::InUse { path }),
                    LockWait::Timeout(limit) => {
                        let waited = started.elapsed();
                        if waited >= limit {
                            return Err(DataFileError::LockTimeout { path, waited });
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                },
                Err(fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        Ok(DataFile {
            path,
            _lock: lock,
            readable: true,
        })
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Does the data file exist?
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Reads the file; `None` when it does not exist. A file that fails to load is never
    /// overwritten by [`DataFile::save`] afterwards.
    ///
    /// # Errors
    /// Corrupt, truncated, newer-version files, and I/O errors.
    pub fn load<T: DeserializeOwned>(&mut self) -> Result<Option<T>, DataFileError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                self.readable = false;
                return Err(DataFileError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        decode(&bytes).map(Some).map_err(|e| {
            self.readable = false;
            let path = self.path.clone();
            match e {
                DecodeError::Corrupt(reason) => DataFileError::Corrupt { path, reason },
                DecodeError::Truncated { expected, actual } => DataFileError::Truncated {
                    path,
                    expected,
                    actual,
                },
                DecodeError::NewerVersion { found, supported } => DataFileError::NewerVersion {
                    path,
                    found,
                    supported,
                },
            }
        })
    }

    /// Atomically replaces the file with `value`.
    ///
    /// # Errors
    /// [`DataFileError::RefusedOverwrite`] after a failed load; encoding and I/O errors.
    pub fn save<T: Serialize>(&mut self, value: &T) -> Result<(), DataFileError> {
        if !self.readable {
            return Err(DataFileError::RefusedOverwrite {
                path: self.path.clone(),
            });
        }
        let bytes = encode(value).map_err(|source| DataFileError::Encode {
            path: self.path.clone(),
            source,
        })?;
        let tmp = sibling(&self.path, &format!(".{}.tmp", std::process::id()));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DataFileError::Io { path, source }
        };
        let written = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let value = vec!["a".to_owned(), "b".to_owned()];
        let bytes = encode(&value).unwrap();
        assert!(bytes.starts_with(b"PLOCK-DATA\nversion 1\nlength "));
        assert_eq!(decode::<Vec<String>>(&bytes).unwrap(), value);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = encode(&vec!["entry"; 20]).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode::<Vec<String>>(&bytes[..cut]).is_err(),
                "cut at {cut} accepted"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = encode(&vec!["entry"; 5]).unwrap();
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x20;
            assert!(
                decode::<Vec<String>>(&damaged).is_err(),
                "flip at {i} accepted"
            );
        }
    }

    #[test]
    fn newer_version_is_refused_with_both_versions() {
        let bytes = encode(&1u8).unwrap();
        let newer = String::from_utf8(bytes)
            .unwrap()
            .replace("version 1", "version 2");
        assert_eq!(
            decode::<u8>(newer.as_bytes()),
            Err(DecodeError::NewerVersion {
                found: 2,
                supported: 1
            })
        );
    }
}
