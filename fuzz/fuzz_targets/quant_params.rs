#![no_main]
//! quant-params' parsers, observers and parameter constructors with arbitrary input:
//!
//! * `CompressedWeights::from_bytes` on raw bytes and on structure-aware headers (bit widths,
//!   element counts from the full u64 range, codebook and packed lengths that match or not);
//!   `compress` with arbitrary weights (NaN, inf, subnormals) and configurations.
//! * `FusedRowwise8::from_bytes` / `quantize` with rows and columns from the full `usize` range,
//!   then every accessor.
//! * The observers (min/max, moving average, histogram with every method, per channel) fed NaN,
//!   ±inf, subnormals and huge values.
//! * `QuantParams::from_min_max` / `new`, `choose::*`, `Requantizer::new` / `with_clamp` and
//!   `PerChannelRequantizer` with arbitrary scales and zero points.
//!
//! Oracles: no panic; parsed values round-trip (`to_bytes(from_bytes(b)) == b`); an observer's
//! range is ordered and finite, a min/max observer's range is exactly the finite min/max seen,
//! a histogram keeps every finite value's count; parameters that are `Ok` have a finite positive
//! scale and an in-range zero point; every bulk variant equals the scalar reference
//! (`quant_params::reference`) bit for bit.

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use quant_params::choose::{self, ChannelLayout, Symmetry};
use quant_params::codebook::{CompressedWeights, KMeansConfig, KMeansInit};
use quant_params::embedding::FusedRowwise8;
use quant_params::observer::{
    HistogramMethod, HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver, Observer,
    PerChannelObserver, MAX_PER_CHANNEL_BYTES,
};
use quant_params::{
    BulkKernels, PerChannelRequantizer, QType, QuantParams, RequantScheme, Requantizer, BULK,
};

#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 8 == 0 {
        compressed_raw(rest);
        return;
    }
    let mut u = Unstructured::new(rest);
    let _ = match mode % 8 {
        1 => compressed_structured(&mut u),
        2 => compress(&mut u),
        3 => fused_from_bytes(&mut u),
        4 => fused_quantize(&mut u),
        5 => observers(&mut u),
        6 => params(&mut u),
        _ => requantizers(&mut u),
    };
});

fn qtype(u: &mut Unstructured<'_>) -> Result<QType> {
    Ok(if bool::arbitrary(u)? {
        QType::U8
    } else {
        QType::I8
    })
}

fn scheme(u: &mut Unstructured<'_>) -> Result<RequantScheme> {
    Ok([
        RequantScheme::Fp32,
        RequantScheme::Gemmlowp,
        RequantScheme::Rndnu,
        RequantScheme::Precise,
    ][usize::from(u8::arbitrary(u)?) % 4])
}

/// Checks a parsed `CompressedWeights`: round trip, every index inside the codebook.
fn check_compressed(c: &CompressedWeights, bytes: &[u8]) {
    assert_eq!(c.to_bytes(), bytes, "CompressedWeights round trip");
    assert_eq!(c.byte_size(), bytes.len());
    assert!((2..=8).contains(&c.bits()));
    assert_eq!(c.codebook().len(), 1 << c.bits());
    let decoded = c.decode();
    assert_eq!(decoded.len(), c.len());
    for (i, v) in decoded.iter().enumerate().take(4096) {
        let ix = c.index(i).expect("index inside len");
        assert!(ix < c.codebook().len());
        assert_eq!(v.to_bits(), c.codebook()[ix].to_bits());
    }
    assert_eq!(c.index(c.len()), None);
    let _ = c.error_report(&decoded);
}

fn compressed_raw(b: &[u8]) {
    if let Ok(c) = CompressedWeights::from_bytes(b) {
        check_compressed(&c, b);
    }
}

fn compressed_structured(u: &mut Unstructured<'_>) -> Result<()> {
    let bits: u8 = match u8::arbitrary(u)? {
        0..=223 => 2 + u8::arbitrary(u)? % 7,
        _ => u8::arbitrary(u)?,
    };
    let len: u64 = match u8::arbitrary(u)? {
        0..=199 => u64::from(u16::arbitrary(u)? % 2048),
        _ => mix::size(u, 100)? as u64,
    };
    let k = 1usize << (bits % 64).min(12);
    let mut b = b"EKCB".to_vec();
    b.push(if u8::arbitrary(u)? < 250 {
        1
    } else {
        u8::arbitrary(u)?
    });
    b.push(bits);
    b.extend_from_slice(&if u8::arbitrary(u)? < 250 {
        [0, 0]
    } else {
        <[u8; 2]>::arbitrary(u)?
    });
    b.extend_from_slice(&len.to_le_bytes());
    for _ in 0..k {
        b.extend_from_slice(&mix::value(u, true, false)?.to_le_bytes());
    }
    let need = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_mul(usize::from(bits)))
        .map(|x| x.div_ceil(8));
    let wrapped = (len as usize).wrapping_mul(usize::from(bits)).div_ceil(8);
    let plen = mix::buf_len::<u8>(u, need, wrapped)?.min(1 << 20);
    b.extend(mix::bytes(u, plen));
    compressed_raw(&b);
    Ok(())
}

fn compress(u: &mut Unstructured<'_>) -> Result<()> {
    let n = usize::from(u16::arbitrary(u)? % 3000);
    let specials = u8::arbitrary(u)? < 32;
    let w = mix::floats(u, n, specials, false);
    let cfg = KMeansConfig {
        bits: match u8::arbitrary(u)? {
            0..=223 => u32::from(u8::arbitrary(u)? % 9),
            _ => u32::arbitrary(u)?,
        },
        max_iters: usize::from(u8::arbitrary(u)? % 32),
        init: if bool::arbitrary(u)? {
            KMeansInit::Linear
        } else {
            KMeansInit::PlusPlus {
                seed: u64::arbitrary(u)?,
            }
        },
    };
    let Ok(c) = CompressedWeights::compress(&w, &cfg) else {
        return Ok(());
    };
    assert!(
        w.iter().all(|v| v.is_finite()),
        "compress accepted non-finite weights"
    );
    assert_eq!(c.len(), n);
    let bytes = c.to_bytes();
    let back = CompressedWeights::from_bytes(&bytes).expect("to_bytes output parses");
    check_compressed(&back, &bytes);
    let r = c.error_report(&w).expect("error report of the original");
    assert!(!r.mse.is_nan(), "error report of finite weights: {r:?}");
    Ok(())
}

fn fused_check(q: &FusedRowwise8, u: &mut Unstructured<'_>) -> Result<()> {
    let (rows, cols) = (q.rows(), q.cols());
    let stride = cols.checked_add(8).expect("accepted cols + 8 overflowing");
    assert_eq!(
        Some(q.as_bytes().len()),
        rows.checked_mul(stride),
        "fused data length"
    );
    for _ in 0..4 {
        let r = mix::size(u, rows.saturating_add(1))?;
        let inside = r < rows;
        assert_eq!(q.row_bytes(r).map(<[u8]>::len), inside.then_some(cols));
        assert_eq!(q.scale_bias(r).is_some(), inside);
        if cols <= 1 << 16 {
            let mut out = vec![0f32; cols];
            assert_eq!(q.dequantize_row(r, &mut out).is_ok(), inside);
        }
    }
    let ni = usize::from(u8::arbitrary(u)? % 8);
    let idx = mix::fill(u, ni, |u| mix::size(u, rows))?;
    let want = idx.len().checked_mul(cols);
    let out_len = mix::buf_len::<f32>(u, want, idx.len().wrapping_mul(cols))?;
    let mut out = vec![0f32; out_len];
    if q.lookup(&idx, &mut out).is_ok() {
        assert_eq!(
            Some(out_len),
            want,
            "lookup accepted an output of {out_len} for {} x {cols}",
            idx.len()
        );
        assert!(
            idx.iter().all(|&r| r < rows),
            "lookup accepted a row index out of range"
        );
    }
    if mix::prod(&[rows, cols]).is_some_and(|n| n <= 1 << 16) {
        let orig = vec![0.5f32; rows * cols];
        let _ = q.error_report(&orig);
    }
    Ok(())
}

fn fused_from_bytes(u: &mut Unstructured<'_>) -> Result<()> {
    let rows = mix::size(u, 8)?;
    let cols = mix::size(u, 16)?;
    let need = cols.checked_add(8).and_then(|s| s.checked_mul(rows));
    let len = mix::buf_len::<u8>(u, need, cols.wrapping_add(8).wrapping_mul(rows))?;
    let data = mix::bytes(u, len);
    let Ok(q) = FusedRowwise8::from_bytes(data, rows, cols) else {
        return Ok(());
    };
    assert_eq!(
        Some(len),
        need,
        "from_bytes accepted {len} bytes for {rows} x {cols}"
    );
    fused_check(&q, u)
}

fn fused_quantize(u: &mut Unstructured<'_>) -> Result<()> {
    let rows = mix::size(u, 8)?;
    let cols = mix::size(u, 16)?;
    let need = rows.checked_mul(cols);
    let len = mix::buf_len::<f32>(u, need, rows.wrapping_mul(cols))?;
    let specials = u8::arbitrary(u)? < 32;
    let table = mix::floats(u, len, specials, false);
    let Ok(q) = FusedRowwise8::quantize(&table, rows, cols) else {
        return Ok(());
    };
    assert_eq!(
        Some(len),
        need,
        "quantize accepted a table of {len} for {rows} x {cols}"
    );
    assert!(
        table.iter().all(|v| v.is_finite()),
        "quantize accepted non-finite values"
    );
    for r in 0..rows.min(64) {
        let (s, b) = q.scale_bias(r).unwrap();
        assert!(
            s.is_finite() && b.is_finite(),
            "row {r}: scale {s}, bias {b}"
        );
    }
    fused_check(&q, u)
}

/// Values for the observers: grid values, NaN, ±inf, subnormals, ±f32::MAX and friends.
fn obs_values(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<f32>> {
    mix::fill(u, n, |u| {
        Ok(match u8::arbitrary(u)? {
            0..=191 => mix::value(u, false, false)?,
            192..=239 => mix::value(u, true, false)?,
            _ => f32::arbitrary(u)?,
        })
    })
}

/// An observer's proposed range and parameters are usable.
fn check_observer<O: Observer>(o: &O, what: &str) {
    for qt in [QType::U8, QType::I8] {
        for sym in [Symmetry::Asymmetric, Symmetry::Symmetric] {
            if let Some((lo, hi)) = o.range(qt, sym) {
                assert!(
                    lo.is_finite() && hi.is_finite() && lo <= hi,
                    "{what}: range [{lo}, {hi}]"
                );
            }
            if let Ok(p) = o.params(qt, sym) {
                check_params(&p, qt, what);
            }
        }
    }
}

/// `p` has a finite positive scale and a zero point inside its type (read through the methods).
fn check_params(p: &QuantParams, qt: QType, what: &str) {
    let zp = p.quantize(0.0);
    assert!(
        (qt.min()..=qt.max()).contains(&zp),
        "{what}: zero point {zp} ({p:?})"
    );
    let step = p.dequantize(zp + 1);
    assert!(
        step.is_finite() && step > 0.0,
        "{what}: scale {step} ({p:?})"
    );
}

fn observers(u: &mut Unstructured<'_>) -> Result<()> {
    let mut mm = MinMaxObserver::new();
    let c = match u8::arbitrary(u)? {
        0..=199 => f32::from(1 + u8::arbitrary(u)? % 100) / 100.0,
        _ => mix::value(u, true, false)?,
    };
    let mut ma = MovingAverageMinMaxObserver::new(c).ok();
    if ma.is_some() {
        assert!(c > 0.0 && c <= 1.0, "moving average accepted constant {c}");
    }
    let bins = mix::size(u, 300)?;
    let method = match u8::arbitrary(u)? % 3 {
        0 => HistogramMethod::Full,
        1 => HistogramMethod::Percentile(match u8::arbitrary(u)? {
            0..=199 => 90.0 + f64::from(u8::arbitrary(u)? % 100) / 10.0,
            _ => f64::arbitrary(u)?,
        }),
        _ => HistogramMethod::Mse {
            steps: mix::size(u, 40)?,
        },
    };
    let mut h = HistogramObserver::new(bins, method).ok();
    if let Some(h) = &h {
        let (_, _, counts) = h.histogram();
        assert!(
            (2..=1 << 20).contains(&counts.len()),
            "histogram accepted {bins} bins"
        );
    }
    // Bound the MSE search's cost in the harness (steps × bins evaluations per pass).
    let slow =
        matches!(method, HistogramMethod::Mse { steps } if steps.saturating_mul(bins) > 1 << 16);
    let mut seen: Option<(f32, f32)> = None;
    let mut finite = 0usize;
    for _ in 0..1 + u8::arbitrary(u)? % 4 {
        let n = usize::from(u8::arbitrary(u)?);
        let x = obs_values(u, n)?;
        for &v in x.iter().filter(|v| v.is_finite()) {
            finite += 1;
            seen = Some(seen.map_or((v, v), |(a, b)| (a.min(v), b.max(v))));
        }
        mm.observe(&x);
        if let Some(o) = &mut ma {
            o.observe(&x);
        }
        if let Some(o) = &mut h {
            o.observe(&x);
        }
    }
    assert_eq!(
        mm.range(QType::U8, Symmetry::Asymmetric),
        seen,
        "min/max observer range"
    );
    check_observer(&mm, "MinMaxObserver");
    if let Some(o) = &ma {
        assert_eq!(
            o.range(QType::U8, Symmetry::Asymmetric).is_some(),
            seen.is_some()
        );
        check_observer(o, "MovingAverageMinMaxObserver");
    }
    if let Some(o) = &h {
        let (lo, w, counts) = o.histogram();
        let total: f64 = counts.iter().sum();
        assert_eq!(
            total, finite as f64,
            "histogram lost counts (lower edge {lo}, width {w})"
        );
        if !slow {
            check_observer(o, "HistogramObserver");
        }
    }

    // Per channel, with a layout that may not match.
    let channels = mix::size(u, 6)?;
    let layout = ChannelLayout {
        outer: mix::size(u, 4)?,
        channels: if u8::arbitrary(u)? < 230 {
            channels
        } else {
            mix::size(u, 6)?
        },
        inner: mix::size(u, 4)?,
    };
    let n = layout.element_count().ok().filter(|&n| n <= 1 << 12);
    let short = usize::from(u8::arbitrary(u)? % 16);
    let x = obs_values(u, n.unwrap_or(short))?;
    let mut pc = PerChannelObserver::new(MinMaxObserver::new(), channels);
    if pc.observe(&x, layout).is_ok() {
        assert_eq!(layout.channels, channels);
        assert_eq!(Some(x.len()), n);
    }
    let _ = pc.channel(channels.saturating_sub(1));
    assert!(pc.channel(channels).is_none());
    // (The parameters of a huge never-observed channel count are legitimately huge: only ask
    // for them when they are small, or so large that the limit must refuse them.)
    let ask = channels <= 1 << 16
        || channels
            .checked_mul(8)
            .is_none_or(|b| b > MAX_PER_CHANNEL_BYTES);
    if !ask {
        return Ok(());
    }
    if let Ok(p) = pc.params(QType::U8, Symmetry::Asymmetric) {
        assert_eq!(p.channels(), channels);
        for ch in 0..channels.min(64) {
            check_params(&p.channel(ch), QType::U8, "per-channel observer");
        }
    }
    if let Some(hp) = HistogramObserver::new(bins.min(4096), HistogramMethod::Full).ok() {
        let mut ph = PerChannelObserver::new(hp, channels);
        let _ = ph.observe(&x, layout);
        let _ = ph.params(QType::I8, Symmetry::Symmetric);
    }
    Ok(())
}

fn params(u: &mut Unstructured<'_>) -> Result<()> {
    let qt = qtype(u)?;
    let lo = obs_values(u, 1)?[0];
    let hi = obs_values(u, 1)?[0];
    if let Ok(p) = QuantParams::from_min_max(lo, hi, qt) {
        check_params(&p, qt, &format!("from_min_max({lo}, {hi})"));
        assert_eq!(
            p.dequantize(p.quantize(0.0)),
            0.0,
            "0 is not exact in {p:?}"
        );
    }
    for sym in [Symmetry::Asymmetric, Symmetry::Symmetric] {
        if let Ok(p) = choose::params_from_range(lo, hi, qt, sym) {
            check_params(&p, qt, &format!("params_from_range({lo}, {hi}, {sym:?})"));
        }
    }
    if let Ok(p) = choose::symmetric_from_abs_max(lo, qt) {
        check_params(&p, qt, &format!("symmetric_from_abs_max({lo})"));
    }
    let s = mix::scale(u)?;
    let z = mix::zero_point(u)?;
    if let Ok(p) = QuantParams::new(s, z, qt) {
        check_params(&p, qt, &format!("QuantParams::new({s}, {z})"));
        // Quantize/dequantize of every kind of value, every bulk variant against the reference.
        let nx = usize::from(u8::arbitrary(u)? % 80);
        let x = obs_values(u, nx)?;
        let want = quant_params::reference::quantize(&p, &x);
        for v in BULK.available() {
            let k = BulkKernels::new(v).expect("available variant");
            let got: Vec<i32> = match qt {
                QType::U8 => {
                    let mut o = vec![0u8; x.len()];
                    k.quantize_u8(&p, &x, &mut o).expect("lengths match");
                    o.iter().map(|&b| i32::from(b)).collect()
                }
                QType::I8 => {
                    let mut o = vec![0i8; x.len()];
                    k.quantize_i8(&p, &x, &mut o).expect("lengths match");
                    o.iter().map(|&b| i32::from(b)).collect()
                }
            };
            assert_eq!(got, want, "quantize {v:?} vs reference, {p:?}, x {x:?}");
            let q: Vec<i32> = want.clone();
            let dq_want = quant_params::reference::dequantize(&p, &q);
            let mut dq = vec![0f32; q.len()];
            match qt {
                QType::U8 => {
                    k.dequantize_u8(&p, &q.iter().map(|&v| v as u8).collect::<Vec<_>>(), &mut dq)
                }
                QType::I8 => {
                    k.dequantize_i8(&p, &q.iter().map(|&v| v as i8).collect::<Vec<_>>(), &mut dq)
                }
            }
            .expect("lengths match");
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&dq),
                bits(&dq_want),
                "dequantize {v:?} vs reference, {p:?}"
            );
        }
    }
    let n = usize::from(u8::arbitrary(u)? % 40);
    let x = obs_values(u, n)?;
    if let Ok(p) = choose::dynamic_quantize_params(&x) {
        check_params(&p, QType::U8, "dynamic_quantize_params");
    }
    let _ = choose::choose_per_tensor(&x, qt, Symmetry::Asymmetric);
    let layout = ChannelLayout {
        outer: mix::size(u, 3)?,
        channels: mix::size(u, 3)?,
        inner: mix::size(u, 3)?,
    };
    if let Ok(p) = choose::choose_per_channel(&x, layout, qt, Symmetry::Symmetric) {
        let mut out = vec![0u8; x.len()];
        let _ = choose::quantize_per_channel(&x, layout, &p, &mut out);
    }
    Ok(())
}

fn requantizers(u: &mut Unstructured<'_>) -> Result<()> {
    let qt = qtype(u)?;
    let sch = scheme(u)?;
    let s = mix::scale(u)?;
    let z = mix::zero_point(u)?;
    let Ok(r) = Requantizer::new(sch, s, z, qt) else {
        return Ok(());
    };
    assert!(
        s.is_finite() && s >= 2f32.powi(-32) && s < 256.0,
        "Requantizer::new accepted scale {s}"
    );
    assert!(
        (qt.min()..=qt.max()).contains(&z),
        "Requantizer::new accepted zero point {z} for {qt:?}"
    );
    let (lo, hi) = if u8::arbitrary(u)? < 96 {
        (mix::zero_point(u)?, mix::zero_point(u)?)
    } else {
        (qt.min(), qt.max())
    };
    let Ok(r) = r.with_clamp(lo, hi) else {
        return Ok(());
    };
    assert!(
        lo <= hi && lo >= qt.min() && hi <= qt.max(),
        "with_clamp accepted [{lo}, {hi}] for {qt:?}"
    );
    let na = usize::from(u8::arbitrary(u)? % 80);
    let acc = mix::fill(u, na, |u| {
        Ok(match u8::arbitrary(u)? {
            0..=199 => i32::from(i16::arbitrary(u)?),
            200..=219 => [i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1, 0]
                [usize::from(u8::arbitrary(u)? % 5)],
            _ => i32::arbitrary(u)?,
        })
    })?;
    let want = quant_params::reference::requantize(&r, &acc);
    for &w in &want {
        assert!(
            (lo..=hi).contains(&w),
            "requantize gave {w} outside the clamp [{lo}, {hi}]"
        );
    }
    for v in BULK.available() {
        let got: Vec<i32> = match qt {
            QType::U8 => {
                let mut o = vec![0u8; acc.len()];
                r.requantize_slice_u8_with(v, &acc, &mut o)
                    .expect("lengths match");
                o.iter().map(|&b| i32::from(b)).collect()
            }
            QType::I8 => {
                let mut o = vec![0i8; acc.len()];
                r.requantize_slice_i8_with(v, &acc, &mut o)
                    .expect("lengths match");
                o.iter().map(|&b| i32::from(b)).collect()
            }
        };
        assert_eq!(
            got, want,
            "requantize {v:?} vs reference, {r:?}, acc {acc:?}"
        );
    }
    // Per channel: rows of `ch` channels.
    let ch = 1 + usize::from(u8::arbitrary(u)? % 20);
    let scales = mix::fill(u, ch, |u| mix::scale(u))?;
    let Ok(pc) = PerChannelRequantizer::new(sch, &scales, z, qt) else {
        return Ok(());
    };
    let Ok(pc) = pc.with_clamp(lo, hi) else {
        return Ok(());
    };
    let rows = acc.len() / ch;
    let acc = &acc[..rows * ch];
    let want: Vec<i32> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| pc.channel(i % ch).unwrap().requantize(a))
        .collect();
    for v in BULK.available() {
        let got: Vec<i32> = match qt {
            QType::U8 => {
                let mut o = vec![0u8; acc.len()];
                pc.requantize_rows_u8_with(v, acc, &mut o)
                    .expect("whole rows");
                o.iter().map(|&b| i32::from(b)).collect()
            }
            QType::I8 => {
                let mut o = vec![0i8; acc.len()];
                pc.requantize_rows_i8_with(v, acc, &mut o)
                    .expect("whole rows");
                o.iter().map(|&b| i32::from(b)).collect()
            }
        };
        assert_eq!(got, want, "per-channel requantize {v:?} vs reference");
    }
    Ok(())
}
