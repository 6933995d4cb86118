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
        let Some((fingerprint, line)) = made_up(id) else {
            return;
        };
        let seen = self
            .seen
            .entry(fingerprint)
            .or_insert_with(|| Seen::Once(Vec::new()));
        let Seen::Once(bits) = seen else {
            return;
        };
        let (Ok(word), bit) = (usize::try_from(line / 64), line % 64) else {
            *seen = Seen::Shared;
            return;
        };
        if line >= MAX_LINE {
            *seen = Seen::Shared;
            return;
        }
        if bits.len() <= word {
            bits.resize(word.saturating_add(1), 0);
        }
        let Some(slot) = bits.get_mut(word) else {
            *seen = Seen::Shared;
            return;
        };
        if *slot & (1 << bit) != 0 {
            *seen = Seen::Shared;
        } else {
            *slot |= 1 << bit;
        }
    }

    /// Notes the record ids of a block's text without quoted cells: each line's last cell.
    pub(crate) fn note_lines(&mut self, text: &str) {
        for line in text.lines() {
            if let Some((_, id)) = line.rsplit_once(',') {
                self.note(id);
            }
        }
    }

    /// Notes a stored record id; returns its fingerprint when it is a made-up id that no id
    /// noted so far shares, which a read in one pass may leave out while it holds.
    pub(crate) fn note_unshared_so_far(&mut self, id: &str) -> Option<u64> {
        self.note(id);
        let (fingerprint, _) = made_up(id)?;
        matches!(self.seen.get(&fingerprint), Some(Seen::Once(_))).then_some(fingerprint)
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
    /// Is `id` a made-up id that no other record holds?
    pub(crate) fn leaves_out(&self, id: &str) -> bool {
        !self.fingerprints.is_empty()
            && made_up(id).is_some_and(|(fingerprint, _)| self.fingerprints.contains(&fingerprint))
    }

    /// Is no id of `fingerprint` shared?
    pub(crate) fn holds(&self, fingerprint: u64) -> bool {
        self.fingerprints.contains(&fingerprint)
    }
}

/// The `(fingerprint, line)` of an id in the made-up form: `file-`, one to sixteen
/// hexadecimal digits, `-`, decimal digits.
pub(crate) fn made_up(id: &str) -> Option<(u64, u64)> {
    let rest = id.strip_prefix("file-")?;
    let (hex, line) = rest.split_once('-')?;
    let digits = |text: &str, ok: fn(&u8) -> bool| !text.is_empty() && text.bytes().all(|b| ok(&b));
    if hex.len() > 16 || !digits(hex, u8::is_ascii_hexdigit) || !digits(line, u8::is_ascii_digit) {
        return None;
    }
    let fingerprint = u64::from_str_radix(hex, 16).ok()?;
    let line = line.parse::<u64>().ok()?;
    Some((fingerprint, line))
}

#[cfg(test)]
mod tests {
    use super::{Finder, made_up};

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
        finder.note_lines("a,m,t,1,file-aa-1\nb,m,t,1,file-aa-2\nc,m,t,1,file-bb-7\n");
        // A chunk imported twice: its lines come again, in another key's block.
        finder.note_lines("d,m,t,1,file-bb-8\nd,m,t,1,file-bb-7\n");
        // Equal pairs from ids that are not equal: read as stored too.
        finder.note("file-cc-3");
        finder.note("file-CC-03");
        finder.note("file-dd-99999999");
        finder.note("an id of a file");
        let unshared = finder.unshared();
        assert!(unshared.leaves_out("file-aa-1"));
        assert!(unshared.leaves_out("file-aa-2"));
        assert!(!unshared.leaves_out("file-bb-8"));
        assert!(!unshared.leaves_out("file-cc-3"));
        assert!(!unshared.leaves_out("file-dd-99999999"));
        assert!(!unshared.leaves_out("file-ee-1"));
        assert!(!unshared.leaves_out("an id of a file"));
    }

    #[test]
    fn an_id_is_unshared_so_far_until_its_line_comes_again() {
        let mut finder = Finder::default();
        assert_eq!(finder.note_unshared_so_far("file-aa-1"), Some(0xaa));
        assert_eq!(finder.note_unshared_so_far("file-aa-2"), Some(0xaa));
        assert_eq!(finder.note_unshared_so_far("order-1"), None);
        // The chunk imported twice: its first line again.
        assert_eq!(finder.note_unshared_so_far("file-aa-1"), None);
        assert_eq!(finder.note_unshared_so_far("file-aa-3"), None);
        assert!(!finder.unshared().holds(0xaa));
    }
}
