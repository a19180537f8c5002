//! The fp32 run: validate the call, size the chunks and the scratch, then per chunk of tiles the
//! three phases (input transform, tuple GEMM, output transform), each spread over the pool.

use crate::transforms::{Geometry, InJob, OutJob, LANES};
use crate::ukernel::{Kernels, Transforms, MR};
use crate::{check_dim, mul, shape_err, try_zeroed, Buf, Profile, WinogradConv, WinogradError};
use cpu_probe::parallel::{Parallel, TileError, TiledLayout};
use std::time::Instant;

/// The scratch of a plan: transformed input `V` and products `M`, grown on demand.
#[derive(Default)]
pub(crate) struct Scratch {
    v: Option<Buf>,
    m: Option<Buf>,
}

impl Scratch {
    /// Buffers of `v_len` and `m_len` floats (allocated fallibly when the cached ones are
    /// shorter).
    fn ensure(
        &mut self,
        v_len: usize,
        m_len: usize,
    ) -> Result<(&mut [f32], &mut [f32]), WinogradError> {
        if self.v.as_ref().is_none_or(|b| b.len() < v_len) {
            self.v = None;
            self.v = Some(try_zeroed(v_len, "scratch V (transformed input)")?);
        }
        if self.m.as_ref().is_none_or(|b| b.len() < m_len) {
            self.m = None;
            self.m = Some(try_zeroed(m_len, "scratch M (products)")?);
        }
        match (self.v.as_deref_mut(), self.m.as_deref_mut()) {
            (Some(v), Some(m)) => Ok((&mut v[..v_len], &mut m[..m_len])),
            _ => unreachable!("both buffers were just ensured"),
        }
    }
}

/// A block layout the run built from checked sizes that the pool refused: a bug, reported as
/// an error rather than a panic.
fn layout_bug(what: &str, e: TileError) -> WinogradError {
    WinogradError::Shape(format!("internal: {what} layout refused: {e}"))
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
    /// Images in the batch.
    batch: usize,
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
        let (vbuf, mbuf) = scratch.ensure(v_len, m_len)?;
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
                batch,
            };
            let clock = Instant::now();
            self.input_phase(&ck, input, vbuf, par)?;
            let t_in = clock.elapsed();
            let clock = Instant::now();
            self.gemm_phase(&ck, vbuf, mbuf, par)?;
            let t_mul = clock.elapsed();
            let clock = Instant::now();
            self.output_phase(&ck, mbuf, output, par)?;
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
    ///
    /// `V` is `[point][block][channel][lane]` (point stride `sv`): as a [`TiledLayout`],
    /// images = 16-tile blocks, height = points, width = lanes, one tile per image, so a pool
    /// block is exactly one job's (16-tile block, channel group) at every point.
    fn input_phase(
        &self,
        ck: &Chunk<'_>,
        input: &[f32],
        v: &mut [f32],
        par: &Parallel,
    ) -> Result<(), WinogradError> {
        let (c, a2) = (self.c, self.tile.alpha() * self.tile.alpha());
        let layout = TiledLayout {
            dims: [ck.ntb, c, a2, LANES],
            strides: [c * LANES, LANES, ck.sv, 1],
            tile: [a2, LANES],
            tiles: None,
            block: [1, Self::group(c, 32)],
        };
        let (g, input_fn) = (ck.g, ck.tf.input);
        par.for_each_block_mut(v, &layout, |mut b| {
            let (tb, ch) = (b.tiles().start, b.channels().start);
            let ij = InJob {
                input: input.as_ptr(),
                ch,
                nch: b.channels().len(),
                tile0: ck.t0 + tb * LANES,
                out: b.ptr_at(tb, ch, 0, 0),
                stride_p: ck.sv,
                input_len: input.len(),
            };
            // SAFETY: the input holds batch·c·h·w floats (checked); the transform writes lane
            // 0..16 of channels ch..ch + nch at the a2 points from `out` (stride sv), which are
            // the elements of block `b`; the table entry is available (checked at plan time).
            unsafe { input_fn(g, &ij) };
        })
        .map_err(|e| layout_bug("V", e))
    }

    /// Phase 2: tuple GEMM `M[p] = U[p] · V[p]`, parallel over (point, block of 6 output
    /// channels), blocked over input channels for L1.
    ///
    /// `M` is `[point][block][channel][lane]` (point stride `sm`): as a [`TiledLayout`],
    /// images = points, height = 16-tile blocks, width = lanes, one tile per image, so a pool
    /// block is exactly one job's (point, 6 output channels) in every 16-tile block.
    fn gemm_phase(
        &self,
        ck: &Chunk<'_>,
        v: &[f32],
        m: &mut [f32],
        par: &Parallel,
    ) -> Result<(), WinogradError> {
        let (c, k) = (self.c, self.k);
        let kern = ck.kern;
        let nkb = k.div_ceil(MR);
        let alpha = self.tile.alpha();
        // C blocking: a U panel (kc·6) and the V panels it meets (kc·16·panels) in ~3/4 of L1.
        let kc_max = ((self.l1 * 3 / 4) / ((kern.panels * LANES + MR) * 4)).max(16);
        let kc = c.div_ceil(c.div_ceil(kc_max));
        let (ntb, sv) = (ck.ntb, ck.sv);
        let u = &self.u[..];
        // A last block of at most 8 tiles goes to the half-panel kernel when there is one
        // (lanes 8..16 of its M rows are then stale; the output transform ignores them).
        let last_half = kern.gemm_half.is_some() && ck.nt - (ntb - 1) * LANES <= LANES / 2;
        let nfull = if last_half { ntb - 1 } else { ntb };
        let layout = TiledLayout {
            dims: [alpha * alpha, k, ntb, LANES],
            strides: [ck.sm, LANES, k * LANES, 1],
            tile: [ntb, LANES],
            tiles: None,
            block: [1, MR],
        };
        par.for_each_block_mut(m, &layout, |mut b| {
            let (p, k0) = (b.tiles().start, b.channels().start);
            let (kb, mr) = (k0 / MR, b.channels().len());
            // Element (p, k0, block 0, lane 0), checked once; block `tb`'s rows start `tb` block
            // strides (k·16) further. (`ptr_at` per micro-kernel call, with its divisions and
            // checks, cost 2% of W1's executed instructions.)
            let m0 = b.ptr_at(p, k0, 0, 0);
            let mut c0 = 0;
            while c0 < c {
                let kcl = kc.min(c - c0);
                // SAFETY: the U and V offsets below are inside U (a2·nkb·c·6) and V (a2 points
                // of sv ≥ ntb·c·16 floats); the micro-kernels write rows k0..k0 + mr (16 lanes
                // each, row stride 16) of point p in blocks tb..tb + panels ≤ ntb from
                // `m0 + tb·k·16` = element (p, k0, tb, 0) of the layout (block stride k·16, tb <
                // ntb, so inside M): elements of block `b`.
                unsafe {
                    let (up, vbuf) = (u.as_ptr().add(((p * nkb + kb) * c + c0) * MR), v.as_ptr());
                    let mut tb = 0;
                    while tb < nfull {
                        let vptr = vbuf.add(p * sv + (tb * c + c0) * LANES);
                        let mptr = m0.add(tb * k * LANES);
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
                            vbuf.add(p * sv + (tb * c + c0) * LANES),
                            c * LANES,
                            m0.add(tb * k * LANES),
                            k * LANES,
                            c0 > 0,
                        );
                    }
                }
                c0 += kcl;
            }
        })
        .map_err(|e| layout_bug("M", e))
    }

    /// Phase 3: output transform with bias and clamp, parallel over (16-tile block, group of
    /// up to 8 output channels), written straight into the NCHW output: a pool block is the
    /// chunk's 16-tile block × channel group, cropped `m × m` tiles of the NCHW tensor.
    fn output_phase(
        &self,
        ck: &Chunk<'_>,
        m: &[f32],
        output: &mut [f32],
        par: &Parallel,
    ) -> Result<(), WinogradError> {
        let (k, g) = (self.k, ck.g);
        let tm = self.tile.m();
        let layout = TiledLayout::nchw(ck.batch, k, g.oh, g.ow)
            .with_tiles(tm, tm)
            .with_tile_range(ck.t0..ck.t0 + ck.nt)
            .with_blocks(LANES, Self::group(k, 8));
        let output_fn = ck.tf.output;
        let bias = &self.bias;
        let (lo, hi) = (self.lo, self.hi);
        par.for_each_block_mut(output, &layout, |mut b| {
            let (tile0, ch) = (b.tiles().start, b.channels().start);
            let tb = (tile0 - ck.t0) / LANES;
            let oj = OutJob {
                m: m[(tb * k + ch) * LANES..].as_ptr(),
                stride_p: ck.sm,
                output: b.as_mut_ptr(),
                ch,
                nch: b.channels().len(),
                tile0,
                bias: bias[ch..].as_ptr(),
                lo,
                hi,
            };
            // SAFETY: M holds the a2 points of this (tb, ch..ch + nch), the bias k floats;
            // the output holds batch·k·oh·ow floats (checked) and the transform writes only
            // channels ch..ch + nch of the (cropped) tiles tile0..tile0 + 16 below the chunk's
            // end: the elements of block `b`.
            unsafe { output_fn(g, &oj) };
        })
        .map_err(|e| layout_bug("output", e))
    }
}
