//! What the commands read the same way: a decimal from the command line, tags, every page of a
//! store query, a subscription by its id.

use plock_core::account::Tag;
use plock_core::store::{Page, StoreError};
use plock_core::{Subscription, SubscriptionId};
use rust_decimal::Decimal;

use crate::app::{Opened, invalid};
use crate::exit::{Class, CliError, fail};
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// An exact decimal (never rounded), `field` naming it in the error.
pub fn decimal(text: &str, field: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text.trim())
        .map_err(|_| invalid(format!("{field}: not a decimal number: {text:?}")))
}

/// Tags as given on the command line.
pub fn tags(texts: &[String]) -> Result<Vec<Tag>> {
    texts.iter().map(|t| Tag::new(t).map_err(invalid)).collect()
}

/// Every item of a paged store query, page after page.
pub fn all_pages<T, C>(
    fetch: impl FnMut(Option<C>) -> std::result::Result<Page<T, C>, StoreError>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    each_page(fetch, |items| all.extend(items))?;
    Ok(all)
}

/// Hands each page of a paged store query to `take`, page after page.
pub fn each_page<T, C>(
    mut fetch: impl FnMut(Option<C>) -> std::result::Result<Page<T, C>, StoreError>,
    mut take: impl FnMut(Vec<T>),
) -> Result<()> {
    let mut after = None;
    loop {
        let page = fetch(after.take()).map_err(store_error)?;
        take(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The stored subscription with id `text`.
pub fn find_subscription(s: &Opened, text: &str) -> Result<Subscription> {
    let id = SubscriptionId::new(text).map_err(invalid)?;
    s.store
        .subscription(&id)
        .map_err(store_error)?
        .ok_or_else(|| fail(Class::NotFound, format!("no subscription with id {text:?}")))
}

/// Refuses a new subscription whose id is taken.
pub fn refuse_taken(s: &Opened, sub: &Subscription) -> Result<()> {
    if s.store
        .subscription(sub.id())
        .map_err(store_error)?
        .is_some()
    {
        return Err(fail(
            Class::Conflict,
            format!("subscription {} already exists", sub.id()),
        ));
    }
    Ok(())
}
