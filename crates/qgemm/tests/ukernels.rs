//! Every available igemm micro-kernel called directly (no driver) against a scalar model of its
//! contract, bit for bit: several taps, `kc` not a multiple of `KR` (nor of 8 or 16, the steps
//! of the aarch64 k-loops), `mr < MR`, `nr < NR`, the kernel xor (0, 0x80, any), weights at
//! −128 (the kernel's `w_min`) and 127, and the fused `Fp32` store per tensor and per channel over several `NR`
//! blocks with u8 and i8 outputs. Packed weights are laid out here from the layout's
//! definition (see `qgemm::pack`), independently of the packing code.
use proptest::prelude::*;
use qgemm::ukernel::{Fp32Requant, Kernel};
use qgemm::IGEMM;

struct Case {
    mr: usize,
    taps: usize,
    kc: usize,
    xor: u8,
    /// Rows of each tap: `taps · MR` rows of `kc` bytes.
    rows: Vec<Vec<u8>>,
    /// Weights `[block][tap][k][j]` for `blocks` blocks of NR columns.
    w: Vec<i8>,
    bias: Vec<i32>,
    blocks: usize,
}

#[path = "support/lcg.rs"]
mod lcg;
use lcg::lcg;

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(
        e: &Kernel,
        mr: usize,
        taps: usize,
        kc: usize,
        xor: u8,
        blocks: usize,
        wmode: u8,
        seed: u64,
    ) -> Case {
        let k = &e.kernels;
        let mut s = seed;
        let rows = (0..taps * k.mr)
            .map(|_| (0..kc).map(|_| lcg(&mut s) as u8).collect())
            .collect();
        let w = (0..blocks * k.nr * taps * kc)
            .map(|_| match wmode {
                0 => -128,
                1 => 127,
                _ => lcg(&mut s) as i8,
            })
            // The smallest weight the kernel is exact for (-127 for the i16-pair kernel).
            .map(|v: i8| v.max(k.w_min))
            .collect();
        let bias = (0..blocks * k.nr)
            .map(|_| (lcg(&mut s) % 2_000_001) as i32 - 1_000_000)
            .collect();
        Case {
            mr,
            taps,
            kc,
            xor,
            rows,
            w,
            bias,
            blocks,
        }
    }

    fn wv(&self, nr: usize, b: usize, t: usize, ki: usize, j: usize) -> i8 {
        self.w[((b * self.taps + t) * self.kc + ki) * nr + j]
    }

    /// The packed blocks (KR layout, zero-padded) and the block length in bytes.
    fn packed(&self, e: &Kernel) -> (Vec<i8>, usize) {
        let (nr, kr) = (e.kernels.nr, e.kernels.kr);
        let kcg = self.kc.div_ceil(kr);
        let len = self.taps * kcg * nr * kr;
        let mut p = vec![0i8; self.blocks * len];
        for b in 0..self.blocks {
            for t in 0..self.taps {
                for ki in 0..self.kc {
                    for j in 0..nr {
                        p[b * len + ((t * kcg + ki / kr) * nr + j) * kr + ki % kr] =
                            self.wv(nr, b, t, ki, j);
                    }
                }
            }
        }
        (p, len)
    }

    /// The accumulator of row m, column c (over all blocks).
    fn acc(&self, e: &Kernel, m: usize, c: usize) -> i32 {
        let (mrk, nr) = (e.kernels.mr, e.kernels.nr);
        let (b, j) = (c / nr, c % nr);
        let mut s = self.bias[c];
        for t in 0..self.taps {
            for ki in 0..self.kc {
                let x = self.rows[t * mrk + m][ki] ^ self.xor;
                let a = if e.kernels.signed_a {
                    i32::from(x as i8)
                } else {
                    i32::from(x)
                };
                s = s.wrapping_add(a * i32::from(self.wv(nr, b, t, ki, j)));
            }
        }
        s
    }

    fn ptrs(&self) -> Vec<*const u8> {
        self.rows.iter().map(|r| r.as_ptr()).collect()
    }
}

/// `run` on block 0 with `nr` columns, i32 out with a padded row stride.
fn check_run(e: &Kernel, c: &Case, nr: usize) {
    let k = &e.kernels;
    let (p, _) = c.packed(e);
    let ptrs = c.ptrs();
    let ld = nr + 3;
    let mut out = vec![0x5A5A_5A5Ai32; k.mr * ld];
    let (a, w, bias, o) = (ptrs.as_ptr(), p.as_ptr(), c.bias.as_ptr(), out.as_mut_ptr());
    // SAFETY: taps·MR row pointers of kc bytes; one packed block and NR biases; out holds
    // mr rows of nr at stride ld; the entry is available on this CPU.
    unsafe { (k.run)(c.mr, nr, c.taps, c.kc, a, c.xor, w, bias, o, ld) };
    let what = format!("{} kc={} taps={}", e.name, c.kc, c.taps);
    check_tile(
        &out,
        ld,
        c.mr,
        nr,
        0x5A5A_5A5A,
        |m, j| c.acc(e, m, j),
        &what,
    );
}

/// `run_fp32` over `ncols` columns of all blocks.
fn check_fp32(e: &Kernel, c: &Case, ncols: usize, q: &Fp32Requant, cs: Option<&[f32]>) {
    let k = &e.kernels;
    let Some(f) = k.run_fp32 else { return };
    let (p, len) = c.packed(e);
    let ptrs = c.ptrs();
    let ld = ncols + 5;
    let mut out = vec![0xA5u8; k.mr * ld];
    let (a, w, bias, o) = (ptrs.as_ptr(), p.as_ptr(), c.bias.as_ptr(), out.as_mut_ptr());
    // SAFETY: as in check_run, over ceil(ncols / NR) blocks `len` bytes apart with their NR
    // biases consecutive; channel scales (if any) cover ncols; out holds mr rows of ncols.
    unsafe { f(c.mr, ncols, len, c.taps, c.kc, a, c.xor, w, bias, q, o, ld) };
    let want = |m, j| {
        let scale = cs.map_or(q.scale, |s: &[f32]| s[j]);
        let v = ((c.acc(e, m, j) as f32) * scale)
            .clamp(q.lo, q.hi)
            .round_ties_even() as i32
            + q.zero_point;
        if q.signed {
            v as i8 as u8
        } else {
            v as u8
        }
    };
    let what = format!(
        "{} fused kc={} taps={} signed={}",
        e.name, c.kc, c.taps, q.signed
    );
    check_tile(&out, ld, c.mr, ncols, 0xA5, want, &what);
}

/// Checks `out` (rows of `ld` elements): the `mr × ncols` tile holds `want(m, j)`, every other
/// element still holds `sentinel` (nothing was written outside the tile).
fn check_tile<T: Copy + PartialEq + std::fmt::Debug>(
    out: &[T],
    ld: usize,
    mr: usize,
    ncols: usize,
    sentinel: T,
    want: impl Fn(usize, usize) -> T,
    what: &str,
) {
    for (m, row) in out.chunks(ld).enumerate() {
        for (j, &got) in row.iter().enumerate() {
            if m < mr && j < ncols {
                assert_eq!(got, want(m, j), "{what} m={m} j={j}");
            } else {
                assert_eq!(
                    got, sentinel,
                    "{what}: wrote outside the tile at m={m} j={j}"
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn one(
    mr_off: usize,
    taps: usize,
    kc: usize,
    xor_mode: u8,
    nr_off: usize,
    blocks: usize,
    wmode: u8,
    signed: bool,
    per_channel: bool,
    seed: u64,
) {
    for e in IGEMM.available() {
        let k = &e.kernels;
        let mr = k.mr - mr_off % k.mr;
        let xor = match xor_mode {
            0 => 0,
            1 => 0x80,
            _ => seed as u8,
        };
        let c = Case::new(e, mr, taps, kc, xor, blocks, wmode, seed);
        check_run(e, &c, k.nr - nr_off % k.nr);
        let ncols = blocks * k.nr - nr_off % k.nr;
        let cs: Vec<f32> = (0..ncols)
            .map(|j| 1e-5 * (1 + (j * 37 + seed as usize) % 400) as f32)
            .collect();
        let zp = if signed {
            -7 + (seed % 3) as i32
        } else {
            128 - (seed % 3) as i32
        };
        let (qmin, qmax) = if signed { (-128, 127) } else { (0, 255) };
        let lo = if seed.is_multiple_of(4) {
            qmin + 10
        } else {
            qmin
        };
        let q = Fp32Requant {
            scale: if per_channel {
                4e-3
            } else {
                1e-4 * (1 + seed % 50) as f32
            },
            lo: (lo - zp) as f32,
            hi: (qmax - zp) as f32,
            zero_point: zp,
            signed,
            channel_scales: per_channel.then_some(&cs[..]),
            rndnu: None,
        };
        check_fp32(e, &c, ncols, &q, per_channel.then_some(&cs[..]));
    }
}

#[test]
fn fixed_edges() {
    // kc around the k-loop steps (4, 8, 16), one and many taps, full and partial tiles.
    let mut seed = 3u64;
    for kc in [1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 64, 72] {
        for taps in [1, 3] {
            for (mr_off, nr_off) in [(0, 0), (1, 3), (7, 15)] {
                seed += 1;
                one(
                    mr_off,
                    taps,
                    kc,
                    (seed % 3) as u8,
                    nr_off,
                    2,
                    (seed % 3) as u8,
                    seed.is_multiple_of(2),
                    seed % 5 < 2,
                    seed,
                );
            }
        }
    }
}

#[test]
fn whole_tiles_in_every_output_form() {
    // Full tiles over 16-channel steps (and 4- or 8-channel tails) and several column blocks
    // (the shape the fused entries may run in one asm block, e.g. igemm_4x16c4_fp32__neondot's
    // whole_blocks), with a
    // partial last block or not, in every combination of xor, output type and scale form.
    let mut seed = 101u64;
    // kc past whole 16-channel steps by 4 or 8 (the paths' k-group tails), and below 16.
    for kc in [16, 48, 64, 4, 8, 12, 24, 40] {
        for taps in [1, 2] {
            for nr_off in [0, 5] {
                for xor_mode in 0..3u8 {
                    for (signed, pc) in [(false, false), (false, true), (true, false), (true, true)]
                    {
                        seed += 1;
                        one(
                            0,
                            taps,
                            kc,
                            xor_mode,
                            nr_off,
                            3,
                            (seed % 3) as u8,
                            signed,
                            pc,
                            seed,
                        );
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random(mr_off in 0usize..16, taps in 1usize..6, kc in 1usize..140, xor_mode in 0u8..3, nr_off in 0usize..32, blocks in 1usize..4, wmode in 0u8..3, signed in any::<bool>(), pc in any::<bool>(), seed in any::<u64>()) {
        one(mr_off, taps, kc, xor_mode, nr_off, blocks, wmode, signed, pc, seed);
    }
}

/// The tests above iterate [`IGEMM`]'s available entries: on 32-bit ARM with NEON (the QEMU
/// cortex-a7 and cortex-a15 runs of `scripts/test-armv7.sh`) that list includes the aarch32
/// NEON kernel, so they check it.
#[test]
fn armv7_neon_entry_is_checked_where_neon_runs() {
    let names: Vec<_> = IGEMM.available().iter().map(|e| e.name).collect();
    eprintln!("available igemm entries: {names:?}");
    if cfg!(target_arch = "arm") && cpu_probe::Isa::Neon.supported() {
        assert!(names.contains(&"igemm_4x8c4__aarch32_neon"), "{names:?}");
    }
}

/// Empty sums: no taps, or taps of zero channels (no packed weights at all): every entry stores
/// its biases (i32, and requantized by the fused entry).
#[test]
fn empty_sums_store_the_bias() {
    for e in IGEMM.available() {
        let k = &e.kernels;
        for (taps, kc) in [(0, 0), (0, 5), (3, 0)] {
            let c = Case::new(e, k.mr, taps, kc, 0x80, 2, 2, 11);
            check_run(e, &c, k.nr);
            check_run(e, &c, 1);
            let q = Fp32Requant {
                scale: 1e-4,
                lo: -128.0,
                hi: 127.0,
                zero_point: 128,
                signed: false,
                channel_scales: None,
                rndnu: None,
            };
            check_fp32(e, &c, 2 * k.nr - 1, &q, None);
        }
    }
}
