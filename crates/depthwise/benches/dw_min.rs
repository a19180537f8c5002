//! Quick latency check on a shared machine: D1/D2/D3 (int8) and DF (fp32) per table entry, 1
//! thread, `N` runs each (default 400, env `DW_RUNS`); prints min and median µs (the minimum is
//! the least disturbed by other load). `cargo bench -p depthwise --bench dw_min`; `DW_ONLY=D1,DF`
//! runs only those ids.

mod common;

use common::{data, f32_plan, q8_plan, sizes, weights_i8, WORKLOADS};
use cpu_probe::parallel::Parallel;
use depthwise::{Input8, Output8, DWCONV_F32, DWCONV_INT8};
use std::hint::black_box;
use std::time::Instant;

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
    for &(id, [k, s, ch], h) in &WORKLOADS {
        let d = common::dw(k, s, ch);
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == id))
        {
            continue;
        }
        let (n_in, n_out, n_w) = sizes(&d, h, h);
        // Scalar entries (the first of each table) are skipped.
        let results: Vec<(&str, f64, f64)> = if id.starts_with("DF") {
            DWCONV_F32.available()[1..]
                .iter()
                .map(|&v| {
                    let (plan, x) = f32_plan(d, h, h, v);
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
            let wt = weights_i8(n_w, false);
            DWCONV_INT8.available()[1..]
                .iter()
                .map(|&v| {
                    let plan = q8_plan(d, &wt, None, v);
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
