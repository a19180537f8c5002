#![no_main]
//! `fft_conv::FftConv::new` + `run` with arbitrary channels, kernel sides, padding, batch and
//! image sizes (full `usize` range, mostly small), tiles, clamps, 1 or 2 threads and every
//! available variant.
//!
//! Oracles: `Ok` only for valid calls (lengths checked here with checked arithmetic; output
//! elements past the needed length untouched); for small problems the output equals
//! `fft_conv::reference::conv2d_nchw` clamped with NaN propagating (DESIGN.md rule 5) within
//! `5e-5 · (max Σ|w·x| + max_k Σ|w| · max|x|)` (a NaN in the input may also spread to the other outputs of its tile).

use arbitrary::{Arbitrary, Result, Unstructured};
use fft_conv::{FftConfig, FftConv, Tile, FFT};
use libfuzzer_sys::fuzz_target;

#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let cin = mix::size1(u, 8)?;
    let cout = mix::size1(u, 10)?;
    let kh = mix::size1(u, 9)?;
    let kw = mix::size1(u, 9)?;
    let padding = [
        mix::size(u, 4)?,
        mix::size(u, 4)?,
        mix::size(u, 4)?,
        mix::size(u, 4)?,
    ];
    let k_need = mix::prod(&[cout, cin, kh, kw]);
    // The plan packs the kernel for 8x8 and 16x16 tiles: cin · cout · (64 + 256) complex
    // values, whatever the kernel size (a 1x1 kernel grows 2560-fold). Valid kernels whose
    // packing exceeds the cap are not given (known: FftConv::new with in_channels 6250495 and a
    // 1x1 kernel allocates about 13 GB and the process is killed; fuzz/regressions/fft_conv).
    let packable = mix::fits::<u64>(mix::prod(&[cin, cout, 64 + 256]));
    let k_len = mix::buf_len::<f32>(
        u,
        k_need.filter(|_| packable),
        mix::wprod(&[cout, cin, kh, kw]),
    )?;
    let kernel = mix::floats(u, k_len, false, false);
    let nan = u8::arbitrary(u)? < 64;
    let bias: Option<Vec<f32>> = match u8::arbitrary(u)? % 4 {
        0 if cout <= 64 => Some(mix::floats(u, cout, false, false)),
        1 => Some(vec![0.0; usize::from(u8::arbitrary(u)? % 4)]),
        _ => None,
    };
    let clamp = match u8::arbitrary(u)? % 6 {
        0 => Some((0.0, f32::INFINITY)),
        1 => Some((0.0, 6.0)),
        2 => Some((mix::value(u, true, false)?, mix::value(u, true, false)?)),
        _ => None,
    };
    let tile = [Tile::Auto, Tile::T8, Tile::T16][usize::from(u8::arbitrary(u)? % 3)];
    let available = FFT.available();
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(available[usize::from(v) % available.len()]),
    };
    let cfg = FftConfig {
        bias: bias.as_deref(),
        padding,
        tile,
        clamp,
        ukernel: variant,
        ..FftConfig::new(cin, cout, kh, kw, &kernel)
    };
    trace!("FftConv::new({cfg:?})");
    let Ok(plan) = FftConv::new(cfg) else {
        return Ok(());
    };
    let Some(k_need) = k_need else {
        panic!("FftConv::new accepted {cout}x{cin}x{kh}x{kw} (overflows usize)");
    };
    assert_eq!(
        k_len, k_need,
        "FftConv::new accepted a kernel of {k_len} for {cout}x{cin}x{kh}x{kw}"
    );
    assert!(
        kh <= 16 && kw <= 16,
        "FftConv::new accepted a {kh}x{kw} kernel"
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            cout,
            "FftConv::new accepted a bias of {} for {cout} channels",
            b.len()
        );
    }
    let (lo, hi) = clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    assert!(
        !lo.is_nan() && !hi.is_nan() && lo <= hi,
        "FftConv::new accepted clamp [{lo}, {hi}]"
    );

    for _ in 0..1 + u8::arbitrary(u)? % 2 {
        let batch = mix::size(u, 2)?;
        let h = mix::size(u, 20)?;
        let w = mix::size(u, 20)?;
        let out = (|| {
            let ph = h.checked_add(padding[0])?.checked_add(padding[2])?;
            let pw = w.checked_add(padding[1])?.checked_add(padding[3])?;
            (h > 0 && w > 0 && ph >= kh && pw >= kw).then(|| (ph - kh + 1, pw - kw + 1))
        })();
        let (oh, ow) = out.unwrap_or((0, 0));
        let in_need = mix::prod(&[batch, cin, h, w]);
        let out_need = out.and_then(|_| mix::prod(&[batch, cout, oh, ow]));
        let in_len = mix::buf_len::<f32>(u, in_need, mix::wprod(&[batch, cin, h, w]))?;
        let input = mix::floats(u, in_len, nan, true);
        let extra = usize::from(u8::arbitrary(u)? % 3);
        let out_len = mix::buf_len::<f32>(u, out_need, mix::wprod(&[batch, cout, oh, ow]))?
            .saturating_add(extra);
        const S: u32 = 0x7fc0_dead;
        let mut output = vec![f32::from_bits(S); out_len];
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!("run(input of {in_len}, batch {batch}, h {h}, w {w}, output of {out_len})");
        if plan.run(&input, batch, h, w, &mut output, par).is_err() {
            continue;
        }
        let Some(in_need) = in_need else {
            panic!("run accepted {batch}x{cin}x{h}x{w} (overflows usize)");
        };
        assert!(
            in_len >= in_need,
            "run accepted an input of {in_len}; {batch}x{cin}x{h}x{w} needs {in_need}"
        );
        let Some(out_need) = out_need else {
            panic!("run accepted {batch}x{cout} on {h}x{w}, kernel {kh}x{kw}, padding {padding:?}: no valid output size");
        };
        assert!(
            out_len >= out_need,
            "run accepted an output of {out_len}; {batch}x{cout}x{oh}x{ow} needs {out_need}"
        );
        assert!(
            output[out_need..].iter().all(|v| v.to_bits() == S),
            "run wrote past the {out_need} output elements"
        );
        if out_need == 0 || mix::prod(&[out_need, cin, kh, kw]).is_none_or(|x| x > 1 << 20) {
            continue;
        }
        let input = &input[..in_need];
        let want = fft_conv::reference::conv2d_nchw(
            input,
            batch,
            cin,
            h,
            w,
            &kernel,
            cout,
            kh,
            kw,
            padding,
            bias.as_deref(),
            None,
        );
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<f32>>();
        let mag = fft_conv::reference::conv2d_nchw(
            &abs(input),
            batch,
            cin,
            h,
            w,
            &abs(&kernel),
            cout,
            kh,
            kw,
            padding,
            bias.as_ref().map(|b| abs(b)).as_deref(),
            None,
        );
        let max_mag = mag
            .iter()
            .copied()
            .filter(|m| m.is_finite())
            .fold(0.0f64, f64::max);
        let any_nan = input.iter().any(|v| v.is_nan());
        // The FFT's rounding error grows with the whole tile, not only with the terms of one
        // output: bound it by max_k Σ|w| · max|x| as well as by the outputs' magnitudes.
        let w_sum = kernel
            .chunks(cin * kh * kw)
            .map(|kk| kk.iter().map(|v| f64::from(v.abs())).sum::<f64>())
            .fold(0.0f64, f64::max);
        let x_max = input
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
        let tol = 5e-5 * (max_mag + w_sum * x_max);
        for (i, &wv) in want.iter().enumerate() {
            let got = output[i];
            let wv = mix::clamp_nan(wv, lo, hi);
            if wv.is_finite() && got.is_nan() && any_nan {
                continue; // a NaN elsewhere in the same FFT tile
            }
            assert!(
                mix::close(got, wv, tol),
                "output {i}: kernel {got}, reference {wv} (tolerance {tol:e}, clamp [{lo}, {hi}]); {cin}->{cout} kernel {kh}x{kw} on {batch}x{h}x{w} padding {padding:?}, tile {:?}, {:?}",
                plan.tile_for(h, w),
                plan.name()
            );
        }
    }
    Ok(())
}
