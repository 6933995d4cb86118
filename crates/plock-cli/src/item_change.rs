//! `plock subscription item change`: a flat fee's fee, quantity or rebate from a date.

use plock_core::pricing::Rebate;
use plock_core::store::{Batch, Change};
use plock_core::{Item, PriceModel, ProductId};

use crate::app::{Opened, invalid, today};
use crate::cli_ops::ItemChange;
use crate::exit::{CliError, fail};
use crate::out::done_json;
use crate::values::{decimal, find_subscription as find};

type Result<T> = std::result::Result<T, CliError>;

/// `plock subscription item change SUB --product P [--fee F] [--quantity Q] [--rebate R]
/// [--from DATE]`: what the flags leave out stays as the item has it.
pub fn change_item(mut s: Opened, c: &ItemChange, as_json: bool) -> Result<String> {
    let mut sub = find(&s, &c.subscription)?;
    let product = ProductId::new(&c.product).map_err(invalid)?;
    let Some(item) = sub.items().iter().find(|i| i.product == product) else {
        return Err(invalid(format!(
            "subscription {} has no item {product}",
            sub.id()
        )));
    };
    let PriceModel::FlatFee { fee, quantity } = item.price else {
        return Err(fail(
            crate::exit::Class::Validation,
            format!(
                "item {product} of subscription {} is not a flat fee; only a flat fee changes from a date",
                sub.id()
            ),
        ));
    };
    let fee = c.fee.as_deref().map_or(Ok(fee), |f| decimal(f, "fee"))?;
    let quantity = c
        .quantity
        .as_deref()
        .map_or(Ok(quantity), |q| decimal(q, "quantity"))?;
    let mut next = Item::flat_fee(product.clone(), fee, quantity);
    next.practice = item.practice;
    next.rebate = match c.rebate.as_deref() {
        None => item.rebate,
        Some(r) => {
            let percent = decimal(r, "rebate")?;
            if percent.is_zero() {
                None
            } else {
                Some(Rebate::percent(percent).map_err(invalid)?)
            }
        }
    };
    let from = c.from.unwrap_or_else(today);
    sub.change_item(&product, next, from).map_err(invalid)?;
    let settled = sub
        .items()
        .iter()
        .find(|i| i.product == product)
        .and_then(|i| i.changes.last())
        .and_then(|change| change.billed);
    let line = if as_json {
        done_json("changed item of", "subscription", &sub)?
    } else {
        let settle = match settled {
            Some(through) => format!(
                "; days {from} to {} already billed are settled by the next bill",
                through.pred_opt().unwrap_or(through)
            ),
            None => String::new(),
        };
        format!(
            "changed item {product} of subscription {} from {from}: {fee} x {quantity}{settle}",
            sub.id()
        )
    };
    s.commit(Batch::one(Change::PutSubscription { subscription: sub }))?;
    Ok(line)
}
