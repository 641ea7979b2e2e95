//! The unit tests' random inputs: a 64-bit xorshift generator (13, 7, 17),
//! deterministic so that a failing input can be replayed. (The integration
//! tests have their own in `tests/common`, which unit tests cannot reach.)

pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next state, which is the output.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}
