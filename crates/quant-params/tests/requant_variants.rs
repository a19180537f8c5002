//! QNNPACK-style requantization suite, run for every scheme and every available variant:
//! exact division by 2^s, ties both ways, INT32_MIN/INT32_MAX, 10^6 random inputs against
//! independent i128/f32/gemmlowp references, and every tail length.

mod common;

use common::widened;
use quant_params::requant::{MAX_REQUANT_SCALE, MIN_REQUANT_SCALE};
use quant_params::{QType, RequantScheme, Requantizer, BULK};

/// Fewer random inputs under QEMU (aarch64 and 32-bit ARM runs are emulated).
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
const RANDOM_INPUTS: usize = 100_000;
#[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
const RANDOM_INPUTS: usize = 1_000_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Independent references, straight from the definitions (anchors.md §6 items 9-14).
mod oracle {
    use super::*;

    /// `Precise`: sign(x) * round_half_away(|x| * m / 2^s), exact in i128.
    pub fn precise(acc: i32, scale: f32) -> i64 {
        let (m, s) = quant_params::requant::mantissa_shift(scale);
        let num = i128::from(acc).abs() * i128::from(m);
        let r = (2 * num + (1i128 << s)) >> (s + 1);
        (if acc < 0 { -r } else { r }) as i64
    }

    /// `Rndnu`: floor(x * m / 2^s + 1/2), exact in i128 (ties toward +inf).
    pub fn rndnu(acc: i32, scale: f32) -> i64 {
        let (m, s) = quant_params::requant::mantissa_shift(scale);
        let num = i128::from(acc) * i128::from(m);
        (2 * num + (1i128 << s)).div_euclid(1i128 << (s + 1)) as i64
    }

    /// `Fp32`: the scalar f32 computation (XNNPACK `xnn_qs8_requantize_fp32` semantics).
    pub fn fp32(acc: i32, scale: f32, lo: i32, hi: i32) -> i64 {
        let x = acc as f32 * scale;
        let x = if x < lo as f32 {
            lo as f32
        } else if x > hi as f32 {
            hi as f32
        } else {
            x
        };
        x.round_ties_even() as i64
    }

    /// gemmlowp `SaturatingRoundingDoublingHighMul`, transcribed.
    fn srdhm(a: i32, b: i32) -> i32 {
        let overflow = a == b && a == i32::MIN;
        let ab_64 = i64::from(a) * i64::from(b);
        let nudge: i64 = if ab_64 >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        let ab_x2_high32 = ((ab_64 + nudge) / (1i64 << 31)) as i32;
        if overflow {
            i32::MAX
        } else {
            ab_x2_high32
        }
    }

    /// gemmlowp `RoundingDivideByPOT`, transcribed.
    fn rdbpot(x: i32, exponent: i32) -> i32 {
        let mask: i32 = ((1i64 << exponent) - 1) as i32;
        let zero = 0;
        let one = 1;
        let remainder = x & mask;
        let threshold = (mask >> 1) + if x < zero { one } else { zero };
        (x >> exponent) + if remainder > threshold { one } else { zero }
    }

    /// TFLite `MultiplyByQuantizedMultiplier` with gemmlowp's saturating left shift, and
    /// TFLite `QuantizeMultiplier` done in f64 from the f32 scale.
    pub fn gemmlowp(acc: i32, scale: f32) -> i64 {
        // QuantizeMultiplier: frexp, then round(q * 2^31).
        let d = f64::from(scale);
        let mut shift = d.log2().floor() as i32 + 1;
        let mut q = d / 2f64.powi(shift);
        if q >= 1.0 {
            q /= 2.0;
            shift += 1;
        }
        if q < 0.5 {
            q *= 2.0;
            shift -= 1;
        }
        let mut q_fixed = (q * 2f64.powi(31)).round() as i64;
        if q_fixed == 1i64 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        let left = shift.max(0);
        let right = (-shift).max(0);
        let x = (i64::from(acc) * (1i64 << left)).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        i64::from(rdbpot(srdhm(x as i32, q_fixed as i32), right))
    }

    pub fn requant(r: &Requantizer, acc: i32) -> i32 {
        let lo = r.qmin() - r.zero_point();
        let hi = r.qmax() - r.zero_point();
        let v = match r.scheme() {
            RequantScheme::Fp32 => fp32(acc, r.scale(), lo, hi),
            RequantScheme::Gemmlowp => gemmlowp(acc, r.scale()),
            RequantScheme::Rndnu => rndnu(acc, r.scale()),
            RequantScheme::Precise => precise(acc, r.scale()),
        };
        (v.clamp(i64::from(lo), i64::from(hi)) + i64::from(r.zero_point())) as i32
    }
}

/// Runs every variant on `acc`, checks each against `Requantizer::requantize` and the oracle.
fn check_all(r: &Requantizer, acc: &[i32], ctx: &str) {
    let want: Vec<i32> = acc.iter().map(|&a| oracle::requant(r, a)).collect();
    for (j, &a) in acc.iter().enumerate() {
        assert_eq!(
            r.requantize(a),
            want[j],
            "scalar reference vs oracle: {ctx} {:?} scale={:e} zp={} acc={a}",
            r.scheme(),
            r.scale(),
            r.zero_point()
        );
    }
    for v in BULK.available() {
        let got = widened(
            r.qtype(),
            acc.len(),
            |o| r.requantize_slice_u8_with(v, acc, o).unwrap(),
            |o| r.requantize_slice_i8_with(v, acc, o).unwrap(),
        );
        if got != want {
            let j = (0..acc.len()).find(|&j| got[j] != want[j]).unwrap();
            panic!(
                "{} {:?} {ctx}: scale={:e} zp={} clamp=[{},{}] acc={} got {} want {}",
                v.name,
                r.scheme(),
                r.scale(),
                r.zero_point(),
                r.qmin(),
                r.qmax(),
                acc[j],
                got[j],
                want[j]
            );
        }
    }
}

#[test]
fn variants_that_ran() {
    println!(
        "quant-params requantization variants: {:?}",
        BULK.available().iter().map(|e| e.name).collect::<Vec<_>>()
    );
    assert_eq!(BULK.available()[0].name, "requant_fp32__scalar");
}

/// QNNPACK: with scale 2^-s, (i - zp) * 2^s maps back to i, for all s in [1,31] and every zp.
#[test]
fn exact_division_by_powers_of_two() {
    let zp_step = if cfg!(any(target_arch = "aarch64", target_arch = "arm")) {
        17
    } else {
        1
    };
    for scheme in RequantScheme::ALL {
        for s in 1..=31u32 {
            let scale = 2f32.powi(-(s as i32));
            for zp in (0..=255).step_by(zp_step) {
                for t in [QType::U8, QType::I8] {
                    let zp = if t == QType::I8 { zp - 128 } else { zp };
                    let r = Requantizer::new(scheme, scale, zp, t).unwrap();
                    let mut acc = Vec::new();
                    let mut want = Vec::new();
                    for i in t.min()..=t.max() {
                        let a = i64::from(i - zp) << s;
                        if a >= i64::from(i32::MIN) && a <= i64::from(i32::MAX) {
                            acc.push(a as i32);
                            want.push(i);
                        }
                    }
                    check_all(&r, &acc, &format!("exact s={s}"));
                    for (a, w) in acc.iter().zip(&want) {
                        assert_eq!(r.requantize(*a), *w);
                    }
                }
            }
        }
    }
}

/// Ties: (i - zp) * 2^s +- 2^(s-1), both directions, every scheme's rule.
#[test]
fn ties_both_ways() {
    for scheme in RequantScheme::ALL {
        for s in 1..=31u32 {
            let scale = 2f32.powi(-(s as i32));
            for zp in [0, 1, 100, 127, 128, 200, 255] {
                let r = Requantizer::new(scheme, scale, zp, QType::U8).unwrap();
                let mut acc = Vec::new();
                for i in -256i64..=256 {
                    for d in [-1i64, 1] {
                        let a = (i << s) + d * (1i64 << (s - 1));
                        if a >= i64::from(i32::MIN) && a <= i64::from(i32::MAX) {
                            acc.push(a as i32);
                        }
                    }
                }
                check_all(&r, &acc, &format!("ties s={s}"));
            }
        }
    }
    // Spot values of each rule at +-2.5 / +-1.5 / +-0.5 (scale 1/2).
    let want = [
        (RequantScheme::Fp32, [2, -2, 2, -2, 0, 0]),
        (RequantScheme::Gemmlowp, [3, -2, 2, -1, 1, 0]),
        (RequantScheme::Rndnu, [3, -2, 2, -1, 1, 0]),
        (RequantScheme::Precise, [3, -3, 2, -2, 1, -1]),
    ];
    for (scheme, w) in want {
        let r = Requantizer::new(scheme, 0.5, 0, QType::I8).unwrap();
        let acc = [5, -5, 3, -3, 1, -1];
        let mut out = [0i8; 6];
        for v in BULK.available() {
            r.requantize_slice_i8_with(v, &acc, &mut out).unwrap();
            assert_eq!(out.map(i32::from), w, "{scheme:?} {}", v.name);
        }
    }
}

#[test]
fn int32_extremes() {
    let scales = [
        MIN_REQUANT_SCALE,
        f32::from_bits(MIN_REQUANT_SCALE.to_bits() + 1),
        2f32.powi(-31),
        1e-6,
        0.0017,
        0.5,
        f32::from_bits(0x3F7F_FFFF),
        1.0,
        1.5,
        3.999,
        100.0,
        f32::from_bits(MAX_REQUANT_SCALE.to_bits() - 1),
    ];
    let acc = [
        i32::MIN,
        i32::MIN + 1,
        i32::MIN + 2,
        i32::MAX,
        i32::MAX - 1,
        -1,
        0,
        1,
        -(1 << 30),
        1 << 30,
        -(1 << 23),
        (1 << 23) + 1,
    ];
    for scheme in RequantScheme::ALL {
        for &scale in &scales {
            for zp in [0, 1, 127, 128, 254, 255] {
                let r = Requantizer::new(scheme, scale, zp, QType::U8).unwrap();
                check_all(&r, &acc, "extremes");
                let r = Requantizer::new(scheme, scale, zp - 128, QType::I8).unwrap();
                check_all(&r, &acc, "extremes i8");
            }
        }
        // QNNPACK's fixed cases.
        let r = Requantizer::new(scheme, f32::from_bits(0x3F7F_FFFF), 255, QType::U8).unwrap();
        check_all(&r, &[i32::MAX], "int32_max");
    }
    for zp in 0..=255 {
        let r = Requantizer::new(RequantScheme::Precise, MIN_REQUANT_SCALE, zp, QType::U8).unwrap();
        let mut out = [0u8];
        for v in BULK.available() {
            r.requantize_slice_u8_with(v, &[i32::MIN], &mut out)
                .unwrap();
            assert_eq!(i32::from(out[0]), (zp - 1).max(0), "{} zp={zp}", v.name);
        }
    }
}

/// Random scales over the whole supported range, random zero points, clamps and inputs.
#[test]
fn random_inputs() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per = 4096;
    let rounds = RANDOM_INPUTS / per / 4 + 1;
    for scheme in RequantScheme::ALL {
        for round in 0..rounds {
            // Scale: random bits between 2^-32 and 256.
            let lo_bits = MIN_REQUANT_SCALE.to_bits();
            let hi_bits = MAX_REQUANT_SCALE.to_bits();
            let scale = f32::from_bits(lo_bits + rng.below(u64::from(hi_bits - lo_bits)) as u32);
            let t = if round % 2 == 0 { QType::U8 } else { QType::I8 };
            let zp = t.min() + rng.below(256) as i32;
            let mut r = Requantizer::new(scheme, scale, zp, t).unwrap();
            if round % 3 == 0 {
                let a = t.min() + rng.below(256) as i32;
                let b = t.min() + rng.below(256) as i32;
                r = r.with_clamp(a.min(b), a.max(b)).unwrap();
            }
            // Inputs: mostly near the interesting range (|acc * scale| <~ 300), some anywhere.
            let span = ((300.0 / f64::from(scale)).min(2147483647.0) as u64).max(1);
            let acc: Vec<i32> = (0..per)
                .map(|k| {
                    if k % 4 == 0 {
                        rng.next() as i32
                    } else {
                        (rng.below(2 * span + 1) as i64 - span as i64) as i32
                    }
                })
                .collect();
            check_all(&r, &acc, "random");
        }
    }
}

/// Every length from 0 to 200 (tails of every vector width), odd offsets into the buffers.
#[test]
fn every_tail_length() {
    let mut rng = Rng(42);
    for scheme in RequantScheme::ALL {
        let r = Requantizer::new(scheme, 0.0123, 77, QType::U8).unwrap();
        let all: Vec<i32> = (0..260)
            .map(|_| rng.below(40_001) as i32 - 20_000)
            .collect();
        for n in 0..=200 {
            for off in [0, 1, 3] {
                check_all(&r, &all[off..off + n], "tail");
            }
        }
    }
}

#[test]
fn plans_and_errors() {
    let r = Requantizer::new(RequantScheme::Rndnu, 0.01, 3, QType::U8).unwrap();
    let acc = [100, -100, 5000];
    let mut out = [0u8; 3];
    let p = r.plan(None).unwrap();
    p.run_u8(&acc, &mut out).unwrap();
    assert_eq!(out.map(i32::from), acc.map(|a| r.requantize(a)));
    let mut short = [0u8; 2];
    let e = r.requantize_slice_u8(&acc, &mut short).unwrap_err();
    assert!(e.to_string().contains("expected length 3, found 2"), "{e}");
    let mut wrong = [0i8; 3];
    assert!(r.requantize_slice_i8(&acc, &mut wrong).is_err());
    assert!(p.run_i8(&acc, &mut wrong).is_err());
    for v in BULK.all() {
        let res = r.requantize_slice_u8_with(v, &acc, &mut out);
        assert_eq!(res.is_ok(), v.supported(), "{}", v.name);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 48 } else { 256 }))]

        /// Random lengths (tails of every width), offsets, scales, zero points, clamps, types.
        #[test]
        fn any_requantization_matches(
            acc in proptest::collection::vec(any::<i32>(), 0..120),
            small in proptest::collection::vec(-70_000i32..70_000, 0..120),
            scale_bits in MIN_REQUANT_SCALE.to_bits()..MAX_REQUANT_SCALE.to_bits(),
            zp in 0i32..256,
            clamp in (0i32..256, 0i32..256),
            scheme in 0usize..4,
            signed in any::<bool>(),
            off in 0usize..4,
        ) {
            let t = if signed { QType::I8 } else { QType::U8 };
            let shift = if signed { -128 } else { 0 };
            let (a, b) = (clamp.0.min(clamp.1) + shift, clamp.0.max(clamp.1) + shift);
            let r = Requantizer::new(RequantScheme::ALL[scheme], f32::from_bits(scale_bits), zp + shift, t)
                .unwrap()
                .with_clamp(a, b)
                .unwrap();
            let mixed: Vec<i32> = acc.iter().zip(small.iter().cycle()).enumerate()
                .map(|(i, (&x, &y))| if i % 3 == 0 { x } else { y }).collect();
            let input = &mixed[off.min(mixed.len())..];
            check_all(&r, input, "proptest");
        }
    }
}

/// Per-channel requantization (rows of `channels` accumulators) against each channel's scalar
/// reference, every scheme, every variant, channel counts around every vector width.
#[test]
fn per_channel_rows() {
    use quant_params::PerChannelRequantizer;
    let mut rng = Rng(7);
    for scheme in RequantScheme::ALL {
        for ch in [1usize, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 70] {
            for t in [QType::U8, QType::I8] {
                let scales: Vec<f32> = (0..ch)
                    .map(|_| {
                        f32::from_bits(
                            MIN_REQUANT_SCALE.to_bits()
                                + rng.below(u64::from(
                                    MAX_REQUANT_SCALE.to_bits() - MIN_REQUANT_SCALE.to_bits(),
                                )) as u32,
                        )
                    })
                    .collect();
                let zp = t.min() + rng.below(256) as i32;
                let r = PerChannelRequantizer::new(scheme, &scales, zp, t)
                    .unwrap()
                    .with_clamp(t.min() + 10, t.max() - 5)
                    .unwrap();
                let rows = 3;
                let acc: Vec<i32> = (0..rows * ch)
                    .map(|k| {
                        if k % 5 == 0 {
                            rng.next() as i32
                        } else {
                            rng.below(2001) as i32 - 1000
                        }
                    })
                    .collect();
                let want: Vec<i32> = acc
                    .iter()
                    .enumerate()
                    .map(|(k, &a)| r.channel(k % ch).unwrap().requantize(a))
                    .collect();
                for v in BULK.available() {
                    let got = widened(
                        t,
                        acc.len(),
                        |o| r.requantize_rows_u8_with(v, &acc, o).unwrap(),
                        |o| r.requantize_rows_i8_with(v, &acc, o).unwrap(),
                    );
                    assert_eq!(got, want, "{} {scheme:?} ch={ch}", v.name);
                }
            }
        }
    }
    let r =
        PerChannelRequantizer::new(RequantScheme::Fp32, &[0.5, 0.5, 0.5], 0, QType::U8).unwrap();
    let e = r
        .requantize_rows_u8(&[1, 2, 3, 4], &mut [0u8; 4])
        .unwrap_err();
    assert!(
        e.to_string().contains("not whole rows of 3 channels"),
        "{e}"
    );
    let e =
        PerChannelRequantizer::new(RequantScheme::Fp32, &[0.5, 300.0], 0, QType::U8).unwrap_err();
    assert!(e.to_string().contains("channel 1"), "{e}");
}
