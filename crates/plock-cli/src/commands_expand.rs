//! The expansion reports: product adoption and the signals behind it, scored in shares of the
//! company at a time.

use chrono::NaiveDate;

use crate::app::{Opened, invalid, store_error, today};
use crate::exit::CliError;
use crate::out::json;
use crate::progress;
use crate::render;

type Result<T> = std::result::Result<T, CliError>;

/// `plock adoption [--account A] [--date D] [--product P] [--upsell-ready]`.
pub fn adoption(
    s: &Opened,
    account: Option<&str>,
    date: Option<NaiveDate>,
    product: Option<&str>,
    upsell_ready: bool,
    as_json: bool,
) -> Result<String> {
    let only = crate::commands_account::only(s, account)?;
    let company =
        progress::step("reading the company", || s.store.company()).map_err(store_error)?;
    let date = date.unwrap_or_else(today);
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
    if as_json {
        json(&ranking)
    } else {
        Ok(render::adoption(&ranking, upsell_ready))
    }
}

/// `plock signals [--account A] [--date D]`.
pub fn signals(
    s: &Opened,
    account: Option<&str>,
    date: Option<NaiveDate>,
    as_json: bool,
) -> Result<String> {
    let only = crate::commands_account::only(s, account)?;
    let company =
        progress::step("reading the company", || s.store.company()).map_err(store_error)?;
    let date = date.unwrap_or_else(today);
    let mut signals = crate::expand_shares::in_shares(
        company,
        crate::expand_shares::SHARES,
        "reading signals",
        |c| plock_core::expand::company_signals(c, date),
    )
    .map_err(invalid)?;
    signals.retain(|sg| only.as_ref().is_none_or(|id| sg.account() == id));
    if as_json {
        json(&signals)
    } else {
        Ok(render::signals(&signals))
    }
}
