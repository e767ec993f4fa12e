//! Personas: who each sample customer is, and the plan their activity follows.
//!
//! Every customer gets a [`Profile`] (persona, country, signup day) from its
//! own random stream. The persona's plan decides when the customer visits,
//! orders and is reached by campaigns, so that the example project's segments
//! (churn risk, high intent, RFM champions, one-time buyers, browsers, lapsed
//! and new customers) each hold a few percent of the customers. Windows are
//! in days before `as_of` and keep a margin of a few days from the segment
//! boundaries, so a segment does not depend on how its SQL rounds a window.

use super::clock::OLDEST_DAY;
use super::rng::{Rng, Stream};

/// The behaviour a sample customer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    /// Frequent, recent, high-spend buyer.
    Champion,
    /// Good customer whose last order was 60-90 days ago and who visits less.
    ChurnRisk,
    /// Reads emails and keeps looking at pricing, has not ordered lately.
    HighIntent,
    /// Regular buyer with a recent order.
    Loyal,
    /// Bought exactly once.
    OneTime,
    /// Visits, never buys.
    Browser,
    /// Bought a while ago, nothing for the last half year.
    Lapsed,
    /// Signed up in the last month.
    New,
}

/// How common each persona is, in percent.
pub const PERSONA_WEIGHTS: [(Persona, u32); 8] = [
    (Persona::Champion, 6),
    (Persona::ChurnRisk, 6),
    (Persona::HighIntent, 5),
    (Persona::Loyal, 16),
    (Persona::OneTime, 17),
    (Persona::Browser, 28),
    (Persona::Lapsed, 12),
    (Persona::New, 10),
];

/// Where a customer lives; drives phone, zip, names, currency and consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Country {
    Us,
    De,
    Gb,
    Fr,
    Ca,
}

/// How common each country is, in percent.
const COUNTRY_WEIGHTS: [(Country, u32); 5] = [
    (Country::Us, 50),
    (Country::De, 20),
    (Country::Gb, 15),
    (Country::Fr, 12),
    (Country::Ca, 3),
];

impl Country {
    /// The ISO 3166-1 alpha-2 code.
    pub fn code(self) -> &'static str {
        match self {
            Country::Us => "US",
            Country::De => "DE",
            Country::Gb => "GB",
            Country::Fr => "FR",
            Country::Ca => "CA",
        }
    }

    /// The ISO 4217 currency orders are paid in.
    pub fn currency(self) -> &'static str {
        match self {
            Country::Us | Country::Ca => "USD",
            Country::De | Country::Fr => "EUR",
            Country::Gb => "GBP",
        }
    }

    /// A random country, by [`COUNTRY_WEIGHTS`].
    pub fn random(rng: &mut Rng) -> Country {
        rng.weighted_pick(&COUNTRY_WEIGHTS)
    }
}

/// A closed range of days before `as_of` (`newest` <= `oldest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub newest: i64,
    pub oldest: i64,
}

impl Days {
    pub const fn new(newest: i64, oldest: i64) -> Self {
        Days { newest, oldest }
    }

    /// These days, cut so that nothing is older than `limit`; `None` if empty.
    pub fn until(self, limit: i64) -> Option<Days> {
        let oldest = self.oldest.min(limit);
        (oldest >= self.newest).then_some(Days::new(self.newest, oldest))
    }

    /// A uniformly random day in the range.
    pub fn pick(self, rng: &mut Rng) -> i64 {
        rng.range(self.newest, self.oldest)
    }
}

/// A stretch of visits: how many sessions fall on which days, and how likely
/// each is to include pricing pages.
#[derive(Debug, Clone, Copy)]
pub struct SessionEra {
    pub days: Days,
    pub count: (i64, i64),
    pub pricing: Pricing,
}

/// How much a session looks at the pricing page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pricing {
    /// One pricing view with this probability in percent.
    Sometimes(f64),
    /// One to three pricing views every time.
    Always,
}

/// The orders of a persona: a run of orders ending with the last order.
#[derive(Debug, Clone, Copy)]
pub struct OrderPlan {
    /// Probability in percent that the customer orders at all.
    pub buys_percent: f64,
    /// Number of orders (completed when `all_completed`).
    pub count: (i64, i64),
    /// Days of the most recent order.
    pub last: Days,
    /// Earlier orders fall between `last + gap` and the signup day.
    pub gap: i64,
    /// Extra refunded or cancelled orders placed before the last order.
    pub extra: (i64, i64),
    /// Whether the counted orders are all completed (persona guarantees).
    pub all_completed: bool,
    /// Order value in cents.
    pub cents: (i64, i64),
}

/// The campaign touches of a persona.
#[derive(Debug, Clone, Copy)]
pub struct TouchPlan {
    pub count: (i64, i64),
    /// Recent `email_open` touches on top of the others.
    pub recent_opens: (i64, i64),
}

/// One customer's fixed facts, drawn from its profile stream.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub persona: Persona,
    pub country: Country,
    /// Signup day, in days before `as_of`; all activity is newer.
    pub created_day: i64,
}

impl Profile {
    /// The profile of `customer_id` under `seed`.
    pub fn of(seed: u64, customer_id: u64) -> Profile {
        let mut rng = Rng::derive(seed, Stream::Profile, customer_id);
        let persona = rng.weighted_pick(&PERSONA_WEIGHTS);
        let country = Country::random(&mut rng);
        let created_day = persona.signup_days().pick(&mut rng);
        Profile {
            persona,
            country,
            created_day,
        }
    }

    /// The days on which this customer can be active (after signup).
    pub fn active_days(&self) -> Days {
        Days::new(0, self.created_day - 1)
    }
}

impl Persona {
    /// When customers of this persona signed up.
    pub fn signup_days(self) -> Days {
        let newest = match self {
            Persona::Champion => 250,
            Persona::ChurnRisk => 200,
            Persona::HighIntent => 60,
            Persona::Loyal => 150,
            Persona::OneTime => 40,
            Persona::Browser => 20,
            Persona::Lapsed => 260,
            Persona::New => return Days::new(3, 27),
        };
        Days::new(newest, OLDEST_DAY)
    }

    /// The stretches of sessions of this persona.
    pub fn session_eras(self) -> &'static [SessionEra] {
        const fn era(newest: i64, oldest: i64, count: (i64, i64), pricing: Pricing) -> SessionEra {
            SessionEra {
                days: Days::new(newest, oldest),
                count,
                pricing,
            }
        }
        const RARE: Pricing = Pricing::Sometimes(4.0);
        const NONE: Pricing = Pricing::Sometimes(0.0);
        match self {
            Persona::Champion => const { &[era(0, OLDEST_DAY, (30, 45), Pricing::Sometimes(6.0))] },
            Persona::ChurnRisk => {
                const {
                    &[
                        era(91, OLDEST_DAY, (12, 22), RARE),
                        era(61, 89, (2, 4), RARE),
                        era(33, 56, (5, 8), RARE),
                        era(2, 27, (0, 2), NONE),
                    ]
                }
            }
            Persona::HighIntent => {
                const {
                    &[
                        era(8, OLDEST_DAY, (6, 14), RARE),
                        era(1, 5, (2, 4), Pricing::Always),
                    ]
                }
            }
            Persona::Loyal => const { &[era(0, OLDEST_DAY, (18, 30), Pricing::Sometimes(3.0))] },
            Persona::OneTime => const { &[era(0, OLDEST_DAY, (7, 16), RARE)] },
            Persona::Browser => const { &[era(0, OLDEST_DAY, (9, 26), RARE)] },
            Persona::Lapsed => {
                const {
                    &[
                        era(150, OLDEST_DAY, (6, 14), RARE),
                        era(0, 149, (0, 1), NONE),
                    ]
                }
            }
            Persona::New => const { &[era(0, 26, (2, 8), Pricing::Sometimes(10.0))] },
        }
    }

    /// The orders of this persona.
    pub fn order_plan(self) -> OrderPlan {
        let plan = OrderPlan {
            buys_percent: 100.0,
            count: (0, 0),
            last: Days::new(0, 0),
            gap: 7,
            extra: (0, 0),
            all_completed: false,
            cents: (2_000, 12_000),
        };
        match self {
            Persona::Champion => OrderPlan {
                count: (7, 12),
                last: Days::new(1, 14),
                gap: 3,
                extra: (0, 1),
                all_completed: true,
                cents: (15_000, 45_000),
                ..plan
            },
            Persona::ChurnRisk => OrderPlan {
                count: (3, 6),
                last: Days::new(63, 87),
                gap: 30,
                extra: (0, 1),
                all_completed: true,
                cents: (8_000, 25_000),
                ..plan
            },
            Persona::HighIntent => OrderPlan {
                buys_percent: 60.0,
                count: (1, 2),
                last: Days::new(45, OLDEST_DAY),
                cents: (3_000, 12_000),
                ..plan
            },
            Persona::Loyal => OrderPlan {
                count: (2, 3),
                last: Days::new(5, 60),
                cents: (2_000, 6_000),
                ..plan
            },
            Persona::OneTime => OrderPlan {
                count: (1, 1),
                last: Days::new(20, OLDEST_DAY),
                ..plan
            },
            Persona::Browser => OrderPlan {
                buys_percent: 0.0,
                ..plan
            },
            Persona::Lapsed => OrderPlan {
                count: (1, 4),
                last: Days::new(185, OLDEST_DAY),
                cents: (3_000, 12_000),
                ..plan
            },
            Persona::New => OrderPlan {
                buys_percent: 50.0,
                count: (1, 1),
                last: Days::new(0, 26),
                ..plan
            },
        }
    }

    /// The campaign touches of this persona.
    pub fn touch_plan(self) -> TouchPlan {
        let (count, recent_opens) = match self {
            Persona::Champion => ((12, 20), (0, 0)),
            Persona::ChurnRisk => ((8, 16), (0, 0)),
            Persona::HighIntent => ((6, 12), (1, 3)),
            Persona::Loyal => ((8, 16), (0, 0)),
            Persona::OneTime => ((5, 12), (0, 0)),
            Persona::Browser => ((4, 12), (0, 0)),
            Persona::Lapsed => ((4, 10), (0, 0)),
            Persona::New => ((2, 6), (0, 0)),
        };
        TouchPlan {
            count,
            recent_opens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Persona; 8] = [
        Persona::Champion,
        Persona::ChurnRisk,
        Persona::HighIntent,
        Persona::Loyal,
        Persona::OneTime,
        Persona::Browser,
        Persona::Lapsed,
        Persona::New,
    ];

    #[test]
    fn weights_cover_every_persona_and_sum_to_100() {
        let total: u32 = PERSONA_WEIGHTS.iter().map(|(_, w)| w).sum();
        assert_eq!(total, 100);
        for persona in ALL {
            assert!(PERSONA_WEIGHTS.iter().any(|(p, _)| *p == persona));
        }
    }

    #[test]
    fn plans_fit_inside_the_signup_window() {
        for persona in ALL {
            let signup = persona.signup_days();
            assert!(
                signup.newest >= 1 && signup.oldest <= OLDEST_DAY,
                "{persona:?}"
            );
            for era in persona.session_eras() {
                assert!(era.days.newest <= era.days.oldest, "{persona:?}");
            }
            let plan = persona.order_plan();
            if plan.buys_percent > 0.0 {
                assert!(
                    plan.last.newest < signup.newest,
                    "{persona:?}: orders before signup"
                );
            }
        }
    }

    #[test]
    fn churn_risk_sessions_decline_by_construction() {
        let eras = Persona::ChurnRisk.session_eras();
        let recent: i64 = eras
            .iter()
            .filter(|e| e.days.oldest < 30)
            .map(|e| e.count.1)
            .sum();
        let before: i64 = eras
            .iter()
            .filter(|e| e.days.newest >= 30 && e.days.oldest < 60)
            .map(|e| e.count.0)
            .sum();
        assert!(recent < before);
    }

    #[test]
    fn profiles_are_stable_and_spread_over_personas() {
        assert_eq!(Profile::of(42, 1).persona, Profile::of(42, 1).persona);
        let mut champions = 0;
        for id in 1..=10_000 {
            let p = Profile::of(42, id);
            assert!(p.created_day >= 1 && p.created_day <= OLDEST_DAY);
            champions += usize::from(p.persona == Persona::Champion);
        }
        assert!((450..750).contains(&champions), "{champions}");
    }
}
