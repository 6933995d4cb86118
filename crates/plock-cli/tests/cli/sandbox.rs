//! The sandbox every end-to-end test runs the real binary in: a fresh folder, the data file,
//! and a transcript of each command and its output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const PLOCK: &str = env!("CARGO_BIN_EXE_plock");

pub struct Sandbox {
    pub dir: PathBuf,
    pub transcript: String,
}

/// The sandbox's folder goes with it, so the suite leaves nothing in the temp directory.
impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("plock-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox {
            dir,
            transcript: String::new(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("plock.data")
    }

    pub fn lock(&self) -> PathBuf {
        self.dir.join("plock.data.lock")
    }

    /// The data file's state: every row of every table as text, the batches committed to its
    /// log included (`plock bill` leaves its batch in the log for the next command to copy, so
    /// the file's own bytes are not the state); the file's bytes when it is not a database.
    pub fn bytes(&self) -> Vec<u8> {
        let Ok(raw) = std::fs::read(self.data()) else {
            return Vec::new();
        };
        rows_of(&self.data()).unwrap_or(raw)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(PLOCK);
        command
            .args(args)
            .current_dir(&self.dir)
            .env_remove("PLOCK_DATA")
            .env_remove("PLOCK_STORE");
        command
    }

    /// Runs plock with `args` in the sandbox; checks the exit code; on failure checks the
    /// data file is byte for byte unchanged. Returns stdout.
    pub fn run(&mut self, args: &[&str], code: i32) -> String {
        self.run_with_input(args, None, code)
    }

    /// As [`Sandbox::run`], the arguments written as one command line split at spaces, an
    /// argument with spaces in single quotes: `s.line("account add --name 'Acme AB'", 0)`.
    pub fn line(&mut self, line: &str, code: i32) -> String {
        let args = words(line);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args, code)
    }

    /// As [`Sandbox::run`], with `input` on standard input.
    pub fn run_with_input(&mut self, args: &[&str], input: Option<&[u8]>, code: i32) -> String {
        let before = self.bytes();
        let had_data = self.data().exists();
        let mut child = self
            .command(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = input {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "plock {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        if !had_data && !self.data().exists() {
            assert!(
                !self.lock().exists(),
                "`plock {args:?}` left a lock file beside a missing data file"
            );
        }
        if code != 0 {
            assert_eq!(
                self.bytes(),
                before,
                "failed `plock {args:?}` changed the data file"
            );
            if args.contains(&"--json") {
                // One JSON object, with the exit code in it.
                assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
                let error: serde_json::Value = serde_json::from_str(&stderr).unwrap();
                assert_eq!(error["exit_code"], code, "{stderr}");
                assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()));
            } else {
                // One line with its cause; an import report lists every problem below its
                // summary, and clap's usage errors keep their tips.
                let first = stderr.lines().next().unwrap_or_default();
                assert!(
                    first.starts_with("plock: ") || (code == 2 && first.starts_with("error: ")),
                    "{stderr}"
                );
                if args[0] != "import" && code != 2 {
                    assert_eq!(
                        stderr.trim_end().lines().count(),
                        1,
                        "errors are one line: {stderr}"
                    );
                }
            }
        }
        let tmp = self.dir.display().to_string();
        self.transcript
            .push_str(&format!("$ plock {}\n[exit {code}]\n", args.join(" ")));
        for text in [&stdout, &stderr] {
            if !text.is_empty() {
                self.transcript.push_str(&text.replace(&tmp, "<tmp>"));
                if !text.ends_with('\n') {
                    self.transcript.push('\n');
                }
            }
        }
        self.transcript.push('\n');
        stdout
    }

    /// A refusal that must be exactly one line on stderr.
    pub fn refuse_in_one_line(&mut self, args: &[&str], code: i32) {
        let before = self.transcript.len();
        self.run(args, code);
        let printed = &self.transcript[before..];
        let stderr_lines = printed.lines().skip(2).filter(|l| !l.is_empty()).count();
        assert_eq!(stderr_lines, 1, "{printed}");
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.join(name), text).unwrap();
        name.to_owned()
    }

    /// Runs plock with its standard output a pipe whose reader is already gone, as when
    /// `| head` has read enough. Returns the exit code and stderr.
    pub fn run_into_closed_pipe(&self, args: &[&str]) -> (Option<i32>, String) {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    }
}

/// A command line's words: split at spaces, but not inside single quotes.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            ' ' if !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

pub fn sample(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/csv")
            .join(name),
    )
    .unwrap()
}

/// A sandbox with the sample company imported.
pub fn sample_company(name: &str) -> Sandbox {
    let mut s = Sandbox::new(name);
    s.run(&["init"], 0);
    for kind in ["accounts", "subscriptions", "usage"] {
        let file = s.write(&format!("{kind}.csv"), &sample(&format!("{kind}.csv")));
        s.run(&["import", kind, &file], 0);
    }
    s.transcript.clear();
    s
}

pub fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Every row of every table of the database at `path` with its log, as text, read from a copy
/// in a folder of its own (SQLite writes beside a database it opens), which is then removed.
fn rows_of(path: &Path) -> Option<Vec<u8>> {
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("plock-cli-state-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let rows = copied_rows(path, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

fn copied_rows(path: &Path, dir: &Path) -> Option<Vec<u8>> {
    let copy = dir.join("copy.data");
    std::fs::copy(path, &copy).ok()?;
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    if Path::new(&log).exists() {
        std::fs::copy(&log, dir.join("copy.data-wal")).ok()?;
    }
    let conn = rusqlite::Connection::open(&copy).ok()?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .ok()?
        .query_map([], |row| row.get(0))
        .ok()?
        .collect::<Result<_, _>>()
        .ok()?;
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).ok()?;
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |row| {
                let mut cells = vec![table.clone()];
                for i in 0..columns {
                    cells.push(format!("{:?}", row.get::<_, rusqlite::types::Value>(i)?));
                }
                Ok(cells.join(" | "))
            })
            .ok()?
            .collect::<Result<_, _>>()
            .ok()?;
        rows.sort();
        for row in rows {
            out.extend_from_slice(row.as_bytes());
            out.push(b'\n');
        }
    }
    Some(out)
}
