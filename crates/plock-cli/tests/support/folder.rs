//! A fresh folder in the temp directory for one test, the `plock` command run in it, and the
//! folder removed with its guard, so the suite leaves nothing behind.

use std::path::PathBuf;
use std::process::{Command, Output};

const PLOCK: &str = env!("CARGO_BIN_EXE_plock");

/// A test's folder; removed when dropped.
pub struct Folder(pub PathBuf);

impl Folder {
    /// An empty folder named after the test binary's `prefix` and the test's `name`.
    pub fn new(prefix: &str, name: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!("{prefix}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    /// `plock ARGS` run in the folder, whatever `PLOCK_DATA` says.
    pub fn plock(&self, args: &[&str]) -> Output {
        Command::new(PLOCK)
            .args(args)
            .current_dir(&self.0)
            .env_remove("PLOCK_DATA")
            .env_remove("PLOCK_STORE")
            .output()
            .unwrap()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
