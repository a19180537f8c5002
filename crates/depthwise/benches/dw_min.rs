//! Quick latency check on a shared machine: D1/D2/D3 (int8) and DF (fp32) per table entry, 1
//! thread, `N` runs each (default 400, env `DW_RUNS`); prints min and median µs (the minimum is
//! the least disturbed by other load). `cargo bench -p depthwise --bench dw_min`; `DW_ONLY=D1,DF`
//! runs only those ids.

use cpu_probe::parallel::Parallel;
use depthwise::{
    Depthwise32, DwDesc, Input8, Output8, OutputStage, QDepthwise, QDepthwiseConfig, DWCONV_F32,
    DWCONV_INT8,
};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;
use std::time::Instant;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// `v` copied to a buffer that starts `off` bytes past a 4096-byte boundary (env `DW_OFFSET`,
/// bytes past a 64-byte boundary for input and output: the alignment of the caller's buffers,
/// which decides how many vector loads split cache lines; env `DW_OUT_PAGE_OFFSET`, bytes added
/// to the output's offset within a 4 KiB page, for 4K-aliasing between input and output).
fn at_offset<T: Copy + Default>(v: &[T], off: usize) -> (Vec<T>, usize) {
    let sz = std::mem::size_of::<T>();
    let mut buf = vec![T::default(); v.len() + 4096 / sz + 1];
    let skew = (off % 4096 + 4096 - buf.as_ptr() as usize % 4096) % 4096 / sz;
    buf[skew..skew + v.len()].copy_from_slice(v);
    (buf, skew)
}

fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[runs / 2])
}

fn main() {
    let runs: usize = std::env::var("DW_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    // DW_ONLY=DF-14x14 (comma-separated ids) restricts the run, e.g. for `perf stat`.
    let only = std::env::var("DW_ONLY").ok();
    let off: usize = std::env::var("DW_OFFSET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
        % 64;
    let out_off = off
        + std::env::var("DW_OUT_PAGE_OFFSET")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
    let par = Parallel::single();
    let dw = |k: usize, s: usize, ch: usize| DwDesc::new([k, k], [s, s], [k / 2; 4], ch, 1);
    for (id, d, h) in [
        ("D1", dw(3, 1, 144), 56),
        ("D2", dw(3, 2, 96), 112),
        ("D3", dw(5, 1, 240), 14),
        ("DF", dw(3, 1, 144), 56),
        // Cache-resident versions of D1 / DF (compute, not memory, bound).
        ("D1-14x14", dw(3, 1, 144), 14),
        ("DF-14x14", dw(3, 1, 144), 14),
    ] {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == id))
        {
            continue;
        }
        let (oh, ow) = d.output_size(h, h).unwrap();
        let (n_in, n_out, n_w) = (h * h * d.channels, oh * ow * d.cout(), d.taps() * d.cout());
        // Scalar entries (the first of each table) are skipped.
        let results: Vec<(&str, f64, f64)> = if id.starts_with("DF") {
            let f = |n, s| -> Vec<f32> {
                data(n, s)
                    .into_iter()
                    .map(|b| f32::from(b) / 128.0 - 1.0)
                    .collect()
            };
            let (x, wt, b) = (f(n_in, 3), f(n_w, 4), f(d.cout(), 5));
            DWCONV_F32.available()[1..]
                .iter()
                .map(|&v| {
                    let plan = Depthwise32::new(d, &wt, Some(&b), (0.0, 6.0), Some(v)).unwrap();
                    let (xb, xs) = at_offset(&x, off);
                    let (mut yb, ys) = at_offset(&vec![0f32; n_out], out_off);
                    let (min, med) = time(runs, || {
                        let (x, y) = (&xb[xs..xs + n_in], &mut yb[ys..ys + n_out]);
                        plan.run(black_box(x), 1, h, h, y, &par).unwrap()
                    });
                    (plan.name(), min, med)
                })
                .collect()
        } else {
            let x = data(n_in, 1);
            let wt: Vec<i8> = data(n_w, 2).into_iter().map(|b| b as i8).collect();
            let r = Requantizer::new(RequantScheme::Fp32, 0.002, 128, QType::U8).unwrap();
            DWCONV_INT8.available()[1..]
                .iter()
                .map(|&v| {
                    let plan = QDepthwise::new(QDepthwiseConfig {
                        desc: d,
                        input_type: QType::U8,
                        input_zero_point: 128,
                        weights: Input8::I8(&wt),
                        weight_zero_points: &[0],
                        bias: None,
                        output: OutputStage::PerTensor(r),
                        entry: Some(v),
                    })
                    .unwrap();
                    let (xb, xs) = at_offset(&x, off);
                    let (mut yb, ys) = at_offset(&vec![0u8; n_out], out_off);
                    let (min, med) = time(runs, || {
                        let (x, y) = (&xb[xs..xs + n_in], &mut yb[ys..ys + n_out]);
                        plan.run(Input8::U8(black_box(x)), 1, h, h, Output8::U8(y), &par)
                            .unwrap()
                    });
                    (plan.name(), min, med)
                })
                .collect()
        };
        for (name, min, med) in results {
            println!("{id:<9} {name:<30} min {min:8.1} µs  median {med:8.1} µs");
        }
    }
}
