//! One micro-kernel call repeated on an L1-resident tile (MR rows, one NR block), to separate the
//! kernel's own cost from the driver's: cycles-equivalent GOP/s per K.
//! `cargo run --release -p qgemm --example ukernel_loop`
use qgemm::{GemmConfig, PackedB};
use std::time::Instant;

fn main() {
    for k in [16usize, 32, 64, 128, 256, 1024] {
        let n = 32;
        let b: Vec<i8> = (0..k * n).map(|i| (i * 7 % 251) as i8).collect();
        let p = PackedB::new(GemmConfig::u8_by_s8(k, n, &b)).unwrap();
        let entry = p.kernel();
        let kern = &entry.kernels;
        let a: Vec<u8> = (0..16 * k).map(|i| (i * 13 % 256) as u8).collect();
        let ptrs: Vec<*const u8> = (0..kern.mr).map(|m| a[m * k..].as_ptr()).collect();
        let mut out = vec![0i32; kern.mr * kern.nr];
        let reps = 200_000_000 / (k * 8 * 32);
        let mut best = f64::MAX;
        for _ in 0..20 {
            let s = Instant::now();
            for _ in 0..reps {
                // SAFETY: pointers to kc readable bytes, a packed block and its bias, out of
                // mr × nr i32; the kernel is an available variant.
                unsafe {
                    (kern.run)(
                        kern.mr,
                        kern.nr,
                        1,
                        k,
                        ptrs.as_ptr(),
                        0,
                        p.packed().block(0, 0).as_ptr(),
                        p.packed().block_bias(0, 0).as_ptr(),
                        out.as_mut_ptr(),
                        kern.nr,
                    )
                };
            }
            best = best.min(s.elapsed().as_secs_f64() / reps as f64);
        }
        let ops = 2.0 * (kern.mr * kern.nr * k) as f64;
        println!(
            "{} k={k:5}: {:.1} ns per call, {:.0} GOP/s",
            entry.name,
            best * 1e9,
            ops / best / 1e9
        );
    }
}
