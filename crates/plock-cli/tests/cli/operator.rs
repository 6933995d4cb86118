//! End-to-end: the everyday domain actions beyond adding and listing, each a success and a
//! refusal, the data file checked unchanged after each refusal (by `Sandbox::run`).
//!
//! Longer than most files on purpose: each test is one snapshotted transcript of a noun's
//! commands, read top to bottom as an operator would type them.

use std::path::Path;

use super::sandbox::{PLOCK, Sandbox, json_of, sample, sample_company};

fn docs(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn account_details_external_ids_and_group_billing() {
    let mut s = sample_company("details");
    let edit = |extra: &[&'static str]| {
        let mut args = vec!["account", "edit", "dentist-johnson"];
        args.extend_from_slice(extra);
        args
    };
    s.run(
        &edit(&[
            "--phone",
            "+46 8 999 00",
            "--address",
            "Box 7",
            "--address",
            "111 21 Stockholm",
            "--organisation-number",
            "556000-1111",
        ]),
        0,
    );
    let shown = json_of(&s.line("--json account show dentist-johnson", 0));
    assert_eq!(shown["contact"]["phone"], "+46 8 999 00");
    assert_eq!(shown["contact"]["address_lines"][1], "111 21 Stockholm");
    s.run(&edit(&["--clear", "phone", "--clear", "org-number"]), 0);
    let shown = json_of(&s.line("--json account show dentist-johnson", 0));
    assert!(shown["contact"]["phone"].is_null(), "{shown}");
    assert!(shown["contact"]["organisation_number"].is_null(), "{shown}");
    assert_eq!(shown["contact"]["email"], "johnson@dentist.example");
    s.run(&edit(&["--clear", "phone", "--phone", "1"]), 2);
    s.run(&edit(&[]), 2);
    s.run(&edit(&["--clear", "fax"]), 2);
    s.run(
        &edit(&[
            "--address",
            "1",
            "--address",
            "2",
            "--address",
            "3",
            "--address",
            "4",
            "--address",
            "5",
        ]),
        3,
    );
    // External ids: set, a duplicate refused, removed, a missing one refused.
    s.line("account external-id set dentist-johnson fortnox 2001", 0);
    s.line("account external-id set globex fortnox 2001", 5);
    s.line("account external-id set globex 'a b' 1", 3);
    s.line("account external-id remove dentist-johnson hubspot", 4);
    let removed = json_of(&s.line("--json account external-id remove globex hubspot", 0));
    assert_eq!(removed["action"], "removed external id of");
    assert!(removed["account"]["external_ids"].get("hubspot").is_none());
    // Group billing and the master.
    s.line("account group-billing globex off", 0);
    s.line("account group-billing globex-nordics on", 3); // a child
    s.line("account group-billing globex maybe", 2);
    s.line("account edit globex-nordics --clear master", 0);
    assert!(json_of(&s.line("--json account show globex-nordics", 0))["master"].is_null());
    s.line("account edit globex-nordics --master globex-nordics", 3);
    s.line("account edit globex-nordics --master globex", 0);
    assert_eq!(
        json_of(&s.line("--json account show globex-nordics", 0))["master"],
        "globex"
    );
    s.line("account group-billing globex on", 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn subscriptions_from_files_items_and_activation() {
    let mut s = Sandbox::new("subfile");
    s.run(&["init"], 0);
    s.line(
        "account add --key acme --name 'Acme AB' --currency SEK --created 2025-01-01",
        0,
    );
    let example = s.write(
        "subscription.toml",
        &docs("subscription.toml").replace("dentist-johnson", "acme"),
    );
    let before = s.bytes();
    s.line(&format!("subscription create {example} --dry-run"), 0);
    assert_eq!(s.bytes(), before, "a dry run writes nothing");
    let created = json_of(&s.line(&format!("--json subscription create {example}"), 0));
    assert_eq!(created["action"], "created");
    assert_eq!(
        created["subscription"]["items"].as_array().unwrap().len(),
        5
    );
    assert_eq!(created["subscription"]["minimum_invoice_amount"], "500.00");
    s.run(&["subscription", "create", &example], 5);
    s.run(&["metric", "list"], 0);
    // The same in JSON from standard input, as a draft; a float amount is refused.
    let json = r#"{"id": "s-draft", "account": "acme", "start": "2025-03-01", "state": "draft",
        "items": [{"product": "api", "metric": "calls", "price": {"model": "package", "size": 100, "price": "1.50"}}]}"#;
    s.run_with_input(
        &["subscription", "create", "-", "--format", "json"],
        Some(json.as_bytes()),
        0,
    );
    let float = json
        .replace("\"1.50\"", "1.5")
        .replace("s-draft", "s-float");
    s.run_with_input(
        &["subscription", "create", "-", "--format", "json"],
        Some(float.as_bytes()),
        3,
    );
    s.run_with_input(&["subscription", "create", "-"], Some(json.as_bytes()), 2);
    let typo = s.write(
        "typo.toml",
        "id = \"t\"\naccount = \"acme\"\nstart = 2025-01-01\nstrat = 1\nitems = []\n",
    );
    s.run(&["subscription", "create", &typo], 3);
    let unknown = s.write(
        "unknown.toml",
        &docs("subscription.toml").replace("dentist-johnson", "nobody"),
    );
    s.run(&["subscription", "create", &unknown], 4);
    // One subscription from the CSV; two are refused.
    let header = sample("subscriptions.csv")
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let row =
        "s-csv,acme,active,,2025-01-01,,1,calendar,,in_advance,SEK,,support,,,flat_fee,900.00,1,,,";
    let one = s.write("one.csv", &format!("{header}\n{row}\n"));
    let two = s.write(
        "two.csv",
        &format!("{header}\n{row}\n{}\n", row.replace("s-csv", "s-csv2")),
    );
    s.run(&["subscription", "create", &two], 3);
    s.run(&["subscription", "create", &one], 0);
    s.run(&["subscription", "create", &one], 5);
    // Items, activation, end.
    s.line(
        "subscription item add s-csv --product sla --fee 250.00 --quantity 2",
        0,
    );
    s.line(
        "subscription item add s-csv --product sms --unit-price 0.05 --metric calls --rebate 5",
        0,
    );
    s.line(
        "subscription item add s-csv --product more --unit-price 0.01 --metric calls",
        3,
    );
    s.line(
        "subscription item add s-csv --product x --fee 1 --rebate 101",
        3,
    );
    s.line("subscription item add nothing --product x --fee 1", 4);
    // Any price model from a file of one item.
    let tiered = s.write(
        "tiered.toml",
        "product = \"api\"\nmetric = \"api_calls\"\naggregation = \"max\"\nrebate_percent = \"5\"\n\
         price = { model = \"volume\", tiers = [ { up_to = 100, unit_price = \"1.00\" }, { unit_price = \"0.50\" } ] }\n",
    );
    s.line(&format!("subscription item add s-csv --file {tiered}"), 0);
    s.line(&format!("subscription item add s-csv --file {tiered}"), 3); // api_calls twice
    let broken = s.write(
        "broken.json",
        r#"{"product": "x", "price": {"model": "volume", "tiers": []}}"#,
    );
    s.line(&format!("subscription item add s-csv --file {broken}"), 3);
    s.line(
        &format!("subscription item add s-csv --file {tiered} --fee 1"),
        2,
    );
    s.line("subscription item add s-csv", 2);
    let shown = json_of(&s.line("--json subscription show s-csv", 0));
    assert_eq!(shown["items"].as_array().unwrap().len(), 4);
    assert_eq!(shown["items"][3]["price"]["model"], "volume");
    assert_eq!(shown["state"], "active");
    assert_eq!(
        json_of(&s.line("--json subscription show s-draft", 0))["state"],
        "draft"
    );
    s.line("subscription end s-draft --date 2025-04-01", 3); // a draft
    s.run(&["subscription", "activate", "s-draft"], 0);
    s.run(&["subscription", "activate", "s-draft"], 3);
    s.line("subscription end s-draft --date 2025-04-01", 0);
    s.line("subscription item add s-draft --product x --fee 1", 3); // ended
    // Metric aggregations.
    s.line("metric set calls --aggregation max", 0);
    s.line("metric set calls --aggregation max", 0);
    s.line("metric set logins --aggregation count", 0);
    s.line("metric set calls --aggregation median", 2);
    s.run(&["metric", "set", "", "--aggregation", "sum"], 3);
    let metrics = json_of(&s.run(&["--json", "metric", "list"], 0));
    assert!(
        metrics
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "calls" && m["aggregation"] == "max")
    );
    s.run(&["subscription", "list"], 0);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn one_off_charges_compensations_and_accruals() {
    let mut s = sample_company("kinds");
    s.run(&["bill", "--date", "2025-02-01"], 0);
    s.line("invoice charge dentist-johnson --date 2025-02-10 --line onboarding,1,5000 --line 'training, 3, 1200.50'", 0);
    s.line(
        "invoice charge dentist-johnson --date 2025-02-10 --line onboarding;1;5000",
        2,
    );
    s.line(
        "invoice charge dentist-johnson --date 2025-02-10 --line onboarding,-1,5000",
        3,
    );
    s.line("invoice charge nobody --date 2025-02-10 --line a,1,1", 4);
    let charged = json_of(&s.line(
        "--json invoice charge globex --date 2025-02-11 --line audit,1,999.99",
        0,
    ));
    assert_eq!(charged["invoice"]["kind"]["type"], "one_off", "{charged}");
    let list = s.run(&["invoice", "list"], 0);
    assert!(list.contains("5000") || list.contains("8601.50"), "{list}");
    s.line(
        "invoice compensate 1 --line 1 --date 2025-01-16 --amount 2000.00",
        0,
    );
    s.line(
        "invoice compensate 1 --line 1 --date 2024-12-01 --amount 2000.00",
        3,
    );
    s.line(
        "invoice compensate 1 --line 0 --date 2025-01-16 --amount 1",
        3,
    );
    s.line(
        "invoice compensate 99 --line 1 --date 2025-01-16 --amount 1",
        4,
    );
    s.run(&["invoice", "accruals"], 0);
    let rows = json_of(&s.run(&["--json", "invoice", "accruals"], 0));
    let rows = rows.as_array().unwrap();
    assert!(
        !rows.is_empty(),
        "the quarterly commitment accrues over months"
    );
    s.run(&["invoice", "accruals", "99"], 4);
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn usage_lists_exports_and_one_account_expand() {
    let mut s = sample_company("usage");
    s.run(&["usage", "list"], 0);
    let listed = json_of(&s.line(
        "--json usage list --account globex-nordics --metric emails",
        0,
    ));
    // Stored as sent: a re-sent record is listed, and billed once.
    assert_eq!(listed.as_array().unwrap().len(), 3);
    s.line("usage list --from 2025-02-01 --to 2025-01-01", 3);
    s.line("usage list --account nobody", 4);
    s.line("usage list --from 2025-1-1", 2);
    let exported = s.run(&["usage", "export"], 0);
    assert!(exported.starts_with("account_key,metric,timestamp,quantity,record_id\n"));
    s.line("--json usage export --account globex --out globex.csv", 0);
    let again = s.write("again.csv", &exported);
    let report = json_of(&s.line(&format!("--json import usage {again} --dry-run"), 0));
    assert_eq!(
        report["rows"].as_u64(),
        Some(exported.lines().count() as u64 - 1)
    );
    s.line("adoption --date 2025-02-01 --account globex-nordics", 0);
    let scores = json_of(&s.line(
        "--json adoption --date 2025-02-01 --account globex-nordics",
        0,
    ));
    for score in scores["call_first"].as_array().unwrap() {
        assert_eq!(score["account"], "globex-nordics");
    }
    s.run(&["adoption", "--account", "nobody"], 4);
    s.line("signals --date 2025-02-01 --account globex", 0);
    let signals = json_of(&s.line("--json signals --date 2025-02-01 --account globex", 0));
    assert!(
        signals
            .as_array()
            .unwrap()
            .iter()
            .all(|sg| sg["account"] == "globex")
    );
    insta::assert_snapshot!(s.transcript);
}

#[test]
fn accounts_missing_from_a_source_are_archived_or_kept_on_request() {
    let mut s = sample_company("missing");
    for (account, id) in [
        ("dentist-johnson", "c-1"),
        ("globex-nordics", "c-2"),
        ("globex", "c-3"),
    ] {
        s.line(&format!("account external-id set {account} crm {id}"), 0);
    }
    let source = s.write("crm.csv", "key,name,currency\nc-1,Dentist Johnson,SEK\n");
    s.line(&format!("discover {source} --source crm"), 0);
    s.line(
        &format!("discover {source} --source crm --archive-missing"),
        2,
    ); // needs --yes
    s.line(
        &format!("discover {source} --source crm --yes --archive-missing --keep dentist-johnson"),
        3,
    );
    s.line(
        &format!("discover {source} --source crm --yes --archive-missing --keep nobody"),
        4,
    );
    // A master missing from the source is archived after its children, never before.
    s.line(
        &format!("discover {source} --source crm --yes --archive-missing --keep globex-nordics"),
        3,
    );
    let report = json_of(&s.line(
        &format!("--json discover {source} --source crm --yes --archive-missing"),
        0,
    ));
    assert_eq!(
        report["archived"],
        serde_json::json!(["globex-nordics", "globex"])
    );
    s.line("account list --state archived", 0);
    s.line(&format!("discover {source} --source crm"), 0);
    insta::assert_snapshot!(s.transcript);
}

/// Runs `shell` in a pseudo-terminal (util-linux `script`); returns its exit code and what the
/// terminal showed, standard output and standard error together.
fn in_terminal(s: &Sandbox, shell: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", shell, "/dev/null"])
        .current_dir(&s.dir)
        .env_remove("PLOCK_DATA")
        .env_remove("PLOCK_STORE")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` runs commands in a pseudo-terminal");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn progress_shows_on_a_terminal_and_never_in_a_pipe() {
    let s = sample_company("progress");
    let plock = PLOCK;
    s.write("more-usage.csv", &sample("usage.csv"));
    for (args, shown) in [
        ("bill --date 2025-02-01 --preview", "subscriptions"),
        ("adoption --date 2025-02-01", "scoring adoption"),
        ("signals --date 2025-02-01", "reading signals"),
        (
            "import usage more-usage.csv --dry-run",
            "importing more-usage.csv",
        ),
        (
            "import accounts accounts.csv --dry-run",
            "checking accounts.csv",
        ),
        (
            "import subscriptions subscriptions.csv --dry-run",
            "checking subscriptions.csv",
        ),
    ] {
        let (code, terminal) = in_terminal(&s, &format!("{plock} {args}"));
        assert_eq!(code, Some(0), "{args}: {terminal}");
        assert!(
            terminal.contains(shown),
            "{args}: no progress on a terminal: {terminal:?}"
        );
        assert!(
            terminal.contains("\u{1b}[2K"),
            "{args}: the bar is cleared: {terminal:?}"
        );
        let words: Vec<&str> = args.split(' ').collect();
        let piped = s.command(&words).output().unwrap();
        assert_eq!(piped.status.code(), Some(0));
        assert!(
            piped.stderr.is_empty(),
            "{args}: {}",
            String::from_utf8_lossy(&piped.stderr)
        );
    }
    // The bar counts what is done out of the whole, at a rate, with the time left.
    let (_, terminal) = in_terminal(&s, &format!("{plock} bill --date 2025-02-01 --preview"));
    assert!(terminal.contains("/4 subscriptions"), "{terminal:?}");
    assert!(
        terminal.contains("/s, ") && terminal.contains(" left"),
        "{terminal:?}"
    );
    // Checking an accounts or subscriptions file, read a chunk at a time, counts its bytes
    // out of the file's, at a rate, with the time left.
    for kind in ["accounts", "subscriptions"] {
        let (_, terminal) = in_terminal(&s, &format!("{plock} import {kind} {kind}.csv"));
        let bytes = std::fs::metadata(s.dir.join(format!("{kind}.csv")))
            .unwrap()
            .len();
        assert!(
            terminal.contains(&format!("{bytes} B/{bytes} B  ")) && terminal.contains(" left"),
            "{kind}: {terminal:?}"
        );
    }
    // `| head` on a terminal: plock's own exit code is 0 and nothing is said about the pipe.
    let (code, terminal) = in_terminal(
        &s,
        &format!("bash -c 'set -o pipefail; {plock} demo | head -1'"),
    );
    assert_eq!(code, Some(0), "{terminal}");
    assert!(terminal.starts_with("plock demo"), "{terminal:?}");
    assert_eq!(terminal.trim_end().lines().count(), 1, "{terminal:?}");
}

#[test]
fn json_of_runs_and_invoices_is_streamed_whole() {
    let mut s = sample_company("stream");
    let preview = json_of(&s.line("--json bill --date 2025-02-01 --preview", 0));
    assert_eq!(preview["recorded"], false);
    let recorded = json_of(&s.line("--json bill --date 2025-02-01", 0));
    assert_eq!(recorded["recorded"], true);
    // The recorded invoices, read back from the store, are the ones the preview made.
    assert_eq!(recorded["invoices"], preview["invoices"]);
    assert_eq!(recorded["invoices"].as_array().unwrap().len(), 3);
    for field in [
        "run_date",
        "billed",
        "skipped",
        "unmatched",
        "unpriced_usage",
    ] {
        assert_eq!(recorded[field], preview[field], "{field}");
    }
    let listed = json_of(&s.run(&["--json", "invoice", "list"], 0));
    assert_eq!(listed, recorded["invoices"]);
    let shown = json_of(&s.line("--json invoice show 2", 0));
    assert_eq!(shown, listed[1]);
    s.line("--json invoice show 9", 4);
    // A second run's report holds only its own invoices, though the store holds more.
    s.line(
        "invoice charge globex --date 2025-02-20 --line audit,1,10",
        0,
    );
    let march = json_of(&s.line("--json bill --date 2025-03-01", 0));
    let numbers: Vec<u64> = march["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert!(
        !numbers.is_empty() && numbers.iter().all(|n| *n >= 5),
        "{numbers:?}"
    );
    assert_eq!(
        json_of(&s.run(&["--json", "invoice", "list"], 0))
            .as_array()
            .unwrap()
            .len(),
        4 + numbers.len()
    );
    // A reader that goes early: the run is recorded all the same, and the exit is clean.
    let before = s.bytes();
    let (code, stderr) = s.run_into_closed_pipe(&["--json", "bill", "--date", "2025-04-01"]);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert_ne!(s.bytes(), before, "the run was recorded");
    let (code, stderr) = s.run_into_closed_pipe(&["--json", "invoice", "show", "1"]);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}
