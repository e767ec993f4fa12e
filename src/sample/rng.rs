//! A small, fixed pseudo-random number generator for sample data.
//!
//! The sample data must be byte-for-byte identical on every platform and with
//! every future version of our dependencies, so it cannot use a crate whose
//! algorithm may change. This is xoshiro256** (Blackman & Vigna, 2018) seeded
//! through SplitMix64, both exactly as in the reference C code, plus a few
//! integer-only helpers (no floating-point math beyond one exact division).
//!
//! Every customer gets independent streams derived from `(seed, stream, id)`,
//! so a customer's rows do not depend on the customers before it.

/// The SplitMix64 step: advances `state` and returns the next output.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The independent random streams of one customer (one per concern, so that
/// changing how sessions are drawn never changes the customer records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Profile = 1,
    Crm = 2,
    Sessions = 3,
    Orders = 4,
    Touches = 5,
}

/// xoshiro256**: 256 bits of state, period 2^256 - 1.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from one 64-bit value through SplitMix64.
    pub fn seeded(seed: u64) -> Self {
        let mut state = seed;
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Rng { s }
    }

    /// The generator for one `stream` of entity `id` under the run's `seed`.
    pub fn derive(seed: u64, stream: Stream, id: u64) -> Self {
        let mut state = seed;
        let run = splitmix64(&mut state);
        let mut state = run ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let keyed = splitmix64(&mut state);
        Rng::seeded(keyed ^ id)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (0 when `n` is 0), without modulo bias
    /// (Lemire's multiply-and-reject method).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// A uniform integer in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo) + 1;
        lo.wrapping_add(self.below(span) as i64)
    }

    /// True with probability `percent` / 100 (whole or fractional percent,
    /// resolved to 1/10000 so no float math is needed).
    pub fn percent(&mut self, percent: f64) -> bool {
        let basis_points = (percent * 100.0).round().clamp(0.0, 10_000.0) as u64;
        self.below(10_000) < basis_points
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.below(items.len() as u64) as usize;
        &items[index.min(items.len().saturating_sub(1))]
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut roll = self.below(total);
        for (index, &weight) in weights.iter().enumerate() {
            if roll < u64::from(weight) {
                return index;
            }
            roll -= u64::from(weight);
        }
        weights.len().saturating_sub(1)
    }

    /// An element of `(item, weight)` pairs, chosen proportionally to weight.
    pub fn weighted_pick<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let mut roll = self.below(table.iter().map(|&(_, w)| u64::from(w)).sum());
        for &(item, weight) in table {
            if roll < u64::from(weight) {
                return item;
            }
            roll -= u64::from(weight);
        }
        table[table.len() - 1].0
    }

    /// A string of `n` random decimal digits, appended to `out`.
    pub fn push_digits(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push(char::from(b'0' + self.below(10) as u8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference C implementation for seed 1234567.
        let mut state = 1_234_567;
        let got: Vec<u64> = (0..5).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn xoshiro256starstar_matches_the_reference_sequence() {
        let mut rng = Rng { s: [1, 2, 3, 4] };
        let got: Vec<u64> = (0..6).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                11_520,
                0,
                1_509_978_240,
                1_215_971_899_390_074_240,
                1_216_172_134_540_287_360,
                607_988_272_756_665_600,
            ]
        );
    }

    #[test]
    fn derived_streams_differ_by_seed_stream_and_id() {
        let a = Rng::derive(42, Stream::Sessions, 7).next_u64();
        assert_eq!(a, Rng::derive(42, Stream::Sessions, 7).next_u64());
        assert_ne!(a, Rng::derive(43, Stream::Sessions, 7).next_u64());
        assert_ne!(a, Rng::derive(42, Stream::Orders, 7).next_u64());
        assert_ne!(a, Rng::derive(42, Stream::Sessions, 8).next_u64());
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut rng = Rng::seeded(1);
        assert_eq!(rng.below(0), 0);
        for _ in 0..10_000 {
            assert!(rng.below(7) < 7);
            let r = rng.range(-3, 3);
            assert!((-3..=3).contains(&r));
        }
        assert_eq!(rng.range(5, 5), 5);
        assert_eq!(rng.range(5, 2), 5);
    }

    #[test]
    fn weighted_follows_the_weights() {
        let mut rng = Rng::seeded(9);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[rng.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
        assert!((19_000..21_000).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn percent_is_roughly_right() {
        let mut rng = Rng::seeded(3);
        let hits = (0..100_000).filter(|_| rng.percent(2.5)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
        assert!(!Rng::seeded(3).percent(0.0));
        assert!(Rng::seeded(3).percent(100.0));
    }
}
