//! Small deterministic helpers: seeded RNG streams, samplers, time arithmetic.

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;
pub(crate) const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SEC;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Independent random streams. Every chunk of work gets its own generator
/// seeded from (seed, stream, chunk index) so output never depends on how
/// rayon schedules the chunks.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    Catalog = 1,
    SpendRaw = 2,
    Spend = 3,
    Installs = 4,
    Events = 5,
}

pub(crate) fn rng_for(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(stream as u64).to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    key[24..].copy_from_slice(b"quarry-d");
    ChaCha8Rng::from_seed(key)
}

pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

/// Log-normal draw parameterised by its median.
pub(crate) fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Inclusive integer range; returns `lo` when the range is empty.
pub(crate) fn int_in<R: Rng + ?Sized>(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

pub(crate) fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    rng.random::<f64>() < p
}

pub(crate) fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 || lambda.is_infinite() {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u64;
        let mut p = 1.0;
        loop {
            p *= rng.random::<f64>();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    match Poisson::new(lambda) {
        Ok(dist) => {
            let x: f64 = dist.sample(rng);
            x.max(0.0) as u64
        }
        Err(_) => (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u64,
    }
}

/// Index drawn proportionally to `weights` (which need not sum to one).
pub(crate) fn pick<R: Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// SplitMix64 finaliser: a fast, well-mixing bijection on u64.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Random-looking but unique user id for the n-th install (a bijection on
/// 34-bit integers, offset so ids have ten or eleven digits).
pub(crate) fn user_id_for(index: u64) -> i64 {
    const BITS: u32 = 34;
    const MASK: u64 = (1 << BITS) - 1;
    let mut x = index & MASK;
    x = x.wrapping_mul(0x2545_F491) & MASK; // odd multiplier: bijective mod 2^34
    x ^= x >> 17; // xorshift: bijective
    x = x.wrapping_mul(0x1B87_3593) & MASK;
    x ^= x >> 15;
    1_000_000_000 + x as i64
}

/// Lower-case hex of a u64, 16 characters.
pub(crate) fn hex16(v: u64, buf: &mut [u8; 16]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf.iter_mut().enumerate() {
        let shift = 60 - 4 * i as u32;
        *b = DIGITS[((v >> shift) & 0xF) as usize];
    }
    std::str::from_utf8(buf).expect("hex digits are ASCII")
}

/// Days since 1970-01-01 (the Arrow Date32 representation).
pub(crate) fn date32(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// Microseconds since the epoch at midnight starting `date`.
pub(crate) fn day_start_micros(date: NaiveDate) -> i64 {
    i64::from(date32(date)) * MICROS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000u64 {
            assert!(seen.insert(user_id_for(i)));
        }
    }

    #[test]
    fn date32_matches_epoch() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        assert_eq!(date32(epoch), 0);
        let d = NaiveDate::from_ymd_opt(2026, 11, 18).expect("valid date");
        assert_eq!(i64::from(date32(d)), (d - epoch).num_days());
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = rng_for(1, Stream::Spend, 0);
        for lambda in [0.3, 4.0, 80.0] {
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| poisson(&mut rng, lambda)).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.05,
                "{lambda}: {mean}"
            );
        }
    }
}
