//! The account commands: add, list, show, the state changes, tags and links, and the edits of
//! details (every contact field and its clearing, the master, external ids and group billing).
//! Each builds one batch, so a refusal changes nothing.

use plock_core::account::{
    AccountName, AccountState, Contact, ContactInput, ExternalId, ExternalSystem, Tag, TagFilter,
};
use plock_core::store::{AccountQuery, Batch, Change, SubscriptionQuery};
use plock_core::{Account, AccountId, AccountKey, Currency};

use crate::app::{Opened, find_account, invalid, today};
use crate::cli::{AccountCommand, AccountEdit, AccountFields, AccountFilter, StateArg};
use crate::cli_ops::{ClearField, ExternalIdCommand, Switch};
use crate::exit::{Class, CliError, fail};
use crate::help::{help, nested};
use crate::out::{done_json, json, json_or_text};
use crate::render;
use crate::store_errors::store_error;
use crate::values::{all_pages, tags};

type Result<T> = std::result::Result<T, CliError>;

/// What an account command did: `{verb} account {id} ({name}){detail}`, or with `--json` the
/// action and the account as it now is.
fn done(s: &Opened, verb: &str, before: &Account, detail: &str, as_json: bool) -> Result<String> {
    let now = s.store.account(before.id()).map_err(store_error)?;
    let a = now.as_ref().unwrap_or(before);
    if as_json {
        done_json(verb, "account", a)
    } else {
        Ok(format!("{verb} account {} ({}){detail}", a.id(), a.name()))
    }
}

/// `plock account ...`.
pub fn account(mut s: Opened, cmd: AccountCommand, as_json: bool) -> Result<String> {
    match cmd {
        AccountCommand::Add(f) => add(s, &f, as_json),
        AccountCommand::List(filter) => list(&s, &filter, as_json),
        AccountCommand::Show { account } => {
            let a = find_account(&*s.store, &account)?;
            let children = s.store.children(a.id()).map_err(store_error)?;
            if as_json {
                json(&a)
            } else {
                Ok(render::account(&a, &children))
            }
        }
        AccountCommand::Edit(e) => edit(s, &e, as_json),
        AccountCommand::ExternalId(cmd) => external_id(s, cmd, as_json),
        AccountCommand::GroupBilling { account, switch } => {
            group_billing(s, &account, switch, as_json)
        }
        AccountCommand::Approve { account } => {
            state_change(s, &account, "approved", as_json, |id| Change::Approve {
                id,
            })
        }
        AccountCommand::Dismiss { account } => {
            state_change(s, &account, "dismissed", as_json, |id| Change::Dismiss {
                id,
            })
        }
        AccountCommand::Archive { account } => {
            state_change(s, &account, "archived", as_json, |id| Change::Archive {
                id,
            })
        }
        AccountCommand::Restore { account } => restore(s, &account, as_json),
        AccountCommand::Tag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "tagged", as_json, |id, tag| {
            Change::Tag { id, tag }
        }),
        AccountCommand::Untag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "untagged", as_json, |id, tag| {
            Change::Untag { id, tag }
        }),
        AccountCommand::Link { child, master } => {
            let c = find_account(&*s.store, &child)?;
            let m = find_account(&*s.store, &master)?;
            s.commit(Batch::one(Change::Link {
                child: c.id().clone(),
                master: m.id().clone(),
            }))?;
            if as_json {
                done(&s, "linked", &c, "", as_json)
            } else {
                Ok(format!("linked {} to master {}", c.id(), m.id()))
            }
        }
        AccountCommand::Unlink { child } => state_change(s, &child, "unlinked", as_json, |child| {
            Change::Unlink { child }
        }),
        AccountCommand::Help { topic } => help(&nested("account", topic)),
    }
}

/// `plock account add KEY NAME --currency C [--email E] [--country C] [--created D]`.
fn add(mut s: Opened, f: &AccountFields, as_json: bool) -> Result<String> {
    let contact = Contact::new(&ContactInput {
        email: f.email.as_deref(),
        country: f.country.as_deref(),
        ..ContactInput::default()
    })
    .map_err(invalid)?;
    let key = AccountKey::new(&f.key).map_err(invalid)?;
    let account = Account::new(
        AccountId::new(&f.key).map_err(invalid)?,
        key,
        AccountName::new(&f.name).map_err(invalid)?,
        contact,
        f.currency.parse::<Currency>().map_err(invalid)?,
        f.created.unwrap_or_else(today),
    );
    let added = account.clone();
    s.commit(Batch::one(Change::AddAccount { account }))?;
    done(&s, "added", &added, "", as_json)
}

/// `plock account list [--state S] [--tag T]... [--any-tag T]... [--no-tag T]...`.
fn list(s: &Opened, filter: &AccountFilter, as_json: bool) -> Result<String> {
    // Every list given applies: `--tag a --no-tag b` is a and not b.
    let tag_filter = TagFilter::combined(
        tags(&filter.tags)?,
        tags(&filter.any_tags)?,
        tags(&filter.no_tags)?,
    );
    let state = filter.state.map(|s| match s {
        StateArg::Pending => AccountState::Pending,
        StateArg::Active => AccountState::Active,
        StateArg::Archived => AccountState::Archived,
    });
    let all = all_pages(|after| {
        s.store.list_accounts(&AccountQuery {
            state,
            tags: tag_filter.clone(),
            after,
            limit: 0,
        })
    })?;
    json_or_text(as_json, &all, |all| render::accounts(all))
}

/// `plock account restore ACCOUNT`: billing resumes today, so the days the account was
/// archived are never billed.
fn restore(mut s: Opened, account: &str, as_json: bool) -> Result<String> {
    let a = find_account(&*s.store, account)?;
    let subs = all_pages(|after| {
        s.store.list_subscriptions(&SubscriptionQuery {
            account: Some(a.id().clone()),
            after,
            limit: 0,
        })
    })?;
    s.commit(plock_core::billing::restore_account(a.id(), &subs, today()))?;
    done(&s, "restored", &a, "", as_json)
}

fn retag(
    mut s: Opened,
    text: &str,
    texts: &[String],
    verb: &str,
    as_json: bool,
    change: fn(AccountId, Tag) -> Change,
) -> Result<String> {
    let a = find_account(&*s.store, text)?;
    let changes = tags(texts)?
        .into_iter()
        .map(|tag| change(a.id().clone(), tag))
        .collect();
    s.commit(Batch { changes })?;
    done(&s, verb, &a, "", as_json)
}

fn state_change(
    mut s: Opened,
    text: &str,
    verb: &str,
    as_json: bool,
    change: impl FnOnce(AccountId) -> Change,
) -> Result<String> {
    let a = find_account(&*s.store, text)?;
    s.commit(Batch::one(change(a.id().clone())))?;
    done(&s, verb, &a, "", as_json)
}

/// The contact after `edit`: each given field replaces the stored one, each cleared field is
/// emptied; `None` when the edit touches no contact field.
fn edited_contact(c: &Contact, e: &AccountEdit) -> Result<Option<Contact>> {
    let cleared = |f: ClearField| e.clear.contains(&f);
    let touched = e.email.is_some()
        || e.phone.is_some()
        || !e.address.is_empty()
        || e.country.is_some()
        || e.organisation_number.is_some()
        || e.clear.iter().any(|f| *f != ClearField::Master);
    if !touched {
        return Ok(None);
    }
    let pick = |given: &Option<String>, stored: Option<&str>, field: ClearField| {
        if cleared(field) {
            None
        } else {
            given.clone().or(stored.map(str::to_owned))
        }
    };
    let email = pick(&e.email, c.email().map(|m| m.as_str()), ClearField::Email);
    let phone = pick(&e.phone, c.phone(), ClearField::Phone);
    let country = pick(
        &e.country,
        c.country().map(|x| x.as_str()),
        ClearField::Country,
    );
    let organisation_number = pick(
        &e.organisation_number,
        c.organisation_number(),
        ClearField::OrganisationNumber,
    );
    let address_lines: Vec<&str> = if cleared(ClearField::Address) {
        Vec::new()
    } else if e.address.is_empty() {
        c.address_lines().iter().map(String::as_str).collect()
    } else {
        e.address.iter().map(String::as_str).collect()
    };
    Contact::new(&ContactInput {
        email: email.as_deref(),
        phone: phone.as_deref(),
        address_lines,
        country: country.as_deref(),
        organisation_number: organisation_number.as_deref(),
    })
    .map(Some)
    .map_err(invalid)
}

/// Refuses a field both given and cleared: which one wins would be a guess.
fn check_clears(e: &AccountEdit) -> Result<()> {
    for field in &e.clear {
        let given = match field {
            ClearField::Email => e.email.is_some(),
            ClearField::Phone => e.phone.is_some(),
            ClearField::Address => !e.address.is_empty(),
            ClearField::Country => e.country.is_some(),
            ClearField::OrganisationNumber => e.organisation_number.is_some(),
            ClearField::Master => e.master.is_some(),
        };
        if given {
            let name = clap::ValueEnum::to_possible_value(field)
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            return Err(fail(
                Class::Usage,
                format!("--clear {name} and a new value for it: give one of them"),
            ));
        }
    }
    Ok(())
}

/// `plock account edit ACCOUNT [--name ...] [--phone ...] [--clear FIELD] ...`.
fn edit(mut s: Opened, e: &AccountEdit, as_json: bool) -> Result<String> {
    check_clears(e)?;
    let a = find_account(&*s.store, &e.account)?;
    let mut changes = Vec::new();
    let contact = edited_contact(a.contact(), e)?;
    let name = e
        .name
        .as_deref()
        .map(AccountName::new)
        .transpose()
        .map_err(invalid)?;
    let currency = e
        .currency
        .as_deref()
        .map(str::parse::<Currency>)
        .transpose()
        .map_err(invalid)?;
    if name.is_some() || contact.is_some() || currency.is_some() {
        changes.push(Change::EditAccount {
            id: a.id().clone(),
            name,
            contact,
            currency,
        });
    }
    if let Some(days) = e.payment_terms {
        changes.push(Change::SetPaymentTerms {
            id: a.id().clone(),
            terms: plock_core::account::PaymentTerms::new(days).map_err(invalid)?,
        });
    }
    let unlink = e.clear.contains(&ClearField::Master) || e.master.is_some();
    if unlink && a.master().is_some() {
        changes.push(Change::Unlink {
            child: a.id().clone(),
        });
    }
    if let Some(master) = &e.master {
        let m = find_account(&*s.store, master)?;
        changes.push(Change::Link {
            child: a.id().clone(),
            master: m.id().clone(),
        });
    }
    if changes.is_empty() {
        return Err(fail(
            Class::Usage,
            "nothing to edit; --help lists the fields",
        ));
    }
    s.commit(Batch { changes })?;
    done(&s, "edited", &a, "", as_json)
}

fn system(text: &str) -> Result<ExternalSystem> {
    text.parse::<ExternalSystem>().map_err(invalid)
}

/// `plock account external-id set|remove ...`.
fn external_id(mut s: Opened, cmd: ExternalIdCommand, as_json: bool) -> Result<String> {
    match cmd {
        ExternalIdCommand::Set {
            account,
            system: name,
            id,
        } => {
            let a = find_account(&*s.store, &account)?;
            let system = system(&name)?;
            let external_id = ExternalId::new(&id).map_err(invalid)?;
            let detail = format!(": {system} id {external_id}");
            s.commit(Batch::one(Change::SetExternalId {
                id: a.id().clone(),
                system,
                external_id,
            }))?;
            done(&s, "set external id of", &a, &detail, as_json)
        }
        ExternalIdCommand::Remove {
            account,
            system: name,
        } => {
            let a = find_account(&*s.store, &account)?;
            let system = system(&name)?;
            if a.external_ids().get(&system).is_none() {
                return Err(fail(
                    Class::NotFound,
                    format!("account {} has no {system} id", a.id()),
                ));
            }
            let detail = format!(": {system} id removed");
            s.commit(Batch::one(Change::RemoveExternalId {
                id: a.id().clone(),
                system,
            }))?;
            done(&s, "removed external id of", &a, &detail, as_json)
        }
    }
}

/// `plock account group-billing ACCOUNT on|off`.
fn group_billing(mut s: Opened, account: &str, on: Switch, as_json: bool) -> Result<String> {
    let a = find_account(&*s.store, account)?;
    let on = on == Switch::On;
    s.commit(Batch::one(Change::SetGroupBilling {
        master: a.id().clone(),
        on,
    }))?;
    let detail = if on {
        ": group billing on"
    } else {
        ": group billing off"
    };
    done(&s, "switched", &a, detail, as_json)
}

/// The id of the account `--account` names, if any.
pub fn only(s: &Opened, account: Option<&str>) -> Result<Option<plock_core::AccountId>> {
    account
        .map(|text| find_account(&*s.store, text).map(|a| a.id().clone()))
        .transpose()
}
