//! Random inputs for tests and benchmark examples, in this crate and
//! (through the `test-rng` feature, which only dev-dependencies enable) in
//! the crates built on it: a 64-bit xorshift generator (13, 7, 17),
//! deterministic so that a failing input can be replayed.

pub struct XorShift(pub u64);

impl XorShift {
    /// The next state, which is the output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}
