//! The expansion reports: product adoption and the signals behind it, scored in shares of the
//! company at a time.

use chrono::NaiveDate;
use plock_core::AccountId;
use plock_core::store::CompanySnapshot;

use crate::app::{Opened, invalid, today};
use crate::exit::CliError;
use crate::out::json_or_text;
use crate::progress;
use crate::render;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// What a scoring reads: only `account` (all when `None`), the whole company with a spinner on
/// a terminal, and the date (today when not given).
fn scoring(
    s: &Opened,
    account: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<(Option<AccountId>, CompanySnapshot, NaiveDate)> {
    let only = crate::commands_account::only(s, account)?;
    let company =
        progress::step("reading the company", || s.store.company()).map_err(store_error)?;
    Ok((only, company, date.unwrap_or_else(today)))
}

/// `plock adoption [--account A] [--date D] [--product P] [--upsell-ready]`.
pub fn adoption(
    s: &Opened,
    account: Option<&str>,
    date: Option<NaiveDate>,
    product: Option<&str>,
    upsell_ready: bool,
    as_json: bool,
) -> Result<String> {
    let (only, company, date) = scoring(s, account, date)?;
    let scores = crate::expand_shares::in_shares(
        company,
        crate::expand_shares::SHARES,
        "scoring adoption",
        |c| plock_core::expand::company_adoption(c, date),
    )
    .map_err(invalid)?;
    let scores: Vec<_> = scores
        .into_iter()
        .filter(|sc| product.is_none_or(|p| sc.product().as_str() == p))
        .filter(|sc| !upsell_ready || sc.upsell_ready())
        .filter(|sc| only.as_ref().is_none_or(|id| sc.account() == id))
        .collect();
    let ranking = plock_core::expand::AdoptionRanking::rank(scores);
    json_or_text(as_json, &ranking, |r| render::adoption(r, upsell_ready))
}

/// `plock signals [--account A] [--date D]`.
pub fn signals(
    s: &Opened,
    account: Option<&str>,
    date: Option<NaiveDate>,
    as_json: bool,
) -> Result<String> {
    let (only, company, date) = scoring(s, account, date)?;
    let mut signals = crate::expand_shares::in_shares(
        company,
        crate::expand_shares::SHARES,
        "reading signals",
        |c| plock_core::expand::company_signals(c, date),
    )
    .map_err(invalid)?;
    signals.retain(|sg| only.as_ref().is_none_or(|id| sg.account() == id));
    json_or_text(as_json, &signals, |s| render::signals(s))
}
