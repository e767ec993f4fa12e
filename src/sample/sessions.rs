//! raw_sessions: GA4-style sessions of each customer (on one to three
//! devices, each with its own `user_pseudo_id`), plus anonymous sessions of
//! visitors who never signed in (`customer_id` NULL, about 15%) and about 1%
//! exact duplicates from re-ingestion.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayBuilder, ArrayRef, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::clock::{Clock, OLDEST_DAY};
use super::persona::{Days, Pricing, Profile, SessionEra};
use super::rng::{Rng, Stream};
use super::schema::{self, SESSIONS};
use super::table::Batch;

/// Percent of sessions ingested twice.
const DUPLICATE_PERCENT: f64 = 1.0;

/// Device categories, with weights.
const DEVICES: [(&str, u32); 3] = [("desktop", 45), ("mobile", 45), ("tablet", 10)];

/// Marketing channels, with weights, each with the spellings seen in the
/// raw data (the first is the clean one).
const CHANNELS: [(&[&str], u32); 6] = [
    (&["organic", "Organic", "ORGANIC"], 30),
    (&["direct", "Direct", "DIRECT"], 22),
    (&["paid_search", "PAID_SEARCH", "Paid_Search"], 18),
    (&["email", "Email", "EMAIL"], 12),
    (&["social", "Social", "SOCIAL"], 12),
    (&["referral", "Referral", "REFERRAL"], 6),
];

/// Index of the email channel in [`CHANNELS`].
const EMAIL_CHANNEL: usize = 3;

/// One row of raw_sessions; `visitor` indexes [`Sessions::visitors`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session_id: i64,
    pub customer_id: Option<i64>,
    pub visitor: usize,
    pub started_at: i64,
    pub page_views: i64,
    pub pricing_page_views: i64,
    pub device: &'static str,
    pub channel: &'static str,
    pub duration_s: i64,
}

/// A browser / app instance: GA4's `user_pseudo_id` and its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub pseudo_id: String,
    pub device: &'static str,
}

/// The sessions generated for one customer (buffers reused across customers).
#[derive(Debug, Default)]
pub struct Sessions {
    pub rows: Vec<SessionRow>,
    pub visitors: Vec<Visitor>,
}

impl Sessions {
    /// Replaces the contents with the sessions of `customer_id`, numbered
    /// from `*next_id` on (which is advanced past them).
    pub fn generate(
        &mut self,
        seed: u64,
        customer_id: i64,
        profile: &Profile,
        clock: &Clock,
        next_id: &mut i64,
    ) {
        self.rows.clear();
        self.visitors.clear();
        let mut rng = Rng::derive(seed, Stream::Sessions, customer_id as u64);
        self.customer_sessions(&mut rng, customer_id, profile, clock);
        self.anonymous_sessions(&mut rng, clock);
        self.rows.sort_by_key(|row| row.started_at);
        for row in &mut self.rows {
            row.session_id = *next_id;
            *next_id += 1;
        }
        self.duplicate_some(&mut rng);
    }

    /// The signed-in sessions, era by era of the persona's plan.
    fn customer_sessions(
        &mut self,
        rng: &mut Rng,
        customer_id: i64,
        profile: &Profile,
        clock: &Clock,
    ) {
        let devices = rng.weighted(&[50, 35, 15]) + 1;
        let first_visit = clock.at(rng, profile.created_day);
        let visitors = self.visitors.len();
        for _ in 0..devices {
            self.visitors.push(Visitor::random(rng, first_visit));
        }
        for era in profile.persona.session_eras() {
            let Some(days) = era.days.until(profile.created_day - 1) else {
                continue;
            };
            for _ in 0..rng.range(era.count.0, era.count.1) {
                let visitor = visitors + rng.weighted(&[70, 20, 10][..devices]);
                let row = session(rng, clock, days, era, visitor, &self.visitors[visitor]);
                self.rows.push(SessionRow {
                    customer_id: Some(customer_id),
                    ..row
                });
            }
        }
    }

    /// Sessions of zero to three anonymous visitors, one to three each.
    fn anonymous_sessions(&mut self, rng: &mut Rng, clock: &Clock) {
        const GENERIC: SessionEra = SessionEra {
            days: Days::new(0, OLDEST_DAY),
            count: (1, 3),
            pricing: Pricing::Sometimes(4.0),
        };
        for _ in 0..rng.weighted(&[25, 30, 25, 20]) {
            let day = rng.range(0, OLDEST_DAY);
            let first_visit = clock.at(rng, day);
            let visitor = self.visitors.len();
            self.visitors.push(Visitor::random(rng, first_visit));
            let days = Days::new(0, clock.days_ago(first_visit));
            for _ in 0..rng.range(GENERIC.count.0, GENERIC.count.1) {
                let row = session(rng, clock, days, &GENERIC, visitor, &self.visitors[visitor]);
                self.rows.push(row);
            }
        }
    }

    /// Re-ingests about 1% of the rows: exact copies at the end.
    fn duplicate_some(&mut self, rng: &mut Rng) {
        for index in 0..self.rows.len() {
            if rng.percent(DUPLICATE_PERCENT) {
                let copy = self.rows[index].clone();
                self.rows.push(copy);
            }
        }
    }
}

impl Visitor {
    /// A new `user_pseudo_id` ("<random 32-bit>.<first visit unix seconds>").
    fn random(rng: &mut Rng, first_visit: i64) -> Visitor {
        let pseudo_id = format!(
            "{}.{}",
            rng.range(100_000_000, 2_147_483_647),
            Clock::unix_seconds(first_visit)
        );
        Visitor {
            pseudo_id,
            device: rng.weighted_pick(&DEVICES),
        }
    }
}

/// One session on a day of `days` (id and customer filled in by the caller).
fn session(
    rng: &mut Rng,
    clock: &Clock,
    days: Days,
    era: &SessionEra,
    visitor: usize,
    who: &Visitor,
) -> SessionRow {
    let day = days.pick(rng);
    let started_at = clock.at(rng, day);
    let pricing_page_views = match era.pricing {
        Pricing::Always => rng.range(1, 3),
        Pricing::Sometimes(percent) => i64::from(rng.percent(percent)),
    };
    let mut page_views = 1 + rng.range(0, 2);
    if rng.percent(30.0) {
        page_views += rng.range(1, 8);
    }
    let page_views = page_views.max(pricing_page_views + 1);
    let duration_s = if page_views == 1 {
        rng.range(0, 59)
    } else {
        page_views * rng.range(15, 140)
    };
    let email_bias = era.pricing == Pricing::Always && rng.percent(50.0);
    SessionRow {
        session_id: 0,
        customer_id: None,
        visitor,
        started_at,
        page_views,
        pricing_page_views,
        device: who.device,
        channel: channel(rng, email_bias),
        duration_s,
    }
}

/// A channel label, mostly in its clean spelling.
fn channel(rng: &mut Rng, email: bool) -> &'static str {
    let weights: [u32; 6] = CHANNELS.map(|(_, w)| w);
    let index = if email {
        EMAIL_CHANNEL
    } else {
        rng.weighted(&weights)
    };
    let spellings = CHANNELS[index].0;
    spellings[rng.weighted(&[70, 20, 10]).min(spellings.len() - 1)]
}

/// Column builders for raw_sessions.
pub struct SessionBatch {
    schema: SchemaRef,
    session_id: Int64Builder,
    customer_id: Int64Builder,
    user_pseudo_id: StringBuilder,
    started_at: schema::TimestampBuilder,
    page_views: Int64Builder,
    pricing_page_views: Int64Builder,
    device: StringBuilder,
    channel: StringBuilder,
    duration_s: Int64Builder,
}

impl SessionBatch {
    pub fn new(capacity: usize) -> Self {
        SessionBatch {
            schema: SESSIONS.arrow_schema(),
            session_id: Int64Builder::with_capacity(capacity),
            customer_id: Int64Builder::with_capacity(capacity),
            user_pseudo_id: StringBuilder::with_capacity(capacity, capacity * 21),
            started_at: schema::timestamp_builder(capacity),
            page_views: Int64Builder::with_capacity(capacity),
            pricing_page_views: Int64Builder::with_capacity(capacity),
            device: StringBuilder::with_capacity(capacity, capacity * 7),
            channel: StringBuilder::with_capacity(capacity, capacity * 8),
            duration_s: Int64Builder::with_capacity(capacity),
        }
    }

    /// Appends the rows of one customer.
    pub fn push_all(&mut self, sessions: &Sessions) {
        for row in &sessions.rows {
            self.push(row, &sessions.visitors[row.visitor].pseudo_id);
        }
    }

    fn push(&mut self, row: &SessionRow, pseudo_id: &str) {
        self.session_id.append_value(row.session_id);
        self.customer_id.append_option(row.customer_id);
        self.user_pseudo_id.append_value(pseudo_id);
        self.started_at.append_value(row.started_at);
        self.page_views.append_value(row.page_views);
        self.pricing_page_views.append_value(row.pricing_page_views);
        self.device.append_value(row.device);
        self.channel.append_value(row.channel);
        self.duration_s.append_value(row.duration_s);
    }
}

impl Batch for SessionBatch {
    fn len(&self) -> usize {
        self.session_id.len()
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.session_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.user_pseudo_id.finish()),
            Arc::new(self.started_at.finish()),
            Arc::new(self.page_views.finish()),
            Arc::new(self.pricing_page_views.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.duration_s.finish()),
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

    #[test]
    fn sessions_are_numbered_in_order_and_follow_signup() {
        let clock = clock();
        let mut sessions = Sessions::default();
        let mut next_id = 1;
        for id in 1..=500 {
            let profile = Profile::of(3, id);
            let start = next_id;
            sessions.generate(3, id as i64, &profile, &clock, &mut next_id);
            for row in &sessions.rows {
                assert!((start..next_id).contains(&row.session_id));
                assert!(row.started_at <= clock.end());
                assert!(row.pricing_page_views < row.page_views);
                if row.customer_id.is_some() {
                    assert!(clock.days_ago(row.started_at) < profile.created_day);
                }
            }
        }
        let per_customer = (next_id - 1) as f64 / 500.0;
        assert!((15.0..25.0).contains(&per_customer), "{per_customer}");
    }

    #[test]
    fn high_intent_customers_view_pricing_in_the_last_week() {
        let clock = clock();
        let mut sessions = Sessions::default();
        let mut next_id = 1;
        let id = (1..)
            .find(|&id| Profile::of(5, id).persona == Persona::HighIntent)
            .unwrap();
        sessions.generate(5, id as i64, &Profile::of(5, id), &clock, &mut next_id);
        let recent_pricing: i64 = sessions
            .rows
            .iter()
            .filter(|r| r.customer_id.is_some() && clock.days_ago(r.started_at) <= 6)
            .map(|r| r.pricing_page_views)
            .sum();
        assert!(recent_pricing >= 2);
    }
}
