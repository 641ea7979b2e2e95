//! The simulator's randomness: ChaCha8, keyed by the seed, one stream per
//! independent piece of the tenant.
//!
//! Every user-day, the directory, the admins' day and the attack draw from
//! their own stream (`set_stream`), so what one of them draws never shifts
//! another: adding a noise event to one user leaves every other user's
//! records unchanged, and the same seed always gives the same bytes.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for; the tag goes into the high bits of the stream id.
#[derive(Clone, Copy)]
pub enum Stream {
    Directory = 1,
    UserDay = 2,
    AdminDay = 3,
    Attack = 4,
}

pub struct Rng(ChaCha8Rng);

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8; 16] = b"0123456789abcdef";

impl Rng {
    /// The stream `kind` / `a` / `b` of `seed` (e.g. user-day: a = user, b = day).
    pub fn stream(seed: u64, kind: Stream, a: u64, b: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(b"vigiesim");
        let mut inner = ChaCha8Rng::from_seed(key);
        inner.set_stream(((kind as u64) << 56) ^ (a << 24) ^ b);
        Rng(inner)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (`n` > 0; 0 gives 0). Multiply-shift: the bias is
    /// below 2^-40 for the small ranges used here and costs no rejection loop.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (empty range gives `lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Callers pass the constant, non-empty tables of `catalog`.
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random (version 4) GUID in lower-case hex.
    pub fn guid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s
    }

    /// A token identifier (`uti`) as Entra writes it: 16 random bytes in
    /// base64url without padding, 22 characters (e.g. `3kVZRE8tFkinHtPA7_EFAA`).
    pub fn token_id(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        let mut s = String::with_capacity(22);
        let mut acc: u32 = 0;
        let mut bits = 0;
        for b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                s.push(BASE64URL[((acc >> bits) & 63) as usize] as char);
            }
        }
        if bits > 0 {
            s.push(BASE64URL[((acc << (6 - bits)) & 63) as usize] as char);
        }
        s
    }

    /// `n` upper-case hex digits.
    pub fn hex_upper(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| HEX[self.below(16) as usize].to_ascii_uppercase() as char)
            .collect()
    }
}

/// A fast stateless mix (SplitMix64's finaliser) for values derived from
/// indices, such as a message's id from its mailbox and sequence number.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_ids() {
        let mut r = Rng::stream(1, Stream::Directory, 0, 0);
        let g = r.guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert_eq!(r.token_id().len(), 22);
        let mut a = Rng::stream(7, Stream::UserDay, 3, 4);
        let mut b = Rng::stream(7, Stream::UserDay, 3, 4);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut c = Rng::stream(7, Stream::UserDay, 3, 5);
        assert_ne!(a.next_u64(), c.next_u64());
    }
}
