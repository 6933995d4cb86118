//! [`UsageFile`] against `parse_usage` of the whole file, for the fuzz target and the
//! property tests.

use crate::book::AccountBook;
use crate::import::{BlockError, UsageBlock, parse_usage};

use super::UsageFile;

/// Reads `file` in chunks of `chunk_rows` rows and whole with `parse_usage`: both accept
/// with the same records in the same order, or both refuse. Made-up record ids are made per
/// chunk, so only whether a record has one is compared.
///
/// # Panics
/// When they disagree, or a block's text does not read back.
pub(crate) fn agrees(file: &[u8], book: &AccountBook, chunk_rows: usize) {
    let input = Box::new(std::io::Cursor::new(file.to_vec()));
    let Ok(mut chunks) = UsageFile::open_in_chunks(input, book, chunk_rows) else {
        return;
    };
    let mut found = Vec::new();
    while let Some(block) = chunks.next_block() {
        found.extend(records(&block));
    }
    let (errors, _) = chunks.finish();
    match parse_usage(file, book) {
        Ok(expected) => {
            let expected = records(&UsageBlock::from_records(&expected));
            assert!(
                errors.is_empty() && found == expected,
                "the chunked reading refuses or changes a file parse_usage reads: \
                 {errors:?}\n{found:?}\n{expected:?}"
            );
        }
        Err(whole) => assert!(
            !errors.is_empty(),
            "the chunked reading accepts a file parse_usage refuses: {whole:?}"
        ),
    }
}

/// A block's records as text, a made-up record id only noted as such.
fn records(block: &UsageBlock) -> Vec<[String; 5]> {
    let mut records = Vec::new();
    let read = block.for_each_record(|r| {
        let id = match r.record_id {
            Some(id) if id.starts_with("file-") => "made up".to_owned(),
            id => format!("{id:?}"),
        };
        records.push([
            r.account.to_owned(),
            r.metric.to_owned(),
            r.timestamp.to_rfc3339(),
            r.quantity.to_string(),
            id,
        ]);
        Ok::<(), BlockError>(())
    });
    assert!(
        read.is_ok(),
        "a block's own text does not read back: {read:?}"
    );
    records
}
