//! CSV import and export: the sample files, a broken file's full report, and properties.

use std::collections::BTreeSet;

use plock_core::account::*;
use plock_core::book::*;
use plock_core::discovery::*;
use plock_core::id::*;
use plock_core::import::*;
use plock_core::money::*;
use plock_core::pricing::*;
use plock_core::store::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use proptest::prelude::*;

use crate::fixtures::date;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../docs/csv/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A store stand-in: the book after applying a planned batch, the way a store would.
fn apply(book: &AccountBook, batch: &Batch) -> AccountBook {
    let mut next = book.clone();
    for (i, change) in batch.changes.iter().enumerate() {
        apply_to_book(&mut next, i, change).unwrap();
    }
    next
}

fn today() -> chrono::NaiveDate {
    date(2025, 2, 1)
}

#[test]
fn sample_files_import_and_twice_changes_nothing() {
    let empty = AccountBook::new();
    let batch = plan_account_import(&sample("accounts.csv"), &empty, today()).unwrap();
    let book = apply(&empty, &batch);
    assert_eq!(book.len(), 5);
    let globex = book.by_key(&AccountKey::new("globex").unwrap()).unwrap();
    assert!(globex.group_billing());
    assert_eq!(book.children(globex.id()).count(), 2);
    assert_eq!(
        book.get(&AccountId::new("globex-old").unwrap())
            .unwrap()
            .state(),
        AccountState::Archived
    );
    assert_eq!(
        book.get(&AccountId::new("prospect").unwrap())
            .unwrap()
            .state(),
        AccountState::Pending
    );
    book.check_invariants().unwrap();
    let again = plan_account_import(&sample("accounts.csv"), &book, today()).unwrap();
    assert!(again.changes.is_empty(), "{again:?}");

    let semicolon = plan_account_import(&sample("accounts-semicolon.csv"), &book, today()).unwrap();
    assert_eq!(semicolon.changes.len(), 2);

    let subs_batch =
        plan_subscription_import(&sample("subscriptions.csv"), &book, &[], &[]).unwrap();
    let subs: Vec<Subscription> = subs_batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::PutSubscription { subscription } => Some(subscription.clone()),
            _ => None,
        })
        .collect();
    let metrics: Vec<Metric> = subs_batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::PutMetric { metric } => Some(metric.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(subs.len(), 4);
    assert_eq!(metrics.len(), 4);
    assert!(
        plan_subscription_import(&sample("subscriptions.csv"), &book, &subs, &metrics)
            .unwrap()
            .changes
            .is_empty()
    );

    let usage = parse_usage(&sample("usage.csv"), &book).unwrap();
    assert_eq!(usage.len(), 5);
}

#[test]
fn semicolon_files_take_decimal_commas() {
    let book = apply(
        &AccountBook::new(),
        &plan_account_import(&sample("accounts.csv"), &AccountBook::new(), today()).unwrap(),
    );
    let file = "subscription_id;account_key;start;currency;product;model;price\ns1;dentist-johnson;2025-01-01;SEK;licence;flat_fee;3100,50\n";
    let batch = plan_subscription_import(file.as_bytes(), &book, &[], &[]).unwrap();
    let Some(Change::PutSubscription { subscription }) = batch.changes.first() else {
        panic!("{batch:?}")
    };
    assert_eq!(
        subscription.items()[0].price,
        PriceModel::FlatFee {
            fee: "3100.50".parse().unwrap(),
            quantity: 1.into()
        }
    );
}

#[test]
fn broken_accounts_file_reports_every_fault() {
    let mut book = AccountBook::new();
    book.add(Account::new(
        AccountId::new("child").unwrap(),
        AccountKey::new("child").unwrap(),
        AccountName::new("C").unwrap(),
        Contact::default(),
        Currency::EUR,
        today(),
    ))
    .unwrap();
    book.add(Account::new(
        AccountId::new("boss").unwrap(),
        AccountKey::new("boss").unwrap(),
        AccountName::new("B").unwrap(),
        Contact::default(),
        Currency::EUR,
        today(),
    ))
    .unwrap();
    book.link(
        &AccountId::new("child").unwrap(),
        &AccountId::new("boss").unwrap(),
    )
    .unwrap();
    let file = "\u{feff}key,name,currency,state,email,country,tags,master_key,group_billing,created,ext_fortnox\n\
        ok-1,Fine AB,SEK,active,a@b.se,SE,,,,2025-01-01,1\n\
        ,No Key AB,SEK,,,,,,,,\n\
        ok-1,Duplicate AB,SEK,,,,,,,,\n\
        bad-cur,Bad Currency,SEK1,,,,,,,,\n\
        bad-mail,Bad Mail,EUR,,not-an-email,,,,,,\n\
        bad-country,Bad Country,EUR,,,Sweden,,,,,\n\
        bad-date,Bad Date,EUR,,,,,,,2025-13-01,\n\
        bad-state,Bad State,EUR,sleeping,,,,,,,\n\
        orphan,Orphan,EUR,,,,,nobody,,,\n\
        grandchild,Grandchild,EUR,,,,,child,,,\n\
        bad-bool,Bad Bool,EUR,,,,,,maybe,,\n\
        dup-ext,Dup Ext,EUR,,,,,,,,1\n\
        pending-child,Pending Child,EUR,pending,,,,ok-1,,,\n\
        bad-tag,Bad Tag,EUR,,,,a|,,,,\n\
        short,row\n\
        ,\u{7}Bell,EUR,,,,,,,,\n";
    let err = plan_account_import(file.as_bytes(), &book, today()).unwrap_err();
    assert!(err.total() >= 10, "{err}");
    insta::assert_snapshot!(err.to_string());
    let unknown = plan_account_import(b"key,name,currency,colour\nk,N,EUR,red\n", &book, today())
        .unwrap_err();
    assert!(unknown.to_string().contains("unknown column"), "{unknown}");
}

#[test]
fn broken_subscriptions_file_reports_every_fault() {
    let book = apply(
        &AccountBook::new(),
        &plan_account_import(&sample("accounts.csv"), &AccountBook::new(), today()).unwrap(),
    );
    let file = "subscription_id,account_key,start,end,currency,product,metric,model,price,quantity,tiers,interval_months,rebate_percent,state\n\
        s1,nobody,2025-01-01,,EUR,p,,flat_fee,10,,,,,\n\
        s2,globex,2025-01-01,2024-01-01,EUR,p,,flat_fee,10,,,,,\n\
        s3,globex,2025-01-01,,SEK,p,,flat_fee,10,,,,,\n\
        s4,globex,2025-01-01,,EUR,p,m,graduated,,,10:1:|5:1:|:1:,,,\n\
        s5,globex,2025-01-01,,EUR,p,m,teleport,,,,,,\n\
        s6,globex,2025-01-01,,EUR,p,m,package,5,0,,,,\n\
        s7,globex,2025-01-01,,EUR,p,,flat_fee,-1,,,,,\n\
        s8,globex,2025-01-01,,EUR,p,,flat_fee,10,,,0,,\n\
        s9,globex,2025-01-01,,EUR,p,,flat_fee,10,,,,150,\n\
        s10,globex,2025-01-01,,EUR,p,,flat_fee,10,,,,,paused\n\
        s11,globex,2025-01-01,,EUR,p,,per_unit,,,,,,\n";
    let err = plan_subscription_import(file.as_bytes(), &book, &[], &[]).unwrap_err();
    insta::assert_snapshot!(err.to_string());
}

/// (currency, tag count, name seed, has email, master, has Fortnox id) per account.
type RawAccount = (u8, u8, u8, bool, Option<u8>, u8);

fn account_strategy() -> impl Strategy<Value = Vec<RawAccount>> {
    prop::collection::vec(
        (
            0u8..3,
            0u8..4,
            0u8..8,
            any::<bool>(),
            prop::option::of(0u8..4),
            0u8..3,
        ),
        1..12,
    )
}

/// A random book whose ids equal their keys (as imported accounts are).
fn random_book(raw: &[RawAccount]) -> AccountBook {
    let mut book = AccountBook::new();
    for (i, (currency, tags, name, email, master, fortnox)) in raw.iter().enumerate() {
        let currency = [Currency::EUR, Currency::SEK, Currency::JPY][*currency as usize];
        let contact = Contact::new(&ContactInput {
            email: email.then_some("x@y.example"),
            address_lines: vec!["=SUM(A1)", "Street, 1"],
            country: Some("SE"),
            ..ContactInput::default()
        })
        .unwrap();
        let key = format!("k{i}");
        book.add(Account::new(
            AccountId::new(&key).unwrap(),
            AccountKey::new(&key).unwrap(),
            AccountName::new(&format!("+Name {name}; \"quoted\"")).unwrap(),
            contact,
            currency,
            date(2025, 1, 1),
        ))
        .unwrap();
        for t in 0..*tags {
            book.tag(
                &AccountId::new(&key).unwrap(),
                Tag::new(&format!("-t{t}")).unwrap(),
            )
            .unwrap();
        }
        if *fortnox > 0 {
            book.set_external_id(
                &AccountId::new(&key).unwrap(),
                ExternalSystem::Fortnox,
                ExternalId::new(&format!("@{i}")).unwrap(),
            )
            .unwrap();
        }
        if let Some(m) = master {
            let _ = book.link(
                &AccountId::new(&key).unwrap(),
                &AccountId::new(format!("k{m}")).unwrap(),
            );
        }
    }
    for (i, (_, _, name, _, _, _)) in raw.iter().enumerate() {
        let id = AccountId::new(format!("k{i}")).unwrap();
        if name % 3 == 0 && book.children(&id).count() > 0 {
            let _ = book.set_group_billing(&id, true);
        }
        if name % 4 == 1 {
            let _ = book.archive(&id);
        }
    }
    book
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_is_the_identity(raw in account_strategy()) {
        let book = random_book(&raw);
        let csv = export_accounts(&book);
        let imported = apply(&AccountBook::new(), &plan_account_import(csv.as_bytes(), &AccountBook::new(), today()).unwrap());
        prop_assert_eq!(&imported, &book);
        prop_assert_eq!(export_accounts(&imported), csv.clone());
        // No cell a spreadsheet would run.
        for line in csv.lines().skip(1) {
            for cell in line.split(',') {
                let cell = cell.trim_start_matches('"');
                prop_assert!(!cell.starts_with(['=', '+', '-', '@']), "formula cell {cell:?} in {line}");
            }
        }
    }

    #[test]
    fn row_order_does_not_matter(raw in account_strategy(), seed in any::<u64>()) {
        let book = random_book(&raw);
        let csv = export_accounts(&book);
        let mut lines: Vec<&str> = csv.lines().collect();
        let header = lines.remove(0);
        let mut state = seed | 1;
        for i in (1..lines.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            lines.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shuffled = format!("{header}\n{}\n", lines.join("\n"));
        let imported = apply(&AccountBook::new(), &plan_account_import(shuffled.as_bytes(), &AccountBook::new(), today()).unwrap());
        prop_assert_eq!(imported, book);
    }

    #[test]
    fn one_bad_row_imports_nothing(raw in account_strategy(), bad_at in any::<prop::sample::Index>(), fault in 0usize..4) {
        let book = random_book(&raw);
        let csv = export_accounts(&book);
        let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
        let at = 1 + bad_at.index(lines.len() - 1);
        let broken = match fault {
            0 => lines[at].replacen("EUR", "XXX", 1).replacen("SEK", "XXX", 1).replacen("JPY", "XXX", 1),
            1 => format!(",{}", lines[at].split_once(',').unwrap().1),
            2 => lines[at].replacen("2025-01-01", "2025-02-30", 1),
            _ => format!("{},extra", lines[at]),
        };
        lines[at] = broken;
        let result = plan_account_import(lines.join("\n").as_bytes(), &AccountBook::new(), today());
        prop_assert!(result.is_err());
        let errors = result.unwrap_err();
        prop_assert!(errors.errors().iter().any(|e| e.line == at as u64 + 1), "{errors}");
    }
}

#[test]
fn discovery_plans_candidates_updates_and_flags() {
    let mut book = AccountBook::new();
    let stripe = ExternalSystem::Other("stripe".into());
    let mk = |k: &str, name: &str| {
        Account::new(
            AccountId::new(k).unwrap(),
            AccountKey::new(k).unwrap(),
            AccountName::new(name).unwrap(),
            Contact::default(),
            Currency::EUR,
            today(),
        )
    };
    book.add(mk("linked", "Linked Old Name")).unwrap();
    book.set_external_id(
        &AccountId::new("linked").unwrap(),
        stripe.clone(),
        ExternalId::new("linked").unwrap(),
    )
    .unwrap();
    book.add(mk("gone", "Gone AB")).unwrap();
    book.set_external_id(
        &AccountId::new("gone").unwrap(),
        stripe.clone(),
        ExternalId::new("gone").unwrap(),
    )
    .unwrap();
    book.add(mk("dismissed", "Dismissed").with_state(AccountState::Pending))
        .unwrap();
    book.dismiss(&AccountId::new("dismissed").unwrap()).unwrap();
    let source = parse_source(b"key,name,currency,email\nlinked,Linked New Name,EUR,\nnew-one,New One AB,EUR,hi@new.example\ndismissed,Dismissed,EUR,\n").unwrap();
    let plan = plan_discovery(&stripe, &source, &book, today());
    insta::assert_yaml_snapshot!(plan);
    let after = apply(&book, &plan.batch());
    assert_eq!(
        after
            .get(&AccountId::new("new-one").unwrap())
            .unwrap()
            .state(),
        AccountState::Pending
    );
    assert_eq!(
        after
            .get(&AccountId::new("linked").unwrap())
            .unwrap()
            .name()
            .as_str(),
        "Linked New Name"
    );
    assert!(
        after.get(&AccountId::new("gone").unwrap()).is_some(),
        "missing accounts are flagged, never removed"
    );
    // A second sync after applying proposes nothing new.
    let second = plan_discovery(&stripe, &source, &after, today());
    assert!(second.is_empty(), "{second:?}");
    let keys: BTreeSet<_> = second.missing.iter().map(ToString::to_string).collect();
    assert_eq!(keys, BTreeSet::from(["gone".to_owned()]));
}

mod ingest {
    //! Bulk ingestion reads what the import reads: the same table, or the same problems.
    use super::*;

    fn book() -> AccountBook {
        crate::fixtures::keyed_book(&["acme", "globex", "initech"])
    }

    fn cell(choice: u8) -> &'static str {
        ["acme", "globex", " initech ", "'=acme", "nobody", ""][choice as usize % 6]
    }

    fn row(r: &(u8, u8, u8, u32, u8, u8)) -> String {
        let (a, m, t, q, qf, id) = *r;
        let account = cell(a);
        let metric = ["api", "gb", " api", "", "api"][m as usize % 5];
        let day = 1 + q % 28;
        let timestamp = match t {
            0 => format!("2025-01-{day:02}T10:00:00Z"),
            1 => format!("2025-01-{day:02}T10:00:00.25Z"),
            2 => format!("2025-01-{day:02} 10:00:00"),
            3 => format!("2025-01-{day:02}"),
            4 => format!("2025-01-{day:02}T10:00:00+02:00"),
            5 => "2025-02-30T10:00:00Z".into(),
            _ => "yesterday".into(),
        };
        let quantity = match qf {
            0 => format!("{q}"),
            1 => format!("{}.{:02}", q / 100, q % 100),
            2 => format!(" {q} "),
            3 => format!("-{q}"),
            4 => format!("{q}.0"),
            _ => "x".into(),
        };
        let id = match id {
            0 | 1 => format!("r{}", q % 5),
            2 => " ".into(),
            _ => "".into(),
        };
        format!("{account},{metric},{timestamp},{quantity},{id}")
    }

    fn compare(csv: &str) -> Result<(), TestCaseError> {
        compare_bytes(csv.as_bytes())
    }

    fn compare_bytes(csv: &[u8]) -> Result<(), TestCaseError> {
        let book = book();
        let fast = ingest_usage(csv, &book);
        let slow =
            parse_usage(csv, &book).map(|records| UsageTable::from_records(&records).unwrap());
        match (fast, slow) {
            (Ok(f), Ok(s)) => prop_assert_eq!(f, s),
            (Err(f), Err(s)) => prop_assert_eq!(f.to_string(), s.to_string()),
            (f, s) => prop_assert!(
                false,
                "fast {:?}\nslow {:?}",
                f.map(|t| t.len()),
                s.map(|t| t.len())
            ),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn ingestion_reads_what_the_import_reads(
            rows in prop::collection::vec((0u8..6, 0u8..5, 0u8..7, 0u32..100_000, 0u8..6, 0u8..4), 0..160),
            clean in any::<bool>(),
            crlf in any::<bool>(),
            blank in prop::option::of(0usize..60),
            short in prop::option::of(0usize..60),
        ) {
            // Clean files take the fast path throughout; the others mix in every other form.
            let rows: Vec<String> = rows
                .iter()
                .map(|r| if clean { row(&(r.0 % 2, r.1 % 2, r.2 % 2, r.3, r.4 % 2, r.5)) } else { row(r) })
                .collect();
            let mut lines = vec!["account_key,metric,timestamp,quantity,record_id".to_owned()];
            lines.extend(rows);
            if let Some(b) = blank { let at = 1 + b % lines.len(); lines.insert(at.min(lines.len()), String::new()); }
            if let Some(s) = short && !clean { let at = 1 + s % lines.len(); lines.insert(at.min(lines.len()), "acme,api".into()); }
            let csv = lines.join(if crlf { "\r\n" } else { "\n" }) + "\n";
            compare(&csv)?;
        }
    }

    #[test]
    fn long_files_read_as_the_import_reads() {
        // Chunks of hundreds of rows: rows are looked up in batches, a batch placed after the
        // next one is read; every 13th row is in another form, every 17th of no account.
        let mut csv = String::from("account_key,metric,timestamp,quantity,record_id\n");
        for i in 0..6_000u32 {
            let r = match i {
                _ if i % 13 == 0 => (i as u8, i as u8, i as u8, i, i as u8, 3),
                _ if i % 17 == 0 => (4, 0, 0, i, 0, 3),
                _ => (
                    (i % 2) as u8,
                    (i % 2) as u8,
                    0,
                    i,
                    (i % 2) as u8,
                    (i % 9) as u8,
                ),
            };
            csv.push_str(&row(&r));
            csv.push('\n');
        }
        compare(&csv).unwrap();
        // All in the common form, none re-sent: every row is a record.
        let mut clean = String::from("account_key,metric,timestamp,quantity\n");
        for i in 0..6_000u32 {
            let account = ["acme", "globex"][i as usize % 2];
            clean.push_str(&format!(
                "{account},api,2025-01-{:02}T08:00:00Z,{i}\n",
                1 + i % 28
            ));
        }
        compare(&clean).unwrap();
        assert_eq!(
            ingest_usage(clean.as_bytes(), &book()).unwrap().len(),
            6_000
        );
        // One mantissa past 32 bits: the table's column is wide, as the builder's.
        clean.push_str("globex,api,2025-01-03T08:00:00Z,4294967296\n");
        compare(&clean).unwrap();
    }

    #[test]
    fn files_of_many_metrics_read_as_the_import_reads() {
        // More metrics than the dense keys hold: the builder's merge.
        let mut csv = String::from("account_key,metric,timestamp,quantity,record_id\n");
        for i in 0..300 {
            let account = ["acme", "globex", "initech"][i % 3];
            let id = if i % 7 == 0 {
                format!("r{}", i % 5)
            } else {
                String::new()
            };
            csv.push_str(&format!(
                "{account},m{},2025-01-{:02}T08:00:00Z,{}.{},{id}\n",
                i % 90,
                1 + i % 28,
                i,
                i % 10
            ));
        }
        csv.push_str(" acme ,m1,2025-01-05 10:00:00,1.5,\n");
        compare(&csv).unwrap();
        // 90 (account, metric) pairs from the rows (i mod 3, i mod 90), and acme's m1 from the last.
        assert_eq!(
            ingest_usage(csv.as_bytes(), &book())
                .unwrap()
                .groups()
                .count(),
            91
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_as_the_import_refuses_them() {
        // Lines of the common form around them, which are never checked as text.
        let good = "acme,api,2025-01-02T00:00:00Z,5\n".repeat(100);
        for bad in [
            b"glob\xffex,api,2025-01-03T00:00:00Z,7\n".as_slice(),
            b"acme,api,2025-01-03T00:00:00Z,7,r\xc3\n",
            b"acme,\xe2\x82,2025-01-03T00:00:00Z,7\n",
        ] {
            let mut csv = b"account_key,metric,timestamp,quantity,record_id\n".to_vec();
            csv.extend_from_slice(good.as_bytes());
            csv.extend_from_slice(bad);
            csv.extend_from_slice(good.as_bytes());
            assert!(ingest_usage(&csv, &book()).is_err());
            compare_bytes(&csv).unwrap();
        }
        // Text that is UTF-8 but not ASCII goes through the row rules, which refuse the key.
        let accented = "account_key,metric,timestamp,quantity\nacmé,api,2025-01-02T00:00:00Z,5\n";
        assert!(ingest_usage(accented.as_bytes(), &book()).is_err());
        compare(accented).unwrap();
    }

    #[test]
    fn quoted_and_semicolon_files_take_the_import_path() {
        let quoted = "account_key,metric,timestamp,quantity\n\"acme\",api,2025-01-02T00:00:00Z,5\n";
        let semicolon =
            "account_key;metric;timestamp;quantity\nacme;api;2025-01-02T00:00:00Z;5,5\n";
        // A lone carriage return ends a line for the CSV reader.
        let stray_cr = "account_key,metric,timestamp,quantity\nacme,api,2025-01-02T00:00:00Z,5\rglobex,api,2025-01-03T00:00:00Z,7\n";
        compare(stray_cr).unwrap();
        assert_eq!(ingest_usage(stray_cr.as_bytes(), &book()).unwrap().len(), 2);
        for csv in [quoted, semicolon] {
            let table = ingest_usage(csv.as_bytes(), &book()).unwrap();
            assert_eq!(table.len(), 1);
            compare(csv).unwrap();
        }
        let bad_header = "account_key,metric,when,quantity\n";
        assert!(
            ingest_usage(bad_header.as_bytes(), &book())
                .unwrap_err()
                .to_string()
                .contains("when")
        );
    }
}
