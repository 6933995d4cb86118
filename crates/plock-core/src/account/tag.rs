//! Tags (docs/domain.md, section 3.2): free-form labels for filtering accounts.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::id::IdError;

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// The most tags one account may carry.
pub const MAX_TAGS_PER_ACCOUNT: usize = 64;

/// A label such as `industry:dental` or `tier-1`: trimmed, 1..=64 characters, no control
/// characters, compared case-insensitively, kept in the case first written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag {
    text: String,
    folded: String,
}

impl Tag {
    /// Validates a tag.
    ///
    /// # Errors
    /// [`IdError`] naming `tag` when the text is empty, too long or
    /// holds control characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use plock_core::account::Tag;
    ///
    /// assert_eq!(Tag::new(" enterprise ")?.as_str(), "enterprise");
    /// // `|` separates tags in the CSV formats, so a tag cannot hold one.
    /// assert!(Tag::new("smb|retail").is_err());
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    pub fn new(text: &str) -> Result<Tag, IdError> {
        let trimmed = text.trim();
        let reason = if trimmed.is_empty() {
            Some("must not be empty")
        } else if trimmed.chars().count() > MAX_TAG_CHARS {
            Some("must be at most 64 characters")
        } else if trimmed.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else if trimmed.contains('|') {
            // `|` separates tags in a CSV cell.
            Some("must not contain '|'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(IdError::refused("tag", text, reason)),
            None => Ok(Tag {
                text: trimmed.to_owned(),
                folded: trimmed.to_lowercase(),
            }),
        }
    }

    /// The tag as first written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Tag) -> bool {
        self.folded == other.folded
    }
}
impl Eq for Tag {}
impl Hash for Tag {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.folded.hash(state);
    }
}
impl PartialOrd for Tag {
    fn partial_cmp(&self, other: &Tag) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Tag {
    fn cmp(&self, other: &Tag) -> Ordering {
        self.folded.cmp(&other.folded)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Tag {
    type Error = IdError;
    fn try_from(s: String) -> Result<Tag, IdError> {
        Tag::new(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.text
    }
}

/// The set of tags of one account: no duplicates (case-insensitively), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(BTreeSet<Tag>);

impl Tags {
    /// No tags.
    pub(crate) const EMPTY: Tags = Tags(BTreeSet::new());

    /// Does the set hold `tag` (in any case)?
    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }

    /// The tags, sorted case-insensitively.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No tags?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a tag unless present (the first-written case is kept); returns whether it was new.
    pub(crate) fn insert(&mut self, tag: Tag) -> bool {
        self.0.insert(tag)
    }

    /// Removes a tag; returns whether it was there.
    pub(crate) fn remove(&mut self, tag: &Tag) -> bool {
        self.0.remove(tag)
    }
}

/// A filter on tags: accounts having all of the given tags, any of them, or none of them, or
/// passing every one of several such filters ([`TagFilter::combined`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "match", content = "tags")]
pub enum TagFilter {
    /// Every given tag is present (an empty list matches everything).
    All(Vec<Tag>),
    /// At least one given tag is present (an empty list matches nothing).
    Any(Vec<Tag>),
    /// No given tag is present.
    None(Vec<Tag>),
    /// Every one of the filters passes (`--tag a --no-tag b`: both apply).
    Every(Vec<TagFilter>),
}

impl TagFilter {
    /// Does an account with `tags` pass the filter?
    pub fn matches(&self, tags: &Tags) -> bool {
        match self {
            TagFilter::All(wanted) => wanted.iter().all(|t| tags.contains(t)),
            TagFilter::Any(wanted) => wanted.iter().any(|t| tags.contains(t)),
            TagFilter::None(unwanted) => !unwanted.iter().any(|t| tags.contains(t)),
            TagFilter::Every(filters) => filters.iter().all(|f| f.matches(tags)),
        }
    }

    /// The filter of accounts having every tag of `all`, at least one of `any` (when it is not
    /// empty) and none of `none`: each list given applies. `None` when no list is given.
    pub fn combined(all: Vec<Tag>, any: Vec<Tag>, none: Vec<Tag>) -> Option<TagFilter> {
        let mut filters: Vec<TagFilter> = [
            (!all.is_empty()).then_some(TagFilter::All(all)),
            (!any.is_empty()).then_some(TagFilter::Any(any)),
            (!none.is_empty()).then_some(TagFilter::None(none)),
        ]
        .into_iter()
        .flatten()
        .collect();
        match filters.len() {
            0 => None,
            1 => filters.pop(),
            _ => Some(TagFilter::Every(filters)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Tags {
        let mut t = Tags::default();
        for s in list {
            t.insert(Tag::new(s).unwrap());
        }
        t
    }

    #[test]
    fn tags_are_trimmed_case_insensitive_and_keep_first_case() {
        let t = tags(&["  Dental ", "dental", "DENTAL", "retail"]);
        let shown: Vec<&str> = t.iter().map(Tag::as_str).collect();
        assert_eq!(shown, vec!["Dental", "retail"]);
        assert_eq!(Tag::new("ABC").unwrap(), Tag::new("abc").unwrap());
    }

    #[test]
    fn tag_validation() {
        assert!(Tag::new("").is_err());
        assert!(Tag::new("   ").is_err());
        assert!(Tag::new("a\tb").is_err());
        assert!(Tag::new(&"x".repeat(MAX_TAG_CHARS)).is_ok());
        let err = Tag::new(&"x".repeat(MAX_TAG_CHARS + 1)).unwrap_err();
        assert!(err.to_string().contains("at most 64"), "{err}");
    }

    #[test]
    fn filters_all_any_none() {
        let t = tags(&["eu", "enterprise"]);
        let f = |v: &[&str]| v.iter().map(|s| Tag::new(s).unwrap()).collect::<Vec<_>>();
        assert!(TagFilter::All(f(&["EU", "enterprise"])).matches(&t));
        assert!(!TagFilter::All(f(&["eu", "smb"])).matches(&t));
        assert!(TagFilter::All(vec![]).matches(&t));
        assert!(TagFilter::Any(f(&["smb", "eu"])).matches(&t));
        assert!(!TagFilter::Any(f(&["smb"])).matches(&t));
        assert!(!TagFilter::Any(vec![]).matches(&t));
        assert!(TagFilter::None(f(&["smb"])).matches(&t));
        assert!(!TagFilter::None(f(&["smb", "Eu"])).matches(&t));
    }

    #[test]
    fn combined_filters_all_apply() {
        let f = |l: &[&str]| l.iter().map(|s| Tag::new(s).unwrap()).collect::<Vec<_>>();
        let dental_smb = tags(&["dental", "smb"]);
        let dental = tags(&["dental"]);
        let filter = TagFilter::combined(f(&["dental"]), vec![], f(&["smb"])).unwrap();
        assert!(
            !filter.matches(&dental_smb),
            "--no-tag smb applies beside --tag dental"
        );
        assert!(filter.matches(&dental));
        let any = TagFilter::combined(vec![], f(&["gold", "silver"]), f(&["smb"])).unwrap();
        assert!(!any.matches(&dental), "--any-tag applies too");
        assert_eq!(TagFilter::combined(vec![], vec![], vec![]), None);
        assert_eq!(
            TagFilter::combined(f(&["a"]), vec![], vec![]),
            Some(TagFilter::All(f(&["a"])))
        );
    }
}
