//! raw_campaign_touches: ad impressions and clicks and email opens of each
//! customer, plus touches that could not be matched to a customer
//! (`customer_id` NULL) and a few pointing to customers that do not exist
//! (ids above the number of customers).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayBuilder, ArrayRef, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::clock::{Clock, OLDEST_DAY};
use super::persona::{Days, Profile};
use super::rng::{Rng, Stream};
use super::schema::{self, CAMPAIGN_TOUCHES};
use super::table::Batch;

/// Percent of customers with one or two unmatched touches nearby.
const UNMATCHED_PERCENT: f64 = 40.0;
/// Percent of customers with a touch pointing to an unknown customer.
const ORPHAN_PERCENT: f64 = 1.0;
/// Days in which high-intent customers open emails.
const RECENT_OPENS: Days = Days::new(2, 25);

/// A campaign: its id, the channel it runs on, and how often it reaches people.
struct Campaign {
    id: &'static str,
    channel: &'static str,
    weight: u32,
}

const fn campaign(id: &'static str, channel: &'static str, weight: u32) -> Campaign {
    Campaign {
        id,
        channel,
        weight,
    }
}

const CAMPAIGNS: [Campaign; 12] = [
    campaign("cmp_newsletter_weekly", "email", 20),
    campaign("cmp_onboarding_drip", "email", 6),
    campaign("cmp_winback_90d", "email", 5),
    campaign("cmp_pricing_nurture", "email", 5),
    campaign("cmp_brand_search", "paid_search", 10),
    campaign("cmp_generic_search", "paid_search", 8),
    campaign("cmp_retargeting_pricing", "paid_social", 10),
    campaign("cmp_lookalike_prospecting", "paid_social", 8),
    campaign("cmp_product_launch", "paid_social", 8),
    campaign("cmp_spring_sale", "display", 6),
    campaign("cmp_summer_sale", "display", 6),
    campaign("cmp_black_friday", "display", 8),
];

/// Indexes in [`CAMPAIGNS`] of the newsletter and the pricing nurture emails.
const RECENT_OPEN_CAMPAIGNS: [usize; 2] = [0, 3];

/// One row of raw_campaign_touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchRow {
    pub touch_id: i64,
    pub customer_id: Option<i64>,
    pub campaign_id: &'static str,
    pub channel: &'static str,
    pub touched_at: i64,
    pub event: &'static str,
}

/// Replaces `rows` with the touches of `customer_id` (one of `customers`),
/// numbered from `*next_id` on (which is advanced past them).
pub fn generate(
    rows: &mut Vec<TouchRow>,
    seed: u64,
    (customer_id, customers): (i64, u64),
    profile: &Profile,
    clock: &Clock,
    next_id: &mut i64,
) {
    rows.clear();
    let mut rng = Rng::derive(seed, Stream::Touches, customer_id as u64);
    let plan = profile.persona.touch_plan();
    let active = profile.active_days();
    for _ in 0..rng.range(plan.count.0, plan.count.1) {
        let campaign = random_campaign(&mut rng);
        rows.push(touch(&mut rng, clock, Some(customer_id), campaign, active));
    }
    if let Some(recent) = RECENT_OPENS.until(active.oldest) {
        for _ in 0..rng.range(plan.recent_opens.0, plan.recent_opens.1) {
            rows.push(recent_open(&mut rng, clock, customer_id, recent));
        }
    }
    unmatched_touches(&mut rng, clock, rows, customers);
    rows.sort_by_key(|row| row.touched_at);
    for row in rows.iter_mut() {
        row.touch_id = *next_id;
        *next_id += 1;
    }
}

/// Touches without a customer, or with a customer id that does not exist.
fn unmatched_touches(rng: &mut Rng, clock: &Clock, rows: &mut Vec<TouchRow>, customers: u64) {
    let anytime = Days::new(0, OLDEST_DAY);
    if rng.percent(UNMATCHED_PERCENT) {
        for _ in 0..rng.range(1, 2) {
            let campaign = random_campaign(rng);
            rows.push(touch(rng, clock, None, campaign, anytime));
        }
    }
    if rng.percent(ORPHAN_PERCENT) {
        let unknown = customers as i64 + 1 + rng.below(customers / 10 + 1) as i64;
        let campaign = random_campaign(rng);
        rows.push(touch(rng, clock, Some(unknown), campaign, anytime));
    }
}

fn random_campaign(rng: &mut Rng) -> &'static Campaign {
    let weights: [u32; CAMPAIGNS.len()] = CAMPAIGNS.map(|c| c.weight);
    &CAMPAIGNS[rng.weighted(&weights)]
}

/// A touch of `campaign` on a day of `days`: email campaigns are opened or
/// clicked, ads are seen or clicked.
fn touch(
    rng: &mut Rng,
    clock: &Clock,
    customer_id: Option<i64>,
    campaign: &'static Campaign,
    days: Days,
) -> TouchRow {
    let event = if campaign.channel == "email" {
        ["email_open", "click"][rng.weighted(&[70, 30])]
    } else {
        ["impression", "click"][rng.weighted(&[80, 20])]
    };
    let day = days.pick(rng);
    TouchRow {
        touch_id: 0,
        customer_id,
        campaign_id: campaign.id,
        channel: campaign.channel,
        touched_at: clock.at(rng, day),
        event,
    }
}

/// An email open in the last weeks (high-intent customers).
fn recent_open(rng: &mut Rng, clock: &Clock, customer_id: i64, days: Days) -> TouchRow {
    let campaign = &CAMPAIGNS[*rng.pick(&RECENT_OPEN_CAMPAIGNS)];
    TouchRow {
        event: "email_open",
        ..touch(rng, clock, Some(customer_id), campaign, days)
    }
}

/// Column builders for raw_campaign_touches.
pub struct TouchBatch {
    schema: SchemaRef,
    touch_id: Int64Builder,
    customer_id: Int64Builder,
    campaign_id: StringBuilder,
    channel: StringBuilder,
    touched_at: schema::TimestampBuilder,
    event: StringBuilder,
}

impl TouchBatch {
    pub fn new(capacity: usize) -> Self {
        TouchBatch {
            schema: CAMPAIGN_TOUCHES.arrow_schema(),
            touch_id: Int64Builder::with_capacity(capacity),
            customer_id: Int64Builder::with_capacity(capacity),
            campaign_id: StringBuilder::with_capacity(capacity, capacity * 20),
            channel: StringBuilder::with_capacity(capacity, capacity * 10),
            touched_at: schema::timestamp_builder(capacity),
            event: StringBuilder::with_capacity(capacity, capacity * 10),
        }
    }

    pub fn push(&mut self, row: &TouchRow) {
        self.touch_id.append_value(row.touch_id);
        self.customer_id.append_option(row.customer_id);
        self.campaign_id.append_value(row.campaign_id);
        self.channel.append_value(row.channel);
        self.touched_at.append_value(row.touched_at);
        self.event.append_value(row.event);
    }
}

impl Batch for TouchBatch {
    fn len(&self) -> usize {
        self.touch_id.len()
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.touch_id.finish()),
            Arc::new(self.customer_id.finish()),
            Arc::new(self.campaign_id.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.touched_at.finish()),
            Arc::new(self.event.finish()),
        ];
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::persona::Persona;
    use chrono::NaiveDate;

    #[test]
    fn touches_average_about_ten_and_high_intent_opens_recently() {
        let clock = Clock::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap();
        let mut rows = Vec::new();
        let mut next_id = 1;
        let mut orphans = 0;
        for id in 1..=2_000 {
            let profile = Profile::of(4, id);
            generate(
                &mut rows,
                4,
                (id as i64, 2_000),
                &profile,
                &clock,
                &mut next_id,
            );
            orphans += rows.iter().filter(|r| r.customer_id > Some(2_000)).count();
            if profile.persona == Persona::HighIntent {
                assert!(rows.iter().any(|r| r.event == "email_open"
                    && r.customer_id == Some(id as i64)
                    && (2..=25).contains(&clock.days_ago(r.touched_at))));
            }
        }
        let per_customer = (next_id - 1) as f64 / 2_000.0;
        assert!((8.0..12.0).contains(&per_customer), "{per_customer}");
        assert!((5..50).contains(&orphans), "{orphans}");
    }
}
