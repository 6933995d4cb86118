//! End-to-end: the real `plock` binary, every subcommand, successes and failures, with the
//! transcript snapshotted and the data file checked after each step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

struct Sandbox {
    dir: PathBuf,
    transcript: String,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("plock-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox {
            dir,
            transcript: String::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("plock.data")
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.data()).unwrap_or_default()
    }

    /// Runs plock with `args` in the sandbox; checks the exit code; on failure checks the
    /// data file is byte for byte unchanged. Returns stdout.
    fn run(&mut self, args: &[&str], code: i32) -> String {
        let before = self.bytes();
        let out = Command::new(env!("CARGO_BIN_EXE_plock"))
            .args(args)
            .current_dir(&self.dir)
            .env_remove("PLOCK_DATA")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "plock {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        if code != 0 {
            assert_eq!(
                self.bytes(),
                before,
                "failed `plock {args:?}` changed the data file"
            );
            assert!(
                !stderr.contains("panicked") && !stderr.contains("backtrace"),
                "{stderr}"
            );
            // One line with its cause; an import report lists every problem below its summary.
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

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.join(name), text).unwrap();
        name.to_owned()
    }
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/csv")
            .join(name),
    )
    .unwrap()
}

#[test]
fn accounts_and_subscriptions_end_to_end() {
    let mut s = Sandbox::new("accounts");
    s.run(&["account", "list"], 4); // no data file yet
    s.run(&["init"], 0);
    assert!(s.data().exists());
    s.run(&["init"], 5); // never overwrites
    s.run(
        &[
            "account",
            "add",
            "--key",
            "acme",
            "--name",
            "Acme AB",
            "--currency",
            "SEK",
            "--email",
            "billing@acme.se",
            "--country",
            "SE",
            "--created",
            "2025-01-01",
        ],
        0,
    );
    s.run(
        &[
            "account",
            "add",
            "--key",
            "acme",
            "--name",
            "Again",
            "--currency",
            "SEK",
        ],
        5,
    );
    s.run(
        &[
            "account",
            "add",
            "--key",
            "bad",
            "--name",
            "Bad",
            "--currency",
            "XYZ",
        ],
        3,
    );
    s.run(
        &[
            "account",
            "add",
            "--key",
            "globex",
            "--name",
            "Globex",
            "--currency",
            "EUR",
            "--created",
            "2025-01-01",
        ],
        0,
    );
    s.run(
        &[
            "account",
            "add",
            "--key",
            "globex-se",
            "--name",
            "Globex SE",
            "--currency",
            "EUR",
            "--created",
            "2025-01-01",
        ],
        0,
    );
    s.run(&["account", "link", "globex-se", "globex"], 0);
    s.run(&["account", "link", "globex", "globex"], 3);
    s.run(&["account", "archive", "globex"], 3); // live child
    s.run(&["account", "tag", "acme", "Retail", "nordic"], 0);
    s.run(&["account", "untag", "acme", "nordic"], 0);
    s.run(&["account", "edit", "acme", "--name", "Acme Aktiebolag"], 0);
    s.run(&["account", "edit", "acme", "--email", "nope"], 3);
    s.run(&["account", "show", "acme"], 0);
    s.run(&["account", "show", "nobody"], 4);
    s.run(&["account", "list", "--tag", "retail"], 0);
    s.run(&["account", "list", "--no-tag", "retail"], 0);
    s.run(&["--json", "account", "show", "globex-se"], 0);
    s.run(&["account", "unlink", "globex-se"], 0);
    s.run(&["account", "archive", "globex-se"], 0);
    s.run(&["account", "restore", "globex-se"], 0);
    s.run(&["account", "approve", "acme"], 3);
    s.run(&["account", "dismiss", "acme"], 3);
    s.run(
        &[
            "subscription",
            "add",
            "--id",
            "s1",
            "--account",
            "acme",
            "--start",
            "2025-01-10",
            "--product",
            "licence",
            "--fee",
            "3100.00",
        ],
        0,
    );
    s.run(
        &[
            "subscription",
            "add",
            "--id",
            "s2",
            "--account",
            "acme",
            "--start",
            "2025-01-01",
            "--product",
            "api",
            "--unit-price",
            "0.01",
            "--metric",
            "calls",
        ],
        0,
    );
    s.run(
        &[
            "subscription",
            "add",
            "--id",
            "s1",
            "--account",
            "acme",
            "--start",
            "2025-01-01",
            "--product",
            "x",
            "--fee",
            "1",
        ],
        5,
    );
    s.run(
        &[
            "subscription",
            "add",
            "--id",
            "s3",
            "--account",
            "acme",
            "--start",
            "2025-01-01",
            "--product",
            "x",
            "--fee=-1",
        ],
        3,
    );
    s.run(&["subscription", "list"], 0);
    s.run(&["subscription", "show", "s1"], 0);
    s.run(&["subscription", "pause", "s2", "--date", "2025-02-01"], 0);
    s.run(&["subscription", "pause", "s2", "--date", "2025-02-01"], 3);
    s.run(&["subscription", "resume", "s2", "--date", "2025-03-01"], 0);
    s.run(&["subscription", "end", "s2", "--date", "2025-04-15"], 0);
    s.run(&["subscription", "show", "nope"], 4);
    let usage = s.write("usage.csv", "account_key,metric,timestamp,quantity,record_id\nacme,calls,2025-01-05T10:00:00Z,1200,r1\nacme,calls,2025-01-05T10:00:00Z,1200,r1\nacme,calls,2025-02-07,300,r2\n");
    s.run(&["import", "usage", &usage], 0);
    let bad_usage = s.write("bad-usage.csv", "account_key,metric,timestamp,quantity\nghost,calls,2025-01-05,1\nacme,calls,yesterday,-4\n");
    s.run(&["import", "usage", &bad_usage], 3);
    s.run(&["bill", "--date", "2025-02-01", "--preview"], 0);
    let after_preview = s.bytes();
    s.run(&["bill", "--date", "2025-02-01"], 0);
    assert_ne!(s.bytes(), after_preview, "a real run records its invoices");
    let after_bill = s.bytes();
    s.run(&["bill", "--date", "2025-02-01"], 0); // nothing new
    assert_eq!(
        s.run(&["--json", "invoice", "list"], 0)
            .matches("\"number\"")
            .count(),
        1
    );
    let _ = after_bill;
    s.run(&["invoice", "list"], 0);
    s.run(&["invoice", "show", "1"], 0);
    s.run(&["invoice", "show", "99"], 4);
    s.run(&["invoice", "export", "--format", "csv"], 0);
    s.run(&["invoice", "export", "--out", "invoices.json"], 0);
    assert!(
        std::fs::read_to_string(s.dir.join("invoices.json"))
            .unwrap()
            .contains("\"owner\": \"acme\"")
    );
    s.run(&["account", "frobnicate"], 2);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn import_export_and_discovery_end_to_end() {
    let mut s = Sandbox::new("import");
    s.run(&["init"], 0);
    let accounts = s.write("accounts.csv", &sample("accounts.csv"));
    let subs = s.write("subscriptions.csv", &sample("subscriptions.csv"));
    s.run(&["import", "subscriptions", &subs], 3); // accounts first
    s.run(&["import", "accounts", &accounts], 0);
    s.run(&["import", "accounts", &accounts], 0); // nothing to change
    s.run(&["import", "subscriptions", &subs], 0);
    s.run(&["import", "accounts", "missing.csv"], 6);
    let broken = s.write(
        "broken.csv",
        "key,name,currency\n,No key,SEK\nx,Bad currency,SXX\n",
    );
    s.run(&["import", "accounts", &broken], 3);
    let exported = s.run(&["export", "accounts"], 0);
    assert_eq!(exported.lines().count(), 6);
    s.run(&["export", "subscriptions", "--out", "subs-out.csv"], 0);
    let source = s.write("source.csv", "key,name,currency,email\ndentist-johnson,Dentist Johnson DDS,SEK,johnson@dentist.example\nnew-clinic,New Clinic AB,SEK,\n");
    s.run(&["discover", &source], 0);
    s.run(&["discover", &source, "--yes"], 0);
    s.run(&["account", "list", "--state", "pending"], 0);
    s.run(&["account", "approve", "new-clinic"], 0);
    s.run(&["account", "dismiss", "prospect"], 0);
    s.run(&["account", "list"], 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn data_file_location_and_lock() {
    let mut s = Sandbox::new("location");
    let custom = s.dir.join("custom.data");
    s.run(&["--data", custom.to_str().unwrap(), "init"], 0);
    assert!(custom.exists() && !s.data().exists());
    let out = Command::new(env!("CARGO_BIN_EXE_plock"))
        .args(["account", "list"])
        .current_dir(&s.dir)
        .env("PLOCK_DATA", &custom)
        .output()
        .unwrap();
    assert!(out.status.success());
    // A held lock: the command fails with the conflict class and changes nothing.
    let _held =
        plock_store_memory::DataFile::open(&custom, plock_store_memory::LockWait::NoWait).unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_plock"))
        .args(["--data", custom.to_str().unwrap(), "account", "list"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked by another plock process"));
    assert!(
        started.elapsed().as_secs() >= 9,
        "it waited for the lock first"
    );
    // A corrupt file is refused (I/O class) and left as it is.
    std::fs::write(s.data(), b"PLOCK-DATA\nversion 7\n").unwrap();
    s.run(&["account", "list"], 6);
}

#[test]
fn demo_and_completions() {
    let mut s = Sandbox::new("demo");
    let out = s.run(&["demo"], 0);
    assert!(out.contains("Billing run 2025-04-01"));
    assert!(!s.data().exists(), "the demo runs in memory unless --save");
    insta::assert_snapshot!(out);
    s.run(&["demo", "--save"], 0);
    assert!(s.data().exists());
    s.run(&["demo", "--save"], 5);
    assert!(s.run(&["invoice", "list"], 0).contains("globex"));
    assert!(s.run(&["completions", "bash"], 0).contains("plock"));
    let mut expand = Sandbox::new("expand");
    expand.run(&["demo", "--save"], 0);
    expand.transcript.clear();
    expand.run(&["adoption", "--date", "2025-04-01"], 0);
    expand.run(&["adoption", "--date", "2025-04-01", "--upsell-ready"], 0);
    expand.run(&["signals", "--date", "2025-03-31"], 0);
    insta::assert_snapshot!("expand", expand.transcript);

    let mut kinds = Sandbox::new("kinds");
    kinds.run(&["demo", "--save"], 0);
    kinds.transcript.clear();
    kinds.run(
        &["invoice", "credit", "1", "--line", "1", "--amount", "1000"],
        0,
    );
    kinds.run(
        &["invoice", "credit", "1", "--line", "1", "--amount", "2000"],
        3,
    ); // more than is left
    kinds.run(&["invoice", "credit", "1"], 0);
    kinds.run(&["invoice", "credit", "1"], 3); // nothing left
    kinds.run(&["invoice", "credit", "999"], 4);
    let export = kinds.run(&["invoice", "export", "--erp", "fortnox"], 0);
    assert!(export.contains("\"CustomerNumber\": \"1001\""));
    insta::assert_snapshot!("kinds", kinds.transcript);
}

/// The README's main command runs the demo: the same binary and arguments as tested above.
#[test]
fn readme_main_command_is_the_demo() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(
        readme.contains("cargo run --release -p plock-cli -- demo"),
        "the README's main command changed: update this test and .ci/run"
    );
    assert!(readme.contains("cargo test --workspace"));
}
