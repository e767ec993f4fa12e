//! raw_customers: one CRM record per customer, plus a second, later record
//! for about 3% of them (a second CRM sync with slightly changed fields; the
//! newest `updated_at` wins downstream).

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

use super::address::Address;
use super::clock::{Clock, DAY_US};
use super::email::Email;
use super::names;
use super::persona::{Country, Profile};
use super::phone::Phone;
use super::rng::{Rng, Stream};
use super::schema::{self, CUSTOMERS};
use super::table::Batch;

/// Percent of customers with a second CRM record.
const RESYNC_PERCENT: f64 = 3.0;

/// CRM systems the records come from, with weights.
const CRM_SOURCES: [(&str, u32); 4] = [
    ("hubspot", 40),
    ("salesforce", 25),
    ("shopify", 25),
    ("manual_import", 10),
];

/// One row of raw_customers.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub customer_id: i64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub country: Option<String>,
    pub zip: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub consent_ad_user_data: Option<bool>,
    pub consent_ad_personalization: Option<bool>,
    pub crm_source: &'static str,
}

/// The clean facts behind a customer's records.
struct Person {
    first: &'static str,
    last: &'static str,
    email: Option<Email>,
    phone: Option<Phone>,
    address: Address,
}

impl Person {
    /// Someone from `country`; 6% never gave an email, 12% no phone.
    fn random(rng: &mut Rng, country: Country) -> Person {
        let (first, last) = names::random_name(rng, country);
        let email = (!rng.percent(6.0)).then(|| Email::random(rng, first, last, country));
        let address = Address::random(rng, country);
        let phone = (!rng.percent(12.0)).then(|| address.random_phone(rng));
        Person {
            first,
            last,
            email,
            phone,
            address,
        }
    }
}

/// The CRM records of one customer: the first, and maybe a later second sync.
pub fn records(
    seed: u64,
    customer_id: i64,
    profile: &Profile,
    clock: &Clock,
) -> (CustomerRow, Option<CustomerRow>) {
    let mut rng = Rng::derive(seed, Stream::Crm, customer_id as u64);
    let person = Person::random(&mut rng, profile.country);
    let first = first_record(&mut rng, &person, customer_id, profile, clock);
    let second = rng
        .percent(RESYNC_PERCENT)
        .then(|| resync(&mut rng, &person, &first, clock));
    (first, second)
}

/// The record of the first CRM sync, created on the profile's signup day.
fn first_record(
    rng: &mut Rng,
    person: &Person,
    customer_id: i64,
    profile: &Profile,
    clock: &Clock,
) -> CustomerRow {
    let created_at = clock.at(rng, profile.created_day);
    let updated_at = if rng.percent(40.0) {
        created_at
    } else {
        clock.later(rng, created_at, 120 * DAY_US)
    };
    let (consent_ad_user_data, consent_ad_personalization) = consent(rng, profile.country);
    CustomerRow {
        customer_id,
        email: person.email.as_ref().map(|e| e.render(rng)),
        phone: person.phone.as_ref().map(|p| p.render(rng)),
        first_name: names::render_name(rng, person.first),
        last_name: names::render_name(rng, person.last),
        country: Some(render_country(rng, profile.country)),
        zip: render_zip(rng, &person.address),
        created_at,
        updated_at,
        consent_ad_user_data,
        consent_ad_personalization,
        crm_source: rng.weighted_pick(&CRM_SOURCES),
    }
}

/// A second sync of `first`: later `updated_at`, one to three fields changed.
fn resync(rng: &mut Rng, person: &Person, first: &CustomerRow, clock: &Clock) -> CustomerRow {
    let mut row = first.clone();
    row.updated_at = clock.later(rng, first.updated_at, 90 * DAY_US);
    if rng.percent(50.0) {
        row.crm_source = rng.weighted_pick(&CRM_SOURCES);
    }
    for _ in 0..rng.range(1, 3) {
        change_one_field(rng, person, &mut row);
    }
    row
}

/// One of the edits a second CRM system makes to a record.
fn change_one_field(rng: &mut Rng, person: &Person, row: &mut CustomerRow) {
    match rng.below(6) {
        0 => {
            row.email = Some(match &person.email {
                Some(email) => email.render(rng),
                None => Email::random(rng, person.first, person.last, person.address.country)
                    .render(rng),
            })
        }
        1 => row.phone = person.phone.as_ref().map(|p| p.render(rng)),
        2 => row.last_name = changed_last_name(rng, person),
        3 => {
            row.consent_ad_user_data = Some(!row.consent_ad_user_data.unwrap_or(false));
            row.consent_ad_personalization = row.consent_ad_user_data;
        }
        4 => row.zip = render_zip(rng, &person.address),
        _ => row.first_name = names::strip_accents(person.first),
    }
}

/// A last name as another system has it: without accents, or a new one.
fn changed_last_name(rng: &mut Rng, person: &Person) -> String {
    if rng.percent(70.0) {
        names::strip_accents(person.last)
    } else {
        names::random_name(rng, person.address.country)
            .1
            .to_string()
    }
}

/// Consent to ads use; NULL means the question was never answered. EU and UK
/// customers answer "no" (or not at all) more often.
fn consent(rng: &mut Rng, country: Country) -> (Option<bool>, Option<bool>) {
    let weights: &[u32] = match country {
        Country::Us | Country::Ca => &[75, 10, 15],
        _ => &[55, 25, 20],
    };
    let user_data = [Some(true), Some(false), None][rng.weighted(weights)];
    let personalization = match user_data {
        None if rng.percent(80.0) => None,
        None => Some(rng.percent(50.0)),
        Some(false) => (rng.percent(90.0)).then_some(false),
        Some(true) => [Some(true), Some(false), None][rng.weighted(&[85, 10, 5])],
    };
    (user_data, personalization)
}

/// The country as typed: ISO alpha-2, sometimes lower case or padded.
fn render_country(rng: &mut Rng, country: Country) -> String {
    let code = country.code();
    match rng.weighted(&[92, 5, 3]) {
        0 => code.to_string(),
        1 => code.to_lowercase(),
        _ => names::pad_sometimes(rng, code.to_string(), 100.0),
    }
}

/// The postal code, or NULL for 3% of records.
fn render_zip(rng: &mut Rng, address: &Address) -> Option<String> {
    (!rng.percent(3.0)).then(|| address.render_postal(rng))
}

/// Column builders for raw_customers.
pub struct CustomerBatch {
    schema: SchemaRef,
    customer_id: Int64Builder,
    email: StringBuilder,
    phone: StringBuilder,
    first_name: StringBuilder,
    last_name: StringBuilder,
    country: StringBuilder,
    zip: StringBuilder,
    created_at: schema::TimestampBuilder,
    updated_at: schema::TimestampBuilder,
    consent_ad_user_data: BooleanBuilder,
    consent_ad_personalization: BooleanBuilder,
    crm_source: StringBuilder,
}

impl CustomerBatch {
    pub fn new(capacity: usize) -> Self {
        CustomerBatch {
            schema: CUSTOMERS.arrow_schema(),
            customer_id: Int64Builder::with_capacity(capacity),
            email: StringBuilder::new(),
            phone: StringBuilder::new(),
            first_name: StringBuilder::new(),
            last_name: StringBuilder::new(),
            country: StringBuilder::new(),
            zip: StringBuilder::new(),
            created_at: schema::timestamp_builder(capacity),
            updated_at: schema::timestamp_builder(capacity),
            consent_ad_user_data: BooleanBuilder::with_capacity(capacity),
            consent_ad_personalization: BooleanBuilder::with_capacity(capacity),
            crm_source: StringBuilder::new(),
        }
    }

    pub fn push(&mut self, row: &CustomerRow) {
        self.customer_id.append_value(row.customer_id);
        self.email.append_option(row.email.as_deref());
        self.phone.append_option(row.phone.as_deref());
        self.first_name.append_value(&row.first_name);
        self.last_name.append_value(&row.last_name);
        self.country.append_option(row.country.as_deref());
        self.zip.append_option(row.zip.as_deref());
        self.created_at.append_value(row.created_at);
        self.updated_at.append_value(row.updated_at);
        self.consent_ad_user_data
            .append_option(row.consent_ad_user_data);
        self.consent_ad_personalization
            .append_option(row.consent_ad_personalization);
        self.crm_source.append_value(row.crm_source);
    }
}

impl Batch for CustomerBatch {
    fn len(&self) -> usize {
        self.customer_id.len()
    }

    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.customer_id.finish()),
            Arc::new(self.email.finish()),
            Arc::new(self.phone.finish()),
            Arc::new(self.first_name.finish()),
            Arc::new(self.last_name.finish()),
            Arc::new(self.country.finish()),
            Arc::new(self.zip.finish()),
            Arc::new(self.created_at.finish()),
            Arc::new(self.updated_at.finish()),
            Arc::new(self.consent_ad_user_data.finish()),
            Arc::new(self.consent_ad_personalization.finish()),
            Arc::new(self.crm_source.finish()),
        ];
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn clock() -> Clock {
        Clock::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap()
    }

    #[test]
    fn records_are_deterministic_and_resyncs_are_later() {
        let clock = clock();
        let mut resyncs = 0;
        for id in 1..=3_000 {
            let profile = Profile::of(7, id);
            let (first, second) = records(7, id as i64, &profile, &clock);
            assert_eq!(
                (first.clone(), second.clone()),
                records(7, id as i64, &profile, &clock)
            );
            assert!(first.updated_at >= first.created_at && first.updated_at <= clock.end());
            if let Some(second) = second {
                resyncs += 1;
                assert_eq!(second.customer_id, first.customer_id);
                assert_eq!(second.created_at, first.created_at);
                assert!(second.updated_at > first.updated_at, "{id}");
            }
        }
        assert!((50..150).contains(&resyncs), "{resyncs}");
    }

    #[test]
    fn batch_has_the_contract_schema() {
        let clock = clock();
        let mut batch = CustomerBatch::new(4);
        let (first, _) = records(1, 1, &Profile::of(1, 1), &clock);
        batch.push(&first);
        let rb = batch.finish().unwrap();
        assert_eq!(rb.num_rows(), 1);
        assert_eq!(rb.schema(), CUSTOMERS.arrow_schema());
        assert_eq!(batch.len(), 0);
    }
}
