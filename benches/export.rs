//! Benchmark: Customer Match normalization and hashing of 1,000,000
//! generated customers on one thread (email; a phone for 8 in 9, in the
//! formats people write in the US, Germany, Britain and France, 2% of them
//! typos; names, country, zip; 10% without consent), CSV lines included.
//! Prints the median of several runs.
//!
//! Run: `cargo bench --bench export` (`COHORT_BENCH_RUNS` sets the runs, default 5).

#[path = "support/random.rs"]
mod random;

use std::time::{Duration, Instant};

use cohort::export::{Columns, Normalizer, Options, Row, Tally};
use random::Lcg;

const CUSTOMERS: usize = 1_000_000;

fn runs() -> usize {
    std::env::var("COHORT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// A raw customer, as a CRM export holds it.
struct Customer {
    email: String,
    phone: Option<String>,
    first: String,
    last: String,
    country: &'static str,
    zip: String,
    consent: bool,
}

const FIRST: [&str; 8] = [
    "John",
    "Zoë",
    "Anna",
    " Mary Ann ",
    "Lukas",
    "Chloé",
    "James",
    "Émilie",
];
const LAST: [&str; 8] = [
    "Smith", "Pérez", "O'Neil", "Müller", "Dupont", "Lee-Wong", "Brown", "Schmidt",
];
const DOMAINS: [&str; 5] = [
    "gmail.com",
    "Example.com",
    "web.de",
    "googlemail.com",
    "orange.fr",
];

/// German mobile prefixes (without the trunk 0).
const DE_MOBILE: [&str; 5] = ["151", "160", "170", "176", "179"];
/// Real area codes, so US numbers are valid as a CRM's mostly are.
const US_AREAS: [u64; 10] = [212, 305, 310, 312, 415, 512, 617, 646, 702, 713];

/// A NANP exchange: 2xx-9xx, never N11 or 555.
fn exchange(rng: &mut Lcg) -> u64 {
    loop {
        let code = 200 + rng.below(800);
        if code % 100 != 11 && code != 555 {
            return code;
        }
    }
}

fn customers() -> Vec<Customer> {
    let mut rng = Lcg(42);
    (0..CUSTOMERS)
        .map(|i| {
            let (first, last) = (FIRST[rng.below(8) as usize], LAST[rng.below(8) as usize]);
            let domain = DOMAINS[rng.below(5) as usize];
            let n = rng.below(10_000_000);
            // Numbers in ranges the numbering plans assign (as the sample data's).
            let (country, phone, zip) = match i % 4 {
                0 => {
                    let area = US_AREAS[rng.below(10) as usize];
                    let exchange = exchange(&mut rng);
                    let line = n % 10_000;
                    let zip = format!("{:05}", n % 100_000);
                    ("US", format!("({area}) {exchange}-{line:04}"), zip)
                }
                1 => {
                    let prefix = DE_MOBILE[rng.below(5) as usize];
                    let zip = format!("{:05}", 10_000 + n % 89_999);
                    ("DE", format!("0{prefix} {n:08}"), zip)
                }
                2 => {
                    let prefix = 7100 + rng.below(300);
                    let phone = format!("+44 (0){prefix} {:06}", n % 1_000_000);
                    ("GB", phone, "SW1A 1AA".to_string())
                }
                _ => {
                    let second = [0, 1, 2, 4, 5, 6, 7, 8][rng.below(8) as usize];
                    let phone = format!(
                        "06 {second}{} {:02} {:02} {:02}",
                        n % 10,
                        (n / 10) % 100,
                        (n / 1_000) % 100,
                        i % 100
                    );
                    ("FR", phone, "75001".to_string())
                }
            };
            // 1 in 50 phones is a typo (a digit short): invalid, rejected.
            let phone = if i % 50 == 7 {
                phone[..phone.len() - 1].to_string()
            } else {
                phone
            };
            Customer {
                email: format!(" {first}.{last}{i}@{domain} "),
                phone: (i % 9 != 0).then_some(phone),
                first: first.to_string(),
                last: last.to_string(),
                country,
                zip,
                consent: i % 10 != 0,
            }
        })
        .collect()
}

/// This process's CPU time (user + system) where Linux's /proc tells it: on a
/// machine shared with other work the wall time overstates the cost.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    let data = customers();
    let normalizer = Normalizer::new(
        Columns {
            emails: 1,
            phones: 1,
            address: true,
        },
        Options {
            hash: true,
            gmail_remove_dots: true,
            default_country: Some("DE".into()),
        },
    );
    let mut samples = Vec::new();
    let mut cpu = Vec::new();
    let mut last = Tally::default();
    for _ in 0..runs() {
        let start = Instant::now();
        let cpu_start = cpu_time();
        let mut tally = Tally::default();
        let mut out = String::with_capacity(256 * 1024 * 1024);
        for c in &data {
            let (email, phone) = ([Some(c.email.as_str())], [c.phone.as_deref()]);
            normalizer.push_row(
                &Row {
                    emails: &email,
                    phones: &phone,
                    first_name: Some(&c.first),
                    last_name: Some(&c.last),
                    country: Some(c.country),
                    zip: Some(&c.zip),
                    consent: c.consent,
                },
                &mut tally,
                &mut out,
            );
        }
        samples.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu_start, cpu_time()) {
            cpu.push(b.saturating_sub(a));
        }
        std::hint::black_box(&out);
        last = tally;
    }
    samples.sort();
    cpu.sort();
    let median: Duration = samples[samples.len() / 2];
    let cpu = cpu
        .get(cpu.len() / 2)
        .map(|c| format!(", CPU time {:.3}s", c.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "normalize + hash {CUSTOMERS} customers (one thread): median wall {:.3}s{cpu} over {} runs ({} written, {} without consent, rejects {:?})",
        median.as_secs_f64(),
        samples.len(),
        last.written,
        last.consent_excluded,
        last.rejects
    );
}
