//! Record ids the usage import made up that no other stored record shares, left out of what
//! a billing run reads.
//!
//! A row imported without a record id gets one made from its chunk
//! (`file-<fingerprint of the chunk>-<line in the chunk>`), so a file imported twice gives the
//! same records and the run counts each once. The run keeps one record of each account,
//! metric and id, which costs it work for every record with an id; a made-up id matters only
//! where another record holds the same id. The run's read goes over every stored id first:
//! a fingerprint none of whose `(fingerprint, line)` pairs is held twice has ids each held by
//! one record, and those ids are left out. Every other id is read as stored: ids a file
//! gave, and made-up ids of a chunk imported twice.
//!
//! Ids are compared by the pair their text reads as. Equal ids give equal pairs, so two
//! records sharing an id are never both left out; ids that differ only in leading zeros or
//! the case of their hexadecimal digits give equal pairs too, and are then read as stored,
//! which changes nothing.

use std::collections::HashMap;

use plock_core::import::UsageBlock;
use plock_core::store::StoreError;

use crate::codec::Context;

/// Line numbers past this make their fingerprint's ids read as stored: a chunk has fewer
/// lines, and the lines seen are kept one bit each.
const MAX_LINE: u64 = 1 << 24;

/// What the ids read so far hold of one fingerprint.
enum Seen {
    /// Each line seen once: one bit a line.
    Once(Vec<u64>),
    /// A line seen twice, or past [`MAX_LINE`].
    Shared,
}

/// Finds the fingerprints whose made-up ids no two records share.
#[derive(Default)]
pub(crate) struct Finder {
    seen: HashMap<u64, Seen>,
}

impl Finder {
    /// Notes a stored record id.
    pub(crate) fn note(&mut self, id: &str) {
        if let Some((fingerprint, line)) = made_up(id) {
            self.note_made_up(fingerprint, line);
        }
    }

    /// Notes the made-up id of `fingerprint` and `line`; returns whether no id noted so far
    /// shares a line of `fingerprint`, so that a read in one pass may leave its ids out
    /// while that holds.
    pub(crate) fn note_made_up(&mut self, fingerprint: u64, line: u64) -> bool {
        let seen = self
            .seen
            .entry(fingerprint)
            .or_insert_with(|| Seen::Once(Vec::new()));
        let Seen::Once(bits) = seen else {
            return false;
        };
        let (Ok(word), bit) = (usize::try_from(line / 64), line % 64) else {
            *seen = Seen::Shared;
            return false;
        };
        if line >= MAX_LINE {
            *seen = Seen::Shared;
            return false;
        }
        if bits.len() <= word {
            bits.resize(word.saturating_add(1), 0);
        }
        let Some(slot) = bits.get_mut(word) else {
            *seen = Seen::Shared;
            return false;
        };
        if *slot & (1 << bit) != 0 {
            *seen = Seen::Shared;
            return false;
        }
        *slot |= 1 << bit;
        true
    }

    /// Notes the record ids of a block's text: each line's last cell, or, where the text
    /// quotes cells, each record's id as the block's reader reads it.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for quoted text that is not a block's.
    pub(crate) fn note_text(&mut self, text: &[u8]) -> Result<(), StoreError> {
        if memchr::memchr(b'"', text).is_some() {
            let text = std::str::from_utf8(text).context("reading usage")?;
            return UsageBlock::from_stored(text.to_owned(), 0, None).for_each_record(|r| {
                if let Some(id) = r.record_id {
                    self.note(id);
                }
                Ok::<(), StoreError>(())
            });
        }
        let mut cells = Cells::default();
        for line in text.split(|&b| b == b'\n') {
            if let Some((fingerprint, line, _)) = cells.made_up(line) {
                self.note_made_up(fingerprint, line);
            }
        }
        Ok(())
    }

    /// The fingerprints no two records share an id of.
    pub(crate) fn unshared(self) -> Unshared {
        Unshared {
            fingerprints: self
                .seen
                .into_iter()
                .filter_map(|(fingerprint, seen)| match seen {
                    Seen::Once(_) => Some(fingerprint),
                    Seen::Shared => None,
                })
                .collect(),
        }
    }
}

/// Fingerprints whose made-up ids are each held by one record.
#[derive(Debug, Default)]
pub(crate) struct Unshared {
    fingerprints: std::collections::HashSet<u64>,
}

impl Unshared {
    /// Is no id of `fingerprint` shared?
    pub(crate) fn holds(&self, fingerprint: u64) -> bool {
        self.fingerprints.contains(&fingerprint)
    }
}

/// The `(fingerprint, line)` of an id in the made-up form: `file-`, one to sixteen
/// hexadecimal digits, `-`, decimal digits.
pub(crate) fn made_up(id: &str) -> Option<(u64, u64)> {
    made_up_bytes(id.as_bytes())
}

/// [`made_up`] of an id's bytes.
fn made_up_bytes(id: &[u8]) -> Option<(u64, u64)> {
    let rest = id.strip_prefix(b"file-")?;
    let dash = memchr::memchr(b'-', rest)?;
    let (hex, line) = (rest.get(..dash)?, rest.get(dash.saturating_add(1)..)?);
    let digits = |text: &[u8], ok: fn(&u8) -> bool| !text.is_empty() && text.iter().all(ok);
    if hex.len() > 16 || !digits(hex, u8::is_ascii_hexdigit) || !digits(line, u8::is_ascii_digit) {
        return None;
    }
    let fingerprint = u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    let line = std::str::from_utf8(line).ok()?.parse::<u64>().ok()?;
    Some((fingerprint, line))
}

/// Reads the made-up ids of unquoted lines, remembering the last one's `file-<hex>-`, which
/// the lines of one chunk share, so that only the line number is read again.
#[derive(Default)]
pub(crate) struct Cells {
    prefix: Vec<u8>,
    fingerprint: u64,
}

impl Cells {
    /// The `(fingerprint, line)` of the made-up id in the last cell of `line` (a line
    /// without quotes or its line end), and where that cell starts.
    pub(crate) fn made_up(&mut self, line: &[u8]) -> Option<(u64, u64, usize)> {
        let start = memchr::memrchr(b',', line)?.saturating_add(1);
        let cell = line.get(start..)?;
        if !self.prefix.is_empty()
            && let Some(digits) = cell.strip_prefix(self.prefix.as_slice())
            && !digits.is_empty()
            && digits.len() < 20
            && digits.iter().all(u8::is_ascii_digit)
        {
            let line = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
            return Some((self.fingerprint, line, start));
        }
        let (fingerprint, number) = made_up_bytes(cell)?;
        let dash = memchr::memrchr(b'-', cell)?;
        self.prefix.clear();
        self.prefix.extend_from_slice(cell.get(..=dash)?);
        self.fingerprint = fingerprint;
        Some((fingerprint, number, start))
    }
}

#[cfg(test)]
mod tests {
    use super::{Cells, Finder, made_up};

    #[test]
    fn made_up_ids_are_read_as_fingerprint_and_line() {
        assert_eq!(made_up("file-00ff-12"), Some((255, 12)));
        assert_eq!(made_up("file-FF-012"), Some((255, 12)));
        assert_eq!(made_up("file-ff-"), None);
        assert_eq!(made_up("file--1"), None);
        assert_eq!(made_up("file-fg-1"), None);
        assert_eq!(made_up("file-11112222333344445-1"), None);
        assert_eq!(made_up("file-ff-1-2"), None);
        assert_eq!(made_up("order-1"), None);
        assert_eq!(made_up("file-ff-99999999999999999999999"), None);
    }

    #[test]
    fn only_fingerprints_whose_ids_are_each_held_once_are_left_out() {
        let mut finder = Finder::default();
        finder
            .note_text(b"a,m,t,1,file-aa-1\nb,m,t,1,file-aa-2\nc,m,t,1,file-bb-7\n")
            .unwrap();
        // A chunk imported twice: its lines come again, in another key's block.
        finder
            .note_text(b"d,m,t,1,file-bb-8\nd,m,t,1,file-bb-7\n")
            .unwrap();
        // Equal pairs from ids that are not equal: read as stored too.
        finder.note("file-cc-3");
        finder.note("file-CC-03");
        finder.note("file-dd-99999999");
        finder.note("an id of a file");
        let unshared = finder.unshared();
        assert!(unshared.holds(0xaa));
        assert!(!unshared.holds(0xbb));
        assert!(!unshared.holds(0xcc));
        assert!(!unshared.holds(0xdd));
        assert!(!unshared.holds(0xee));
    }

    #[test]
    fn an_id_is_unshared_so_far_until_its_line_comes_again() {
        let mut finder = Finder::default();
        assert!(finder.note_made_up(0xaa, 1));
        assert!(finder.note_made_up(0xaa, 2));
        // The chunk imported twice: its first line again.
        assert!(!finder.note_made_up(0xaa, 1));
        assert!(!finder.note_made_up(0xaa, 3));
        assert!(!finder.unshared().holds(0xaa));
    }

    #[test]
    fn quoted_text_is_noted_as_its_reader_reads_it() {
        let mut finder = Finder::default();
        finder
            .note_text(b"\"k,1\",m,2025-01-01T00:00:00Z,1,file-aa-1\nb,m,2025-01-01T00:00:00Z,1,\"file-aa-1\"\n")
            .unwrap();
        finder.note_text(b"c,m,t,1,file-bb-1\n").unwrap();
        let unshared = finder.unshared();
        assert!(!unshared.holds(0xaa));
        assert!(unshared.holds(0xbb));
    }

    #[test]
    fn a_chunks_lines_are_read_after_its_first_id() {
        let mut cells = Cells::default();
        assert_eq!(cells.made_up(b"a,m,t,1,file-0a-7"), Some((10, 7, 8)));
        assert_eq!(cells.made_up(b"a,m,t,1,file-0a-8"), Some((10, 8, 8)));
        assert_eq!(cells.made_up(b"ab,m,t,1,file-0a-"), None);
        assert_eq!(cells.made_up(b"a,m,t,1,file-0a-9x"), None);
        assert_eq!(cells.made_up(b"a,m,t,1,file-0b-1"), Some((11, 1, 8)));
        assert_eq!(cells.made_up(b"a,m,t,1,"), None);
        assert_eq!(cells.made_up(b"no cells"), None);
    }
}
