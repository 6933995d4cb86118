//! `--json` lists written a page at a time: the same records, in the same order, as one
//! whole list; a missing thing said before any output; a closed pipe a quiet end.

use crate::sandbox::{Sandbox, json_of, sample_company};

/// A company of `accounts` accounts (keys out of order, so pages must be put in key order),
/// each with two usage records.
fn many_accounts(name: &str, accounts: usize) -> Sandbox {
    let mut s = Sandbox::new(name);
    s.run(&["init"], 0);
    let mut csv = String::from("key,name,currency\n");
    let mut usage = String::from("account_key,metric,timestamp,quantity,record_id\n");
    for i in (0..accounts).rev() {
        csv.push_str(&format!("acct-{i},Account {i},EUR\n"));
        usage.push_str(&format!("acct-{i},calls,2025-01-02T10:00:00Z,{i},a-{i}\n"));
        usage.push_str(&format!("acct-{i},seats,2025-01-01T10:00:00Z,1,b-{i}\n"));
    }
    let accounts = s.write("accounts.csv", &csv);
    s.run(&["import", "accounts", &accounts], 0);
    let usage = s.write("usage.csv", &usage);
    s.run(&["import", "usage", &usage], 0);
    s
}

#[test]
fn usage_list_json_over_many_pages_is_the_whole_list_in_order() {
    let mut s = many_accounts("stream-usage", 1_203);
    let listed = json_of(&s.run(&["--json", "usage", "list"], 0));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2 * 1_203);
    let keys: Vec<(&str, &str)> = listed
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap(),
                r["metric"].as_str().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert!(keys == sorted, "not sorted by account, then metric");
    let mut distinct = sorted.clone();
    distinct.dedup();
    assert!(distinct.len() == keys.len(), "a record listed twice");
    // The text listing counts the same records.
    let text = s.run(&["usage", "list"], 0);
    assert!(
        text.ends_with(&format!("{} record(s)\n", 2 * 1_203)),
        "{text}"
    );
    // A filter applies on every page.
    let calls = json_of(&s.line("--json usage list --metric calls", 0));
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 1_203);
    assert!(calls.iter().all(|r| r["metric"] == "calls"));
    let one = json_of(&s.line("--json usage list --account acct-7 --from 2025-01-02", 0));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["quantity"], "7");
    // A reader that stops early ends the command quietly.
    let (code, stderr) = s.run_into_closed_pipe(&["--json", "usage", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn accruals_json_is_the_rows_of_every_invoice_and_a_missing_one_is_said_alone() {
    let mut s = sample_company("stream-accruals");
    s.run(&["bill", "--date", "2025-02-01"], 0);
    let all = json_of(&s.run(&["--json", "invoice", "accruals"], 0));
    let all = all.as_array().unwrap();
    assert!(
        !all.is_empty(),
        "the quarterly commitment accrues over months"
    );
    // Each invoice's own rows, put together, are the whole list.
    let mut numbers: Vec<u64> = all.iter().map(|r| r["invoice"].as_u64().unwrap()).collect();
    numbers.dedup();
    let mut joined = Vec::new();
    for number in numbers {
        let own = json_of(&s.run(&["--json", "invoice", "accruals", &number.to_string()], 0));
        joined.extend(own.as_array().unwrap().iter().cloned());
    }
    assert_eq!(&joined, all);
    // Nothing on standard output for a missing invoice: the error alone.
    let out = s.line("--json invoice accruals 99", 4);
    assert!(out.is_empty(), "{out}");
}
