//! `load_balance_hosts=random` (libpq 16+): libpq's generator (`pg_prng.c`,
//! xoroshiro128** seeded by splitmix64 or by strong random bits) and its
//! inside-out Fisher-Yates shuffle (`pqConnectOptions2` for the host list,
//! `PQconnectPoll` for each host's addresses).

/// `pg_prng_state`.
#[derive(Clone, Debug)]
pub(crate) struct Prng {
    s0: u64,
    s1: u64,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut v = *state;
    v = (v ^ (v >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    v = (v ^ (v >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    v ^ (v >> 31)
}

impl Prng {
    /// `libpq_prng_init`: strong random bits (`pg_prng_strong_seed`), or
    /// `pg_prng_seed(seed)` when a seed is given.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let mut p = match seed {
            Some(mut s) => Self {
                s0: splitmix64(&mut s),
                s1: splitmix64(&mut s),
            },
            None => {
                let mut b = [0u8; 16];
                // libpq falls back to time and pid when strong bits fail; so
                // do we (the address of the state and the clock).
                if aws_lc_rs::rand::fill(&mut b).is_err() {
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64);
                    return Self::new(Some(t ^ u64::from(std::process::id())));
                }
                let (a, c) = b.split_at(8);
                let word = |x: &[u8]| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(x);
                    u64::from_le_bytes(w)
                };
                Self {
                    s0: word(a),
                    s1: word(c),
                }
            }
        };
        // pg_prng_seed_check.
        if p.s0 == 0 && p.s1 == 0 {
            p.s0 = 0x5851_F42D_4C95_7F2D;
            p.s1 = 0x1405_7B7E_F767_814F;
        }
        p
    }

    /// `xoroshiro128ss`.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let s0 = self.s0;
        let sx = self.s1 ^ s0;
        let v = s0.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        self.s0 = s0.rotate_left(24) ^ sx ^ (sx << 16);
        self.s1 = sx.rotate_left(37);
        v
    }

    /// `pg_prng_uint64_range(state, 0, max)`: bitmask rejection on the high bits.
    fn below_or_equal(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let shift = max.leading_zeros();
        loop {
            let v = self.next_u64() >> shift;
            if v <= max {
                return v;
            }
        }
    }

    /// The inside-out Fisher-Yates shuffle of fe-connect.c.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in 1..items.len() {
            let j = usize::try_from(self.below_or_equal(i as u64)).unwrap_or(0);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of PostgreSQL 18's `src/common/pg_prng.c` compiled with a small
    /// harness (`pg_prng_seed`, three `pg_prng_uint64`, then fe-connect.c's
    /// shuffle of 0..5 with `pg_prng_uint64_range` from a fresh seed).
    #[test]
    fn same_numbers_and_shuffles_as_pg_prng() {
        let vectors: [(u64, [u64; 3], [usize; 5]); 5] = [
            (
                0,
                [
                    16053376993090331485,
                    7868822567099391496,
                    12331295923365717130,
                ],
                [0, 2, 3, 1, 4],
            ),
            (
                1,
                [
                    7280431682470476346,
                    14368974704090626991,
                    16882196638837869613,
                ],
                [2, 0, 3, 1, 4],
            ),
            (
                42,
                [
                    7631449856891427754,
                    4306334408478191133,
                    4482733528210176216,
                ],
                [4, 0, 1, 2, 3],
            ),
            (
                0xdead_beef,
                [
                    12232861487000265107,
                    7137118635098407398,
                    11140807193946563078,
                ],
                [0, 2, 3, 4, 1],
            ),
            (
                u64::MAX,
                [
                    2051662207755801116,
                    5218942343062937440,
                    6348530440775344471,
                ],
                [1, 3, 0, 4, 2],
            ),
        ];
        for (seed, numbers, shuffled) in vectors {
            let mut p = Prng::new(Some(seed));
            let got: Vec<u64> = (0..3).map(|_| p.next_u64()).collect();
            assert_eq!(got, numbers, "seed {seed}");
            let mut items = [0, 1, 2, 3, 4];
            Prng::new(Some(seed)).shuffle(&mut items);
            assert_eq!(items, shuffled, "seed {seed}");
        }
    }

    /// Seeds 0..6000 over three hosts: every permutation comes up, each about a
    /// sixth of the time (the bounds hold for these seeds; a biased shuffle,
    /// such as the naive one, misses them), and each host is first about a third.
    #[test]
    fn shuffles_are_uniform_over_seeds() {
        let mut perms = std::collections::BTreeMap::new();
        let mut first = [0usize; 3];
        for seed in 0..6000u64 {
            let mut items = [0usize, 1, 2];
            Prng::new(Some(seed)).shuffle(&mut items);
            *perms.entry(items).or_insert(0usize) += 1;
            first[items[0]] += 1;
        }
        assert_eq!(perms.len(), 6, "{perms:?}");
        for (p, n) in &perms {
            assert!((900..=1100).contains(n), "{p:?}: {n} of 6000");
        }
        for n in first {
            assert!((1850..=2150).contains(&n), "{first:?}");
        }
        // Unseeded generators differ from one another (strong random bits).
        let a: Vec<u64> = {
            let mut p = Prng::new(None);
            (0..4).map(|_| p.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut p = Prng::new(None);
            (0..4).map(|_| p.next_u64()).collect()
        };
        assert_ne!(a, b);
    }
}
