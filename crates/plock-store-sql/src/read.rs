//! What the stores' reads share: pages, and tag filters taken apart for SQL.

use std::collections::BTreeSet;

use plock_core::account::{Tag, TagFilter};
use plock_core::store::{Page, page_limit};

/// A page of `items`, read with [`page_probe`]'s limit: the extra item, if it came, says
/// another page follows from the last item kept.
pub fn page<T, C>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Page<T, C> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

/// The page size a query asks for, and one more than it as the SQL `LIMIT`, so the query
/// tells whether another page follows.
pub fn page_probe(limit: usize) -> (usize, i64) {
    let limit = page_limit(limit);
    (
        limit,
        i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
    )
}

/// What one part of a tag filter asks of an account's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTest {
    /// Every one of the tags.
    All,
    /// At least one of them.
    Any,
    /// None of them.
    None,
}

/// A tag filter as parts that all apply, each with its tags case-folded as [`Tag`] compares
/// them, without repeats and in order.
pub fn tag_parts(tags: &TagFilter) -> Vec<(TagTest, BTreeSet<String>)> {
    match tags {
        TagFilter::All(tags) => vec![(TagTest::All, folded(tags))],
        TagFilter::Any(tags) => vec![(TagTest::Any, folded(tags))],
        TagFilter::None(tags) => vec![(TagTest::None, folded(tags))],
        TagFilter::Every(filters) => filters.iter().flat_map(tag_parts).collect(),
    }
}

fn folded(tags: &[Tag]) -> BTreeSet<String> {
    tags.iter().map(|t| t.as_str().to_lowercase()).collect()
}
