//! The int8 run: checks the call, then per block of up to 32 tiles (the unit of parallelism)
//! input transform, 16 GEMMs, output transform and output stage, on per-thread scratch.

use super::{add, check_dim, mul, Input8, Int8Error, Int8Profile, Output8, WinogradInt8};
use crate::transforms::{Geometry, TilePos};
use cpu_probe::parallel::{BlockMut, BlocksMut, Parallel, TiledLayout};
use quant_params::StagePlan;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Per-thread scratch: transformed input and products of one tile block, one tile's outputs.
#[derive(Default)]
struct Scratch {
    v: Vec<i16>,
    m: Vec<i32>,
    y: Vec<i32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Grows `v` to at least `len` elements (zeros) with a fallible allocation; false if the
/// memory cannot be had.
fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> bool {
    if v.len() >= len {
        return true;
    }
    if v.try_reserve_exact(len - v.len()).is_err() {
        return false;
    }
    v.resize(len, T::default());
    true
}

/// An output element type: how one output pixel's accumulators are stored.
trait Store: Copy + Send {
    fn store(stage: &StagePlan, acc: &[i32], out: &mut [Self]);
}

impl Store for u8 {
    fn store(stage: &StagePlan, acc: &[i32], out: &mut [u8]) {
        // Cannot fail: the lengths are equal and `run` matched the buffer type to the stage.
        let _ = stage.row_u8(acc, out);
    }
}

impl Store for i8 {
    fn store(stage: &StagePlan, acc: &[i32], out: &mut [i8]) {
        // As for u8.
        let _ = stage.row_i8(acc, out);
    }
}

impl Store for i32 {
    fn store(_: &StagePlan, acc: &[i32], out: &mut [i32]) {
        out.copy_from_slice(acc);
    }
}

/// What every block of one run reads.
struct Run<'a> {
    geo: Geometry,
    stride: usize,
    input: &'a [u8],
}

impl WinogradInt8 {
    /// Runs the convolution on `batch` NHWC images of `in_h × in_w` whose pixels are
    /// `in_pixel_stride` elements apart (>= cin), writing a dense NHWC output of exactly
    /// `batch × OH × OW × cout` elements ([`WinogradInt8::output_size`]).
    ///
    /// `batch`, `in_h`, `in_w` and `in_pixel_stride` are at most [`crate::MAX_DIM`]; the input
    /// needs `(batch·in_h·in_w − 1)·in_pixel_stride + cin` elements (more are allowed).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        input: Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_pixel_stride: usize,
        output: Output8<'_>,
        par: &Parallel,
    ) -> Result<(), Int8Error> {
        self.exec(input, batch, in_h, in_w, in_pixel_stride, output, Some(par))
            .map(|_| ())
    }

    /// [`WinogradInt8::run`] on the calling thread, timing each phase (for benchmarks; the
    /// clock reads add a few tens of nanoseconds per block of tiles).
    pub fn run_profiled(
        &self,
        input: Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_pixel_stride: usize,
        output: Output8<'_>,
    ) -> Result<Int8Profile, Int8Error> {
        let p = self.exec(input, batch, in_h, in_w, in_pixel_stride, output, None)?;
        Ok(p.unwrap_or(Int8Profile {
            kernel_transform: self.kernel_transform_time,
            ..Int8Profile::default()
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn exec(
        &self,
        input: Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_pixel_stride: usize,
        output: Output8<'_>,
        par: Option<&Parallel>,
    ) -> Result<Option<Int8Profile>, Int8Error> {
        if input.qtype() != self.input_type {
            return Err(Int8Error::Buffer(format!(
                "input is {:?} but the plan was built for {:?} activations",
                input.qtype(),
                self.input_type
            )));
        }
        check_dim("batch", batch)?;
        check_dim("input pixel stride", in_pixel_stride)?;
        let (oh, ow) = self.output_size(in_h, in_w)?;
        let cin = self.cin;
        if in_pixel_stride < cin {
            return Err(Int8Error::Buffer(format!(
                "input pixel stride {in_pixel_stride} is smaller than the {cin} input channels"
            )));
        }
        let pixels_in = mul(mul(batch, in_h, "input pixels")?, in_w, "input pixels")?;
        let need_in = if pixels_in == 0 {
            0
        } else {
            let last = mul(pixels_in - 1, in_pixel_stride, "input length")?;
            add(last, cin, "input length")?
        };
        let cout = self.cout;
        let out_len = mul(
            mul(mul(batch, oh, "output length")?, ow, "output length")?,
            cout,
            "output length",
        )?;
        if input.len() < need_in {
            return Err(Int8Error::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w} pixels with stride {in_pixel_stride} need {need_in}",
                input.len()
            )));
        }
        output
            .check(
                out_len,
                format_args!("{batch}x{oh}x{ow}x{cout}"),
                self.stage.qtype(),
            )
            .map_err(Int8Error::Buffer)?;
        if out_len == 0 {
            return Ok(None);
        }
        let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
        // ntiles <= batch·oh·ow <= out_len (th ≤ oh, tw ≤ ow), so it and t0 + tb fit.
        let ntiles = mul(mul(batch, th, "tile count")?, tw, "tile count")?;
        let run = Run {
            geo: Geometry {
                c: cin,
                k: cout,
                h: in_h,
                w: in_w,
                oh,
                ow,
                pad_top: self.pad[0],
                pad_left: self.pad[1],
                tiles_y: th,
                tiles_x: tw,
                tiles: ntiles,
            },
            stride: in_pixel_stride,
            input: input.as_bytes(),
        };
        // Blocks of `tiles_per_block` 2x2 output tiles (all channels) of the NHWC output.
        let layout = TiledLayout::nhwc(batch, cout, oh, ow)
            .with_tiles(2, 2)
            .with_blocks(self.tiles_per_block, cout);
        match output {
            Output8::U8(o) => self.drive(&run, o, &layout, par),
            Output8::I8(o) => self.drive(&run, o, &layout, par),
            Output8::I32(o) => self.drive(&run, o, &layout, par),
        }
    }

    /// Runs every block of `layout` over `out`: on the pool, or (profiling) on this thread.
    fn drive<T: Store>(
        &self,
        run: &Run<'_>,
        out: &mut [T],
        layout: &TiledLayout,
        par: Option<&Parallel>,
    ) -> Result<Option<Int8Profile>, Int8Error> {
        let blocks = BlocksMut::new(out, layout)
            .map_err(|e| Int8Error::Buffer(format!("internal: output layout refused: {e}")))?;
        let scratch_err = || {
            Int8Error::Allocation(format!(
                "per-thread scratch of {} + {} + {} bytes cannot be allocated",
                self.v_len.saturating_mul(2),
                self.m_len.saturating_mul(4),
                self.y_len.saturating_mul(4)
            ))
        };
        let Some(par) = par else {
            let mut times = [Duration::ZERO; 3];
            let ok = SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                while let Some(mut b) = blocks.next() {
                    if !self.block(run, &mut b, s, Some(&mut times)) {
                        return false;
                    }
                }
                true
            });
            if !ok {
                return Err(scratch_err());
            }
            return Ok(Some(Int8Profile {
                kernel_transform: self.kernel_transform_time,
                input_transform: times[0],
                multiply: times[1],
                output_transform: times[2],
            }));
        };
        let failed = AtomicBool::new(false);
        par.for_each(blocks.len(), |_| {
            let Some(mut b) = blocks.next() else { return };
            SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                if !self.block(run, &mut b, s, None) {
                    failed.store(true, Ordering::Relaxed);
                }
            });
        });
        if failed.load(Ordering::Relaxed) {
            return Err(scratch_err());
        }
        Ok(None)
    }

    /// The tiles of block `out`: input transform, 16 GEMMs, output transform, output stage;
    /// adds the three phase times to `times` when given. Returns false (nothing written) when
    /// the scratch cannot be allocated.
    fn block<T: Store>(
        &self,
        run: &Run<'_>,
        out: &mut BlockMut<'_, T>,
        s: &mut Scratch,
        mut times: Option<&mut [Duration; 3]>,
    ) -> bool {
        let (geo, stride, input) = (&run.geo, run.stride, run.input);
        let (t0, t1) = (out.tiles().start, out.tiles().end);
        let mut clock = times.as_ref().map(|_| Instant::now());
        let mut lap = |i: usize, times: &mut Option<&mut [Duration; 3]>| {
            if let (Some(t), Some(c)) = (times.as_deref_mut(), clock.as_mut()) {
                let now = Instant::now();
                t[i] += now - *c;
                *c = now;
            }
        };
        let k = &self.entry.kernels;
        let (cin, cout, kp) = (self.cin, self.cout, self.kp);
        let coutp = self.blocks * k.nr;
        // V is point-major ([16][tiles][kp], the GEMM's A operands); M is tile-major
        // ([tiles][16][coutp]) so the output transform reads one contiguous run per tile. The
        // strides get one cache line more than the data so rows 4 KiB apart do not all land in
        // one L1 set.
        // Computed with checked arithmetic at plan time: vps = tb·kp + 32, mts = 16·coutp + 16,
        // v_len = 16·vps, m_len = tb·mts, y_len = 4·cout.
        let (vps, mts) = (self.vps, self.mts);
        if !(grow(&mut s.v, self.v_len) && grow(&mut s.m, self.m_len) && grow(&mut s.y, self.y_len))
        {
            return false;
        }
        // 1. Input transform.
        for t in t0..t1 {
            let TilePos { n: b, ty, tx } = TilePos::of(geo, t);
            let rows: [&[u8]; 16] = core::array::from_fn(|i| {
                let iy = (2 * ty + i / 4) as isize - self.pad[0] as isize;
                let ix = (2 * tx + i % 4) as isize - self.pad[1] as isize;
                if iy < 0 || ix < 0 || iy >= geo.h as isize || ix >= geo.w as isize {
                    &self.zero_row[..]
                } else {
                    let off = ((b * geo.h + iy as usize) * geo.w + ix as usize) * stride;
                    &input[off..off + cin]
                }
            });
            let row = (t - t0) * kp;
            // SAFETY: every row has cin bytes; the V slice from `row` holds 15·vps + cin
            // elements (row + cin <= vps); the kernel's ISA is available (plan built from
            // WGEMM.available()).
            unsafe { (k.input)(&rows, cin, self.xor, self.za, &mut s.v[row..16 * vps], vps) };
        }
        lap(0, &mut times);
        // 2. One GEMM per point, micro-tiles of MR tiles × NR output channels.
        let rows_used = (t1 - t0).next_multiple_of(k.mr);
        let panel = kp * k.nr;
        for p in 0..16 {
            let vp = &s.v[p * vps..(p + 1) * vps];
            let mp = &mut s.m[p * coutp..];
            for nb in 0..self.blocks {
                let up = &self.u[(p * self.blocks + nb) * panel..][..panel];
                for mb in (0..rows_used).step_by(k.mr) {
                    debug_assert!((mb + k.mr) * kp <= vp.len());
                    debug_assert!((mb + k.mr - 1) * mts + (nb + 1) * k.nr <= mp.len());
                    // SAFETY: rows mb..mb+MR of V_p (kp i16 each) lie in vp since
                    // rows_used <= tb; the panel has kp·NR i16; `mp` starts at point p of tile
                    // 0 and tiles mb..mb+MR (stride mts) have NR columns from
                    // nb·NR <= coutp − NR within it (p·coutp + (tb−1)·mts + coutp <= tb·mts);
                    // kp is a multiple of 4; the ISA is available.
                    unsafe {
                        (k.gemm)(
                            kp,
                            vp.as_ptr().add(mb * kp),
                            kp,
                            up.as_ptr(),
                            mp.as_mut_ptr().add(mb * mts + nb * k.nr),
                            mts,
                        )
                    };
                }
            }
        }
        lap(1, &mut times);
        // 3. Output transform and output stage, per tile.
        for t in t0..t1 {
            let TilePos { ty, tx, .. } = TilePos::of(geo, t);
            let row = (t - t0) * mts;
            // SAFETY: M from `row` holds 15·coutp + cout elements, y holds 4·cout; ISA
            // available.
            unsafe {
                (k.output)(
                    &s.m[row..row + 16 * coutp],
                    coutp,
                    &self.bias,
                    cout,
                    &mut s.y[..4 * cout],
                )
            };
            for (q, y) in s.y[..4 * cout].chunks_exact(cout).enumerate() {
                let (oy, ox) = (2 * ty + q / 2, 2 * tx + q % 2);
                if oy >= geo.oh || ox >= geo.ow {
                    continue;
                }
                T::store(&self.stage, y, out.pixel_mut(t, q / 2, q % 2));
            }
        }
        lap(2, &mut times);
        true
    }
}
