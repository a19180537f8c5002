//! The tests' deterministic generator, shared by the qgemm and qconv-direct tests (included with
//! `#[path]`).

/// Knuth's MMIX LCG: advances `s` and returns its top 31 bits.
pub fn lcg(s: &mut u64) -> u32 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*s >> 33) as u32
}
