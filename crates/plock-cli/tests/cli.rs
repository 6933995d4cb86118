//! End-to-end: the real `plock` binary, every subcommand, successes and failures, with the
//! transcript snapshotted and the data file checked after each step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/folder.rs"]
mod folder;
#[path = "cli/readme.rs"]
mod readme;
#[path = "cli/sandbox.rs"]
mod sandbox;
#[path = "support/readme.rs"]
mod support_readme;

use std::io::Read;
use std::process::{Command, Stdio};

use sandbox::{PLOCK, Sandbox, json_of, sample, sample_company};

#[test]
fn accounts_and_subscriptions_end_to_end() {
    let mut s = Sandbox::new("accounts");
    s.run(&["account", "list"], 4); // no data file yet
    s.run(&["init"], 0);
    assert!(s.data().exists());
    s.run(&["init"], 5); // never overwrites
    s.line("account add --key acme --name 'Acme AB' --currency SEK --email billing@acme.se --country SE --created 2025-01-01", 0);
    s.line("account add --key acme --name Again --currency SEK", 5);
    s.line("account add --key bad --name Bad --currency XYZ", 3);
    s.line(
        "account add --key globex --name Globex --currency EUR --created 2025-01-01",
        0,
    );
    s.line(
        "account add --key globex-se --name 'Globex SE' --currency EUR --created 2025-01-01",
        0,
    );
    s.line("account link globex-se globex", 0);
    s.line("account link globex globex", 3);
    s.run(&["account", "archive", "globex"], 3); // live child
    s.line("account tag acme Retail nordic", 0);
    s.line("account untag acme nordic", 0);
    s.line("account edit acme --name 'Acme Aktiebolag'", 0);
    s.line("account edit acme --email nope", 3);
    s.run(&["account", "show", "acme"], 0);
    s.run(&["account", "show", "nobody"], 4);
    s.line("account list --tag retail", 0);
    s.line("account list --no-tag retail", 0);
    s.line("--json account show globex-se", 0);
    s.run(&["account", "unlink", "globex-se"], 0);
    s.run(&["account", "archive", "globex-se"], 0);
    s.run(&["account", "restore", "globex-se"], 0);
    s.run(&["account", "approve", "acme"], 3);
    s.run(&["account", "dismiss", "acme"], 3);
    s.line("subscription add --id s1 --account acme --start 2025-01-10 --product licence --fee 3100.00", 0);
    s.line("subscription add --id s2 --account acme --start 2025-01-01 --product api --unit-price 0.01 --metric calls", 0);
    s.line(
        "subscription add --id s1 --account acme --start 2025-01-01 --product x --fee 1",
        5,
    );
    s.line(
        "subscription add --id s3 --account acme --start 2025-01-01 --product x --fee=-1",
        3,
    );
    s.run(&["subscription", "list"], 0);
    s.run(&["subscription", "show", "s1"], 0);
    s.line("subscription pause s2 --date 2025-02-01", 0);
    s.line("subscription pause s2 --date 2025-02-01", 3);
    s.line("subscription resume s2 --date 2025-03-01", 0);
    s.line("subscription end s2 --date 2025-04-15", 0);
    s.run(&["subscription", "show", "nope"], 4);
    let usage = s.write("usage.csv", "account_key,metric,timestamp,quantity,record_id\nacme,calls,2025-01-05T10:00:00Z,1200,r1\nacme,calls,2025-01-05T10:00:00Z,1200,r1\nacme,calls,2025-02-07,300,r2\n");
    s.run(&["import", "usage", &usage], 0);
    let bad_usage = s.write("bad-usage.csv", "account_key,metric,timestamp,quantity\nghost,calls,2025-01-05,1\nacme,calls,yesterday,-4\n");
    s.run(&["import", "usage", &bad_usage], 3);
    s.line("bill --date 2025-02-01 --preview", 0);
    s.line("bill --date 2025-02-01 --preview --full", 0);
    let after_preview = s.bytes();
    s.run(&["bill", "--date", "2025-02-01"], 0);
    assert_ne!(s.bytes(), after_preview, "a real run records its invoices");
    let after_bill = s.bytes();
    s.run(&["bill", "--date", "2025-02-01"], 0); // nothing new
    s.run(&["bill", "--date", "2025-2-01"], 2); // dates are YYYY-MM-DD exactly
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
    s.line("invoice export --format csv", 0);
    s.line("invoice export --out invoices.json", 0);
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
    s.line("export subscriptions --out subs-out.csv", 0);
    let source = s.write("source.csv", "key,name,currency,email\ndentist-johnson,Dentist Johnson DDS,SEK,johnson@dentist.example\nnew-clinic,New Clinic AB,SEK,\n");
    s.run(&["discover", &source], 0);
    s.run(&["discover", &source, "--yes"], 0);
    s.line("account list --state pending", 0);
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
    let out = Command::new(PLOCK)
        .args(["account", "list"])
        .current_dir(&s.dir)
        .env("PLOCK_DATA", &custom)
        .env_remove("PLOCK_STORE")
        .output()
        .unwrap();
    assert!(out.status.success());
    // Another writer holding the database: a reader goes on at once; a writer waits for it,
    // then fails with the conflict class and changes nothing.
    let held = rusqlite::Connection::open(&custom).unwrap();
    held.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = Command::new(PLOCK)
        .args(["--data", custom.to_str().unwrap(), "account", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = std::time::Instant::now();
    let out = Command::new(PLOCK)
        .args([
            "--data",
            custom.to_str().unwrap(),
            "account",
            "add",
            "--key",
            "acme",
            "--name",
            "Acme",
            "--currency",
            "EUR",
        ])
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
    held.execute_batch("ROLLBACK").unwrap();
    drop(held);
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
    expand.line("adoption --date 2025-04-01 --upsell-ready", 0);
    expand.run(&["signals", "--date", "2025-03-31"], 0);
    insta::assert_snapshot!("expand", expand.transcript);

    let mut kinds = Sandbox::new("kinds");
    kinds.run(&["demo", "--save"], 0);
    kinds.transcript.clear();
    kinds.line("invoice credit 1 --line 1 --amount 1000", 0);
    kinds.line("invoice credit 1 --line 1 --amount 2000", 3); // more than is left
    kinds.run(&["invoice", "credit", "1"], 0);
    kinds.run(&["invoice", "credit", "1"], 3); // nothing left
    kinds.run(&["invoice", "credit", "999"], 4);
    let export = kinds.line("invoice export --erp fortnox", 0);
    assert!(export.contains("\"CustomerNumber\": \"1001\""));
    insta::assert_snapshot!("kinds", kinds.transcript);
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let mut s = sample_company("pipe");
    // A write: the run is recorded before anything is printed, so the closed pipe loses only
    // the report.
    let before = s.bytes();
    let (code, stderr) = s.run_into_closed_pipe(&["bill", "--date", "2025-02-01", "--full"]);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert_ne!(s.bytes(), before, "the run was recorded");
    assert!(s.run(&["invoice", "list"], 0).contains("dentist-johnson"));
    let recorded = s.bytes();
    for args in [
        &["invoice", "list"][..],
        &["--json", "invoice", "list"],
        &["invoice", "show", "1"],
        &["bill", "--date", "2025-03-01", "--preview", "--full"],
        &["export", "accounts"],
        &["account", "list"],
        &["help", "csv"],
        &["bill", "--help"],
        &["completions", "bash"],
        &["demo"],
    ] {
        let (code, stderr) = s.run_into_closed_pipe(args);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "plock {args:?}");
    }
    assert_eq!(s.bytes(), recorded, "reads changed nothing");
    // A reader that takes a few bytes and goes, as `head -c 16` does.
    let mut child = s
        .command(&["demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(first.starts_with(b"plock demo"));
}

#[test]
fn bill_prints_a_summary_and_the_invoices_on_request() {
    let mut s = sample_company("bill");
    let summary = s.line("bill --date 2025-02-01 --preview", 0);
    assert!(summary.lines().count() <= 12, "a few lines: {summary}");
    assert!(!summary.contains("Invoice 1"));
    let full = s.line("bill --date 2025-02-01 --preview --full", 0);
    assert!(full.contains("Invoice 1  to dentist-johnson"));
    let shown = s.transcript.len();
    let json = json_of(&s.line("--json bill --date 2025-02-01 --preview", 0));
    s.transcript.truncate(shown); // the whole run, asserted here rather than snapshotted
    assert_eq!(json["recorded"], false);
    assert_eq!(json["invoices"].as_array().unwrap().len(), 3);
    s.run(&["bill", "--date", "2025-02-01"], 0);
    s.run(&["invoice", "show", "1"], 0);
    s.run(&["bill", "--date", "2025-02-01"], 0);
    s.run(&["bill", "--date", "2025-4-1"], 2);
    // A run with something behind each count: the demo company a month on.
    s.line("--data demo.data demo --save", 0);
    s.transcript
        .truncate(s.transcript.rfind("$ plock --data").unwrap());
    s.line("--data demo.data bill --date 2025-05-01 --preview", 0);
    s.line(
        "--data demo.data bill --date 2025-05-01 --preview --full",
        0,
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn standard_input_and_dry_runs() {
    let mut s = Sandbox::new("stdin");
    s.run(&["init"], 0);
    let empty = s.bytes();
    let accounts = sample("accounts.csv");
    let out = s.run_with_input(
        &["import", "accounts", "-", "--dry-run"],
        Some(accounts.as_bytes()),
        0,
    );
    assert!(out.contains("would import 5 new account(s)"), "{out}");
    assert_eq!(s.bytes(), empty, "a dry run writes nothing");
    s.run_with_input(&["import", "accounts", "-"], Some(accounts.as_bytes()), 0);
    let subs = s.write("subscriptions.csv", &sample("subscriptions.csv"));
    let before = s.bytes();
    s.line(&format!("import subscriptions {subs} --dry-run"), 0);
    assert_eq!(s.bytes(), before);
    s.run(&["import", "subscriptions", &subs], 0);
    s.line(&format!("import subscriptions {subs} --dry-run"), 0); // nothing would change
    let usage = sample("usage.csv");
    let before = s.bytes();
    s.run_with_input(
        &["import", "usage", "-", "--dry-run"],
        Some(usage.as_bytes()),
        0,
    );
    assert_eq!(s.bytes(), before);
    s.run_with_input(&["import", "usage", "-"], Some(usage.as_bytes()), 0);
    // Rows core accepts but the store refuses: the row is named, and a dry run finds it too.
    let grouped = s.write(
        "grouped.csv",
        "key,name,currency,state,master_key\nnewkid,New Kid,EUR,archived,\nkid2,Kid Two,EUR,active,newkid\n",
    );
    for args in [
        &["import", "accounts", &grouped][..],
        &["import", "accounts", &grouped, "--dry-run"],
    ] {
        s.run(args, 3);
        assert!(s.transcript.contains("line 2 (account newkid)"));
        assert!(!s.transcript.contains("change 3"));
    }
    s.run_with_input(
        &["import", "accounts", "-"],
        Some(b"key,name,currency\n,No key,SEK\nx,Bad currency,SXX\n"),
        3,
    );
    let source = "key,name,currency,email\nnew-clinic,New Clinic AB,SEK,\n";
    let before = s.bytes();
    s.run_with_input(&["discover", "-", "--dry-run"], Some(source.as_bytes()), 0);
    assert_eq!(s.bytes(), before);
    s.run_with_input(&["discover", "-", "--yes", "--dry-run"], Some(b""), 2);
    s.run_with_input(&["discover", "-", "--yes"], Some(source.as_bytes()), 0);
    assert_ne!(s.bytes(), before);
    s.line("account list --state pending", 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn dates_and_closed_sets_refused_with_what_is_accepted() {
    let mut s = Sandbox::new("values");
    s.run(&["demo", "--save"], 0);
    s.transcript.clear();
    for args in [
        &["bill", "--date", "2025-4-1"][..],
        &["bill", "--date", "2025-02-30"],
        &["adoption", "--date", "2025-04-1"],
        &["signals", "--date", "20250401"],
        &["subscription", "pause", "sub-dentist", "--date", "2025-2-1"],
        &[
            "subscription",
            "add",
            "--id",
            "s9",
            "--account",
            "initech",
            "--start",
            "2025-1-1",
            "--product",
            "x",
            "--fee",
            "1",
        ],
        &[
            "account",
            "add",
            "--key",
            "k",
            "--name",
            "K",
            "--currency",
            "SEK",
            "--created",
            "1/1/2025",
        ],
        &["invoice", "export", "--erp", "sap"],
        &["invoice", "export", "--format", "xml"],
        &["account", "list", "--state", "gone"],
        &["import", "things", "x.csv"],
        &["export", "invoices"],
        &["completions", "tcsh"],
    ] {
        s.refuse_in_one_line(args, 2);
    }
    assert!(
        s.transcript
            .contains("accepted values: fortnox, business_central, netvisor, kleer")
    );
    s.line("invoice export --erp fortnox --format csv", 2);
    s.refuse_in_one_line(
        &[
            "account",
            "add",
            "--key",
            "k",
            "--name",
            "K",
            "--currency",
            "XYZ",
        ],
        3,
    );
    assert!(
        s.line("invoice export --erp business_central --out bc.json", 0)
            .contains("16 not exported")
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn json_reports_every_change_and_every_error() {
    let mut s = Sandbox::new("json");
    assert_eq!(json_of(&s.run(&["--json", "init"], 0))["action"], "created");
    let added = json_of(&s.line(
        "--json account add --key acme --name 'Acme AB' --currency SEK --created 2025-01-01",
        0,
    ));
    assert_eq!(added["action"], "added");
    assert_eq!(added["account"]["id"], "acme");
    let tagged = json_of(&s.line("--json account tag acme vip", 0));
    assert_eq!(tagged["account"]["tags"], serde_json::json!(["vip"]));
    let edited = json_of(&s.line("account edit acme --name Acme --json", 0));
    assert_eq!(edited["account"]["name"], "Acme");
    let accounts = s.write("accounts.csv", &sample("accounts.csv"));
    let report = json_of(&s.line(&format!("--json import accounts {accounts}"), 0));
    assert_eq!(
        (&report["rows"], &report["added"], &report["written"]),
        (
            &serde_json::json!(5),
            &serde_json::json!(5),
            &serde_json::json!(true)
        )
    );
    let linked = json_of(&s.line("--json account link acme globex", 0));
    assert_eq!(linked["account"]["master"], "globex");
    let sub = json_of(&s.line("--json subscription add --id s1 --account acme --start 2025-01-01 --product licence --fee 100", 0));
    assert_eq!(sub["subscription"]["id"], "s1");
    let run = json_of(&s.line("--json bill --date 2025-02-01", 0));
    assert_eq!(run["recorded"], true);
    let paused = json_of(&s.line("--json subscription pause s1 --date 2025-03-01", 0));
    assert_eq!(paused["action"], "paused");
    let credit = json_of(&s.line("--json invoice credit 1", 0));
    assert_eq!(credit["action"], "credited");
    let wrote = json_of(&s.line("--json export accounts --out out.csv", 0));
    assert_eq!(
        (&wrote["action"], &wrote["accounts"]),
        (&"wrote".into(), &6.into())
    );
    let source = s.write(
        "source.csv",
        "key,name,currency\nnew-clinic,New Clinic AB,SEK\n",
    );
    let plan = json_of(&s.line(&format!("--json discover {source} --yes"), 0));
    assert_eq!(plan["applied"], true);
    assert_eq!(plan["candidates"].as_array().unwrap().len(), 1);
    let dismissed = json_of(&s.line("--json account dismiss new-clinic", 0));
    assert_eq!(dismissed["account"]["id"], "new-clinic");

    // Errors: one object on stderr with the exit code (checked by `run`), an import's
    // problems listed.
    s.line("--json account show nobody", 4);
    s.run(&["--json", "init"], 5);
    s.line("--json bill --date 2025-4-1", 2);
    s.run(&["--json", "account", "frobnicate"], 2);
    s.run(&["--json", "account"], 2);
    s.run(&["--json", "bill"], 2);
    s.line("--json invoice export --erp sap", 2);
    s.line("--json account link acme acme", 3);
    let broken = s.write(
        "broken.csv",
        "key,name,currency\n,No key,SEK\nx,Bad currency,SXX\n",
    );
    let out = s
        .command(&["--json", "import", "accounts", &broken])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let error = json_of(&String::from_utf8(out.stderr).unwrap());
    assert_eq!(
        error["error"],
        "broken.csv: 2 problem(s) found, nothing imported"
    );
    assert_eq!(error["problems"].as_array().unwrap().len(), 2);
    assert_eq!(error["problems"][0]["line"], 2);
}

#[test]
fn no_lock_file_is_left_beside_a_missing_data_file() {
    let mut s = Sandbox::new("locks");
    let file = s.write("accounts.csv", &sample("accounts.csv"));
    // `run` checks every one of these leaves no plock.data.lock.
    s.run(&["account", "list"], 4);
    s.run(&["bill", "--date", "2025-02-01"], 4);
    s.run(&["import", "accounts", &file], 4);
    s.run(&["--json", "invoice", "list"], 4);
    let mut names: Vec<String> = std::fs::read_dir(&s.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["accounts.csv"]);
    s.run(&["--data", "nowhere/plock.data", "init"], 6);
    assert!(!s.dir.join("nowhere").exists());
    // init refuses an existing file.
    s.run(&["init"], 0);
    s.run(&["init"], 5);
    s.run(&["demo", "--save"], 5);
    assert!(!s.lock().exists());
}

#[test]
fn help_teaches_by_example() {
    let mut s = Sandbox::new("help");
    let csv = s.run(&["help", "csv"], 0);
    assert!(csv.contains("## Accounts") && csv.contains("| subscription_id | yes |"));
    for args in [
        &["bill", "--help"][..],
        &["help", "bill"],
        &["help", "account", "add"],
        &["account", "help", "add"],
        &["import", "--help"],
        &["invoice", "credit", "--help"],
    ] {
        let help = s.run(args, 0);
        assert!(help.contains("Example"), "plock {args:?}: {help}");
        assert!(help.contains("Usage: plock "), "plock {args:?}: {help}");
    }
    assert!(s.run(&["--help"], 0).contains("plock help csv"));
    s.run(&["help", "accounts"], 2);
    s.run(&["help", "account", "nothing"], 2);
}

#[path = "cli/operator.rs"]
mod operator;
#[path = "cli/streams.rs"]
mod streams;
#[path = "cli/usage_import.rs"]
mod usage_import;
