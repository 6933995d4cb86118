//! Human output: aligned tables and readable invoices. Only this crate knows about terminals,
//! and even here output does not depend on one, so snapshots are stable.

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, Table};
use plock_core::invoice::{Dispatch, HoldReason, LineKind};
use plock_core::subscription::SubscriptionState;
use plock_core::{Account, BillingRun, Invoice, Subscription};

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING).set_header(header.to_vec());
    t
}

pub fn right(t: &mut Table, columns: &[usize]) {
    for c in columns {
        if let Some(col) = t.column_mut(*c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Trailing spaces of the table layout are noise in terminals and snapshots.
pub fn trimmed(t: &Table) -> String {
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Accounts as a table.
pub fn accounts(accounts: &[Account]) -> String {
    let mut t = table(&[
        "id", "key", "name", "state", "currency", "master", "group", "tags",
    ]);
    for a in accounts {
        t.add_row(vec![
            a.id().to_string(),
            a.key().to_string(),
            a.name().to_string(),
            a.state().to_string(),
            a.currency().to_string(),
            a.master().map_or(String::new(), ToString::to_string),
            if a.group_billing() {
                "on".into()
            } else {
                String::new()
            },
            a.tags()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ]);
    }
    trimmed(&t)
}

/// One account in full.
pub fn account(a: &Account, children: &[Account]) -> String {
    let mut out = vec![
        format!("account   {}", a.id()),
        format!("key       {}", a.key()),
        format!("name      {}", a.name()),
        format!("state     {}", a.state()),
        format!("currency  {}", a.currency()),
        format!("created   {}", a.created_on()),
    ];
    let c = a.contact();
    if let Some(e) = c.email() {
        out.push(format!("email     {}", e.as_str()));
    }
    if let Some(phone) = c.phone() {
        out.push(format!("phone     {phone}"));
    }
    for (i, line) in c.address_lines().iter().enumerate() {
        let label = if i == 0 { "address" } else { "" };
        out.push(format!("{label:<9} {line}"));
    }
    if let Some(country) = c.country() {
        out.push(format!("country   {}", country.as_str()));
    }
    if let Some(number) = c.organisation_number() {
        out.push(format!("org. no.  {number}"));
    }
    if let Some(m) = a.master() {
        out.push(format!("master    {m}"));
    }
    if a.group_billing() {
        out.push("group billing on".into());
    }
    if !children.is_empty() {
        out.push(format!(
            "children  {}",
            children
                .iter()
                .map(|c| c.id().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !a.tags().is_empty() {
        out.push(format!(
            "tags      {}",
            a.tags()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (system, id) in a.external_ids().iter() {
        out.push(format!("{:<9} {id}", system.name()));
    }
    out.join("\n")
}

fn state(s: SubscriptionState) -> String {
    s.to_string()
}

/// Subscriptions as a table.
pub fn subscriptions(subs: &[Subscription]) -> String {
    let mut t = table(&[
        "id", "account", "state", "start", "end", "every", "mode", "practice", "items",
    ]);
    for s in subs {
        let sched = s.schedule();
        t.add_row(vec![
            s.id().to_string(),
            s.account().to_string(),
            state(s.state()),
            sched.start().to_string(),
            sched.end().map_or(String::new(), |d| d.to_string()),
            format!("{} mo", sched.interval().months()),
            format!("{:?}", sched.mode()).to_lowercase(),
            s.practice().to_string(),
            s.items()
                .iter()
                .map(|i| i.product.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ]);
    }
    trimmed(&t)
}

/// Quantities are exact (an average may carry 28 digits); a person reads four decimals.
fn quantity(q: rust_decimal::Decimal) -> String {
    q.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string()
}

fn kind(k: LineKind) -> &'static str {
    match k {
        LineKind::InAdvance => "in advance",
        LineKind::InArrears => "in arrears",
        LineKind::Overage => "overage",
        LineKind::Proration => "proration",
        LineKind::OneOff => "one-off",
        LineKind::Credit => "credit",
        LineKind::Compensation => "compensation",
        LineKind::LateUsage => "late usage",
    }
}

fn dispatch(d: &Dispatch) -> String {
    match d {
        Dispatch::Ready => "ready to dispatch".into(),
        Dispatch::Held { reasons } => {
            let why: Vec<String> = reasons
                .iter()
                .map(|r| match r {
                    HoldReason::BelowMinimum { minimum, total } => {
                        format!("total {total} below minimum {minimum}")
                    }
                    HoldReason::NoDebtorId { erp } => format!("no {erp} debtor id"),
                })
                .collect();
            format!("held: {}", why.join("; "))
        }
    }
}

/// One invoice, as a person reads it.
pub fn invoice(inv: &Invoice) -> String {
    let mut out = format!(
        "Invoice {}  to {}  {}  period {}  ({})\n",
        inv.number(),
        inv.owner(),
        inv.currency(),
        inv.period(),
        dispatch(inv.dispatch())
    );
    for (system, id) in inv.debtor_ids() {
        out.push_str(&format!("  {system} debtor {id}\n"));
    }
    if let (Some(issued), Some(due)) = (inv.issued(), inv.due()) {
        out.push_str(&format!("  issued {issued}, due {due}\n"));
    }
    let mut t = table(&[
        "kind",
        "account",
        "product",
        "period",
        "qty",
        "unit price",
        "rebate",
        "amount",
    ]);
    for l in inv.lines() {
        t.add_row(vec![
            kind(l.kind).to_owned(),
            l.source_account.to_string(),
            l.product.to_string(),
            l.period.to_string(),
            quantity(l.quantity),
            l.unit_price.map_or(String::new(), |p| p.to_string()),
            l.rebate_percent.map_or(String::new(), |r| format!("{r}%")),
            l.amount.to_string(),
        ]);
    }
    right(&mut t, &[4, 5, 6, 7]);
    for line in trimmed(&t).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    if inv.products().len() > 1 || inv.lines().iter().any(|l| &l.source_account != inv.owner()) {
        for p in inv.products() {
            out.push_str(&format!(
                "  product {:<12} qty {:>12}  {}\n",
                p.product,
                quantity(p.quantity),
                p.amount
            ));
        }
    }
    out.push_str(&format!("  total {}\n", inv.total()));
    for l in inv
        .lines()
        .iter()
        .filter(|l| matches!(l.kind, LineKind::InAdvance | LineKind::Proration))
    {
        // Deferred revenue: an in-advance charge for several months is recognised month by month.
        match plock_core::invoice::accrual_schedule(l.amount, l.period) {
            Ok(schedule) if schedule.len() > 1 => {
                let months: Vec<String> = schedule
                    .iter()
                    .map(|a| format!("{} {}", a.period.start(), a.amount))
                    .collect();
                out.push_str(&format!(
                    "  accrual of {} {}: {}\n",
                    l.product,
                    l.period,
                    months.join(", ")
                ));
            }
            _ => {}
        }
    }
    out
}

/// Invoices as a table.
pub fn invoice_list(invoices: &[Invoice]) -> String {
    let mut t = table(&[
        "number", "owner", "currency", "period", "lines", "total", "dispatch",
    ]);
    for i in invoices {
        t.add_row(vec![
            i.number().to_string(),
            i.owner().to_string(),
            i.currency().to_string(),
            i.period().to_string(),
            i.lines().len().to_string(),
            i.total().to_string(),
            dispatch(i.dispatch()),
        ]);
    }
    right(&mut t, &[4, 5]);
    trimmed(&t)
}

/// A billing run: its invoices, then what it skipped and why.
pub fn run(r: &BillingRun, preview: bool) -> String {
    let mut out = format!(
        "Billing run {}{}: {} invoice(s), {} line(s), {} subscription(s) billed\n",
        r.run_date,
        if preview {
            " (preview, nothing recorded)"
        } else {
            ""
        },
        r.invoices.len(),
        r.invoices.iter().map(|i| i.lines().len()).sum::<usize>(),
        r.billed.len()
    );
    for inv in &r.invoices {
        out.push('\n');
        out.push_str(&invoice(inv));
    }
    let mut notes = Vec::new();
    for s in &r.skipped {
        notes.push(match s {
            plock_core::billing::Skipped::AccountPending { account } => format!("skipped account {account}: Pending, never billed"),
            plock_core::billing::Skipped::AccountArchived { account } => format!("skipped account {account}: Archived, never billed again"),
            plock_core::billing::Skipped::SubscriptionDraft { subscription } => format!("skipped subscription {subscription}: Draft"),
            plock_core::billing::Skipped::SubscriptionPaused { subscription, since } => {
                format!("skipped subscription {subscription}: paused since {since}, accruing until resumed")
            }
        });
    }
    for u in &r.unmatched {
        let why = match &u.reason {
            plock_core::billing::MismatchReason::NoMasterSubscription => {
                "the master has no billable subscription".to_owned()
            }
            plock_core::billing::MismatchReason::DifferentCurrency { child, master } => {
                format!(
                    "currency {child} differs from the master's {}",
                    master
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            plock_core::billing::MismatchReason::DifferentPractice { child, master } => format!(
                "billing practice {child} differs from the master's {}",
                master
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            plock_core::billing::MismatchReason::MasterHasNoPeriod { child, on } => {
                format!("period {child}: the master has no billing period yet on {on}")
            }
            plock_core::billing::MismatchReason::DifferentPeriod { child, master } => format!(
                "period {child} differs from the master's {}",
                master
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        notes.push(format!(
            "billed on its own: {} ({}) of group {}: {why}",
            u.subscription, u.child, u.master
        ));
    }
    for u in &r.unpriced_usage {
        notes.push(format!(
            "not billed: {} record(s) of metric {} for {} (no item prices it)",
            u.records, u.metric, u.account
        ));
    }
    notes.extend(r.not_billed.iter().map(not_billed));
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}

/// An owner's group held by a subscription that could not be billed.
pub(crate) fn not_billed(n: &plock_core::billing::NotBilled) -> String {
    format!(
        "not billed: account {} (invoice owner {}), subscription {}: {}; nothing of the group is billed until this is fixed",
        n.account, n.owner, n.subscription, n.reason
    )
}

/// A compact bar for a score 0..=100: ten cells.
fn bar(score: u8) -> String {
    let full = usize::from(score.min(100)).div_ceil(10);
    format!(
        "{}{}",
        "#".repeat(full),
        ".".repeat(10usize.saturating_sub(full))
    )
}

/// Adoption scores: the call list (lowest first), then the upsell-ready.
pub fn adoption(ranking: &plock_core::expand::AdoptionRanking, upsell_only: bool) -> String {
    let row = |s: &plock_core::expand::AdoptionScore| {
        vec![
            s.account().to_string(),
            s.product().to_string(),
            format!("{} {:>3}", bar(s.score()), s.score()),
            format!("{:?}", s.band()).to_lowercase(),
            s.activity()
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .to_string(),
            s.utilisation()
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .to_string(),
            s.trend()
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .to_string(),
            if s.upsell_ready() {
                "upsell-ready".into()
            } else {
                String::new()
            },
        ]
    };
    let header = [
        "account",
        "product",
        "score",
        "band",
        "activity",
        "utilisation",
        "trend",
        "",
    ];
    let mut out = String::new();
    if !upsell_only {
        let mut t = table(&header);
        for s in ranking.call_first() {
            t.add_row(row(s));
        }
        out.push_str("Call first (lowest adoption first)\n");
        out.push_str(&trimmed(&t));
        out.push_str("\n\n");
    }
    let mut t = table(&header);
    for s in ranking.upsell_ready() {
        t.add_row(row(s));
    }
    out.push_str("Upsell-ready (utilisation >= 0.9 and rising)\n");
    out.push_str(&trimmed(&t));
    out
}

/// Usage signals with their evidence.
pub fn signals(signals: &[plock_core::expand::Signal]) -> String {
    if signals.is_empty() {
        return "no usage signals".into();
    }
    let mut t = table(&["account", "product", "signal", "evidence"]);
    for s in signals {
        let evidence = match s.evidence() {
            plock_core::expand::Evidence::Trend {
                window,
                slope,
                mean,
                active_days,
            } => format!(
                "[{}, {}) slope {}/day, mean {}, {} active days",
                window.start(),
                window.end(),
                slope.round_dp_with_strategy(
                    2,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero
                ),
                mean.round_dp_with_strategy(
                    2,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero
                ),
                active_days
            ),
            plock_core::expand::Evidence::Outlier {
                day,
                value,
                median,
                mad,
                ..
            } => {
                format!(
                    "{day}: {} vs median {} (MAD {})",
                    value.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero
                    ),
                    median.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero
                    ),
                    mad.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero
                    )
                )
            }
        };
        t.add_row(vec![
            s.account().to_string(),
            s.product().to_string(),
            format!("{:?}", s.kind()),
            evidence,
        ]);
    }
    trimmed(&t)
}
