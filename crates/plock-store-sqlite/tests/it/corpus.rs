//! Replays the fuzz corpus of the invoices' deflate encoder, so CI runs every saved input on
//! stable.

use std::path::PathBuf;

use plock_store_sqlite::fuzzing::deflate_roundtrip;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/deflate_roundtrip")
}

/// The seeds: a start stamp (4 bytes), a separator, then documents.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let seed = |start: u32, separator: u8, documents: &[u8]| {
        [&start.to_le_bytes()[..], &[separator], documents].concat()
    };
    let invoice = br#"{"number":1,"kind":{"type":"billing"},"owner":"1","currency":"USD","lines":[{"product":"1","period":{"start":"2025-03-01","end":"2025-04-01"},"quantity":"1"},{"product":"2","period":{"start":"2025-03-01","end":"2025-04-01"},"quantity":"2"}]}"#;
    vec![
        ("seed-empty", seed(0, b'\n', b"")),
        (
            "seed-invoices",
            seed(0, b'\n', &[&invoice[..], b"\n", invoice].concat()),
        ),
        (
            "seed-wrapping",
            seed(
                u32::MAX - 40,
                b'\n',
                &[&invoice[..], b"\n", invoice].concat(),
            ),
        ),
        ("seed-run", seed(7, 0, &[b'a'; 700])),
    ]
}

#[test]
fn deflate_roundtrip_corpus_reads_back() {
    let dir = corpus_dir();
    if std::env::var_os("PLOCK_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= seeds().len(), "the corpus is missing");
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| deflate_roundtrip(&bytes));
        assert!(outcome.is_ok(), "{} failed", path.display());
    }
}
