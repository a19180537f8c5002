//! The fp32 run: validate the call, size the chunks and the scratch, then per chunk of tiles the
//! three phases (input transform, tuple GEMM, output transform), each spread over the pool.

use crate::transforms::{Geometry, InJob, OutJob, LANES};
use crate::ukernel::{Kernels, Transforms, MR};
use crate::{check_dim, mul, shape_err, try_zeroed, Buf, Profile, WinogradConv, WinogradError};
use cpu_probe::parallel::Parallel;
use std::time::Instant;

/// The scratch of a plan: transformed input `V` and products `M`, grown on demand.
#[derive(Default)]
pub(crate) struct Scratch {
    v: Option<Buf>,
    m: Option<Buf>,
}

impl Scratch {
    /// Buffers of at least `v_len` and `m_len` floats (allocated fallibly), as pointers.
    fn ensure(
        &mut self,
        v_len: usize,
        m_len: usize,
    ) -> Result<(*mut f32, *mut f32), WinogradError> {
        if self.v.as_ref().is_none_or(|b| b.len() < v_len) {
            self.v = None;
            self.v = Some(try_zeroed(v_len, "scratch V (transformed input)")?);
        }
        if self.m.as_ref().is_none_or(|b| b.len() < m_len) {
            self.m = None;
            self.m = Some(try_zeroed(m_len, "scratch M (products)")?);
        }
        let v = self
            .v
            .as_mut()
            .map_or(std::ptr::null_mut(), |b| b.as_mut_ptr());
        let m = self
            .m
            .as_mut()
            .map_or(std::ptr::null_mut(), |b| b.as_mut_ptr());
        Ok((v, m))
    }
}

/// A raw pointer that parallel tasks share; every task touches a disjoint part.
///
/// Kept (not `Parallel::for_each_chunk_mut`/`for_each_tile_mut`): the regions a task of each
/// phase writes are not contiguous chunks nor uniform tiles of one strided matrix. An input
/// transform job (16-tile block `tb`, channel group `ch..ch + nch`) writes `nch·16` floats at
/// each of the α² points of `V` (point stride an odd number of cache lines, groups of unequal
/// size when the group size does not divide `c`); a GEMM job (point `p`, 6 output channels)
/// writes `mr·16` floats in every 16-tile block of point `p` of `M`; an output job writes the
/// 2-D tiles of its channels into NCHW planes. The block transforms and GEMM micro-kernels take
/// raw pointers anyway (their contracts say which floats they touch).
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: used only to hand disjoint regions of one buffer to tasks of `Parallel`, which all end
// before the buffer's owner continues.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the whole `Shared`, not its raw field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// Point strides of `V` and `M`: an odd number of 64-byte lines, so that the α² points one
/// transform job touches fall into different L1 sets (a multiple of 4 KiB would put them all
/// into one 8-way set and alias the stores with each other).
fn odd_lines(n: usize) -> usize {
    (n / LANES) | 1
}

/// The size of a chunk-sized scratch buffer: `a2` points of `odd_lines(ch · tiles) · 16`
/// floats, checked.
fn scratch_len(a2: usize, ch: usize, tiles: usize) -> Result<usize, WinogradError> {
    let lines = odd_lines(mul(ch, tiles, "scratch size")?);
    mul(a2, mul(lines, LANES, "scratch size")?, "scratch size")
}

/// What the three phases of one chunk of tiles share.
struct Chunk<'a> {
    g: &'a Geometry,
    kern: &'static Kernels,
    tf: &'a Transforms,
    /// First tile, tiles, 16-tile blocks of the chunk.
    t0: usize,
    nt: usize,
    ntb: usize,
    /// Point strides of `V` and `M` (see `odd_lines`).
    sv: usize,
    sm: usize,
    v: Shared<f32>,
    m: Shared<f32>,
}

impl WinogradConv {
    /// Tiles per chunk for a run over `tiles` tiles.
    fn chunk(&self, tiles: usize) -> usize {
        let step = 2 * LANES;
        let n = match self.chunk_tiles {
            Some(n) => n,
            None => {
                // Saturating: a heuristic (the scratch sizes derived from it are checked).
                let a2 = self.tile.alpha() * self.tile.alpha();
                let per_tile = (self.c.saturating_add(self.k))
                    .saturating_mul(a2 * 4)
                    .max(1);
                let u_bytes = self.u.len().saturating_mul(4);
                // V and M of a chunk in about half of L2; when the packed kernel does not fit in
                // L2 itself, bigger chunks amortise streaming it.
                let mut n = (self.l2 / 2) / per_tile;
                if u_bytes > self.l2 / 2 {
                    n = n.max(256);
                }
                n.max(step)
            }
        };
        let round = |x: usize| x.div_ceil(step).saturating_mul(step);
        round(n).min(round(tiles)).max(step)
    }

    /// Convolves `input` (NCHW, `batch · in_channels · h · w`) into `output` (NCHW,
    /// `batch · out_channels · oh · ow`, see [`WinogradConv::output_size`]).
    ///
    /// `batch`, `h` and `w` are at most [`crate::MAX_DIM`]; the buffers may be longer than
    /// needed (the rest is not touched), never shorter. NaN inputs propagate (see the crate
    /// docs).
    pub fn run(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        par: &Parallel,
    ) -> Result<(), WinogradError> {
        self.run_inner(input, batch, h, w, output, par, None)
    }

    /// As [`WinogradConv::run`], and returns the time of each phase.
    pub fn run_profiled(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        par: &Parallel,
    ) -> Result<Profile, WinogradError> {
        let mut p = Profile {
            kernel_transform: self.kernel_transform_time,
            ..Profile::default()
        };
        self.run_inner(input, batch, h, w, output, par, Some(&mut p))?;
        Ok(p)
    }

    /// Checks the call's sizes and buffer lengths; returns the run's geometry and the input
    /// length it reads.
    fn validate_run(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &[f32],
    ) -> Result<(Geometry, usize), WinogradError> {
        if batch == 0 {
            return Err(shape_err("batch = 0: need at least one image".to_string()));
        }
        check_dim("batch", batch)?;
        let (oh, ow) = self.output_size(h, w)?;
        let (c, k) = (self.c, self.k);
        let in_len = mul(
            mul(mul(batch, c, "input size")?, h, "input size")?,
            w,
            "input size",
        )?;
        if input.len() < in_len {
            return Err(WinogradError::Length {
                argument: "input",
                expected: in_len,
                actual: input.len(),
            });
        }
        let out_len = mul(
            mul(mul(batch, k, "output size")?, oh, "output size")?,
            ow,
            "output size",
        )?;
        if output.len() < out_len {
            return Err(WinogradError::Length {
                argument: "output",
                expected: out_len,
                actual: output.len(),
            });
        }
        let m = self.tile.m();
        let tiles_y = oh.div_ceil(m);
        let tiles_x = ow.div_ceil(m);
        let tiles = mul(mul(batch, tiles_y, "tile count")?, tiles_x, "tile count")?;
        let g = Geometry {
            c,
            k,
            h,
            w,
            oh,
            ow,
            pad_top: self.pad[0],
            pad_left: self.pad[1],
            tiles_y,
            tiles_x,
            tiles,
        };
        Ok((g, in_len))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_inner(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        par: &Parallel,
        mut profile: Option<&mut Profile>,
    ) -> Result<(), WinogradError> {
        let (g, in_len) = self.validate_run(input, batch, h, w, output)?;
        let input = &input[..in_len];
        let (c, k) = (self.c, self.k);
        let alpha = self.tile.alpha();
        let a2 = alpha * alpha;
        let chunk = self.chunk(g.tiles);
        // Scratch for the largest chunk (ntb_max blocks of 16 tiles).
        let ntb_max = chunk / LANES;
        let v_len = scratch_len(a2, c, ntb_max * LANES)?;
        let m_len = scratch_len(a2, k, ntb_max * LANES)?;

        let mut guard = self.scratch.try_lock().ok();
        let mut local = Scratch::default();
        let scratch: &mut Scratch = match guard.as_deref_mut() {
            Some(s) => s,
            None => &mut local,
        };
        let (vp, mp) = scratch.ensure(v_len, m_len)?;
        let out = Shared(output.as_mut_ptr());
        let kern = &self.entry.kernels;
        let mut t0 = 0;
        while t0 < g.tiles {
            let nt = chunk.min(g.tiles - t0);
            let ntb = nt.div_ceil(LANES);
            // Point strides (see `odd_lines`): sv ≥ ntb·c·16, sm ≥ ntb·k·16, and a2·sv ≤ v_len,
            // a2·sm ≤ m_len since ntb ≤ ntb_max.
            let ck = Chunk {
                g: &g,
                kern,
                tf: kern.transforms(self.tile),
                t0,
                nt,
                ntb,
                sv: odd_lines(ntb * c * LANES) * LANES,
                sm: odd_lines(ntb * k * LANES) * LANES,
                v: Shared(vp),
                m: Shared(mp),
            };
            let clock = Instant::now();
            self.input_phase(&ck, input, par);
            let t_in = clock.elapsed();
            let clock = Instant::now();
            self.gemm_phase(&ck, par);
            let t_mul = clock.elapsed();
            let clock = Instant::now();
            self.output_phase(&ck, out, par);
            let t_out = clock.elapsed();
            if let Some(p) = profile.as_deref_mut() {
                p.input_transform += t_in;
                p.multiply += t_mul;
                p.output_transform += t_out;
            }
            t0 += nt;
        }
        Ok(())
    }

    /// Channels per transform job: the per-tile set-up (positions, borders) is shared by the
    /// channels of a job. Measured (W1/W2, 1 thread): the input transform gains up to 32
    /// channels per job (it also prefetches the next channel), the output transform does not
    /// beyond 8 (more output planes written at once).
    fn group(n: usize, max: usize) -> usize {
        n.div_ceil(n.div_ceil(max))
    }

    /// Phase 1: input transform of the chunk into `V`, parallel over (16-tile block, group of
    /// up to 32 channels).
    fn input_phase(&self, ck: &Chunk<'_>, input: &[f32], par: &Parallel) {
        let c = self.c;
        let gc = Self::group(c, 32);
        let ngc = c.div_ceil(gc);
        let (g, vbuf, input_fn) = (ck.g, ck.v, ck.tf.input);
        par.for_each(ngc * ck.ntb, |job| {
            let (tb, gi) = (job / ngc, job % ngc);
            let ch = gi * gc;
            let ij = InJob {
                input: input.as_ptr(),
                ch,
                nch: gc.min(c - ch),
                tile0: ck.t0 + tb * LANES,
                // SAFETY: (tb·c + ch)·16 < c·ntb·16 ≤ sv ≤ v_len.
                out: unsafe { vbuf.get().add((tb * c + ch) * LANES) },
                stride_p: ck.sv,
                input_len: input.len(),
            };
            // SAFETY: the input holds batch·c·h·w floats (checked), V holds a2·ntb·c·16
            // floats, this job writes only its own (tb, ch..ch + nch) slots, and the table
            // entry is available (checked at plan time).
            unsafe { input_fn(g, &ij) };
        });
    }

    /// Phase 2: tuple GEMM `M[p] = U[p] · V[p]`, parallel over (point, block of 6 output
    /// channels), blocked over input channels for L1.
    fn gemm_phase(&self, ck: &Chunk<'_>, par: &Parallel) {
        let (c, k) = (self.c, self.k);
        let kern = ck.kern;
        let nkb = k.div_ceil(MR);
        let alpha = self.tile.alpha();
        // C blocking: a U panel (kc·6) and the V panels it meets (kc·16·panels) in ~3/4 of L1.
        let kc_max = ((self.l1 * 3 / 4) / ((kern.panels * LANES + MR) * 4)).max(16);
        let kc = c.div_ceil(c.div_ceil(kc_max));
        let u = Shared(self.u.as_ptr() as *mut f32);
        let (ntb, sv, sm) = (ck.ntb, ck.sv, ck.sm);
        let (vbuf, mbuf) = (ck.v, ck.m);
        // A last block of at most 8 tiles goes to the half-panel kernel when there is one
        // (lanes 8..16 of its M rows are then stale; the output transform ignores them).
        let last_half = kern.gemm_half.is_some() && ck.nt - (ntb - 1) * LANES <= LANES / 2;
        let nfull = if last_half { ntb - 1 } else { ntb };
        par.for_each(alpha * alpha * nkb, |job| {
            let (p, kb) = (job / nkb, job % nkb);
            let mr = MR.min(k - kb * MR);
            let mut c0 = 0;
            while c0 < c {
                let kcl = kc.min(c - c0);
                // SAFETY: all offsets below are inside U (a2·nkb·c·6), V (a2 points of sv ≥
                // ntb·c·16 floats) and M (a2 points of sm ≥ ntb·k·16); this job writes only
                // rows kb·6..kb·6+mr of point p.
                unsafe {
                    let up = u.get().add(((p * nkb + kb) * c + c0) * MR) as *const f32;
                    let mut tb = 0;
                    while tb < nfull {
                        let vptr = vbuf.get().add(p * sv + (tb * c + c0) * LANES);
                        let mptr = mbuf.get().add(p * sm + (tb * k + kb * MR) * LANES);
                        if tb + kern.panels <= nfull {
                            (kern.gemm[mr - 1])(kcl, up, vptr, c * LANES, mptr, k * LANES, c0 > 0);
                            tb += kern.panels;
                        } else {
                            (kern.gemm1[mr - 1])(kcl, up, vptr, c * LANES, mptr, k * LANES, c0 > 0);
                            tb += 1;
                        }
                    }
                    if let (true, Some(half)) = (last_half, kern.gemm_half) {
                        let tb = ntb - 1;
                        (half[mr - 1])(
                            kcl,
                            up,
                            vbuf.get().add(p * sv + (tb * c + c0) * LANES),
                            c * LANES,
                            mbuf.get().add(p * sm + (tb * k + kb * MR) * LANES),
                            k * LANES,
                            c0 > 0,
                        );
                    }
                }
                c0 += kcl;
            }
        });
    }

    /// Phase 3: output transform with bias and clamp, parallel over (16-tile block, group of
    /// up to 8 output channels), written straight into the NCHW output.
    fn output_phase(&self, ck: &Chunk<'_>, out: Shared<f32>, par: &Parallel) {
        let k = self.k;
        let gk = Self::group(k, 8);
        let ngk = k.div_ceil(gk);
        let (g, mbuf, output_fn) = (ck.g, ck.m, ck.tf.output);
        let bias = &self.bias;
        let (lo, hi) = (self.lo, self.hi);
        par.for_each(ngk * ck.ntb, |job| {
            let (tb, gi) = (job / ngk, job % ngk);
            let ch = gi * gk;
            let oj = OutJob {
                // SAFETY: (tb·k + ch)·16 < k·ntb·16 ≤ sm ≤ m_len.
                m: unsafe { mbuf.get().add((tb * k + ch) * LANES) },
                stride_p: ck.sm,
                output: out.get(),
                ch,
                nch: gk.min(k - ch),
                tile0: ck.t0 + tb * LANES,
                bias: bias[ch..].as_ptr(),
                lo,
                hi,
            };
            // SAFETY: M holds the a2 points of this (tb, ch..ch + nch), the bias k floats;
            // the output holds batch·k·oh·ow floats (checked) and this job writes only
            // channels ch..ch + nch of its 16 tiles.
            unsafe { output_fn(g, &oj) };
        });
    }
}
