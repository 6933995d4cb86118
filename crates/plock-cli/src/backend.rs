//! A store as the commands use it: plock-core's [`Store`] port and the few operations an
//! operator's command needs beyond it.

use std::path::Path;

use plock_core::import::UsageBlock;
use plock_core::store::{Batch, CompanySnapshot, StoreError, SubscriptionQuery};
use plock_core::{AccountBook, Store, Subscription};
use plock_store_sqlite::BookMark;

use crate::exit::CliError;

/// A store as the commands use it.
pub trait Backend: Store {
    /// The accounts and dismissed keys, without subscriptions or usage.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account_book(&self) -> Result<AccountBook, StoreError>;
    /// Everything but usage (`usage` is empty).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError>;
    /// The subscriptions billed in arrears for some period (usage for days they were billed
    /// through is late); the default reads every subscription and keeps those.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn billed_in_arrears(&self) -> Result<Vec<Subscription>, StoreError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_subscriptions(&SubscriptionQuery {
                account: None,
                after: after.take(),
                limit: 0,
            })?;
            all.extend(
                page.items
                    .into_iter()
                    .filter(|s| s.billed_through().in_arrears.is_some()),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }
    /// The account book, and the mark of the state it was read in for
    /// [`Backend::apply_on_book`]; by default no mark.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account_book_marked(&self) -> Result<(AccountBook, Option<BookMark>), StoreError> {
        Ok((self.account_book()?, None))
    }
    /// Everything but usage, and the mark of the state it was read in for
    /// [`Backend::apply_on_book`]; by default no mark.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn company_marked(&self) -> Result<(CompanySnapshot, Option<BookMark>), StoreError> {
        Ok((self.company_without_usage()?, None))
    }
    /// Applies `batch` as [`Store::apply`] does; a store may take `book`, read with `mark`,
    /// for its stored accounts instead of reading them again. By default [`Store::apply`].
    ///
    /// # Errors
    /// As [`Store::apply`].
    fn apply_on_book(
        &mut self,
        batch: Batch,
        book: AccountBook,
        mark: Option<BookMark>,
    ) -> Result<(), StoreError> {
        drop((book, mark));
        self.apply(batch)
    }
    /// What [`Store::apply`] would refuse; writes nothing.
    ///
    /// # Errors
    /// The first refused change.
    fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Adds the blocks of checked records `next` yields, one after another, in one
    /// transaction, committed only if `next` ends with `Ok(None)`; an `Err` from `next`
    /// leaves the store unchanged. Returns the records written.
    ///
    /// # Errors
    /// `next`'s error, or [`StoreError::Backend`] (nothing written in either case).
    fn add_usage_in_chunks(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<UsageBlock>, CliError>,
    ) -> Result<u64, CliError>;
    /// The store's own check of everything it holds; `Ok` when nothing is wrong.
    ///
    /// # Errors
    /// The first problem found.
    fn check(&self) -> Result<(), StoreError>;
    /// A consistent copy in a new file at `path`, taken while others go on writing.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn backup(&self, path: &Path) -> Result<(), StoreError>;
}
