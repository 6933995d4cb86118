//! The command on PostgreSQL, end to end: the README's commands run against the test server
//! (`PLOCK_TEST_POSTGRES`) and against a SQLite data file from the same files, with the same
//! output; `init`, locks held by another writer, and a connection string's password. Without
//! a server, each test that needs one prints a notice and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// Its own `plock` runner takes no store; this file runs plock with one.
#[allow(dead_code)]
#[path = "support/folder.rs"]
mod folder;
#[path = "support/postgres.rs"]
mod postgres_server;
#[path = "support/readme.rs"]
mod readme;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use folder::Folder;
use postgres_server::{Schema, server};
use readme::{copy_samples, using_the_command};

const PLOCK: &str = env!("CARGO_BIN_EXE_plock");

/// `plock ARGS` in `dir`, on the store `store` (`None`: the folder's data file), with
/// `input` (a file in `dir`) on standard input.
fn plock(dir: &Path, store: Option<&str>, args: &[&str], input: Option<&str>) -> Output {
    let mut command = Command::new(PLOCK);
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PLOCK_DATA")
        .env_remove("PLOCK_STORE")
        .stdin(match input {
            Some(file) => Stdio::from(std::fs::File::open(dir.join(file)).unwrap()),
            None => Stdio::null(),
        });
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `args` and checks the exit code; returns stdout, stderr.
fn run(dir: &Path, store: Option<&str>, args: &[&str], code: i32) -> (String, String) {
    let out = plock(dir, store, args, None);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "plock {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

/// A folder holding the repository's sample files, as the README's commands expect them.
fn samples(name: &str) -> Folder {
    let folder = Folder::new("plock-pg", name);
    copy_samples(&folder.0);
    folder
}

/// The README's "Using the command" lines, as arguments and the file on standard input;
/// without the ones about a data file of their own (`--data`, `backup`) or with no store.
fn readme_commands() -> Vec<(Vec<String>, Option<String>)> {
    let mut commands = Vec::new();
    for command in using_the_command() {
        let words: Vec<&str> = command.split_whitespace().collect();
        if words.first() != Some(&"plock")
            || words.contains(&"--data")
            || words.contains(&"--store")
            || words.get(1) == Some(&"backup")
            || words.get(1) == Some(&"help")
        {
            continue;
        }
        let (args, input) = match words.iter().position(|w| *w == "<") {
            Some(at) => (&words[1..at], words.get(at + 1).map(|w| (*w).to_owned())),
            None => (&words[1..], None),
        };
        commands.push((args.iter().map(|w| (*w).to_owned()).collect(), input));
    }
    commands
}

/// What a command printed, with where the data is (the one thing that differs between the
/// two stores) left out.
fn comparable(args: &[String], stdout: &str, location: &str) -> String {
    let out = stdout.replace(location, "<store>");
    match args.first().map(String::as_str) {
        Some("init") => "created <store>\n".to_owned(),
        Some("check") => out
            .split_once(": ok")
            .map(|(_, rest)| format!("<store>: ok{rest}"))
            .unwrap_or(out),
        _ => out,
    }
}

/// Every README command gives the same output, and the same exit code, on PostgreSQL as on
/// SQLite from the same files: imports, accounts, subscriptions, usage, bill (preview and
/// recorded), invoices (list, show, JSON, the CSV export, a one-off charge), check; then a
/// discovery sync, the exports and the whole invoice list as JSON.
#[test]
fn readme_commands_give_the_same_output_as_on_sqlite() {
    let Some(server) = server("readme_commands_give_the_same_output_as_on_sqlite") else {
        return;
    };
    let schema = Schema::fresh(&server);
    let store = schema.config(&[]);
    let sqlite = samples("readme-sqlite");
    let pg = samples("readme-pg");
    let commands = readme_commands();
    assert!(
        commands.len() >= 20,
        "only {} README commands",
        commands.len()
    );
    let mut extra: Vec<Vec<String>> = vec![
        vec!["--json", "invoice", "list"],
        vec!["invoice", "show", "2", "--json"],
        vec!["export", "accounts"],
        vec!["export", "subscriptions"],
        vec!["discover", "customers.csv", "--source", "hubspot"],
        vec!["discover", "customers.csv", "--source", "hubspot", "--yes"],
        vec!["account", "list"],
        vec!["bill", "--date", "2025-03-01"],
        vec!["--json", "invoice", "list"],
        vec!["check"],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(str::to_owned).collect())
    .collect();
    let customers = "key,name,currency,email\n\
                     dentist-johnson,Dentist Johnson,SEK,new@johnson.se\n\
                     nordic-vet,Nordic Vet AB,SEK,\n";
    for folder in [&sqlite, &pg] {
        std::fs::write(folder.0.join("customers.csv"), customers).unwrap();
    }
    let mut all = commands;
    all.extend(extra.drain(..).map(|c| (c, None)));
    for (args, input) in &all {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let on_sqlite = plock(&sqlite.0, None, &words, input.as_deref());
        let on_pg = plock(&pg.0, Some(&store), &words, input.as_deref());
        let (lite_out, pg_out) = (text(&on_sqlite.stdout), text(&on_pg.stdout));
        assert_eq!(
            on_sqlite.status.code(),
            Some(0),
            "sqlite: plock {args:?}\n{lite_out}\n{}",
            text(&on_sqlite.stderr)
        );
        assert_eq!(
            on_pg.status.code(),
            Some(0),
            "postgres: plock {args:?}\n{pg_out}\n{}",
            text(&on_pg.stderr)
        );
        assert_eq!(
            comparable(args, &pg_out, "<none>"),
            comparable(args, &lite_out, "plock.data"),
            "plock {args:?}"
        );
    }
    // The invoices exported to CSV, byte for byte.
    let exported = |folder: &Folder| std::fs::read(folder.0.join("invoices.csv")).unwrap();
    assert!(!exported(&pg).is_empty());
    assert_eq!(exported(&pg), exported(&sqlite));
    // Only the SQLite side wrote a data file.
    assert!(sqlite.0.join("plock.data").exists() && !pg.0.join("plock.data").exists());
}

/// `init` creates the schema, at the version this plock writes, then refuses to touch a
/// database that has one; a database made by a newer plock is refused by every command.
#[test]
fn init_creates_the_schema_once_and_newer_schemas_are_refused() {
    let Some(server) = server("init_creates_the_schema_once_and_newer_schemas_are_refused") else {
        return;
    };
    let schema = Schema::fresh(&server);
    let store = schema.config(&[]);
    let dir = Folder::new("plock-pg", "init");
    // Nothing there yet: not found, as for a missing data file.
    let (_, stderr) = run(&dir.0, Some(&store), &["account", "list"], 4);
    assert!(stderr.contains("plock init"), "{stderr}");
    run(&dir.0, Some(&store), &["init"], 0);
    let version: i32 = schema
        .client()
        .query_one("SELECT max(version) FROM plock_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        u32::try_from(version).unwrap(),
        plock_store_postgres::SCHEMA_VERSION
    );
    run(
        &dir.0,
        Some(&store),
        &[
            "account",
            "add",
            "--key",
            "acme",
            "--name",
            "Acme",
            "--currency",
            "EUR",
        ],
        0,
    );
    let (_, stderr) = run(&dir.0, Some(&store), &["init"], 5);
    assert!(stderr.contains("never changes"), "{stderr}");
    let (stdout, _) = run(&dir.0, Some(&store), &["--json", "account", "list"], 0);
    assert!(
        stdout.contains("\"acme\""),
        "init changed the company: {stdout}"
    );
    schema
        .client()
        .batch_execute("INSERT INTO plock_schema (version) VALUES (9999)")
        .unwrap();
    let (_, stderr) = run(&dir.0, Some(&store), &["account", "list"], 6);
    assert!(stderr.contains("newer plock"), "{stderr}");
    run(&dir.0, Some(&store), &["init"], 5);
}

/// A row another writer holds locked: a command that must change it waits the connection's
/// lock timeout, then fails with the conflict class and changes nothing; a reader does not
/// wait. `plock backup` points at the server's tools.
#[test]
fn a_locked_row_is_a_conflict_and_backup_points_at_pg_dump() {
    let Some(server) = server("a_locked_row_is_a_conflict_and_backup_points_at_pg_dump") else {
        return;
    };
    let schema = Schema::fresh(&server);
    let store = schema.config(&[("lock_timeout", "200")]);
    let dir = samples("lock");
    run(&dir.0, Some(&store), &["init"], 0);
    run(
        &dir.0,
        Some(&store),
        &["import", "accounts", "docs/csv/accounts.csv"],
        0,
    );
    let mut holder = schema.client();
    let mut held = holder.transaction().unwrap();
    held.execute(
        "SELECT id FROM accounts WHERE id = 'dentist-johnson' FOR UPDATE",
        &[],
    )
    .unwrap();
    let (_, stderr) = run(
        &dir.0,
        Some(&store),
        &["account", "tag", "dentist-johnson", "vip"],
        5,
    );
    assert!(
        stderr.contains("locked by another plock process"),
        "{stderr}"
    );
    run(
        &dir.0,
        Some(&store),
        &["account", "show", "dentist-johnson"],
        0,
    );
    held.rollback().unwrap();
    let (stdout, _) = run(
        &dir.0,
        Some(&store),
        &["account", "show", "dentist-johnson"],
        0,
    );
    assert!(!stdout.contains("vip"), "{stdout}");
    let (_, stderr) = run(&dir.0, Some(&store), &["backup", "copy.data"], 2);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!dir.0.join("copy.data").exists());
}

/// Two bills at once record one run: the other finds nothing left to bill or loses the race
/// with the conflict class; no invoice is recorded twice.
#[test]
fn two_bills_at_once_record_one_run() {
    let Some(server) = server("two_bills_at_once_record_one_run") else {
        return;
    };
    let schema = Schema::fresh(&server);
    let store = schema.config(&[]);
    let dir = samples("race");
    run(&dir.0, Some(&store), &["init"], 0);
    for file in ["accounts", "subscriptions"] {
        let path = format!("docs/csv/{file}.csv");
        run(&dir.0, Some(&store), &["import", file, &path], 0);
    }
    let (preview, _) = run(
        &dir.0,
        Some(&store),
        &["--json", "bill", "--date", "2025-02-01", "--preview"],
        0,
    );
    let expected = serde_json::from_str::<serde_json::Value>(&preview).unwrap()["invoices"]
        .as_array()
        .unwrap()
        .len();
    assert!(expected > 0);
    let bills: Vec<std::process::Child> = (0..2)
        .map(|_| {
            Command::new(PLOCK)
                .args(["--store", &store, "bill", "--date", "2025-02-01"])
                .current_dir(&dir.0)
                .env_remove("PLOCK_DATA")
                .env_remove("PLOCK_STORE")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for bill in bills {
        let out = bill.wait_with_output().unwrap();
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(5),
            "{code:?}: {}",
            text(&out.stderr)
        );
    }
    let (listed, _) = run(&dir.0, Some(&store), &["--json", "invoice", "list"], 0);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), expected, "{listed}");
    run(&dir.0, Some(&store), &["check"], 0);
}

/// A password in `--store` is never printed: not in the refusal to connect, and not with
/// `--json`. Needs no server: nothing listens on port 1.
#[test]
fn the_password_is_never_printed() {
    let dir = Folder::new("plock-pg", "password");
    for store in [
        "postgres://plock:hunter2@127.0.0.1:1/billing",
        "host=127.0.0.1 port=1 user=plock password=hunter2 dbname=billing",
    ] {
        for json in [false, true] {
            let mut args = vec!["account", "list"];
            if json {
                args.insert(0, "--json");
            }
            let (stdout, stderr) = run(&dir.0, Some(store), &args, 6);
            assert!(
                !stdout.contains("hunter2") && !stderr.contains("hunter2"),
                "{stderr}"
            );
            assert!(stderr.contains("***"), "{stderr}");
        }
    }
    // Both kinds of store named at once is a usage error.
    let (_, stderr) = run(
        &dir.0,
        Some("host=127.0.0.1 port=1"),
        &["--data", "x.data", "account", "list"],
        2,
    );
    assert!(stderr.contains("give one"), "{stderr}");
    // Help and completions read no data, so an unclear location does not stop them.
    for args in [
        &["help"][..],
        &["account", "help"],
        &["completions", "bash"],
    ] {
        let both: Vec<&str> = ["--data", "x.data"].iter().chain(args).copied().collect();
        run(&dir.0, Some("host=127.0.0.1 port=1"), &both, 0);
    }
}

/// A usage import is one transaction: a bad row after many good chunks writes nothing, nor does
/// a dry run; the same file without the bad row writes every row.
#[test]
fn a_refused_usage_import_writes_nothing() {
    let Some(server) = server("a_refused_usage_import_writes_nothing") else {
        return;
    };
    let schema = Schema::fresh(&server);
    let store = schema.config(&[]);
    let dir = samples("usage");
    run(&dir.0, Some(&store), &["init"], 0);
    run(
        &dir.0,
        Some(&store),
        &["import", "accounts", "docs/csv/accounts.csv"],
        0,
    );
    let mut good = String::from("account_key,metric,timestamp,quantity,record_id\n");
    for n in 0..25_000 {
        good.push_str(&format!("globex,emails,2025-01-03T09:00:00Z,{n},\n"));
    }
    std::fs::write(dir.0.join("good.csv"), &good).unwrap();
    std::fs::write(
        dir.0.join("bad.csv"),
        format!("{good}no-such-account,emails,2025-01-03T09:00:00Z,1,\n"),
    )
    .unwrap();
    let count = || -> i64 {
        schema
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM usage) \
                 + coalesce((SELECT sum(records) FROM usage_blocks), 0)",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let (_, stderr) = run(&dir.0, Some(&store), &["import", "usage", "bad.csv"], 3);
    assert!(stderr.contains("no-such-account"), "{stderr}");
    assert_eq!(count(), 0);
    run(
        &dir.0,
        Some(&store),
        &["import", "usage", "good.csv", "--dry-run"],
        0,
    );
    assert_eq!(count(), 0);
    run(&dir.0, Some(&store), &["import", "usage", "good.csv"], 0);
    assert_eq!(count(), 25_000);
    run(&dir.0, Some(&store), &["check"], 0);
}
