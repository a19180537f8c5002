//! The two fused-requantization entries of the best kernel alone (no driver) on Q2's shape
//! (3136 × K × 64, K = 64 unless given): the indirect `run_fp32`, called once per 8-row block
//! as qconv-direct does, and the strided `gemm_fp32`, called once for all blocks as the GEMM
//! driver does; min and median of 300 interleaved rounds, ns per 8 × 32 tile.
//! `cargo run --release -p qgemm --example fused_loop [k]`
use qgemm::ukernel::Fp32Requant;
use qgemm::{GemmConfig, PackedB};
use std::time::Instant;

fn main() {
    let k: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let (m, n) = (3136usize, 64usize);
    let b: Vec<i8> = (0..k * n).map(|i| (i * 7 % 251) as i8).collect();
    let p = PackedB::new(GemmConfig::u8_by_s8(k, n, &b)).unwrap();
    let entry = p.kernel();
    let kern = &entry.kernels;
    let (Some(f), Some(g)) = (kern.run_fp32, kern.gemm_fp32) else {
        println!("{} has no fused-requantization entries", entry.name);
        return;
    };
    let q = Fp32Requant {
        scale: 0.001,
        lo: -128.0,
        hi: 127.0,
        zero_point: 128,
        signed: false,
        channel_scales: None,
        rndnu: None,
    };
    // 4 bytes of slack: the strided kernel reads whole 4-byte groups of the last row.
    let a: Vec<u8> = (0..m * k + 4).map(|i| (i * 13 % 256) as u8).collect();
    let mut out = vec![0u8; m * n];
    let blocks = m / kern.mr;
    let ptrs: Vec<*const u8> = (0..m).map(|r| a[r * k..].as_ptr()).collect();
    let tiles = (blocks * n.div_ceil(kern.nr)) as f64;
    let names = ["igemm (per row block)", "gemm strided"];
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); 2];
    for _round in 0..300 {
        for (v, tv) in t.iter_mut().enumerate() {
            let s = Instant::now();
            if v == 0 {
                for blk in 0..blocks {
                    let r = blk * kern.mr;
                    // SAFETY: MR pointers to k readable bytes each; the packed blocks
                    // (consecutive, block_len apart) and their biases; out has MR rows at row r.
                    unsafe {
                        f(
                            kern.mr,
                            n,
                            p.packed().block_len(),
                            1,
                            k,
                            ptrs[r..].as_ptr(),
                            0,
                            p.packed().block(0, 0).as_ptr(),
                            p.packed().block_bias(0, 0).as_ptr(),
                            &q,
                            out[r * n..].as_mut_ptr(),
                            n,
                        )
                    };
                }
            } else {
                // SAFETY: every row of A is readable for k bytes (k % 4 == 0); out holds m
                // rows of n bytes.
                unsafe {
                    g(
                        blocks,
                        n,
                        p.packed().block_len(),
                        k.div_ceil(4),
                        a.as_ptr(),
                        k,
                        0,
                        p.packed().block(0, 0).as_ptr(),
                        p.packed().block_bias(0, 0).as_ptr(),
                        &q,
                        out.as_mut_ptr(),
                        n,
                    )
                };
            }
            tv.push(s.elapsed().as_secs_f64());
        }
    }
    for (v, tv) in t.iter_mut().enumerate() {
        tv.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{:22} k={k}: min {:.1} us ({:.1} ns/tile), median {:.1} us",
            names[v],
            tv[0] * 1e6,
            tv[0] * 1e9 / tiles,
            tv[tv.len() / 2] * 1e6
        );
    }
}
