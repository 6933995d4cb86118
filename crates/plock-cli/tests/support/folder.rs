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

    /// The path of `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` in the folder; returns the name.
    #[allow(dead_code)] // not every test binary writes files
    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).unwrap();
        name.to_owned()
    }

    /// `plock ARGS`, its exit code checked and no panic reported; returns stdout and stderr.
    pub fn run(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.plock(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "plock {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        (stdout, stderr)
    }

    /// `plock` with `line` split at spaces, as [`Folder::run`].
    pub fn line(&self, line: &str, code: i32) -> (String, String) {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.run(&args, code)
    }

    /// `plock` with `line` split at spaces, which must succeed; returns stdout, then stderr.
    #[allow(dead_code)] // not every test binary needs the two together
    pub fn ok(&self, line: &str) -> String {
        let (stdout, stderr) = self.line(line, 0);
        stdout + &stderr
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
