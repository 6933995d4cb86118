//! A file read in chunks of any size plans what it plans read whole, with the same problems
//! at the same lines.

use chrono::NaiveDate;

use super::{ImportPlan, plan_accounts, plan_subscriptions};
use crate::book::AccountBook;
use crate::import::chunks::Sizes;
use crate::import::table::ImportErrors;
use crate::store::apply_to_book;

const WHOLE: Sizes = Sizes {
    chunk: 1 << 20,
    record: 1 << 20,
};

const CHUNKS: [usize; 9] = [1, 2, 3, 5, 8, 13, 40, 100, 301];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 2, 1).unwrap()
}

fn accounts(text: &str, sizes: Sizes) -> Result<ImportPlan, ImportErrors> {
    plan_accounts(text.as_bytes(), &AccountBook::new(), today(), sizes, &())
}

fn sized(chunk: usize) -> Sizes {
    Sizes {
        chunk,
        record: 1 << 20,
    }
}

/// Plans `text` whole and in chunks of every size of [`CHUNKS`]: all alike. Gives the whole.
fn check_accounts_alike(text: &str) -> Result<ImportPlan, ImportErrors> {
    let whole = accounts(text, WHOLE);
    for chunk in CHUNKS {
        assert_eq!(
            accounts(text, sized(chunk)),
            whole,
            "chunks of {chunk} bytes"
        );
    }
    whole
}

const GOOD: &str = "\u{feff}key,name,currency,master_key,group_billing,tags,address_1\n\
    globex,\"Globex \"\"Group\"\", AB\",EUR,,true,big|nordic,\"Main St 1\"\n\
    \n\
    globex-se,Globex Sverige,EUR,globex,,,\r\n\
    \r\n\
    initech,In\"itech,SEK,,,,\n\
    acme,Acme,SEK,,,smb,\"Box 12, Kista\"\n";

#[test]
fn a_good_file_plans_alike_in_chunks_of_any_size() {
    let plan = check_accounts_alike(GOOD).unwrap();
    assert_eq!(plan.rows, 4);
    assert_eq!(plan.keys(), 4);
    assert_eq!(plan.line_of("globex-se"), Some(4));
    assert_eq!(plan.line_of("acme"), Some(7));
    let mut book = AccountBook::new();
    for (index, change) in plan.batch.changes.iter().enumerate() {
        apply_to_book(&mut book, index, change).unwrap();
    }
    let globex = book.by_key(&"globex".parse().unwrap()).unwrap();
    assert_eq!(globex.name().as_str(), "Globex \"Group\", AB");
    let child = book.by_key(&"globex-se".parse().unwrap()).unwrap();
    assert_eq!(child.master(), Some(globex.id()));
}

#[test]
fn problems_name_the_file_lines_in_chunks_of_any_size() {
    let text = "key;name;currency\n\
        a;A;EUR\n\
        \n\
        b;B;XXX\n\
        c;C\n\
        a;\"A\nagain\";EUR\n\
        d;D;EUR\n\
        e;;EUR\n";
    let errors = check_accounts_alike(text).unwrap_err();
    let found: Vec<(u64, &str)> = errors
        .errors()
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    // The row of `a` again spans lines 6 and 7; `d` is on line 8.
    assert_eq!(found, [(4, "currency"), (5, ""), (6, "name"), (9, "name")]);
}

#[test]
fn a_refused_header_is_reported_alone() {
    let errors = check_accounts_alike("key,colour\nk,red\n").unwrap_err();
    let columns: Vec<&str> = errors.errors().iter().map(|e| e.column.as_str()).collect();
    assert_eq!(columns, ["colour", "currency", "name"]);
}

#[test]
fn a_record_past_its_limit_ends_the_reading_at_its_line() {
    let long = "x".repeat(60);
    let text = format!("key,name,currency\na,A,XXX\nb,\"{long}\n{long},EUR\nc,C,EUR\n");
    let sizes = Sizes {
        chunk: 8,
        record: 50,
    };
    let errors = accounts(&text, sizes).unwrap_err();
    let found: Vec<(u64, &str)> = errors
        .errors()
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(found, [(2, "currency"), (3, "")]);
    let reason = &errors.errors()[1].reason;
    assert_eq!(
        reason,
        "a record runs past 50 bytes (no line end outside quotes)"
    );
    // Within the limit it is read as any other record.
    assert!(accounts(&text, sized(8)).unwrap_err().total() == 2);
}

#[test]
fn subscriptions_gather_their_rows_across_chunks() {
    let plan = check_accounts_alike(GOOD).unwrap();
    let mut book = AccountBook::new();
    for (index, change) in plan.batch.changes.iter().enumerate() {
        apply_to_book(&mut book, index, change).unwrap();
    }
    let text = "subscription_id,account_key,start,currency,product,metric,aggregation,model,price,quantity,tiers\n\
        s-acme,acme,2025-01-01,SEK,platform,,,flat_fee,100.00,1,\n\
        s-glob,globex,2025-01-01,EUR,api,calls,sum,graduated,,,\"1000:0:|:0.01:\"\n\
        s-acme,acme,2025-01-01,SEK,emails,emails,sum,per_unit,0.004,,\n\
        s-glob,globex,2025-01-01,EUR,seats,,,flat_fee,10,3,\n";
    let plan_in = |sizes| plan_subscriptions(text.as_bytes(), &book, (&[], &[]), sizes, &());
    let whole = plan_in(WHOLE);
    for chunk in CHUNKS {
        assert_eq!(plan_in(sized(chunk)), whole, "chunks of {chunk} bytes");
    }
    let whole = whole.unwrap();
    // Two metrics, then the two subscriptions with two items each.
    assert_eq!(whole.batch.changes.len(), 4);
    assert_eq!((whole.rows, whole.keys()), (4, 2));
    assert_eq!(whole.line_of("s-glob"), Some(3));

    let differing = text.replace(
        "s-glob,globex,2025-01-01,EUR,seats",
        "s-glob,globex,2025-01-02,EUR,seats",
    );
    let differing_in =
        |sizes| plan_subscriptions(differing.as_bytes(), &book, (&[], &[]), sizes, &());
    let errors = differing_in(sized(3)).unwrap_err();
    assert_eq!(differing_in(WHOLE), Err(errors.clone()));
    let problem = errors.errors().first().unwrap();
    assert_eq!(problem.line, 5);
    assert!(problem.reason.ends_with("line 3"), "{problem}");
}

/// Texts of the bytes that decide where records end (quotes, separators, line ends, blank
/// lines), from a fixed seed: each plans alike whole and in chunks of any size.
#[test]
fn texts_of_quotes_separators_and_line_ends_plan_alike_in_chunks() {
    const PIECES: [&str; 12] = [
        "a", "b,", "c;", "\"", "\"\"", "\n", "\r\n", "\n\n", ",EUR", ";SEK", "x\"y", " ",
    ];
    let mut seed: u64 = 0x706c_6f6b;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap()
    };
    for case in 0..300 {
        let header = if case % 2 == 0 {
            "key,name,currency\n"
        } else {
            "key;name;currency\n"
        };
        let mut text = header.to_owned();
        for _ in 0..(next() % 40) {
            text.push_str(PIECES[next() % PIECES.len()]);
        }
        let whole = accounts(&text, WHOLE);
        for chunk in [1, 2, 3, 7] {
            assert_eq!(
                accounts(&text, sized(chunk)),
                whole,
                "{text:?} in chunks of {chunk}"
            );
        }
    }
}

#[test]
fn subscription_rows_checked_across_threads_list_the_first_problems_of_the_file() {
    // More problems than a report lists, over many tasks of rows: the listed ones are the
    // file's first, as one thread reading the rows in order lists them.
    let rows = crate::import::MAX_REPORTED_ERRORS + 300;
    let mut text = String::from("subscription_id,account_key,start,currency,product,model,price\n");
    for n in 0..rows {
        text.push_str(&format!("s-{n},acme,2025-13-01,SEK,platform,flat_fee,1\n"));
    }
    let errors = plan_subscriptions(text.as_bytes(), &AccountBook::new(), (&[], &[]), WHOLE, &())
        .unwrap_err();
    assert_eq!(errors.total(), rows);
    let lines: Vec<u64> = errors.errors().iter().map(|e| e.line).collect();
    let first: Vec<u64> = (2..).take(crate::import::MAX_REPORTED_ERRORS).collect();
    assert_eq!(lines, first);
    assert_eq!(
        errors
            .errors()
            .first()
            .map(|e| (e.column.as_str(), e.value.as_str())),
        Some(("start", "2025-13-01"))
    );
}
