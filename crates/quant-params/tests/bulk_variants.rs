//! Quantize / dequantize / u8<->i8 kernels of every available variant against the scalar
//! reference and ONNX QuantizeLinear / DequantizeLinear semantics (round half to even,
//! saturate, NaN to the zero point, infinities saturate).

mod common;

use common::widened;
use proptest::prelude::*;
use quant_params::{reference, BulkEntry, BulkKernels, QType, QuantParams, BULK};

fn quantize_all(p: &QuantParams, x: &[f32]) -> Vec<(&'static BulkEntry, Vec<i32>)> {
    BULK.available()
        .into_iter()
        .map(|v| {
            let k = BulkKernels::new(v).unwrap();
            let got = widened(
                p.qtype(),
                x.len(),
                |o| k.quantize_u8(p, x, o).unwrap(),
                |o| k.quantize_i8(p, x, o).unwrap(),
            );
            (v, got)
        })
        .collect()
}

fn check_quantize(p: &QuantParams, x: &[f32]) {
    let want = reference::quantize(p, x);
    for (v, got) in quantize_all(p, x) {
        if got != want {
            let j = (0..x.len()).find(|&j| got[j] != want[j]).unwrap();
            panic!(
                "{} quantize {:?} x={:e} ({:#x}) got {} want {}",
                v.name,
                p,
                x[j],
                x[j].to_bits(),
                got[j],
                want[j]
            );
        }
    }
}

fn check_dequantize(p: &QuantParams, q: &[i32]) {
    let want = reference::dequantize(p, q);
    for v in BULK.available() {
        let k = BulkKernels::new(v).unwrap();
        let mut got = vec![0f32; q.len()];
        match p.qtype() {
            QType::U8 => {
                let b: Vec<u8> = q.iter().map(|&v| v as u8).collect();
                k.dequantize_u8(p, &b, &mut got).unwrap();
            }
            QType::I8 => {
                let b: Vec<i8> = q.iter().map(|&v| v as i8).collect();
                k.dequantize_i8(p, &b, &mut got).unwrap();
            }
        }
        let same = got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{} dequantize {p:?}", v.name);
    }
}

/// The ONNX QuantizeLinear definition, written independently: numpy's
/// `clip(rint(x / scale) + zp, qmin, qmax)` with NaN -> zp.
fn onnx_quantize(x: f32, scale: f32, zp: i32, t: QType) -> i32 {
    let v = x / scale;
    if v.is_nan() {
        return zp;
    }
    let r = f64::from(v.round_ties_even()) + f64::from(zp);
    r.clamp(f64::from(t.min()), f64::from(t.max())) as i32
}

#[test]
fn onnx_quantize_special_values() {
    println!(
        "quant-params bulk variants: {:?}",
        BULK.available().iter().map(|e| e.name).collect::<Vec<_>>()
    );
    let specials = [
        0.0f32,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        126.5,
        127.5,
        -128.5,
        -127.5,
        255.5,
        254.5,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        3e9,
        -3e9,
        8388609.0,
        16777217.0,
    ];
    for t in [QType::U8, QType::I8] {
        for scale in [1.0f32, 0.5, 0.1, 3.0, 1e-30, 1e30, f32::MIN_POSITIVE] {
            for zp in [t.min(), 0.max(t.min()), 3, t.max()] {
                let p = QuantParams::new(scale, zp, t).unwrap();
                let x: Vec<f32> = specials.iter().flat_map(|&s| [s, s * scale]).collect();
                check_quantize(&p, &x);
                for (v, got) in quantize_all(&p, &x) {
                    for (j, &xv) in x.iter().enumerate() {
                        assert_eq!(
                            got[j],
                            onnx_quantize(xv, scale, zp, t),
                            "{} x={xv} {p:?}",
                            v.name
                        );
                    }
                }
            }
        }
    }
    // Ties to even, saturation, NaN -> zero point (scale 1, zp 0 / 10).
    let p = QuantParams::new(1.0, 10, QType::U8).unwrap();
    for (_, got) in quantize_all(
        &p,
        &[
            0.5,
            1.5,
            2.5,
            -10.5,
            -11.5,
            300.0,
            f32::NAN,
            f32::NEG_INFINITY,
        ],
    ) {
        assert_eq!(got, [10, 12, 12, 0, 0, 255, 10, 0]);
    }
}

#[test]
fn quantize_dequantize_every_byte_and_length() {
    for t in [QType::U8, QType::I8] {
        for zp in [t.min(), 0.max(t.min()), 17, t.max()] {
            let p = QuantParams::new(0.037, zp, t).unwrap();
            let all: Vec<i32> = (t.min()..=t.max()).collect();
            check_dequantize(&p, &all);
            // Round trip: quantize(dequantize(q)) == q.
            let deq = reference::dequantize(&p, &all);
            for (_, got) in quantize_all(&p, &deq) {
                assert_eq!(got, all);
            }
            for n in 0..=100 {
                check_dequantize(&p, &all[..n]);
                let x: Vec<f32> = (0..n).map(|i| (i as f32 - 50.0) * 0.11).collect();
                check_quantize(&p, &x);
            }
        }
    }
}

#[test]
fn u8_i8_shift() {
    let x: Vec<u8> = (0..=255u8).chain(0..=255u8).take(300).collect();
    let want = reference::u8_to_i8(&x);
    for v in BULK.available() {
        let k = BulkKernels::new(v).unwrap();
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 300] {
            let mut out = vec![0i8; n];
            k.u8_to_i8(&x[..n], &mut out).unwrap();
            assert_eq!(out, want[..n], "{} n={n}", v.name);
            let mut back = vec![0u8; n];
            k.i8_to_u8(&out, &mut back).unwrap();
            assert_eq!(back, x[..n], "{} n={n}", v.name);
            assert_eq!(reference::i8_to_u8(&out), x[..n]);
        }
    }
    // Real values are kept: u8 zp z and i8 zp z - 128 dequantize equally.
    let pu = QuantParams::new(0.1, 130, QType::U8).unwrap();
    let pi = QuantParams::new(0.1, 2, QType::I8).unwrap();
    for (&u, &i) in x.iter().zip(&want) {
        assert_eq!(pu.dequantize(i32::from(u)), pi.dequantize(i32::from(i)));
    }
}

#[test]
fn type_and_length_errors() {
    let k = BulkKernels::best();
    let pu = QuantParams::new(1.0, 0, QType::U8).unwrap();
    let mut o = [0i8; 2];
    let e = k.quantize_i8(&pu, &[1.0, 2.0], &mut o).unwrap_err();
    assert!(e.to_string().contains("U8"), "{e}");
    let mut o = [0u8; 1];
    let e = k.quantize_u8(&pu, &[1.0, 2.0], &mut o).unwrap_err();
    assert!(e.to_string().contains("expected length 2, found 1"), "{e}");
    let mut f = [0f32; 3];
    assert!(k.dequantize_u8(&pu, &[1, 2], &mut f).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 32 } else { 128 }))]

    #[test]
    fn quantize_matches_reference(
        bits in proptest::collection::vec(any::<u32>(), 0..150),
        scale_bits in 0x0080_0000u32..0x7F00_0000,
        zp in 0i32..256,
        signed in any::<bool>(),
        off in 0usize..3,
    ) {
        let t = if signed { QType::I8 } else { QType::U8 };
        let zp = if signed { zp - 128 } else { zp };
        let p = QuantParams::new(f32::from_bits(scale_bits), zp, t).unwrap();
        // Mix raw bit patterns (NaN, inf, subnormals) with values near the grid.
        let x: Vec<f32> = bits.iter().enumerate().map(|(i, &b)| {
            if i % 2 == 0 { f32::from_bits(b) } else { ((b % 1024) as f32 - 512.0) * 0.5 * p.scale() }
        }).collect();
        let x = &x[off.min(x.len())..];
        check_quantize(&p, x);
        let q: Vec<i32> = bits.iter().map(|&b| t.min() + (b % 256) as i32).collect();
        check_dequantize(&p, &q);
    }
}

/// Subnormal scales (valid: finite and positive): kernels whose SIMD arithmetic flushes
/// subnormals (32-bit ARM NEON) must still match the IEEE scalar reference.
#[test]
fn subnormal_scales() {
    for t in [QType::U8, QType::I8] {
        for scale in [1e-45f32, 1e-40, f32::MIN_POSITIVE / 2.0, f32::MIN_POSITIVE] {
            for zp in [t.min(), 0.max(t.min()), t.max()] {
                let p = QuantParams::new(scale, zp, t).unwrap();
                let all: Vec<i32> = (t.min()..=t.max()).collect();
                for n in [0, 1, 15, 16, 17, all.len()] {
                    check_dequantize(&p, &all[..n]);
                }
                let x: Vec<f32> = (0..40)
                    .map(|i| (i as f32 - 20.0) * 0.37 * scale)
                    .chain([f32::NAN, f32::INFINITY, -0.0, 1e-45, -1e-45])
                    .collect();
                check_quantize(&p, &x);
            }
        }
    }
}
