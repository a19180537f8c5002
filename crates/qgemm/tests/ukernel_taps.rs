//! Every available micro-kernel called directly with several taps (the indirect convolution
//! form), `kc` values around its k-group and `taps · kc` past the 2048 channels the AVX2 6x8
//! kernel widens at once (its chunks then start and end inside a tap), against a plain sum over
//! the same row pointers: the i32 entry, and the fused `Fp32` entry where there is one.

use qgemm::pack::pack_kernel;
use qgemm::ukernel::Fp32Requant;
use qgemm::IGEMM;
use quant_params::{QType, RequantScheme, Requantizer};

#[path = "support/lcg.rs"]
mod lcg;
use lcg::lcg;

#[test]
fn taps_and_chunks() {
    let mut seed = 5u64;
    for e in IGEMM.available() {
        let k = e.kernels;
        for (taps, kc) in [(1, 1), (9, 3), (9, 4), (3, 5), (9, 64), (9, 300), (5, 1037)] {
            for ncols in [1, k.nr - 1, k.nr, 2 * k.nr + 3] {
                if ncols == 0 {
                    continue;
                }
                seed += 1;
                let xor = if seed.is_multiple_of(2) { 0x80 } else { 0 };
                // w'[co][t][c], the kernel's whole range (−128 included where it is exact).
                let w: Vec<i8> = (0..ncols * taps * kc)
                    .map(|_| (lcg(&mut seed) as u8 as i8).max(k.w_min))
                    .collect();
                let bias: Vec<i32> = (0..ncols)
                    .map(|_| (lcg(&mut seed) % 20001) as i32 - 10000)
                    .collect();
                let zw = vec![0; ncols];
                let p = pack_kernel(&k, taps, kc, ncols, 1, &w, &zw, 0, &bias).unwrap();
                // taps · MR rows of kc bytes, row (t, m) at rows[t · MR + m].
                let rows: Vec<Vec<u8>> = (0..taps * k.mr)
                    .map(|_| (0..kc).map(|_| lcg(&mut seed) as u8).collect())
                    .collect();
                let ptrs: Vec<*const u8> = rows.iter().map(|r| r.as_ptr()).collect();
                let xb = if k.signed_a { xor ^ 0x80 } else { xor };
                for mr in 1..=k.mr {
                    let want: Vec<i32> = (0..mr * ncols)
                        .map(|i| {
                            let (m, j) = (i / ncols, i % ncols);
                            let mut s = bias[j];
                            for t in 0..taps {
                                for c in 0..kc {
                                    let a = i32::from(rows[t * k.mr + m][c] ^ xor);
                                    s = s.wrapping_add(a * i32::from(w[(j * taps + t) * kc + c]));
                                }
                            }
                            s
                        })
                        .collect();
                    // The i32 entry, one NR block per call.
                    let mut got = vec![i32::MIN; mr * ncols];
                    for b in 0..ncols.div_ceil(k.nr) {
                        let nr = (ncols - b * k.nr).min(k.nr);
                        // SAFETY: the kernel's contract: taps · MR pointers to kc bytes, one
                        // packed block and its NR biases, mr rows of nr i32 at stride ncols;
                        // the entry is available on this CPU.
                        unsafe {
                            (k.run)(
                                mr,
                                nr,
                                taps,
                                kc,
                                ptrs.as_ptr(),
                                xb,
                                p.block(0, b).as_ptr(),
                                p.block_bias(0, b).as_ptr(),
                                got.as_mut_ptr().add(b * k.nr),
                                ncols,
                            )
                        };
                    }
                    assert_eq!(
                        got, want,
                        "{} taps {taps} kc {kc} mr {mr} ncols {ncols}",
                        e.name
                    );
                    let Some(f) = k.run_fp32 else { continue };
                    for (qt, zp, scale) in [
                        (QType::U8, 128, 0.0007f32),
                        (QType::I8, -3, 0.001),
                        (QType::U8, 0, 3e-5),
                    ] {
                        let r = Requantizer::new(RequantScheme::Fp32, scale, zp, qt).unwrap();
                        let q = Fp32Requant::from_requantizer(&r).unwrap();
                        let ld = ncols + 2;
                        let mut out = vec![0xA5u8; mr * ld];
                        // SAFETY: as above, all blocks in one call (block_len apart, NR biases
                        // each), mr rows of ncols bytes at stride ld.
                        unsafe {
                            f(
                                mr,
                                ncols,
                                p.block_len(),
                                taps,
                                kc,
                                ptrs.as_ptr(),
                                xb,
                                p.data().as_ptr(),
                                p.block_biases().as_ptr(),
                                &q,
                                out.as_mut_ptr(),
                                ld,
                            )
                        };
                        for m in 0..mr {
                            for j in 0..ld {
                                let g = out[m * ld + j];
                                if j >= ncols {
                                    assert_eq!(g, 0xA5, "{} wrote past ncols", e.name);
                                    continue;
                                }
                                let v = r.requantize(want[m * ncols + j]);
                                let v = if qt == QType::I8 {
                                    v as i8 as u8
                                } else {
                                    v as u8
                                };
                                assert_eq!(
                                    g, v,
                                    "{} fp32 taps {taps} kc {kc} mr {mr} ({m}, {j})",
                                    e.name
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
