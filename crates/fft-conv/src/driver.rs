//! The driver: [`FftConv::new`] (validate → choose the kernels → transform the weights) and the
//! runs (validate → geometry → schedule → workspace → per tile block: input transform, tuple
//! GEMM, output transform).

use crate::pack::{self, bins, PackedKernel};
use crate::ukernel::{FftEntry, GatherFn, GemmArgs, Kernels, Lanes, OutLanes, Post, FFT, MR};
use crate::{reference, FftConfig, FftError, Profile, Tile, MAX_DIM};
use aligned_vec::{AVec, ConstAlign};
use cpu_probe::parallel::{BlockMut, BlocksMut, Parallel, TiledLayout};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A planned FFT convolution with its transformed kernels.
pub struct FftConv {
    cin: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 4],
    tile: Tile,
    clamp: Option<(f32, f32)>,
    bias: Vec<f32>,
    /// The [`FFT`] entry chosen at plan time (its kernels carry the half-width ones, if any).
    entry: &'static FftEntry,
    packed8: Option<PackedKernel>,
    packed16: Option<PackedKernel>,
    kernel_time: Duration,
    workspace: Mutex<AVec<f32, ConstAlign<64>>>,
}

impl fmt::Debug for FftConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FftConv")
            .field("in_channels", &self.cin)
            .field("out_channels", &self.cout)
            .field("kernel", &(self.kh, self.kw))
            .field("padding", &self.pad)
            .field("tile", &self.tile)
            .field("ukernel", &self.entry.name)
            .finish()
    }
}

/// Geometry of one run.
#[derive(Clone, Copy, Debug)]
struct Geom {
    t: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    mh: usize,
    mw: usize,
    tiles_x: usize,
    tiles_per_image: usize,
    total_tiles: usize,
}

/// How one run cuts its tiles into blocks and its workspace into slots.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    /// Lanes of the plan's kernels.
    l: usize,
    /// Half-width kernels for a last group of at most `l / 2` tiles, if used in this run.
    half: Option<&'static Kernels>,
    /// Full-width tile groups (the half group not counted).
    groups: usize,
    /// Tile groups per block.
    gb: usize,
    /// Blocks of full-width groups; the half group, if any, is block `main_blocks`.
    main_blocks: usize,
    /// Frequency bins of the tile.
    nb: usize,
    /// Output channels rounded up to [`MR`].
    ocp: usize,
    /// Floats of a block's X (its Y follows, `slot_len − x_blk` floats).
    x_blk: usize,
    /// Floats of one workspace slot (`x_blk + y_blk`).
    slot_len: usize,
    /// Floats of the whole workspace: one slot per concurrently running task.
    ws_len: usize,
}

/// One block: `gn` groups of `l` tiles from tile `t0`, run with the kernels `k`.
#[derive(Clone, Copy)]
struct Block {
    k: &'static Kernels,
    l: usize,
    t0: usize,
    gn: usize,
    /// Floats between bins of the block's X and Y.
    x_bin: usize,
    y_bin: usize,
}

/// What every block of one run reads.
struct RunCtx<'a> {
    g: Geom,
    s: Schedule,
    packed: &'a PackedKernel,
    input: &'a [f32],
    /// Whether the input is small enough for gathers with 32-bit indices.
    small_input: bool,
    /// The output cut into runs of `gb · l` tiles (all channels), taken by the tasks one at a
    /// time: a run is one main block, or the last main block and the half group after it, or
    /// the half group alone (see `FftConv::blocks_of`).
    out: BlocksMut<'a, f32>,
}

/// Floats between the bins of X and Y beyond their data: one cache line, so that the strided
/// per-bin stores and loads of the transforms do not all fall into the same few L1 sets (bin
/// sizes are multiples of 1–2 KiB).
const BIN_PAD: usize = 16;

/// Target size of one tile block's transformed input plus product (L2-sized).
const BLOCK_BYTES: usize = 512 * 1024;

/// Per-task scratch: one spatial block and one half-transformed block (largest tile and lanes).
#[repr(C, align(64))]
struct Scratch {
    tile: [f32; 16 * 16 * 16],
    mid: [f32; 16 * 9 * 2 * 16],
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            tile: [0.0; 16 * 16 * 16],
            mid: [0.0; 16 * 9 * 2 * 16],
        }
    }
}

/// Estimated cost of a forward or inverse tile transform per tile and channel (flops and moves).
fn transform_cost(t: usize) -> usize {
    if t == 8 {
        900
    } else {
        4000
    }
}

fn too_large(what: &'static str, detail: String) -> FftError {
    FftError::TooLarge { what, detail }
}

/// Checks that a buffer `what` of `actual` elements holds an NCHW tensor `[n, c, h, w]`; `size`
/// names the element count in the error if it overflows `usize`.
fn check_buffer(
    what: &'static str,
    size: &'static str,
    actual: usize,
    [n, c, h, w]: [usize; 4],
) -> Result<(), FftError> {
    let needed = n
        .checked_mul(c)
        .and_then(|v| v.checked_mul(h))
        .and_then(|v| v.checked_mul(w))
        .ok_or_else(|| too_large(size, format!("{n} x {c} x {h} x {w} overflows usize")))?;
    if actual < needed {
        return Err(FftError::BufferTooSmall {
            what,
            needed,
            actual,
        });
    }
    Ok(())
}

/// Validates everything of a configuration but the forced kernels.
fn validate_config(cfg: &FftConfig<'_>) -> Result<(), FftError> {
    for (what, v) in [
        ("in_channels", cfg.in_channels),
        ("out_channels", cfg.out_channels),
        ("kernel_h", cfg.kernel_h),
        ("kernel_w", cfg.kernel_w),
    ] {
        if v == 0 {
            return Err(FftError::ZeroSize { what });
        }
    }
    for (what, v) in [
        ("in_channels", cfg.in_channels),
        ("out_channels", cfg.out_channels),
        ("padding", cfg.padding.iter().copied().max().unwrap_or(0)),
    ] {
        check_dim(what, v)?;
    }
    let (kh, kw) = (cfg.kernel_h, cfg.kernel_w);
    let max_tile = if cfg.tile == Tile::T8 { 8 } else { 16 };
    if kh.max(kw) > max_tile {
        return Err(FftError::KernelTooLarge {
            kernel_h: kh,
            kernel_w: kw,
            tile: max_tile,
        });
    }
    // kh, kw <= 16 (checked above).
    let klen = cfg
        .out_channels
        .checked_mul(cfg.in_channels)
        .and_then(|v| v.checked_mul(kh * kw))
        .ok_or_else(|| {
            too_large(
                "kernel size",
                format!(
                    "{} x {} x {kh} x {kw} overflows usize",
                    cfg.out_channels, cfg.in_channels
                ),
            )
        })?;
    if cfg.kernel.len() != klen {
        return Err(FftError::LengthMismatch {
            what: "kernel",
            expected: klen,
            actual: cfg.kernel.len(),
        });
    }
    if let Some(b) = cfg.bias {
        if b.len() != cfg.out_channels {
            return Err(FftError::LengthMismatch {
                what: "bias",
                expected: cfg.out_channels,
                actual: b.len(),
            });
        }
    }
    if let Some((lo, hi)) = cfg.clamp {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(FftError::InvalidClamp { min: lo, max: hi });
        }
    }
    Ok(())
}

/// The forced entry, looked up in [`FFT`] by its name (so the table's own ISA requirement is
/// the one checked), or the best one of this CPU.
fn choose_entry(forced: Option<&'static FftEntry>) -> Result<&'static FftEntry, FftError> {
    match forced {
        Some(e) => Ok(FFT.by_name(e.name)?),
        None => Ok(FFT.best()),
    }
}

impl FftConv {
    /// Validates the configuration, picks the kernels and transforms the weights.
    pub fn new(cfg: FftConfig<'_>) -> Result<FftConv, FftError> {
        validate_config(&cfg)?;
        let entry = choose_entry(cfg.ukernel)?;
        let (kh, kw) = (cfg.kernel_h, cfg.kernel_w);
        let start = Instant::now();
        let use8 = kh.max(kw) <= 8 && cfg.tile != Tile::T16;
        let use16 = cfg.tile != Tile::T8;
        let (cin, cout) = (cfg.in_channels, cfg.out_channels);
        let packed8 = use8
            .then(|| pack::pack_kernel(8, cin, cout, kh, kw, cfg.kernel))
            .transpose()?;
        let packed16 = use16
            .then(|| pack::pack_kernel(16, cin, cout, kh, kw, cfg.kernel))
            .transpose()?;
        let kernel_time = start.elapsed();
        // cout <= kernel.len() (checked above).
        let mut bias = cpu_probe::alloc::try_with_capacity(cout, "bias")
            .map_err(|e| too_large("bias", format!("{cout} floats cannot be allocated ({e})")))?;
        match cfg.bias {
            Some(b) => bias.extend_from_slice(b),
            None => bias.resize(cout, 0.0),
        }
        Ok(FftConv {
            cin,
            cout,
            kh,
            kw,
            pad: cfg.padding,
            tile: cfg.tile,
            clamp: cfg.clamp,
            bias,
            entry,
            packed8,
            packed16,
            kernel_time,
            workspace: Mutex::new(AVec::new(64)),
        })
    }

    /// The [`FFT`] entry this plan runs.
    pub fn entry(&self) -> &'static FftEntry {
        self.entry
    }

    /// The name of the entry this plan runs: the name of its tuple GEMM function (e.g.
    /// `cgemm_4x16__avx512`).
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// Time [`FftConv::new`] spent transforming the kernels (f64, every tile size it may use).
    pub fn kernel_transform_time(&self) -> Duration {
        self.kernel_time
    }

    /// Output height and width for an `h × w` input (`h`, `w` at most [`MAX_DIM`]).
    pub fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize), FftError> {
        if h == 0 {
            return Err(FftError::ZeroSize {
                what: "input height",
            });
        }
        if w == 0 {
            return Err(FftError::ZeroSize {
                what: "input width",
            });
        }
        check_dim("input height", h)?;
        check_dim("input width", w)?;
        // h, w and the padding are at most u32::MAX, so h + pads fits a 64-bit usize; the
        // reference checks the sums anyway (None on overflow, reported as empty only when
        // the padded input really is smaller than the kernel).
        if h.checked_add(self.pad[0])
            .and_then(|v| v.checked_add(self.pad[2]))
            .is_none()
            || w.checked_add(self.pad[1])
                .and_then(|v| v.checked_add(self.pad[3]))
                .is_none()
        {
            return Err(too_large(
                "padded input",
                format!("{h}x{w} with padding {:?} overflows usize", self.pad),
            ));
        }
        reference::output_size(h, w, self.kh, self.kw, self.pad).ok_or(FftError::EmptyOutput {
            input: (h, w),
            kernel: (self.kh, self.kw),
            padding: self.pad,
        })
    }

    /// The tile edge (8 or 16) a run on an `h × w` input uses.
    pub fn tile_for(&self, h: usize, w: usize) -> Result<usize, FftError> {
        let (oh, ow) = self.output_size(h, w)?;
        Ok(self.pick_tile(oh, ow))
    }

    fn pick_tile(&self, oh: usize, ow: usize) -> usize {
        match (&self.packed8, &self.packed16) {
            (Some(_), None) => 8,
            (None, _) => 16,
            (Some(_), Some(_)) => {
                let l = self.entry.kernels.lanes;
                // cout <= u32::MAX: no overflow.
                let ocp = self.cout.div_ceil(MR) * MR;
                // In f64: an estimate, which must not overflow for any plan and input size.
                let cost = |t: usize| {
                    let mh = t + 1 - self.kh;
                    let mw = t + 1 - self.kw;
                    let tiles = oh.div_ceil(mh) as f64 * ow.div_ceil(mw) as f64;
                    let lanes = (tiles / l as f64).ceil() * l as f64;
                    let gemm = bins(t) as f64 * self.cin as f64 * ocp as f64 * 8.0;
                    let tf = (self.cin as f64 + self.cout as f64) * transform_cost(t) as f64;
                    lanes * (gemm + tf)
                };
                if cost(8) <= cost(16) {
                    8
                } else {
                    16
                }
            }
        }
    }

    /// Convolves `input` (`batch × in_channels × h × w`) into `output`
    /// (`batch × out_channels × oh × ow`, see [`FftConv::output_size`]). `batch`, `h` and `w`
    /// are at most [`MAX_DIM`]; the slices may be longer than the shape needs, not shorter.
    /// On an error nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        parallel: &Parallel,
    ) -> Result<(), FftError> {
        self.run_profiled(input, batch, h, w, output, parallel)
            .map(|_| ())
    }

    /// As [`FftConv::run`], returning the time spent per phase.
    #[allow(clippy::too_many_arguments)]
    pub fn run_profiled(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        parallel: &Parallel,
    ) -> Result<Profile, FftError> {
        let (oh, ow) = self.check_run(input.len(), batch, h, w, output.len())?;
        let (g, packed) = self.geometry(batch, h, w, oh, ow)?;
        let s = self.schedule(&g, packed, parallel.threads())?;
        // The cached workspace, or a fresh one if another run of this plan holds it.
        let mut local;
        let mut guard = self.workspace.try_lock().ok();
        let ws: &mut AVec<f32, ConstAlign<64>> = match guard.as_deref_mut() {
            Some(ws) => ws,
            None => {
                local = AVec::new(64);
                &mut local
            }
        };
        let ws_len = s.ws_len;
        if ws.len() < ws_len {
            ws.try_reserve_exact(ws_len - ws.len()).map_err(|e| {
                too_large(
                    "workspace",
                    format!("{ws_len} floats cannot be allocated ({e:?})"),
                )
            })?;
            ws.resize(ws_len, 0.0);
        }
        // Output blocks: NCHW, cropped mh × mw tiles, runs of gb · l tiles with every channel.
        let layout = TiledLayout::nchw(batch, self.cout, oh, ow)
            .with_tiles(g.mh, g.mw)
            .with_blocks(s.gb * s.l, self.cout);
        let out = BlocksMut::new(output, &layout)
            .map_err(|e| too_large("output layout", format!("internal: {e}")))?;
        let ctx = RunCtx {
            g,
            s,
            packed,
            input,
            small_input: input.len() <= i32::MAX as usize,
            out,
        };
        Ok(self.execute(&ctx, &mut ws[..ws_len], parallel))
    }

    /// Validates the shape and buffers of a run; returns the output height and width.
    fn check_run(
        &self,
        in_len: usize,
        batch: usize,
        h: usize,
        w: usize,
        out_len: usize,
    ) -> Result<(usize, usize), FftError> {
        if batch == 0 {
            return Err(FftError::ZeroSize { what: "batch" });
        }
        check_dim("batch", batch)?;
        let (oh, ow) = self.output_size(h, w)?;
        check_buffer("input", "input size", in_len, [batch, self.cin, h, w])?;
        check_buffer("output", "output size", out_len, [batch, self.cout, oh, ow])?;
        Ok((oh, ow))
    }

    /// Chooses the tile and computes the tile grid of a run.
    fn geometry(
        &self,
        batch: usize,
        h: usize,
        w: usize,
        oh: usize,
        ow: usize,
    ) -> Result<(Geom, &PackedKernel), FftError> {
        let t = self.pick_tile(oh, ow);
        let packed = if t == 8 {
            self.packed8.as_ref()
        } else {
            self.packed16.as_ref()
        };
        let Some(packed) = packed else {
            // Unreachable by construction (pick_tile only returns a tile that was packed).
            return Err(FftError::KernelTooLarge {
                kernel_h: self.kh,
                kernel_w: self.kw,
                tile: t,
            });
        };
        let mh = t + 1 - self.kh;
        let mw = t + 1 - self.kw;
        let tiles_x = ow.div_ceil(mw);
        // tiles_y · tiles_x <= oh · ow (mh, mw >= 1), and batch · oh · ow <= out_len: no
        // overflow; checked anyway, since this bounds every tile index below.
        let tiles_per_image = oh
            .div_ceil(mh)
            .checked_mul(tiles_x)
            .ok_or_else(|| too_large("tile count", format!("{oh}x{ow} output overflows")))?;
        let total_tiles = batch.checked_mul(tiles_per_image).ok_or_else(|| {
            too_large(
                "tile count",
                format!("{batch} x {tiles_per_image} tiles overflows usize"),
            )
        })?;
        let g = Geom {
            t,
            h,
            w,
            oh,
            ow,
            mh,
            mw,
            tiles_x,
            tiles_per_image,
            total_tiles,
        };
        Ok((g, packed))
    }

    /// Cuts the tiles into blocks and sizes the workspace (checked arithmetic throughout).
    fn schedule(
        &self,
        g: &Geom,
        packed: &PackedKernel,
        threads: usize,
    ) -> Result<Schedule, FftError> {
        let l = self.entry.kernels.lanes;
        // Full groups of `l` tiles; a remainder of at most `l/2` tiles runs as one group of the
        // half-width kernels (AVX-512 -> AVX-512 VL 8 lanes) instead of a mostly empty full group.
        let half = self.entry.kernels.half.filter(|_| {
            let rem = g.total_tiles % l;
            rem > 0 && rem <= l / 2
        });
        let groups = if half.is_some() {
            g.total_tiles / l
        } else {
            g.total_tiles.div_ceil(l)
        };
        let nb = bins(g.t);
        // cin, cout <= u32::MAX (checked in `new`).
        let ocp = packed.oc_blocks * MR;
        let cin = self.cin;
        let ws_err = || {
            too_large(
                "workspace",
                format!("{cin} input and {ocp} output channels of {nb} bins overflow usize"),
            )
        };
        // Floats of X and Y per tile group: (cin + ocp) · 2 · l per bin.
        let group_floats = cin
            .checked_add(ocp)
            .and_then(|v| v.checked_mul(2 * l))
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        // Tile blocks: enough tile groups per block that X and Y of a block stay within about
        // 512 KiB (L2), and at least two blocks per thread when there are enough groups.
        let gb = (BLOCK_BYTES / 4 / group_floats)
            .max(1)
            .min(groups.div_ceil(2 * threads).max(1));
        let main_blocks = groups.div_ceil(gb);
        let nblocks = main_blocks + usize::from(half.is_some());
        // Floats per bin of a block's X (gb groups of cin channels) and Y (ocp channels).
        let per_bin = |ch: usize| {
            gb.checked_mul(ch)
                .and_then(|v| v.checked_mul(2 * l))
                .and_then(|v| v.checked_add(BIN_PAD))
        };
        let x_blk = per_bin(cin)
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        let y_blk = per_bin(ocp)
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        // One workspace slot per concurrently running task (at most `threads`), each task
        // reusing its slot block after block so that X and Y stay in that core's L2 instead of
        // every block writing fresh memory.
        let nslots = threads.min(nblocks).max(1);
        let slot_len = x_blk.checked_add(y_blk).ok_or_else(ws_err)?;
        let ws_len = slot_len.checked_mul(nslots).ok_or_else(ws_err)?;
        Ok(Schedule {
            l,
            half,
            groups,
            gb,
            main_blocks,
            nb,
            ocp,
            x_blk,
            slot_len,
            ws_len,
        })
    }

    /// Runs every block: one task per workspace slot (handed out by `for_each_chunk_mut`, so
    /// each task owns its slot), each task taking the next run of output tiles (an exclusive
    /// [`BlockMut`] of the output) until none is left.
    fn execute(&self, ctx: &RunCtx<'_>, ws: &mut [f32], parallel: &Parallel) -> Profile {
        let times = Mutex::new(Profile::default());
        parallel.for_each_chunk_mut(ws, ctx.s.slot_len, |_, slot| {
            let mut scratch = Scratch::new();
            let mut prof = Profile::default();
            while let Some(mut out) = ctx.out.next() {
                for blk in Self::blocks_of(ctx, &out).into_iter().flatten() {
                    let b = self.block(ctx, blk);
                    self.run_block(ctx, b, slot, &mut out, &mut scratch, &mut prof);
                }
            }
            if let Ok(mut p) = times.lock() {
                p.input_transform += prof.input_transform;
                p.multiply += prof.multiply;
                p.output_transform += prof.output_transform;
            }
        });
        times.into_inner().unwrap_or_default()
    }

    /// The blocks (at most two) whose tiles make up the output run `out`: run `i` is main
    /// block `i` (tiles `i·gb·l ..`) if there is one, plus the half group (block
    /// `main_blocks`, tiles `groups·l .. total`) if the run holds its first tile.
    fn blocks_of(ctx: &RunCtx<'_>, out: &BlockMut<'_, f32>) -> [Option<usize>; 2] {
        let s = &ctx.s;
        let i = out.index();
        let half = s.half.is_some() && out.tiles().contains(&(s.groups * s.l));
        [
            (i < s.main_blocks).then_some(i),
            half.then_some(s.main_blocks),
        ]
    }

    /// Block `blk`: `gn` groups of `l` tiles from tile `t0`, or the half-width group.
    fn block(&self, ctx: &RunCtx<'_>, blk: usize) -> Block {
        let s = &ctx.s;
        let (k, l, t0, gn) = match s.half {
            Some(hk) if blk == s.main_blocks => (hk, s.l / 2, s.groups * s.l, 1),
            _ => {
                let g0 = blk * s.gb;
                (&self.entry.kernels, s.l, g0 * s.l, s.gb.min(s.groups - g0))
            }
        };
        // gn <= gb (and l here <= the l of x_blk): nb · x_bin <= x_blk, computed without
        // overflow in `schedule`; likewise y_bin.
        Block {
            k,
            l,
            t0,
            gn,
            x_bin: gn * self.cin * 2 * l + BIN_PAD,
            y_bin: gn * s.ocp * 2 * l + BIN_PAD,
        }
    }

    /// The three phases of one block in the task's own workspace slot: X
    /// `[bin][gl][ic][2][L]` in `slot[..x_blk]`, Y `[bin][gl][oc][2][L]` after it.
    fn run_block(
        &self,
        ctx: &RunCtx<'_>,
        b: Block,
        slot: &mut [f32],
        out: &mut BlockMut<'_, f32>,
        scratch: &mut Scratch,
        prof: &mut Profile,
    ) {
        let (xs, ys) = slot.split_at_mut(ctx.s.x_blk);
        let start = Instant::now();
        self.input_transform(ctx, &b, xs, scratch);
        prof.input_transform += start.elapsed();
        let start = Instant::now();
        self.multiply(ctx, &b, xs, ys);
        prof.multiply += start.elapsed();
        let start = Instant::now();
        self.output_transform(ctx, &b, ys, out, scratch);
        prof.output_transform += start.elapsed();
    }

    /// 1. Gather and forward FFT of the block's input tiles into X.
    fn input_transform(&self, ctx: &RunCtx<'_>, b: &Block, xs: &mut [f32], s: &mut Scratch) {
        let (g, k, l, t, cin) = (&ctx.g, b.k, b.l, ctx.g.t, self.cin);
        let gather = if ctx.small_input {
            k.gather
        } else {
            portable_gather(l)
        };
        let fwd = if t == 8 { k.fwd8 } else { k.fwd16 };
        let fwd_in = match k.fused {
            Some(f) if t == 8 => Some(f.fwd8),
            Some(f) => Some(f.fwd16),
            None => None,
        };
        let xb = xs.as_mut_ptr();
        for gl in 0..b.gn {
            // Lane geometry once per tile group (integer divisions), then per channel only
            // the plane offset changes.
            let lanes0 = lanes_of(g, cin, b.t0 + gl * l, l, self.pad);
            for ic in 0..cin {
                // Channel `ic`: the lane offsets of channel 0, from the plane of `ic`.
                let base = ctx.input.as_ptr().wrapping_add(ic * g.h * g.w);
                // SAFETY: in-range lane elements, taken from `base` (the plane of `ic` in
                // image 0; lane origins add the image plane), are inside `input` (rows and
                // columns clipped to the image, `n < batch`, `ic < cin`);
                // `input.len() <= i32::MAX` for the gathers with 32-bit indices (else the
                // portable one runs); `s.tile` holds `T·T·L` floats. `fwd` writes
                // X[·][gl][ic] (2·L floats per bin at stride `x_bin`) inside this block's X
                // (`nb·x_bin <= x_blk = xs.len()`), `s.mid` holds `T·H·2·L` floats; the entry's
                // ISA was checked in `new`. The fused variant reads the same elements straight
                // from `input` (no index-width limit).
                unsafe {
                    let xp = xb.add((gl * cin + ic) * 2 * l);
                    if let Some(fwd_in) = fwd_in {
                        fwd_in(base, g.w, &lanes0, s.mid.as_mut_ptr(), xp, b.x_bin);
                    } else {
                        gather(base, g.w, t, &lanes0, s.tile.as_mut_ptr());
                        fwd(s.tile.as_ptr(), s.mid.as_mut_ptr(), xp, b.x_bin);
                    }
                }
            }
        }
    }

    /// 2. Tuple GEMM, bin by bin: Y = Ŵ · X.
    fn multiply(&self, ctx: &RunCtx<'_>, b: &Block, xs: &[f32], ys: &mut [f32]) {
        let w_bin = ctx.packed.bin_len(self.cin);
        let (wp, xb, yb) = (ctx.packed.data.as_ptr(), xs.as_ptr(), ys.as_mut_ptr());
        for bin in 0..ctx.s.nb {
            let args = GemmArgs {
                cin: self.cin,
                oc_blocks: ctx.packed.oc_blocks,
                groups: b.gn,
                w: wp.wrapping_add(bin * w_bin),
                x: xb.wrapping_add(bin * b.x_bin),
                y: yb.wrapping_add(bin * b.y_bin),
            };
            // SAFETY: bin `bin` reads its `w_bin` packed floats and `x_bin` floats of this
            // block's X and writes its `y_bin` floats of this block's Y (`nb·y_bin <= slot_len − x_blk
            // = ys.len()`); sizes match `GemmArgs`; the entry's ISA was checked in `new`.
            unsafe { (b.k.gemm)(&args) };
        }
    }

    /// Phase 3: inverse FFT of Y, bias, clamp, crop and store into the output run `out` (which
    /// holds the block's tiles).
    fn output_transform(
        &self,
        ctx: &RunCtx<'_>,
        b: &Block,
        ys: &[f32],
        out: &mut BlockMut<'_, f32>,
        s: &mut Scratch,
    ) {
        let (g, k, l, t) = (&ctx.g, b.k, b.l, ctx.g.t);
        let inv = if t == 8 { k.inv8 } else { k.inv16 };
        let inv_out = match k.fused {
            Some(f) if t == 8 => f.inv8,
            Some(f) => f.inv16,
            None => None,
        };
        let (yb, ob) = (ys.as_ptr(), out.as_mut_ptr());
        for gl in 0..b.gn {
            let lanes0 = out_lanes_of(g, self.cout, b.t0 + gl * l, l);
            for oc in 0..self.cout {
                let post = Post {
                    bias: self.bias[oc],
                    clamp: self.clamp,
                    cols: g.mw,
                };
                // SAFETY: reads Y[·][gl][oc] inside this block's Y; writes `mh` rows of
                // `T·L` floats into `s.tile` and `T·H·2·L` floats into `s.mid`; ISA checked
                // in `new`. `scatter` writes, from `out_oc` (channel `oc` of image 0; lane
                // bases add the image plane), only the output pixels of the tiles of group
                // `gl` of this block in channel `oc`: elements of the output run `out` (its
                // tiles hold the block's, all channels), which no other task holds.
                // The fused variant writes the same pixels directly (`mh >= rows[i]`).
                unsafe {
                    let yp = yb.add((gl * ctx.s.ocp + oc) * 2 * l);
                    let out_oc = ob.wrapping_add(oc * g.oh * g.ow);
                    if let Some(inv_out) = inv_out {
                        let mid = s.mid.as_mut_ptr();
                        inv_out(yp, b.y_bin, g.mh, &post, mid, g.ow, &lanes0, out_oc);
                    } else {
                        let (mid, tile) = (s.mid.as_mut_ptr(), s.tile.as_mut_ptr());
                        inv(yp, b.y_bin, g.mh, &post, mid, tile);
                        (k.scatter)(s.tile.as_ptr(), t, g.ow, &lanes0, out_oc);
                    }
                }
            }
        }
    }
}

/// `v` as a size argument: at most [`MAX_DIM`] (always, on 32-bit targets: `MAX_DIM` is
/// `usize::MAX` there, hence the allow of clippy's `absurd_extreme_comparisons`).
#[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
pub(crate) fn check_dim(what: &'static str, v: usize) -> Result<(), FftError> {
    if v > MAX_DIM {
        return Err(too_large(what, format!("{v} exceeds the limit {MAX_DIM}")));
    }
    Ok(())
}

/// The portable gather for `l` lanes (inputs too large for 32-bit gather indices).
fn portable_gather(l: usize) -> GatherFn {
    match l {
        4 => crate::ukernel::gather_generic::<4>,
        8 => crate::ukernel::gather_generic::<8>,
        _ => crate::ukernel::gather_generic::<16>,
    }
}

/// Decomposes global tile index `ti` into (image, tile row, tile column).
#[inline]
fn tile_pos(g: &Geom, ti: usize) -> (usize, usize, usize) {
    let n = ti / g.tiles_per_image;
    let r = ti % g.tiles_per_image;
    (n, r / g.tiles_x, r % g.tiles_x)
}

/// Describes where the `T × T` input patches of tiles `first..first + lanes` (channel 0) lie;
/// lanes past the last tile get an empty row range, hence zeros.
fn lanes_of(g: &Geom, cin: usize, first: usize, lanes: usize, pad: [usize; 4]) -> Lanes {
    let t = g.t as isize;
    let mut d = Lanes::default();
    for lane in 0..lanes {
        let ti = first + lane;
        if ti >= g.total_tiles {
            break;
        }
        let (n, ty, tx) = tile_pos(g, ti);
        // ty·mh < oh + mh and tx·mw < ow + mw, with oh, ow, h, w and the padding at most a few
        // times u32::MAX (checked by `output_size`): these fit isize.
        let y0 = (ty * g.mh) as isize - pad[0] as isize;
        let x0 = (tx * g.mw) as isize - pad[1] as isize;
        let rows = (
            (-y0).clamp(0, t) as usize,
            (g.h as isize - y0).clamp(0, t) as usize,
        );
        let cols = (
            (-x0).clamp(0, t) as usize,
            (g.w as isize - x0).clamp(0, t) as usize,
        );
        if rows.0 >= rows.1 || cols.0 >= cols.1 {
            // All padding: an empty lane (origin 0), whose far-away y0·w need not fit isize.
            continue;
        }
        // The patch meets the image: −t < y0 < h and −t < x0 < w, so |y0·w + x0| is below
        // (h + t)·w + t, and plane + y0·w + x0 >= 0 is an index of the input (n < batch).
        let plane = (n * cin * g.h * g.w) as isize;
        d.origin[lane] = plane + y0 * g.w as isize + x0;
        d.rows[lane] = rows;
        d.cols[lane] = cols;
    }
    d
}

/// Describes where the cropped output tiles `first..first + lanes` go (channel 0).
fn out_lanes_of(g: &Geom, cout: usize, first: usize, lanes: usize) -> OutLanes {
    let mut d = OutLanes::default();
    for lane in 0..lanes {
        let ti = first + lane;
        if ti >= g.total_tiles {
            break;
        }
        let (n, ty, tx) = tile_pos(g, ti);
        let (oy0, ox0) = (ty * g.mh, tx * g.mw);
        d.rows[lane] = g.mh.min(g.oh - oy0);
        d.cols[lane] = g.mw.min(g.ow - ox0);
        d.base[lane] = n * cout * g.oh * g.ow + oy0 * g.ow + ox0;
    }
    d
}
