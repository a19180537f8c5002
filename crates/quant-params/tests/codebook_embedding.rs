//! k-means codebooks (MSE falls with bits, decode(encode) exact, serialized form) and the
//! fused 8-bit row-wise embedding format.

use quant_params::codebook::{pack_indices, CompressedWeights, KMeansConfig, KMeansInit};
use quant_params::embedding::FusedRowwise8;

fn weights(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    let mut u = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (a, b) = (u(), u());
            (0.05 * (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
        })
        .collect()
}

#[test]
fn mse_decreases_with_bits_and_decode_is_exact() {
    let w = weights(20_000, 7);
    for init in [KMeansInit::Linear, KMeansInit::PlusPlus { seed: 3 }] {
        let mut last = f64::INFINITY;
        for bits in 2..=8 {
            let cfg = KMeansConfig {
                bits,
                max_iters: 30,
                init,
            };
            let c = CompressedWeights::compress(&w, &cfg).unwrap();
            assert_eq!(c.codebook().len(), 1 << bits);
            assert!(c.codebook().windows(2).all(|p| p[0] <= p[1]));
            let d = c.decode();
            for (i, &v) in d.iter().enumerate() {
                assert_eq!(v.to_bits(), c.codebook()[c.index(i).unwrap()].to_bits());
            }
            // Each weight maps to its nearest codebook value.
            for (i, &x) in w.iter().enumerate().step_by(97) {
                let best = c
                    .codebook()
                    .iter()
                    .map(|&cv| (x - cv).abs())
                    .fold(f32::INFINITY, f32::min);
                assert!((x - d[i]).abs() <= best * (1.0 + 1e-6) + 1e-12, "{i}");
            }
            let r = c.error_report(&w).unwrap();
            println!(
                "{init:?} bits={bits}: mse={:.3e} snr={:.1} dB ratio={:.2}",
                r.mse, r.snr_db, r.compression_ratio
            );
            assert!(r.mse < last, "{init:?} bits={bits}: {} !< {last}", r.mse);
            last = r.mse;
            let bytes = c.to_bytes();
            assert_eq!(bytes.len(), c.byte_size());
            let back = CompressedWeights::from_bytes(&bytes).unwrap();
            assert_eq!(back, c);
            assert_eq!(back.decode(), d);
        }
    }
    // Deterministic.
    let cfg = KMeansConfig {
        init: KMeansInit::PlusPlus { seed: 9 },
        ..KMeansConfig::default()
    };
    assert_eq!(
        CompressedWeights::compress(&w, &cfg).unwrap(),
        CompressedWeights::compress(&w, &cfg).unwrap()
    );
}

#[test]
fn packing_and_edge_cases() {
    for bits in 2..=8u32 {
        let idx: Vec<u8> = (0..37u32)
            .map(|i| ((i * 7 + 3) % (1 << bits)) as u8)
            .collect();
        let packed = pack_indices(&idx, bits);
        assert_eq!(packed.len(), (37 * bits as usize).div_ceil(8));
    }
    assert_eq!(pack_indices(&[1, 2, 3, 0], 2), vec![0b00_11_10_01]);
    assert_eq!(pack_indices(&[0xFF, 0], 2), vec![0b11]);
    // 101 | 010 | 111 from bit 0: byte 0 = 0b11_010_101, byte 1 = 0b1.
    assert_eq!(pack_indices(&[5, 2, 7], 3), vec![0b1101_0101, 0b1]);
    // Fewer distinct values than clusters, empty input, constant input.
    let c = CompressedWeights::compress(&[1.0, 2.0, 1.0], &KMeansConfig::default()).unwrap();
    assert_eq!(c.decode(), vec![1.0, 2.0, 1.0]);
    let e = CompressedWeights::compress(&[], &KMeansConfig::default()).unwrap();
    assert!(e.is_empty() && e.decode().is_empty());
    assert_eq!(CompressedWeights::from_bytes(&e.to_bytes()).unwrap(), e);
    let k = CompressedWeights::compress(
        &[0.5; 10],
        &KMeansConfig {
            bits: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(k.decode(), vec![0.5; 10]);
    // Errors.
    let bad = KMeansConfig {
        bits: 9,
        ..Default::default()
    };
    assert!(CompressedWeights::compress(&[1.0], &bad)
        .unwrap_err()
        .to_string()
        .contains("bits is 9"));
    assert!(CompressedWeights::compress(&[f32::NAN], &KMeansConfig::default()).is_err());
    let mut bytes = c.to_bytes();
    bytes.pop();
    assert!(CompressedWeights::from_bytes(&bytes).is_err());
    assert!(CompressedWeights::from_bytes(b"nope").is_err());
    assert!(c.error_report(&[1.0]).is_err());
}

#[test]
fn fused_rowwise_matches_caffe2_definition() {
    let (rows, cols) = (13, 37);
    let t = weights(rows * cols, 11);
    let q = FusedRowwise8::quantize(&t, rows, cols).unwrap();
    assert_eq!(q.as_bytes().len(), rows * (cols + 8));
    for r in 0..rows {
        let row = &t[r * cols..(r + 1) * cols];
        let min = row.iter().copied().fold(f32::INFINITY, f32::min);
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let (scale, bias) = q.scale_bias(r).unwrap();
        assert_eq!((scale, bias), ((max - min) / 255.0, min));
        let inv = 255.0f32 / (max - min + 1e-8);
        let want: Vec<u8> = row
            .iter()
            .map(|&x| ((x - min) * inv).round_ties_even() as u8)
            .collect();
        assert_eq!(q.row_bytes(r), Some(&want[..]));
        assert!(q.row_bytes(rows).is_none() && q.scale_bias(rows).is_none());
        let mut out = vec![0f32; cols];
        q.dequantize_row(r, &mut out).unwrap();
        for (j, &o) in out.iter().enumerate() {
            assert_eq!(o, f32::from(want[j]) * scale + bias);
            assert!((o - row[j]).abs() <= scale * 0.5 + 1e-6);
        }
    }
    let mut out = vec![0f32; 3 * cols];
    q.lookup(&[12, 0, 12], &mut out).unwrap();
    assert_eq!(out[..cols], out[2 * cols..]);
    let e = q.lookup(&[13], &mut out[..cols]).unwrap_err();
    assert!(e.to_string().contains("row index 13"), "{e}");
    assert!(q.lookup(&[0], &mut out).is_err());
    let again = FusedRowwise8::from_bytes(q.as_bytes().to_vec(), rows, cols).unwrap();
    assert_eq!(again, q);
    assert!(FusedRowwise8::from_bytes(vec![0; 10], rows, cols).is_err());
    let r = q.error_report(&t).unwrap();
    assert!(r.snr_db > 35.0, "{r:?}");
    let e = FusedRowwise8::quantize(&[-3e38, 3e38], 1, 2).unwrap_err();
    assert!(e.to_string().contains("row 0"), "{e}");
    // A constant row: scale 0, every value exact.
    let c = FusedRowwise8::quantize(&[2.5; 4], 1, 4).unwrap();
    let mut o = [0f32; 4];
    c.dequantize_row(0, &mut o).unwrap();
    assert_eq!(o, [2.5; 4]);
}
