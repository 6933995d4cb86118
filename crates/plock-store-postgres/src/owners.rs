//! Each account key's invoice owner, as a usage import looks them up: once a record, in a
//! random order over every account of the company.
//!
//! A map of `String` to `String` touches three places in memory a lookup (the slot, the
//! key's text, the owner's text), each a cache miss when the company's accounts outgrow the
//! cache, and that was a third of the client's time in an import. Keys and owners of up to
//! 23 bytes (all but unusual ones) are kept inline in the slot instead: one place a lookup.

use std::collections::HashMap;

/// Each account key's invoice owner.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    short: HashMap<Short, Short>,
    /// Keys or owners longer than [`Short`] holds.
    long: HashMap<String, String>,
}

impl Owners {
    pub(crate) fn with_capacity(capacity: usize) -> Owners {
        Owners {
            short: HashMap::with_capacity(capacity),
            long: HashMap::new(),
        }
    }

    pub(crate) fn insert(&mut self, key: String, owner: String) {
        match (Short::new(&key), Short::new(&owner)) {
            (Some(k), Some(o)) => {
                self.short.insert(k, o);
            }
            _ => {
                self.long.insert(key, owner);
            }
        }
    }

    /// The owner of `key`'s usage.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        let short = Short::new(key)
            .and_then(|k| self.short.get(&k))
            .map(Short::as_str);
        if short.is_some() || self.long.is_empty() {
            return short;
        }
        self.long.get(key).map(String::as_str)
    }
}

/// Text of up to 23 bytes inline, its length in the last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Short([u8; 24]);

impl Short {
    const MAX: usize = 23;

    pub(crate) fn new(text: &str) -> Option<Short> {
        let len = u8::try_from(text.len())
            .ok()
            .filter(|n| usize::from(*n) <= Self::MAX)?;
        let mut bytes = [0u8; 24];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        *bytes.last_mut()? = len;
        Some(Short(bytes))
    }

    fn as_str(&self) -> &str {
        let len = usize::from(self.0.last().copied().unwrap_or(0));
        // Made from a `&str`, cut where it ended: always UTF-8.
        std::str::from_utf8(self.0.get(..len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Owners;

    #[test]
    fn short_and_long_keys_and_owners_are_found() {
        let long = "k".repeat(24);
        let mut owners = Owners::with_capacity(4);
        for (key, owner) in [
            ("", "o0"),
            ("key-a", "a"),
            ("23-bytes-long-key-åäö", "owner-åäö"),
            (long.as_str(), "b"),
            ("key-c", long.as_str()),
        ] {
            owners.insert(key.to_owned(), owner.to_owned());
        }
        assert_eq!(owners.get(""), Some("o0"));
        assert_eq!(owners.get("key-a"), Some("a"));
        assert_eq!(owners.get("23-bytes-long-key-åäö"), Some("owner-åäö"));
        assert_eq!(owners.get(&long), Some("b"));
        assert_eq!(owners.get("key-c"), Some(long.as_str()));
        assert_eq!(owners.get("key-b"), None);
        assert_eq!(owners.get(&"k".repeat(23)), None);
    }
}
