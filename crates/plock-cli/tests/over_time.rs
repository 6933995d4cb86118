//! End to end through the `plock` command: right over time. An end moved inside a billed
//! month is credited once, the same usage file imported twice bills once, usage for a billed
//! month is reported on import and billed on the next run, an archived account's months are
//! not billed after a restore, and an account billing in a currency keeps it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/folder.rs"]
mod folder;

use folder::Folder;

/// The totals of the invoices, by number, as the JSON listing gives them.
fn totals(d: &Folder) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&d.ok("--json invoice list")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"]["amount"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn end_mid_period_double_import_late_usage_and_restore_through_the_command() {
    let d = Folder::new("plock-over-time", "all");
    d.ok("init");
    d.ok("account add --key acme --name Acme --currency EUR");
    d.ok("subscription add --id lic --account acme --start 2025-01-01 --product licence --fee 100.00");
    d.ok("subscription add --id api --account acme --start 2025-01-01 --product api --unit-price 1 --metric calls");
    // A usage file without record ids, imported twice: January bills it once.
    let usage = d.write(
        "usage.csv",
        "account_key,metric,timestamp,quantity\nacme,calls,2025-01-10T10:00:00Z,500\n",
    );
    d.ok(&format!("import usage {usage}"));
    d.ok(&format!("import usage {usage}"));
    d.ok("bill --date 2025-04-01");
    let first = totals(&d);
    assert_eq!(first.len(), 1, "{first:?}");
    // Jan-Apr licence 400.00 in advance, January's calls 500.00 once, Feb and Mar none.
    assert_eq!(first, vec!["900.00"]);

    // Late usage for January, billed already: the import says so.
    let late = d.write(
        "late.csv",
        "account_key,metric,timestamp,quantity\nacme,calls,2025-01-20T10:00:00Z,7\n",
    );
    let said = d.ok(&format!("import usage {late}"));
    assert!(
        said.contains("late: 1 record(s) of calls for acme"),
        "{said}"
    );

    assert!(
        said.contains("bills the difference as late usage"),
        "{said}"
    );

    // Ended on 15 April, billed through April: the next run credits 16 of 30 days, and
    // bills January's 7 late calls on a line naming January.
    d.ok("subscription end lic --date 2025-04-15");
    let summary = d.ok("bill --date 2025-05-01");
    assert!(
        summary.contains("late usage            1 line(s), 7.00 EUR"),
        "{summary}"
    );
    let after = totals(&d);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[1], "-46.33", "-53.33 credited, 7.00 late usage");
    let shown = d.ok("invoice show 2");
    assert!(shown.contains("late usage"), "{shown}");
    assert!(
        shown.contains("2025-01-01"),
        "the line names January: {shown}"
    );
    d.ok("bill --date 2025-06-01");
    assert_eq!(totals(&d).len(), 2, "credited once");

    // The currency is held while the usage subscription still bills.
    let (_, refused) = d.run(&["account", "edit", "acme", "--currency", "SEK"], 5);
    assert!(refused.contains("still billing"), "{refused}");

    // Archived, then restored today: billing resumes today; nothing of the archived months
    // (since January 2025 for a support fee never billed) is billed.
    d.ok(
        "subscription add --id sup --account acme --start 2025-01-01 --product support --fee 10.00",
    );
    d.ok("account archive acme");
    d.ok("account restore acme");
    d.ok(&format!("bill --date {}", today()));
    let resumed = totals(&d);
    assert_eq!(resumed.len(), 3, "{resumed:?}");
    let amount: f64 = resumed[2].parse().unwrap();
    assert!(
        amount > 0.0 && amount <= 10.0,
        "only this month from today: {resumed:?}"
    );
}

/// Today in UTC, as the command reads it.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .unwrap()
        .checked_add_days(chrono::Days::new(days))
        .unwrap();
    date.to_string()
}

#[test]
fn combined_tag_filters_both_apply_through_the_command() {
    let d = Folder::new("plock-over-time", "tags");
    d.ok("init");
    for key in ["a", "b"] {
        d.ok(&format!(
            "account add --key {key} --name {key} --currency EUR"
        ));
        d.ok(&format!("account tag {key} dental"));
    }
    d.ok("account tag b smb");
    let listed = d.ok("account list --tag dental --no-tag smb");
    let keys: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(keys, vec!["a"], "{listed}");
}

#[test]
fn an_invoice_is_due_its_accounts_payment_terms_after_issue_through_the_command() {
    let d = Folder::new("plock-over-time", "terms");
    d.ok("init");
    d.ok("account add --key acme --name Acme --currency EUR");
    d.ok("account edit acme --payment-terms 14");
    d.ok("subscription add --id lic --account acme --start 2025-01-01 --product licence --fee 100.00");
    d.ok("bill --date 2025-01-01");
    let shown = d.ok("invoice show 1");
    assert!(
        shown.contains("issued 2025-01-01, due 2025-01-15"),
        "{shown}"
    );
    let json: serde_json::Value = serde_json::from_str(&d.ok("--json invoice show 1")).unwrap();
    assert_eq!(json["due"], "2025-01-15", "{json}");
    let (out, err) = d.line("account edit acme --payment-terms 400", 3);
    assert!(
        format!("{out}{err}").contains("payment_terms"),
        "{out}{err}"
    );
}

/// April billed in advance at 100.00; the fee raised to 130.00 from 15 April: the next run
/// charges the 16 days' difference once, and a third run bills nothing more. Without the
/// date the change would apply from today.
#[test]
fn a_fee_changed_inside_a_billed_month_is_settled_once_through_the_command() {
    let d = Folder::new("plock-over-time", "change");
    d.ok("init");
    d.ok("account add --key acme --name Acme --currency EUR");
    d.ok("account external-id set acme fortnox 7");
    d.ok("subscription add --id lic --account acme --start 2025-04-01 --product licence --fee 100.00");
    d.ok("bill --date 2025-04-01");
    assert_eq!(totals(&d), vec!["100.00"]);
    let said =
        d.ok("subscription item change lic --product licence --fee 130.00 --from 2025-04-15");
    assert!(
        said.contains("from 2025-04-15") && said.contains("settled by the next bill"),
        "{said}"
    );
    d.ok("bill --date 2025-04-16");
    assert_eq!(totals(&d), vec!["100.00", "16.00"], "30.00 x 16 / 30");
    let shown = d.ok("invoice show 2");
    assert!(shown.contains("compensation"), "{shown}");
    assert!(
        shown.contains("2025-04-15"),
        "the line names its days: {shown}"
    );
    d.ok("bill --date 2025-04-16");
    d.ok("bill --date 2025-04-20");
    assert_eq!(totals(&d).len(), 2, "settled once");
    d.ok("bill --date 2025-05-01");
    assert_eq!(totals(&d)[2], "130.00", "May at the new fee");
    // Only a flat fee changes from a date; a date outside the subscription is refused.
    let (_, refused) = d.run(
        &[
            "subscription",
            "item",
            "change",
            "lic",
            "--product",
            "licence",
            "--fee",
            "1",
            "--from",
            "2024-01-01",
        ],
        3,
    );
    assert!(refused.contains("2024-01-01"), "{refused}");
    // The invoices export for an ERP with the compensation line.
    let out = d.path("fortnox.json");
    d.ok(&format!(
        "invoice export --erp fortnox --out {}",
        out.display()
    ));
    let payload = std::fs::read_to_string(out).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(
        payload["payloads"].as_array().unwrap().len(),
        3,
        "{payload}"
    );
    assert!(payload.to_string().contains("16"), "{payload}");
}
