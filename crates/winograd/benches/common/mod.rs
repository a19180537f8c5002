//! The fp32 workloads and their data, shared by the criterion bench and the `phases` example.

/// (id, C, K, H, W) from `bench/workloads.json` (3x3, pad 1 on every side).
pub const WORKLOADS: [(&str, usize, usize, usize, usize); 3] = [
    ("W1", 64, 64, 56, 56),
    ("W2", 32, 32, 128, 128),
    ("W3", 256, 256, 14, 14),
];

/// Deterministic pseudo-random values in [-0.5, 0.5) (xorshift32).
pub fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}
