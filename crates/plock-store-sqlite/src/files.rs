//! The files beside a database, and links planted among them; new files private to their
//! owner.
//!
//! SQLite keeps a database's write-ahead log and shared memory in `<file>-wal` and
//! `<file>-shm` beside the file it resolved (a database reached through a symbolic link keeps
//! them beside its target, so every writer meets in the same files). A symbolic link already
//! standing at one of those names would make SQLite write through it into whatever it points
//! to, so such a database is refused before SQLite opens anything.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use plock_core::store::StoreError;

use crate::codec::backend;

/// The suffixes of the files SQLite may create beside a database.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Refuses a database with a symbolic link at one of its side files, beside the path given
/// or beside the file it resolves to.
///
/// # Errors
/// [`StoreError::Backend`] naming the link.
pub(crate) fn refuse_planted_links(path: &Path) -> Result<(), StoreError> {
    let resolved = std::fs::canonicalize(path).ok();
    for base in std::iter::once(path).chain(resolved.as_deref()) {
        for suffix in SIDE_FILES {
            let side = side_file(base, suffix);
            let is_link = std::fs::symlink_metadata(&side)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if is_link {
                return Err(backend(format!(
                    "{} is a symbolic link; plock never writes through one beside its \
                     database: remove it",
                    side.display()
                )));
            }
        }
    }
    Ok(())
}

/// Creates a new, empty file readable and writable by its owner only; refuses an existing
/// file or symbolic link.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
