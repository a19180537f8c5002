//! The convolution driver: validates a call, builds (or reuses) the indirection buffer, and
//! runs tiles of output pixels on a [`Parallel`] pool through the plan's micro-kernel.

use crate::{
    add, mul, try_grow, try_with_capacity, ukernel, ConvError, Input8, Output8, QConv2d, Spatial,
};
use cpu_probe::parallel::Parallel;
use quant_params::StagePlan;
use std::cell::RefCell;
use std::sync::Mutex;

/// Indirection buffer for one input shape: per tile of MR output pixels, per tap and pixel, the
/// element offset of the input pixel, or [`PAD`] for taps outside the image.
pub(crate) struct Indirection {
    key: (usize, usize, usize, usize),
    offsets: Vec<usize>,
    /// Plans with `gather`: per output pixel and kernel row, the input offset of the row's
    /// `kw · cin` contiguous bytes (every tap in the image, dilation 1, pixel stride `cin`), or
    /// [`PAD`] where the row is gathered tap by tap. Empty otherwise.
    runs: Vec<usize>,
}

/// Marks a tap that reads the zero-point buffer (no real offset: those are below
/// `isize::MAX`, inside the input slice).
pub(crate) const PAD: usize = usize::MAX;

/// The i32 scratch of a task (tile pixels × output channels) is kept at most this many elements
/// (4 MiB) by shortening the tile, unless one MR-pixel block alone needs more.
const SCRATCH_CAP: usize = 1 << 20;

/// Per-thread scratch: tile accumulators, indirection pointers of one tile (then, with
/// `gather`, the gathered rows' pointers after them), row sums, gathered rows.
#[derive(Default)]
struct Scratch {
    acc: Vec<i32>,
    ptrs: Vec<*const u8>,
    row_sums: Vec<i32>,
    /// Gathered rows of one tile (plans with `gather`): MR rows of kp bytes.
    rows: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl QConv2d {
    /// The indirection buffer for `batch` images of `in_h × in_w` (`sp`: their pads and output
    /// size) with pixel stride `px`: `ceil(pixels / MR) · MR · taps` offsets in tile order
    /// (`pixels = batch · oh · ow`, checked by `run`), allocated fallibly. Every offset is at most `(batch · in_h · in_w − 1) · px`.
    fn indirection(
        &self,
        batch: usize,
        in_h: usize,
        in_w: usize,
        px: usize,
        sp: &Spatial,
        pixels: usize,
    ) -> Result<std::sync::Arc<Indirection>, ConvError> {
        let key = (batch, in_h, in_w, px);
        let mut guard = self.indirection.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ind) = guard.as_ref() {
            if ind.key == key {
                return Ok(ind.clone());
            }
        }
        let d = &self.desc;
        let mr = self.kernel.mr;
        let tiles = pixels.div_ceil(mr);
        let padded = mul("indirection buffer", ("tiles", tiles), ("MR", mr))?;
        let len = mul(
            "indirection buffer",
            ("output pixels", padded),
            ("taps", self.dims.taps),
        )?;
        let mut offsets: Vec<usize> = try_with_capacity("indirection buffer", len)?;
        let p = sp.pads;
        let plane = sp.oh * sp.ow;
        // Tile order: the taps · MR pointers of MR-pixel tile T are offsets
        // [T · taps · MR, (T + 1) · taps · MR), tap-major (what the kernels read), the pixels
        // past the last one repeating it (tiles start at multiples of MR in every task).
        for tile in 0..tiles {
            for ky in 0..d.kernel[0] {
                for kx in 0..d.kernel[1] {
                    for m in 0..mr {
                        let pix = (tile * mr + m).min(pixels - 1);
                        let (b, oy, ox) = (pix / plane, pix % plane / sp.ow, pix % sp.ow);
                        // oy · stride + ky · dilation < in_h + pads (Conv2dDesc::spatial): no
                        // overflow; below the top pad or past the image is padding.
                        let iy = (oy * d.stride[0] + ky * d.dilation[0])
                            .checked_sub(p[0])
                            .filter(|&y| y < in_h);
                        let ix = (ox * d.stride[1] + kx * d.dilation[1])
                            .checked_sub(p[1])
                            .filter(|&x| x < in_w);
                        offsets.push(match (iy, ix) {
                            // < batch · in_h · in_w pixels, each at most need_in − cin.
                            (Some(y), Some(x)) => ((b * in_h + y) * in_w + x) * px,
                            _ => PAD,
                        });
                    }
                }
            }
        }
        // Gathered rows: per pixel and kernel row, the first tap's offset where the row's kw
        // taps are in the image and contiguous (the last is the first's + (kw − 1)·cin: at
        // dilation 1 with pixel stride cin, and the taps between lie on that grid), else PAD.
        let mut runs = Vec::new();
        if self.gather.is_some() {
            let (kh, kw, cin, taps) = (d.kernel[0], d.kernel[1], d.cin_per_group, self.dims.taps);
            let n = mul(
                "gathered-row runs",
                ("output pixels", pixels),
                ("kernel rows", kh),
            )?;
            runs = try_with_capacity("gathered-row runs", n)?;
            for pix in 0..pixels {
                let tile = &offsets[pix / mr * taps * mr..][..taps * mr];
                for ky in 0..kh {
                    let first = tile[ky * kw * mr + pix % mr];
                    let last = tile[(ky * kw + kw - 1) * mr + pix % mr];
                    // An in-image offset is below isize::MAX, so first + span is never PAD.
                    let contiguous = first != PAD && last == first + (kw - 1) * cin;
                    runs.push(if contiguous { first } else { PAD });
                }
            }
        }
        let ind = std::sync::Arc::new(Indirection { key, offsets, runs });
        *guard = Some(ind.clone());
        Ok(ind)
    }

    /// Runs the convolution on `batch` NHWC images of `in_h × in_w` whose pixels are
    /// `in_pixel_stride` elements apart (>= groups · cin_per_group), writing a dense NHWC output
    /// of exactly `batch · oh · ow · cout` elements ([`Conv2dDesc::output_size`](crate::Conv2dDesc::output_size)).
    ///
    /// `in_h` and `in_w` are at most [`MAX_ATTRIBUTE`](crate::MAX_ATTRIBUTE); the input and output lengths, the
    /// indirection buffer and the per-thread scratch are computed checked and allocated
    /// fallibly: an overflow or a failed allocation is an error (the output is then
    /// unspecified).
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
    ) -> Result<(), ConvError> {
        let (sp, pixels) = self.validate(&input, batch, in_h, in_w, in_pixel_stride, &output)?;
        if pixels == 0 {
            return Ok(());
        }
        let ind = self.indirection(batch, in_h, in_w, in_pixel_stride, &sp, pixels)?;
        let (mr, cout) = (self.kernel.mr, self.dims.cout);
        // Tasks of up to 8 micro-tiles: big enough to amortise the task, small enough to give
        // every thread several tasks (at least 4 per thread where the image allows); the i32
        // scratch of a task (tile · cout) at most SCRATCH_CAP unless one MR block needs more.
        let per_thread = pixels.div_ceil(par.threads().max(1).saturating_mul(4));
        let tile = (per_thread.div_ceil(mr) * mr)
            .clamp(mr, mr * 8)
            .min((SCRATCH_CAP / cout / mr * mr).max(mr));
        let acc_len = mul(
            "per-thread scratch",
            ("tile pixels", tile),
            ("output channels", cout),
        )?;
        let job = Job {
            conv: self,
            offsets: &ind.offsets,
            runs: &ind.runs,
            input: input.as_bytes(),
            px: in_pixel_stride,
            pixels,
            tile,
            acc_len,
            // Checked in `new`.
            // With `gather`, the MR gathered-row pointers follow the tile's pointers.
            n_ptrs: self.dims.taps * mr + if self.gather.is_some() { mr } else { 0 },
            // Gathered rows: a whole task's (tile pixels) for the strided kernel entry.
            n_rows: match self.gather {
                Some(kp) => mul("gathered rows", ("tile pixels", tile), ("kp", kp))?,
                None => 0,
            },
            par,
            failed: Mutex::new(None),
        };
        // The fused stage: per tensor (made at plan time), or per channel (borrowing the
        // plan's scales).
        let fused = match &self.stage {
            _ if self.packed.needs_row_sums() => None,
            StagePlan::PerChannel(pc, _) => self.kernel.fused_per_channel(pc),
            _ => self.fused,
        };
        // 1x1, stride 1, no padding: output pixel p reads input pixel p, a strided GEMM.
        let d = &self.desc;
        let (run, gemm) = match &fused {
            Some(q) => self.kernel.fused_entries(q),
            None => (None, None),
        };
        let strided = (self.dims.taps == 1 && d.stride == [1, 1] && sp.pads == [0; 4])
            .then_some(gemm)
            .flatten();
        match (output, fused.as_ref().zip(run)) {
            (Output8::U8(o), Some((q, f))) => job.run_fused(o, |c| c.as_mut_ptr(), f, strided, q),
            (Output8::I8(o), Some((q, f))) => {
                job.run_fused(o, |c| c.as_mut_ptr().cast(), f, strided, q)
            }
            (Output8::I32(o), _) => job.run_scratch(o, |acc, o| o.copy_from_slice(acc)),
            // Cannot fail: `validate` matched the buffer type to the stage, the lengths agree.
            (Output8::U8(o), None) => job.run_scratch(o, |acc, o| {
                let _ = self.stage.row_u8(acc, o);
            }),
            (Output8::I8(o), None) => job.run_scratch(o, |acc, o| {
                let _ = self.stage.row_i8(acc, o);
            }),
        }
    }

    /// The checks of a call, in order (input type, geometry, pixel stride, input length,
    /// output length, output type against the stage): the spatial sizes and the number of
    /// output pixels.
    fn validate(
        &self,
        input: &Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_pixel_stride: usize,
        output: &Output8<'_>,
    ) -> Result<(Spatial, usize), ConvError> {
        let d = &self.desc;
        let dims = &self.dims;
        if input.qtype() != self.input_type {
            return Err(ConvError::Buffer(format!(
                "input is {:?} but the plan was built for {:?} activations",
                input.qtype(),
                self.input_type
            )));
        }
        let sp = d.spatial(dims, in_h, in_w)?;
        let (oh, ow) = (sp.oh, sp.ow);
        let cin = dims.cin;
        if in_pixel_stride < cin {
            return Err(ConvError::Buffer(format!(
                "input pixel stride {in_pixel_stride} is smaller than the {cin} input channels"
            )));
        }
        let pixels_in = mul(
            "input pixels",
            ("batch", batch),
            (
                "input height x width",
                mul(
                    "input pixels",
                    ("input height", in_h),
                    ("input width", in_w),
                )?,
            ),
        )?;
        let need_in = match pixels_in.checked_sub(1) {
            None => 0,
            Some(last) => add(
                "input length",
                (
                    "last pixel's offset",
                    mul(
                        "input length",
                        ("input pixels − 1", last),
                        ("input pixel stride", in_pixel_stride),
                    )?,
                ),
                ("input channels", cin),
            )?,
        };
        if input.len() < need_in {
            return Err(ConvError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w} pixels with stride {in_pixel_stride} need {need_in}",
                input.len()
            )));
        }
        let cout = dims.cout;
        let pixels = mul(
            "output pixels",
            ("batch", batch),
            (
                "output height x width",
                mul("output pixels", ("output height", oh), ("output width", ow))?,
            ),
        )?;
        let out_len = mul(
            "output length",
            ("output pixels", pixels),
            ("output channels", cout),
        )?;
        output
            .check(
                out_len,
                format_args!("{batch}x{oh}x{ow}x{cout}"),
                self.stage.qtype(),
            )
            .map_err(ConvError::Buffer)?;
        Ok((sp, pixels))
    }
}

/// One validated call: the plan, its input and indirection, and the task split (tiles of
/// `tile` output pixels × all channels).
struct Job<'a> {
    conv: &'a QConv2d,
    offsets: &'a [usize],
    runs: &'a [usize],
    input: &'a [u8],
    px: usize,
    pixels: usize,
    tile: usize,
    /// Accumulators of one task (tile · cout).
    acc_len: usize,
    /// Input pointers of one task (taps · MR).
    n_ptrs: usize,
    /// Bytes of gathered rows per tile (0 without `gather`).
    n_rows: usize,
    par: &'a Parallel,
    /// The first scratch allocation that fails (tasks after it skip their work).
    failed: Mutex<Option<ConvError>>,
}

impl Job<'_> {
    fn fail(&self, what: &str, len: usize) {
        let mut f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert_with(|| {
            ConvError::Buffer(format!(
                "per-thread scratch: {len} {what} cannot be allocated"
            ))
        });
    }

    /// The first failure of the job, if any.
    fn result(self) -> Result<(), ConvError> {
        self.failed
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Ok(()), Err)
    }

    /// Calls `f(p0, p1, out)` for every task: output pixels `p0..p1` and their `cout`
    /// channels, a disjoint chunk of the output handed out by [`Parallel::for_each_chunk_mut`].
    fn for_each_tile<T: Send>(
        &self,
        out: &mut [T],
        f: impl Fn(usize, usize, &mut [T]) + Sync + Send,
    ) {
        let cout = self.conv.dims.cout;
        // The output holds exactly pixels · cout elements (validate): chunk i is pixels
        // i·tile .. min((i + 1)·tile, pixels).
        self.par.for_each_chunk_mut(out, self.tile * cout, |i, o| {
            let p0 = i * self.tile;
            f(p0, (p0 + self.tile).min(self.pixels), o)
        });
    }

    /// u8/i8 output requantized by the fused kernels (`f`, and `strided` for 1x1 stride-1
    /// unpadded convolutions); `ptr`: a chunk's first byte.
    fn run_fused<T: Send>(
        self,
        out: &mut [T],
        ptr: impl Fn(&mut [T]) -> *mut u8 + Sync + Send,
        f: ukernel::IgemmFp32Fn,
        strided: Option<ukernel::GemmFp32Fn>,
        q: &ukernel::Fp32Requant<'_>,
    ) -> Result<(), ConvError> {
        self.for_each_tile(out, |p0, p1, o| {
            SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                if !try_grow(&mut s.ptrs, self.n_ptrs, core::ptr::null()) {
                    return self.fail("input pointers", self.n_ptrs);
                }
                if !try_grow(&mut s.rows, self.n_rows, 0) {
                    return self.fail("gathered rows", self.n_rows);
                }
                // SAFETY: `o` is this task's exclusive chunk: pixels p0..p1 × cout bytes of a
                // u8 or i8 output, as the fused stage produces (validate).
                unsafe {
                    self.conv.tile_fused(
                        self.offsets,
                        self.runs,
                        self.input,
                        self.px,
                        p0,
                        p1,
                        f,
                        strided,
                        q,
                        ptr(o),
                        &mut s.ptrs,
                        &mut s.rows,
                    )
                };
            });
        });
        self.result()
    }

    /// Output written from each task's i32 accumulators by `write(acc, out)` (the chunk's
    /// pixels × cout).
    fn run_scratch<T: Send>(
        self,
        out: &mut [T],
        write: impl Fn(&[i32], &mut [T]) + Sync + Send,
    ) -> Result<(), ConvError> {
        let cout = self.conv.dims.cout;
        let mr = self.conv.kernel.mr;
        self.for_each_tile(out, |p0, p1, o| {
            SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                if !try_grow(&mut s.acc, self.acc_len, 0) {
                    return self.fail("accumulators", self.acc_len);
                }
                if !try_grow(&mut s.ptrs, self.n_ptrs, core::ptr::null()) {
                    return self.fail("input pointers", self.n_ptrs);
                }
                if !try_grow(&mut s.rows, self.n_rows, 0) {
                    return self.fail("gathered rows", self.n_rows);
                }
                if !try_grow(&mut s.row_sums, mr, 0) {
                    return self.fail("row sums", mr);
                }
                let acc = &mut s.acc[..(p1 - p0) * cout];
                self.conv.tile(
                    self.offsets,
                    self.runs,
                    self.input,
                    p0,
                    p1,
                    acc,
                    &mut s.ptrs,
                    &mut s.row_sums,
                    &mut s.rows,
                );
                write(acc, o);
            });
        });
        self.result()
    }
}

impl QConv2d {
    /// Output pixels `p0..p1`, all channels, requantized by the kernels (`f`, and `strided`
    /// for 1x1 stride-1 unpadded convolutions) straight into `out` (pixel p0 first, `cout`
    /// bytes per pixel).
    ///
    /// # Safety
    /// `out` is writable for `(p1 − p0) · cout` bytes that no other thread accesses; `input`
    /// holds every pixel the offsets name (checked in `run`); the plan has no row sums.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_fused(
        &self,
        offsets: &[usize],
        runs: &[usize],
        input: &[u8],
        px: usize,
        p0: usize,
        p1: usize,
        f: ukernel::IgemmFp32Fn,
        strided: Option<ukernel::GemmFp32Fn>,
        q: &ukernel::Fp32Requant,
        out: *mut u8,
        ptrs: &mut [*const u8],
        rows_buf: &mut [u8],
    ) {
        let d = &self.desc;
        let k = &self.kernel;
        let (cin_g, cout_g, cout) = (d.cin_per_group, d.cout_per_group, self.dims.cout);
        let pk = &self.packed;
        let xor = self.a_xor ^ if k.signed_a { 0x80 } else { 0 };
        let bl = pk.block_len();
        if let (Some(kp), Some(gf)) = (self.gather, k.fused_entries(q).1) {
            // Gathered rows: the task's pixels p0..p1 gathered at once, its whole MR blocks in
            // one strided-kernel call, the last partial block through the row-pointer entry.
            let mr = k.mr;
            let n = p1 - p0;
            self.gather_rows(offsets, runs, input, p0, n, rows_buf);
            let (w_group, bias_group) = pk.block_range(0, 0, pk.blocks());
            let (wp, bp) = (w_group.as_ptr(), bias_group.as_ptr());
            let mb = n / mr;
            if mb > 0 {
                // SAFETY: rows 0..mb·MR of rows_buf hold kp = 4·(kp / 4) bytes each; their
                // outputs (pixels p0.., cout bytes each) are the caller's; the blocks are
                // consecutive (block_len apart, NR biases apart), packed for one tap of kp
                // channels; the kernel's ISA is the plan's.
                unsafe {
                    gf(
                        mb,
                        cout_g,
                        bl,
                        kp / 4,
                        rows_buf.as_ptr(),
                        kp,
                        xor,
                        wp,
                        bp,
                        q,
                        out,
                        cout,
                    )
                };
            }
            let rest = n - mb * mr;
            if rest > 0 {
                let rp = &mut ptrs[..mr];
                for (m, r) in rp.iter_mut().enumerate() {
                    // Rows past the image repeat the last one.
                    *r = rows_buf[(mb * mr + m.min(rest - 1)) * kp..].as_ptr();
                }
                // SAFETY: rp holds MR pointers to kp readable bytes; the outputs of pixels
                // p0 + mb·MR.. are the caller's; as above for the weights and the ISA.
                unsafe {
                    let op = out.add(mb * mr * cout);
                    f(
                        rest,
                        cout_g,
                        bl,
                        1,
                        kp,
                        rp.as_ptr(),
                        xor,
                        wp,
                        bp,
                        q,
                        op,
                        cout,
                    );
                }
            }
            return;
        }
        let mut p = p0;
        if let Some(gf) = strided {
            // The kernel reads whole k-groups (4·kc4 bytes) of every row: full row blocks up to
            // the last one whose last pixel has them inside the input, for every group (the
            // last group's bound is the tightest). No overflow: pixel p < pixels = input pixels
            // (1x1, stride 1, unpadded), so p · px + last <= need_in + 3 (checked in `run`).
            let kc4 = cin_g.div_ceil(4);
            let last = (d.groups - 1) * cin_g + 4 * kc4;
            let mut mb = (p1 - p0) / k.mr;
            while mb > 0 && (p0 + mb * k.mr - 1) * px + last > input.len() {
                mb -= 1;
            }
            if mb > 0 {
                for g in 0..d.groups {
                    let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                    let (wp, bp) = (w_group.as_ptr(), bias_group.as_ptr());
                    let shifted;
                    let qg = if g == 0 {
                        q
                    } else {
                        shifted = q.from_column(g * cout_g);
                        &shifted
                    };
                    // SAFETY: pixels p0..p0 + mb·MR of the input are readable for
                    // g·cin_g + 4·kc4 bytes (above; 1x1 stride 1 unpadded: output pixel p is
                    // input pixel p, at p · px); their outputs are the caller's; the group's
                    // blocks are consecutive (block_len apart, NR biases apart), one tap,
                    // ceil(4·kc4 / KR) = ceil(cin_g / KR) groups per block (KR = 4, 8 or 16); the
                    // kernel's ISA is the
                    // plan's.
                    unsafe {
                        let (ip, op) =
                            (input.as_ptr().add(p0 * px + g * cin_g), out.add(g * cout_g));
                        gf(mb, cout_g, bl, kc4, ip, px, xor, wp, bp, qg, op, cout);
                    }
                }
                p += mb * k.mr;
            }
        }
        while p < p1 {
            let rows = (p1 - p).min(k.mr);
            for g in 0..d.groups {
                let goff = g * cin_g;
                let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                let (wp, bp) = (w_group.as_ptr(), bias_group.as_ptr());
                // Group 0's stage is `q` itself (no copy per row block).
                let shifted;
                let qg = if g == 0 {
                    q
                } else {
                    shifted = q.from_column(g * cout_g);
                    &shifted
                };
                let (ap, kt, kc) =
                    self.kernel_rows(offsets, runs, input, p, rows, goff, ptrs, rows_buf);
                // SAFETY: ap holds kt · MR pointers to kc readable bytes (the tile's taps, or
                // its gathered rows); the group's blocks are consecutive with consecutive
                // biases, packed for kt taps of kc channels; the output rows p..p + rows,
                // columns g·cout_g.. are the caller's (row stride cout); the kernel's ISA is
                // the plan's.
                unsafe {
                    let op = out.add((p - p0) * cout + g * cout_g);
                    f(rows, cout_g, bl, kt, kc, ap, xor, wp, bp, qg, op, cout);
                }
            }
            p += rows;
        }
    }

    /// Points `ptrs[t · MR + m]` at the input of tap `t` of output pixel `p + m`, from input
    /// channel `goff` of its group (the zero row for a padding tap), for the `MR` rows of the
    /// tile at pixel `p` (a multiple of MR; rows past the image repeat its last pixel): one pass
    /// over the tile's slice of the tile-ordered offsets.
    #[inline(always)]
    fn row_ptrs(
        &self,
        offsets: &[usize],
        input: &[u8],
        p: usize,
        rows: usize,
        goff: usize,
        ptrs: &mut [*const u8],
    ) {
        let n = self.kernel.mr * self.dims.taps;
        debug_assert!(p.is_multiple_of(self.kernel.mr) && rows >= 1);
        let tile = &offsets[p / self.kernel.mr * n..][..n];
        let zero = self.zero_row.as_ptr();
        for (d, &off) in ptrs[..n].iter_mut().zip(tile) {
            *d = if off == PAD {
                zero
            } else {
                debug_assert!(off + goff + self.desc.cin_per_group <= input.len());
                // SAFETY: `off` is a pixel offset of an in-image tap, at most
                // (pixels_in − 1) · in_pixel_stride, and goff + cin_g <= cin, so
                // off + goff + cin_g <= need_in <= input.len() (checked in `run`): the pointer
                // and the cin_g bytes after it are inside `input`.
                unsafe { input.as_ptr().add(off + goff) }
            };
        }
    }

    /// The row pointers the kernel reads for the tile at pixel `p` (channel `goff` on): the
    /// taps' ([`Self::row_ptrs`]: `taps` taps of `cin_g` channels), or with `gather` (one group,
    /// few channels per tap) the tile's MR rows gathered into `rows_buf` (`kp` bytes each:
    /// every tap's `cin_g` bytes in tap order, then padding that meets zero weights), whose MR
    /// pointers go after the taps' in `ptrs` (one tap of `kp` channels). Returns (pointers,
    /// taps, channels).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn kernel_rows(
        &self,
        offsets: &[usize],
        runs: &[usize],
        input: &[u8],
        p: usize,
        rows: usize,
        goff: usize,
        ptrs: &mut [*const u8],
        rows_buf: &mut [u8],
    ) -> (*const *const u8, usize, usize) {
        let (mr, taps, cin) = (self.kernel.mr, self.dims.taps, self.desc.cin_per_group);
        let Some(kp) = self.gather else {
            self.row_ptrs(offsets, input, p, rows, goff, ptrs);
            return (ptrs.as_ptr(), taps, cin);
        };
        self.gather_rows(offsets, runs, input, p, rows, rows_buf);
        let row_ptrs = &mut ptrs[mr * taps..mr * taps + mr];
        for (m, rp) in row_ptrs.iter_mut().enumerate() {
            // Rows past the image repeat the last one.
            *rp = rows_buf[m.min(rows - 1) * kp..].as_ptr();
        }
        (row_ptrs.as_ptr(), 1, kp)
    }

    /// Gathers the rows of output pixels `p0..p0 + n` into `rows_buf` (`kp` bytes each, the
    /// plan's `gather`): per kernel row, its `kw · cin` input bytes in one copy where
    /// `indirection` found them contiguous (`runs`), else tap by tap from the tile-ordered
    /// `offsets` (a padding tap copies the zero-point row).
    fn gather_rows(
        &self,
        offsets: &[usize],
        runs: &[usize],
        input: &[u8],
        p0: usize,
        n: usize,
        rows_buf: &mut [u8],
    ) {
        let kp = self.gather.unwrap_or(0);
        let (kh, kw, cin) = (
            self.desc.kernel[0],
            self.desc.kernel[1],
            self.desc.cin_per_group,
        );
        let run = kw * cin;
        assert!(runs.len() >= (p0 + n) * kh && rows_buf.len() >= n * kp && kh * run <= kp);
        let (rb, rn, inp) = (rows_buf.as_mut_ptr(), runs.as_ptr(), input.as_ptr());
        for i in 0..n {
            for ky in 0..kh {
                // SAFETY: (p0 + i)·kh + ky < (p0 + n)·kh <= runs.len(); i·kp + ky·run + run <=
                // n·kp <= rows_buf.len() (asserted above).
                let (r, dst) = unsafe { (*rn.add((p0 + i) * kh + ky), rb.add(i * kp + ky * run)) };
                if r != PAD {
                    debug_assert!(r + run <= input.len());
                    // SAFETY: a run's kw taps are in the image and contiguous (built in
                    // `indirection`): r + run <= need_in <= input.len() (checked in `run`); dst
                    // has run bytes (above).
                    unsafe { copy_small(dst, inp.add(r), run) };
                } else {
                    // SAFETY: dst has kw · cin bytes (above).
                    unsafe { self.gather_taps(offsets, input, p0 + i, ky, dst) };
                }
            }
        }
    }

    /// Kernel row `ky` of pixel `pix`'s gathered row, tap by tap (a row with padding or not
    /// contiguous): each tap's `cin` bytes, or the zero-point row's, to `dst`.
    ///
    /// # Safety
    /// `dst` is writable for `kw · cin` bytes; `offsets` is the plan's indirection for `input`.
    #[cold]
    #[inline(never)]
    unsafe fn gather_taps(
        &self,
        offsets: &[usize],
        input: &[u8],
        pix: usize,
        ky: usize,
        dst: *mut u8,
    ) {
        let (mr, taps) = (self.kernel.mr, self.dims.taps);
        let (kw, cin) = (self.desc.kernel[1], self.desc.cin_per_group);
        let tile = &offsets[pix / mr * taps * mr..][..taps * mr];
        let t = &tile[ky * kw * mr + pix % mr..];
        debug_assert!(t.len() > (kw - 1) * mr);
        let zero = self.zero_row.as_ptr();
        for kx in 0..kw {
            let off = t[kx * mr];
            let src = if off == PAD {
                zero
            } else {
                debug_assert!(off + cin <= input.len());
                // SAFETY: an in-image tap's offset + cin is inside `input` (row_ptrs).
                unsafe { input.as_ptr().add(off) }
            };
            // SAFETY: src is readable for cin bytes (the tap's pixel or the zero row); dst has
            // kw · cin bytes (the caller).
            unsafe { copy_small(dst.add(kx * cin), src, cin) };
        }
    }

    /// Accumulators (bias and zero points applied) of output pixels `p0..p1`, all channels.
    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        offsets: &[usize],
        runs: &[usize],
        input: &[u8],
        p0: usize,
        p1: usize,
        acc: &mut [i32],
        ptrs: &mut [*const u8],
        row_sums: &mut [i32],
        rows_buf: &mut [u8],
    ) {
        let d = &self.desc;
        let k = &self.kernel;
        let taps = self.dims.taps;
        let cin_g = d.cin_per_group;
        let cout_g = d.cout_per_group;
        let cout = self.dims.cout;
        let pk = &self.packed;
        let xor = self.a_xor ^ if k.signed_a { 0x80 } else { 0 };
        let mut p = p0;
        while p < p1 {
            let rows = (p1 - p).min(k.mr);
            for g in 0..d.groups {
                let goff = g * cin_g;
                let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                let (ap, kt, kc) =
                    self.kernel_rows(offsets, runs, input, p, rows, goff, ptrs, rows_buf);
                if pk.needs_row_sums() {
                    for (m, rs) in row_sums.iter_mut().enumerate().take(rows) {
                        let mut s = 0i32;
                        for t in 0..taps {
                            let ptr = ptrs[t * k.mr + m];
                            // SAFETY: each pointer addresses cin_g readable bytes (above).
                            let row = unsafe { std::slice::from_raw_parts(ptr, cin_g) };
                            s += row.iter().map(|&b| i32::from(b ^ self.a_xor)).sum::<i32>();
                        }
                        *rs = s;
                    }
                }
                // (Plans with `gather` have no row sums: weight zero points 0.)
                let blocks = w_group
                    .chunks_exact(pk.block_len())
                    .zip(bias_group.chunks_exact(k.nr));
                for (b, (w, bias)) in blocks.enumerate() {
                    let nr = (cout_g - b * k.nr).min(k.nr);
                    let col0 = g * cout_g + b * k.nr;
                    let out = &mut acc[(p - p0) * cout + col0..];
                    debug_assert!(out.len() >= (rows - 1) * cout + nr);
                    // SAFETY: ap holds kt · MR pointers to kc readable bytes (the tile's taps or
                    // its gathered rows); the packed block has kt · kc4 · NR · 4 bytes and its
                    // bias NR values; `out` holds rows rows of stride cout with nr valid columns
                    // from col0; the kernel's ISA is available (the plan chose a supported
                    // IGEMM entry).
                    unsafe {
                        let (wp, bp, op) = (w.as_ptr(), bias.as_ptr(), out.as_mut_ptr());
                        (k.run)(rows, nr, kt, kc, ap, xor, wp, bp, op, cout);
                    }
                    if pk.needs_row_sums() {
                        for (m, &rs) in row_sums.iter().enumerate().take(rows) {
                            let row = &mut acc[(p - p0 + m) * cout + col0..][..nr];
                            for (x, &z) in row.iter_mut().zip(&pk.zw()[col0..col0 + nr]) {
                                *x = x.wrapping_sub(z.wrapping_mul(rs));
                            }
                        }
                    }
                }
            }
            p += rows;
        }
    }
}

/// Copies `n` bytes (a gathered row's run: at most 128) with a few unaligned loads and stores:
/// whole 16-byte chunks and an overlapping last one, or two overlapping 8- or 4-byte words, or
/// bytes below 4 (a `memcpy` call costs more than the copy at these sizes).
///
/// # Safety
/// `src` is readable and `dst` writable for `n` bytes; they do not overlap.
#[inline(always)]
unsafe fn copy_small(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: every access is inside the first n bytes of src / dst (n >= the access width
    // in each branch).
    unsafe {
        let cp = |o: usize, w: usize| match w {
            16 => dst
                .add(o)
                .cast::<u128>()
                .write_unaligned(src.add(o).cast::<u128>().read_unaligned()),
            8 => dst
                .add(o)
                .cast::<u64>()
                .write_unaligned(src.add(o).cast::<u64>().read_unaligned()),
            4 => dst
                .add(o)
                .cast::<u32>()
                .write_unaligned(src.add(o).cast::<u32>().read_unaligned()),
            _ => *dst.add(o) = *src.add(o),
        };
        if n >= 16 {
            let mut i = 0;
            while i + 16 <= n {
                cp(i, 16);
                i += 16;
            }
            if i < n {
                cp(n - 16, 16);
            }
        } else if n >= 8 {
            cp(0, 8);
            cp(n - 8, 8);
        } else if n >= 4 {
            cp(0, 4);
            cp(n - 4, 4);
        } else {
            for i in 0..n {
                cp(i, 1);
            }
        }
    }
}
