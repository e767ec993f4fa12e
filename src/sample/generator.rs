//! One customer at a time: its profile, CRM records, sessions, orders and
//! campaign touches, with ids numbered in generation order. Everything about
//! a customer comes from random streams derived from `(seed, customer_id)`.

use super::clock::Clock;
use super::customers::{self, CustomerRow};
use super::persona::Profile;
use super::sessions::Sessions;
use super::touches::{self, TouchRow};
use super::transactions::{self, TransactionRow};

/// Everything generated for one customer (buffers reused across customers).
#[derive(Debug, Default)]
pub struct Activity {
    pub customer: Option<CustomerRow>,
    /// A second CRM record, written after the current chunk of customers.
    pub resync: Option<CustomerRow>,
    pub sessions: Sessions,
    pub transactions: Vec<TransactionRow>,
    pub touches: Vec<TouchRow>,
}

/// The next id of each table with generated ids.
#[derive(Debug)]
struct NextIds {
    session: i64,
    transaction: i64,
    touch: i64,
}

/// Generates customers 1..=`customers` in order.
#[derive(Debug)]
pub struct Generator {
    seed: u64,
    customers: u64,
    clock: Clock,
    next: NextIds,
}

impl Generator {
    pub fn new(seed: u64, customers: u64, clock: Clock) -> Self {
        Generator {
            seed,
            customers,
            clock,
            next: NextIds {
                session: 1,
                transaction: 1,
                touch: 1,
            },
        }
    }

    /// Fills `activity` with the rows of `customer_id`; ids continue from
    /// the previous call, so customers must come in order.
    pub fn fill(&mut self, customer_id: u64, activity: &mut Activity) {
        let (seed, clock) = (self.seed, &self.clock);
        let profile = Profile::of(seed, customer_id);
        let id = customer_id as i64;
        let (first, second) = customers::records(seed, id, &profile, clock);
        activity.customer = Some(first);
        activity.resync = second;
        activity
            .sessions
            .generate(seed, id, &profile, clock, &mut self.next.session);
        transactions::generate(
            &mut activity.transactions,
            seed,
            id,
            &profile,
            clock,
            &mut self.next.transaction,
        );
        touches::generate(
            &mut activity.touches,
            seed,
            (id, self.customers),
            &profile,
            clock,
            &mut self.next.touch,
        );
    }
}
