//! Integer and float generators shared by every target: mostly small valid values (so inputs
//! reach the kernels), sometimes values from the full range and the edges where size arithmetic
//! wraps (0, 1, u32::MAX, u32::MAX + 1, usize::MAX / 2 + 1, usize::MAX, i64::MIN / MAX, and
//! `usize::MAX / d + 1`, whose product with a small `d` wraps to a small number).
//!
//! Also the harness's own size arithmetic (always checked), the allocation cap and the choice of
//! buffer lengths that probe the kernels' length checks.

#![allow(dead_code)]

use arbitrary::{Arbitrary, Result, Unstructured};

/// A valid problem whose buffers would exceed this many bytes is not run: its constructors and
/// runners are still called with its sizes, but with short buffers (they must refuse without
/// allocating). 1 MiB rather than 64: with 64 MiB the targets spent their time packing and
/// zeroing large valid problems (3 to 11 executions per second), which test nothing the small
/// ones do not.
pub const MAX_BYTES: usize = 1 << 20;

/// Sizes where `usize` arithmetic wraps or `u32` fields truncate.
pub const EDGE_USIZE: [usize; 24] = [
    0,
    1,
    2,
    3,
    255,
    65_535,
    65_536,
    (1 << 31) - 1,
    1 << 31,
    u32::MAX as usize - 1,
    u32::MAX as usize,
    u32::MAX as usize + 1,
    (1 << 32) + 1,
    1 << 40,
    (1 << 61) + 1,
    1 << 62,
    (1 << 62) + 1,
    isize::MAX as usize,
    usize::MAX / 2 + 1,
    usize::MAX / 2 + 2,
    usize::MAX / 3 + 1,
    usize::MAX / 4 + 1,
    usize::MAX - 1,
    usize::MAX,
];

/// Attribute values (ONNX ints are i64) where conversions and sums overflow.
pub const EDGE_I64: [i64; 22] = [
    0,
    1,
    -1,
    2,
    -2,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
    1 << 31,
    1 << 61,
    1 << 62,
    -(1 << 62),
    (1 << 62) + 1,
    i64::MAX / 2 + 1,
    i64::MAX - 1,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    -(1 << 32),
    1 << 32,
    -(i64::MAX / 2),
];

/// A size: `0..=small` most of the time (15 in 16), otherwise an edge value, a power of two
/// (±1), a value whose product with a small factor wraps, or any `usize`.
pub fn size(u: &mut Unstructured<'_>, small: usize) -> Result<usize> {
    let mut sel = u8::arbitrary(u)?;
    if small_only() {
        sel %= 240;
    }
    Ok(match sel {
        0..=239 => usize::from(u8::arbitrary(u)?) % small.saturating_add(1),
        240..=245 => EDGE_USIZE[usize::from(u8::arbitrary(u)?) % EDGE_USIZE.len()],
        246..=248 => {
            let b = u8::arbitrary(u)?;
            let p = 1usize << (b % 64);
            match b >> 6 {
                0 => p.wrapping_sub(1),
                1 => p.wrapping_add(1),
                _ => p,
            }
        }
        249..=251 => {
            let d = 1 + usize::from(u8::arbitrary(u)?) % 16;
            (usize::MAX / d).wrapping_add(1 + usize::from(u8::arbitrary(u)?) % 4)
        }
        _ => usize::arbitrary(u)?,
    })
}

/// As [`size`] but at least 1 in the small range (kernel sides, strides, dilations).
pub fn size1(u: &mut Unstructured<'_>, small: usize) -> Result<usize> {
    let v = size(u, small.saturating_sub(1))?;
    Ok(if v <= small.saturating_sub(1) {
        v + 1
    } else {
        v
    })
}

/// An i64 attribute: `-2..=small` most of the time, otherwise an edge or any i64.
pub fn int(u: &mut Unstructured<'_>, small: i64) -> Result<i64> {
    let sel = u8::arbitrary(u)?;
    Ok(match sel {
        0..=231 => i64::from(u8::arbitrary(u)?) % (small + 3) - 2,
        232..=243 => EDGE_I64[usize::from(u8::arbitrary(u)?) % EDGE_I64.len()],
        244..=247 => {
            let b = u8::arbitrary(u)?;
            let p = 1i64 << (b % 63);
            if b & 64 != 0 {
                -p
            } else {
                p
            }
        }
        _ => i64::arbitrary(u)?,
    })
}

/// A zero point: inside `[-128, 255]` most of the time (valid for u8 or i8 or neither), else any
/// i32 or an edge.
pub fn zero_point(u: &mut Unstructured<'_>) -> Result<i32> {
    Ok(match u8::arbitrary(u)? {
        0..=243 => i32::from(u8::arbitrary(u)?) - if bool::arbitrary(u)? { 0 } else { 128 },
        244..=249 => [i32::MIN, i32::MAX, -129, 256, -1, 128][usize::from(u8::arbitrary(u)?) % 6],
        _ => i32::arbitrary(u)?,
    })
}

/// A positive scale `2^e · (1 + f/256)` with `e` in `[-24, 3]` most of the time; else NaN, ±inf,
/// 0, negative, subnormal, or the edges of the requantization range `[2^-32, 256)`.
pub fn scale(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(match u8::arbitrary(u)? {
        0..=239 => {
            let e = i32::from(u8::arbitrary(u)? % 28) - 24;
            let f = f32::from(u8::arbitrary(u)?) / 256.0;
            (1.0 + f) * 2f32.powi(e)
        }
        240..=251 => [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            -1.0,
            f32::MIN_POSITIVE / 4.0,
            2f32.powi(-32),
            2f32.powi(-33),
            256.0,
            255.99998,
            f32::MAX,
        ][usize::from(u8::arbitrary(u)?) % 12],
        _ => f32::arbitrary(u)?,
    })
}

/// Whether `v` is a "tame" scale (finite, in `[2^-40, 2^20]`): products of such values and i32
/// accumulators are finite in f32, so an f64 reference is meaningful.
pub fn tame_scale(v: f32) -> bool {
    v.is_finite() && (2f32.powi(-40)..=2f32.powi(20)).contains(&v.abs())
}

/// fp32 data: multiples of 1/16 in [-8, 8) (exact, so rounding differences stay small) most of
/// the time; with `specials`, sometimes NaN (and, unless `nan_only`, ±inf, huge and subnormal
/// values).
pub fn value(u: &mut Unstructured<'_>, specials: bool, nan_only: bool) -> Result<f32> {
    let sel = u8::arbitrary(u)?;
    if specials && sel >= 250 {
        if nan_only {
            return Ok(f32::NAN);
        }
        return Ok([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -f32::MAX,
            f32::MIN_POSITIVE / 8.0,
        ][usize::from(sel - 250)]);
    }
    Ok(f32::from(i8::arbitrary(u)?) / 16.0)
}

/// `a · b · ...` checked (0 if any factor is 0, however large the others).
pub fn prod(v: &[usize]) -> Option<usize> {
    if v.contains(&0) {
        return Some(0);
    }
    v.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
}

/// `a · b · ...` wrapping (what an unchecked release build computes).
pub fn wprod(v: &[usize]) -> usize {
    v.iter().fold(1usize, |a, &b| a.wrapping_mul(b))
}

/// `elems · size_of::<T>()` bytes within [`MAX_BYTES`].
pub fn fits<T>(elems: Option<usize>) -> bool {
    elems
        .and_then(|e| e.checked_mul(std::mem::size_of::<T>().max(1)))
        .is_some_and(|b| b <= MAX_BYTES)
}

/// The length of a buffer handed to a kernel whose valid length is `need` (checked, `None` on
/// overflow) and whose unchecked (wrapping) length is `wrapped`: usually exactly `need`; else the
/// wrapped length (what a length check computed without overflow checks would accept), `need`
/// off by a little, or a small arbitrary length. Lengths above the cap become small ones.
pub fn buf_len<T>(u: &mut Unstructured<'_>, need: Option<usize>, wrapped: usize) -> Result<usize> {
    let sel = u8::arbitrary(u)?;
    let want = match sel {
        0..=223 => need,
        224..=235 => Some(wrapped),
        236..=245 => need.map(|n| {
            let d = usize::from(u8::arbitrary(u).unwrap_or(0) % 3);
            if sel & 1 == 0 {
                n.saturating_sub(d + 1)
            } else {
                n.saturating_add(d + 1)
            }
        }),
        _ => None,
    };
    Ok(match want {
        Some(n) if fits::<T>(Some(n)) => n,
        _ => usize::from(u8::arbitrary(u)?) % 64,
    })
}

/// `n` values from `gen`, or an error when the input runs out.
pub fn fill<T>(
    u: &mut Unstructured<'_>,
    n: usize,
    mut gen: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(gen(u)?);
    }
    Ok(v)
}

/// Bytes for an 8-bit buffer: taken from the input while it lasts, then a cheap pattern (so
/// large valid buffers do not need large inputs).
pub fn bytes(u: &mut Unstructured<'_>, n: usize) -> Vec<u8> {
    let take = n.min(u.len());
    let mut v = u.bytes(take).map(<[u8]>::to_vec).unwrap_or_default();
    let seed = v.first().copied().unwrap_or(0x5a);
    v.extend((v.len()..n).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed)));
    v
}

/// The shared thread pools: one thread, or two (built once per process).
pub fn parallel(two: bool) -> &'static cpu_probe::parallel::Parallel {
    use std::sync::OnceLock;
    static ONE: OnceLock<cpu_probe::parallel::Parallel> = OnceLock::new();
    static TWO: OnceLock<cpu_probe::parallel::Parallel> = OnceLock::new();
    if two {
        TWO.get_or_init(|| cpu_probe::parallel::Parallel::new(2))
    } else {
        ONE.get_or_init(cpu_probe::parallel::Parallel::single)
    }
}

/// fp32 comparison for differential checks: `Ok` if both are NaN, or equal, or within `tol`.
pub fn close(got: f32, want: f64, tol: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if f64::from(got) == want {
        return true;
    }
    (f64::from(got) - want).abs() <= tol
}

/// `n` fp32 values from [`value`] while the input lasts, then a cheap grid pattern.
pub fn floats(u: &mut Unstructured<'_>, n: usize, specials: bool, nan_only: bool) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n && u.len() >= 2 {
        match value(u, specials, nan_only) {
            Ok(x) => v.push(x),
            Err(_) => break,
        }
    }
    let s = v.len();
    v.extend((s..n).map(|i| f32::from((i as u8).wrapping_mul(37) as i8) / 16.0));
    v
}

/// `clamp` with NaN propagating (DESIGN.md rule 5: clamp(NaN) = NaN).
pub fn clamp_nan(v: f64, lo: f32, hi: f32) -> f64 {
    if v < f64::from(lo) {
        f64::from(lo)
    } else if v > f64::from(hi) {
        f64::from(hi)
    } else {
        v
    }
}

/// Whether `EK_FUZZ_SMALL_ONLY` is set: [`size`] then gives small values only, so the targets
/// explore valid problems (the differential checks, NaN handling) while a size bug that every
/// run would hit first is still open. Not for CI.
pub fn small_only() -> bool {
    use std::sync::OnceLock;
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("EK_FUZZ_SMALL_ONLY").is_some())
}

/// Whether `EK_FUZZ_VERBOSE` is set: the targets then print each call's arguments to stderr (to
/// read a reproducer: `EK_FUZZ_VERBOSE=1 cargo fuzz run -O TARGET FILE`).
pub fn verbose() -> bool {
    use std::sync::OnceLock;
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("EK_FUZZ_VERBOSE").is_some())
}

/// `eprintln!` when [`verbose`].
#[macro_export]
macro_rules! trace {
    ($($t:tt)*) => {
        if $crate::mix::verbose() {
            eprintln!($($t)*);
        }
    };
}
