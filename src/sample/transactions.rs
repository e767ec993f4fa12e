//! raw_transactions: the orders of each customer as the persona's plan
//! says, a few guest checkouts (`customer_id` NULL), and about 2% of orders
//! re-sent later with a newer `updated_at` (sometimes with a changed status;
//! the newest row wins downstream).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, Float64Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::clock::{Clock, DAY_US, HOUR_US, OLDEST_DAY};
use super::persona::{Country, Days, OrderPlan, Profile};
use super::rng::{Rng, Stream};
use super::schema::{self, TRANSACTIONS};
use super::table::Batch;

/// Percent of orders sent a second time.
const RESEND_PERCENT: f64 = 2.0;
/// Percent of re-sent orders whose status changed in between.
const STATUS_CHANGE_PERCENT: f64 = 40.0;
/// Percent of customers with a guest checkout (not linked to them).
const GUEST_PERCENT: f64 = 8.0;
/// Orders younger than this many days may still be pending.
const PENDING_DAYS: i64 = 7;

/// Final statuses of ordinary orders, with weights.
const STATUSES: [(&str, u32); 4] = [
    ("completed", 88),
    ("refunded", 5),
    ("cancelled", 4),
    ("pending", 3),
];

/// One row of raw_transactions.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRow {
    pub transaction_id: i64,
    pub customer_id: Option<i64>,
    pub ordered_at: i64,
    pub updated_at: i64,
    pub revenue: f64,
    pub currency: &'static str,
    pub status: &'static str,
}

/// An order before it becomes rows.
#[derive(Debug, Clone, Copy)]
struct Order {
    customer_id: Option<i64>,
    days_ago: i64,
    status: &'static str,
    cents: i64,
    currency: &'static str,
}

/// Replaces `rows` with the transactions of `customer_id`, numbered from
/// `*next_id` on (which is advanced past them).
pub fn generate(
    rows: &mut Vec<TransactionRow>,
    seed: u64,
    customer_id: i64,
    profile: &Profile,
    clock: &Clock,
    next_id: &mut i64,
) {
    rows.clear();
    let mut rng = Rng::derive(seed, Stream::Orders, customer_id as u64);
    let mut orders = planned_orders(&mut rng, customer_id, profile);
    if rng.percent(GUEST_PERCENT) {
        orders.push(guest_order(&mut rng));
    }
    let mut resends = Vec::new();
    let mut timed: Vec<(i64, Order)> = orders
        .into_iter()
        .map(|order| (clock.at(&mut rng, order.days_ago), order))
        .collect();
    timed.sort_by_key(|(ordered_at, _)| *ordered_at);
    for (ordered_at, order) in timed {
        let (row, resend) = order_rows(&mut rng, clock, &order, ordered_at, *next_id);
        *next_id += 1;
        rows.push(row);
        resends.extend(resend);
    }
    rows.append(&mut resends);
}

/// The orders of the persona's plan: counted orders ending with the last
/// one, plus extra refunded or cancelled ones before it.
fn planned_orders(rng: &mut Rng, customer_id: i64, profile: &Profile) -> Vec<Order> {
    let plan = profile.persona.order_plan();
    let active_until = profile.created_day - 1;
    let mut orders = Vec::new();
    if !rng.percent(plan.buys_percent) {
        return orders;
    }
    let Some(last_days) = plan.last.until(active_until) else {
        return orders;
    };
    let last = last_days.pick(rng);
    let earlier = Days::new(last + plan.gap, active_until).until(active_until);
    let count = rng.range(plan.count.0, plan.count.1);
    let order = |days_ago: i64, status: &'static str, rng: &mut Rng| Order {
        customer_id: Some(customer_id),
        days_ago,
        status,
        cents: cents(rng, &plan),
        currency: profile.country.currency(),
    };
    let status = counted_status(rng, &plan, last);
    orders.push(order(last, status, rng));
    if let Some(earlier) = earlier {
        for _ in 1..count {
            let day = earlier.pick(rng);
            let status = counted_status(rng, &plan, day);
            orders.push(order(day, status, rng));
        }
        for _ in 0..rng.range(plan.extra.0, plan.extra.1) {
            let status = *rng.pick(&["refunded", "cancelled"]);
            orders.push(order(earlier.pick(rng), status, rng));
        }
    }
    orders
}

/// The status of a counted order: completed when the persona needs it,
/// otherwise drawn (pending only for recent orders).
fn counted_status(rng: &mut Rng, plan: &OrderPlan, days_ago: i64) -> &'static str {
    if plan.all_completed {
        return "completed";
    }
    match rng.weighted_pick(&STATUSES) {
        "pending" if days_ago > PENDING_DAYS => "completed",
        status => status,
    }
}

/// An order value in cents, leaning to the middle of the persona's range.
fn cents(rng: &mut Rng, plan: &OrderPlan) -> i64 {
    let (lo, hi) = plan.cents;
    lo + (rng.range(0, hi - lo) + rng.range(0, hi - lo)) / 2
}

/// A guest checkout: no customer, any day, any country.
fn guest_order(rng: &mut Rng) -> Order {
    let days_ago = rng.range(0, OLDEST_DAY);
    let status = match rng.weighted_pick(&STATUSES) {
        "pending" if days_ago > PENDING_DAYS => "completed",
        status => status,
    };
    Order {
        customer_id: None,
        days_ago,
        status,
        cents: rng.range(1_500, 9_000),
        currency: Country::random(rng).currency(),
    }
}

/// The status an order had before it reached `status`, if it had one.
fn earlier_status(status: &str) -> Option<&'static str> {
    match status {
        "completed" | "cancelled" => Some("pending"),
        "refunded" => Some("completed"),
        _ => None,
    }
}

/// The row of an order, and its re-sent row if it was sent twice.
fn order_rows(
    rng: &mut Rng,
    clock: &Clock,
    order: &Order,
    ordered_at: i64,
    id: i64,
) -> (TransactionRow, Option<TransactionRow>) {
    let resent = rng.percent(RESEND_PERCENT);
    let changed = resent && rng.percent(STATUS_CHANGE_PERCENT);
    let first_status = match earlier_status(order.status) {
        Some(earlier) if changed => earlier,
        _ => order.status,
    };
    let settle = if first_status == "refunded" {
        20 * DAY_US
    } else {
        2 * HOUR_US
    };
    let first = TransactionRow {
        transaction_id: id,
        customer_id: order.customer_id,
        ordered_at,
        updated_at: clock.later(rng, ordered_at, settle),
        revenue: order.cents as f64 / 100.0,
        currency: render_currency(rng, order.currency),
        status: first_status,
    };
    let resend = resent.then(|| TransactionRow {
        updated_at: clock.later(rng, first.updated_at, 10 * DAY_US),
        currency: render_currency(rng, order.currency),
        status: order.status,
        ..first.clone()
    });
    (first, resend)
}

/// The currency code as sent: mostly upper case, sometimes not.
fn render_currency(rng: &mut Rng, code: &'static str) -> &'static str {
    let spellings: [&'static str; 3] = match code {
        "USD" => ["USD", "usd", "Usd"],
        "EUR" => ["EUR", "eur", "Eur"],
        _ => ["GBP", "gbp", "Gbp"],
    };
    spellings[rng.weighted(&[92, 5, 3])]
}

/// Column builders for raw_transactions.
pub struct TransactionBatch {
    schema: SchemaRef,
    transaction_id: Int64Builder,
    customer_id: Int64Builder,
    ordered_at: schema::TimestampBuilder,
    updated_at: schema::TimestampBuilder,
    revenue: Float64Builder,
    currency: StringBuilder,
    status: StringBuilder,
}

impl TransactionBatch {
    pub fn new(capacity: usize) -> Self {
        TransactionBatch {
            schema: TRANSACTIONS.arrow_schema(),
            transaction_id: Int64Builder::with_capacity(capacity),
            customer_id: Int64Builder::with_capacity(capacity),
            ordered_at: schema::timestamp_builder(capacity),
            updated_at: schema::timestamp_builder(capacity),
            revenue: Float64Builder::with_capacity(capacity),
            currency: StringBuilder::with_capacity(capacity, capacity * 3),
            status: StringBuilder::with_capacity(capacity, capacity * 9),
        }
    }

    pub fn push(&mut self, row: &TransactionRow) {
        self.transaction_id.append_value(row.transaction_id);
        self.customer_id.append_option(row.customer_id);
        self.ordered_at.append_value(row.ordered_at);
        self.updated_at.append_value(row.updated_at);
        self.revenue.append_value(row.revenue);
        self.currency.append_value(row.currency);
        self.status.append_value(row.status);
    }
}

impl Batch for TransactionBatch {
    fn len(&self) -> usize {
        self.transaction_id.len()
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.transaction_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.ordered_at.finish()),
            Arc::new(self.updated_at.finish()),
            Arc::new(self.revenue.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.status.finish()),
        ];
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::persona::Persona;
    use chrono::NaiveDate;

    fn clock() -> Clock {
        Clock::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap()
    }

    fn orders_of(persona: Persona, n: usize) -> Vec<(Profile, Vec<TransactionRow>)> {
        let clock = clock();
        let mut next_id = 1;
        (1..)
            .map(|id| (id, Profile::of(9, id)))
            .filter(|(_, p)| p.persona == persona)
            .take(n)
            .map(|(id, profile)| {
                let mut rows = Vec::new();
                generate(&mut rows, 9, id as i64, &profile, &clock, &mut next_id);
                (profile, rows)
            })
            .collect()
    }

    #[test]
    fn churn_risk_customers_stopped_ordering_60_to_90_days_ago() {
        let clock = clock();
        for (_, rows) in orders_of(Persona::ChurnRisk, 100) {
            let mine: Vec<_> = rows.iter().filter(|r| r.customer_id.is_some()).collect();
            let completed = mine.iter().filter(|r| r.status == "completed").count();
            let newest = mine
                .iter()
                .map(|r| clock.days_ago(r.ordered_at))
                .min()
                .unwrap();
            assert!(completed > 2);
            assert!((63..=87).contains(&newest), "{newest}");
        }
    }

    #[test]
    fn browsers_never_buy_and_revenue_is_in_cents() {
        for (_, rows) in orders_of(Persona::Browser, 200) {
            assert!(rows.iter().all(|r| r.customer_id.is_none()));
        }
        for (_, rows) in orders_of(Persona::Champion, 50) {
            for row in rows {
                assert_eq!((row.revenue * 100.0).round() / 100.0, row.revenue);
                assert!(row.updated_at >= row.ordered_at);
            }
        }
    }

    #[test]
    fn resent_orders_are_newer_and_keep_their_id() {
        let mut resends = 0;
        for (_, rows) in orders_of(Persona::Loyal, 800) {
            for (i, row) in rows.iter().enumerate() {
                if let Some(first) = rows[..i]
                    .iter()
                    .find(|r| r.transaction_id == row.transaction_id)
                {
                    resends += 1;
                    assert!(row.updated_at > first.updated_at);
                    assert_eq!(row.ordered_at, first.ordered_at);
                }
            }
        }
        assert!(resends > 10, "{resends}");
    }
}
