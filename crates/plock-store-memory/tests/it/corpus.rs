//! Replays the fuzz corpus of the data-file loader, so CI runs every saved input on stable.

use std::path::PathBuf;

use plock_store_memory::{MemoryStore, Snapshot, decode};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn datafile_load_corpus_never_panics() {
    let files = corpus("datafile_load");
    assert!(files.len() >= 5, "the corpus is missing");
    let mut valid = 0;
    for (_path, bytes) in &files {
        if let Ok(snapshot) = decode::<Snapshot>(bytes)
            && MemoryStore::from_snapshot(snapshot).is_ok()
        {
            valid += 1;
        }
    }
    assert!(
        valid >= 1,
        "the corpus holds no valid data file to mutate from"
    );
}

/// Writes the seed corpus when PLOCK_WRITE_CORPUS is set; otherwise checks the valid seed
/// still decodes to the store it was made from.
#[test]
fn seed_corpus() {
    let mut store = MemoryStore::new();
    plock_core::contract::billing_runs(&mut store);
    let bytes = plock_store_memory::encode(&store.snapshot()).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/datafile_load");
    if std::env::var_os("PLOCK_WRITE_CORPUS").is_some() {
        std::fs::write(dir.join("seed-valid"), &bytes).unwrap();
        std::fs::write(dir.join("seed-truncated"), &bytes[..bytes.len() / 2]).unwrap();
        std::fs::write(dir.join("seed-header-only"), &bytes[..60]).unwrap();
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 3;
        flipped[mid] ^= 0x01;
        std::fs::write(dir.join("seed-flipped"), flipped).unwrap();
        std::fs::write(
            dir.join("seed-garbage"),
            b"PLOCK-DATA\nversion 1\nlength 99999999999\n",
        )
        .unwrap();
        std::fs::write(dir.join("seed-empty"), b"").unwrap();
    }
    let seed = std::fs::read(dir.join("seed-valid")).unwrap();
    let back = MemoryStore::from_snapshot(decode::<Snapshot>(&seed).unwrap()).unwrap();
    assert_eq!(
        back, store,
        "the valid seed no longer matches the contract company"
    );
}

fn replay(target: &str, entry: fn(&[u8])) {
    let files = corpus(target);
    assert!(!files.is_empty(), "the {target} corpus is missing");
    for (path, bytes) in &files {
        let outcome = std::panic::catch_unwind(|| entry(bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn fuzz_corpora_never_panic() {
    replay("accounts_import", plock_core::fuzzing::accounts_import);
    replay(
        "subscriptions_import",
        plock_core::fuzzing::subscriptions_import,
    );
    replay("usage_import", plock_core::fuzzing::usage_import);
    replay("usage_ingest", plock_core::fuzzing::usage_ingest);
    replay("usage_read", plock_core::fuzzing::usage_read);
    replay("discovery_source", plock_core::fuzzing::discovery_source);
    replay("stored_records", plock_core::fuzzing::stored_records);
    replay("usage_check", plock_core::fuzzing::usage_check);
    replay("subscription_file", plock_core::fuzzing::subscription_file);
    replay("usage_file", plock_core::fuzzing::usage_file);
}

/// Writes the stored records' seeds (a kind byte, then a record of the contract company as
/// a store writes it) when PLOCK_WRITE_CORPUS is set; otherwise checks each still reads.
#[test]
fn stored_records_seeds() {
    use plock_core::store::Store;
    let mut store = MemoryStore::new();
    plock_core::contract::billing_runs(&mut store);
    let company = store.company().unwrap();
    let invoice = store.invoice(1).unwrap().unwrap();
    let json = |kind: u8, text: String| [vec![kind], text.into_bytes()].concat();
    let seeds = [
        (
            "seed-account",
            json(
                0,
                serde_json::to_string(company.accounts.iter().next().unwrap()).unwrap(),
            ),
        ),
        (
            "seed-subscription",
            json(1, serde_json::to_string(&company.subscriptions[0]).unwrap()),
        ),
        (
            "seed-invoice",
            json(2, serde_json::to_string(&invoice).unwrap()),
        ),
        (
            "seed-billed-usage",
            json(3, serde_json::to_string(&company.billed_usage[0]).unwrap()),
        ),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/stored_records");
    for (name, bytes) in &seeds {
        if std::env::var_os("PLOCK_WRITE_CORPUS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let stored = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            &stored, bytes,
            "{name} is no longer what the contract company writes"
        );
        plock_core::fuzzing::stored_records(&stored);
    }
}
