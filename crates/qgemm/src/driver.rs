//! The GEMM driver: validates a call, chooses the output path and task split, and runs the
//! tasks (tiles of C) on a [`Parallel`] pool, each through the plan's micro-kernel.

use crate::ukernel::{self, Fp32Requant};
use crate::{strided_span, GemmError, GemmOutput, Input8, PackedB};
use cpu_probe::parallel::{Parallel, TileMut};
use quant_params::{PerChannelRequantizer, QType, RequantPlan, Requantizer};
use std::cell::RefCell;

/// The smallest task (multiply-adds) the driver hands to another thread: 512K multiply-adds,
/// about 1 µs of AVX-512 VNNI work, several times the cost of a job on
/// [`cpu_probe::parallel::Parallel`] when its workers are awake (0.1-0.3 µs measured on the
/// development VM; `cargo run --release -p cpu-probe --example pool_latency`).
pub const MIN_TASK_MACS: usize = 1 << 19;
/// At most this many tasks per thread (load balance on shared cores vs per-task cost).
pub const TASKS_PER_THREAD: usize = 4;
/// The largest MR of any micro-kernel.
const MAX_MR: usize = 8;
/// At most this many i32 accumulators (4 MiB) in a task's per-thread scratch (outputs that
/// are requantized or dequantized from it): [`PackedB::gemm_with_tiling`] shortens larger
/// tasks (a task of one row and one NR block always fits).
pub const SCRATCH_CAP: usize = 1 << 20;

/// A split of a GEMM into tasks of `rows` rows × `blocks` NR-column blocks
/// ([`PackedB::tiling`]). Both must be >= 1; larger values than the GEMM has are clamped (and
/// so are tasks whose i32 scratch would pass [`SCRATCH_CAP`]), which never changes C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Rows of C per task.
    pub rows: usize,
    /// NR-column blocks of C per task.
    pub blocks: usize,
}

thread_local! {
    static SCRATCH: RefCell<(Vec<i32>, Vec<*const u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl PackedB {
    /// `C = A · B` (+ bias, zero points) for `m` rows of A with row stride `lda`, split into
    /// tasks by [`PackedB::tiling`] and run on `par`.
    ///
    /// Needs `lda >= k`, `ldc >= n`, A of at least `(m − 1) · lda + k` elements and C of at
    /// least `(m − 1) · ldc + n` (both computed checked: a span past `usize` is an error).
    pub fn gemm(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
    ) -> Result<(), GemmError> {
        self.gemm_impl(m, a, lda, out, par, None)
    }

    /// [`PackedB::gemm`] with a forced task split (tests and tuning; any `rows`, `blocks` >= 1
    /// give the same C).
    pub fn gemm_with_tiling(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
        tiling: Tiling,
    ) -> Result<(), GemmError> {
        self.gemm_impl(m, a, lda, out, par, Some(tiling))
    }

    /// Validate → choose → run: [`PackedB::gemm`] with an optional forced split.
    fn gemm_impl(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
        tiling: Option<Tiling>,
    ) -> Result<(), GemmError> {
        let Some(ldc) = self.validate(m, &a, lda, &out)? else {
            return Ok(());
        };
        let plan = match &out {
            GemmOutput::U8 { requant, .. } | GemmOutput::I8 { requant, .. } => {
                Some(requant.plan(None)?)
            }
            _ => None,
        };
        let fused = self.fused_stage(&out);
        // Whether the tasks go through the i32 scratch (else the kernels store into C).
        let scratch = fused.is_none() && !matches!(out, GemmOutput::I32 { .. });
        let (rows, blocks) = self.task_shape(m, par.threads(), tiling, scratch)?;
        let job = Job {
            plan: self,
            a: a.as_bytes(),
            lda,
            m,
            ldc,
            rows,
            blocks,
            par,
        };
        match (out, fused) {
            (GemmOutput::U8 { c, .. } | GemmOutput::U8PerChannel { c, .. }, Some(q)) => {
                job.run_fused(c, |t| t.as_mut_ptr(), &q)
            }
            (GemmOutput::I8 { c, .. } | GemmOutput::I8PerChannel { c, .. }, Some(q)) => {
                job.run_fused(c, |t| t.as_mut_ptr().cast(), &q)
            }
            (GemmOutput::I32 { c, .. }, _) => job.run_i32(c),
            (GemmOutput::U8 { c, .. }, None) => {
                let p = plan.as_ref().expect("a u8 C has a requantization plan");
                job.run_scratch(c, |run, o, _| u8::per_tensor(p, run, o))
            }
            (GemmOutput::I8 { c, .. }, None) => {
                let p = plan.as_ref().expect("an i8 C has a requantization plan");
                job.run_scratch(c, |run, o, _| i8::per_tensor(p, run, o))
            }
            (GemmOutput::U8PerChannel { c, requant, .. }, None) => {
                job.run_scratch(c, |run, o, col0| per_channel(requant, run, o, col0, self.n))
            }
            (GemmOutput::I8PerChannel { c, requant, .. }, None) => {
                job.run_scratch(c, |run, o, col0| per_channel(requant, run, o, col0, self.n))
            }
            (
                GemmOutput::F32 {
                    c,
                    a_scale,
                    b_scales,
                    ..
                },
                _,
            ) => {
                let n = self.n;
                job.run_scratch(c, |run, o, col0| {
                    for (j, (x, &v)) in o.iter_mut().zip(run).enumerate() {
                        // A dense run spans several rows: the column is (col0 + j) mod n.
                        let s = if b_scales.len() == 1 {
                            b_scales[0]
                        } else {
                            b_scales[(col0 + j) % n]
                        };
                        *x = v as f32 * (a_scale * s);
                    }
                })
            }
        }
    }

    /// The checks of a call, in order (A's type, `lda`, A's span, C's requantizer or scales,
    /// `ldc`, C's span); `None` when there is nothing to do (`m = 0`), else C's row stride.
    fn validate(
        &self,
        m: usize,
        a: &Input8<'_>,
        lda: usize,
        out: &GemmOutput<'_>,
    ) -> Result<Option<usize>, GemmError> {
        let (k, n) = (self.k, self.n);
        if a.qtype() != self.a_type {
            return Err(GemmError::Shape(format!(
                "A is {:?} but B was packed for {:?} activations",
                a.qtype(),
                self.a_type
            )));
        }
        if lda < k {
            return Err(GemmError::Shape(format!("lda {lda} is smaller than k {k}")));
        }
        if m == 0 {
            return Ok(None);
        }
        let need_a = strided_span("A", ("m", m), ("lda", lda), ("k", k))?;
        if a.len() < need_a {
            return Err(GemmError::Shape(format!(
                "A has {} elements but {m}x{k} with row stride {lda} needs {need_a}",
                a.len()
            )));
        }
        let (ldc, len) = match out {
            GemmOutput::U8 { c, ldc, requant } => {
                self.check_requant(requant, QType::U8)?;
                (*ldc, c.len())
            }
            GemmOutput::I8 { c, ldc, requant } => {
                self.check_requant(requant, QType::I8)?;
                (*ldc, c.len())
            }
            GemmOutput::U8PerChannel { c, ldc, requant } => {
                self.check_per_channel(requant, QType::U8)?;
                (*ldc, c.len())
            }
            GemmOutput::I8PerChannel { c, ldc, requant } => {
                self.check_per_channel(requant, QType::I8)?;
                (*ldc, c.len())
            }
            GemmOutput::I32 { c, ldc } => (*ldc, c.len()),
            GemmOutput::F32 {
                c, ldc, b_scales, ..
            } => {
                if b_scales.len() != 1 && b_scales.len() != n {
                    return Err(GemmError::Quant(format!(
                        "{} B scales given; need 1 or n = {n}",
                        b_scales.len()
                    )));
                }
                (*ldc, c.len())
            }
        };
        if ldc < n {
            return Err(GemmError::Shape(format!("ldc {ldc} is smaller than n {n}")));
        }
        let need_c = strided_span("C", ("m", m), ("ldc", ldc), ("n", n))?;
        if len < need_c {
            return Err(GemmError::Shape(format!(
                "C has {len} elements but {m}x{n} with row stride {ldc} needs {need_c}"
            )));
        }
        Ok(Some(ldc))
    }

    /// The requantization the plan's kernel fuses into its store for this output, if any (per
    /// tensor or per channel `Fp32`, or `Rndnu` on kernels that fuse it; u8/i8 C, a kernel with
    /// a fused entry, no row sums).
    fn fused_stage<'o>(&self, out: &GemmOutput<'o>) -> Option<Fp32Requant<'o>> {
        if self.packed.needs_row_sums() {
            return None;
        }
        match out {
            GemmOutput::U8 { requant: r, .. } | GemmOutput::I8 { requant: r, .. } => {
                self.kernel.fused(r)
            }
            GemmOutput::U8PerChannel { requant: r, .. }
            | GemmOutput::I8PerChannel { requant: r, .. } => self.kernel.fused_per_channel(r),
            _ => None,
        }
    }

    /// The task shape `(rows, blocks)`: `tiling` or the plan's own split, clamped to the GEMM
    /// and, for tasks through the i32 scratch, to [`SCRATCH_CAP`].
    fn task_shape(
        &self,
        m: usize,
        threads: usize,
        tiling: Option<Tiling>,
        scratch: bool,
    ) -> Result<(usize, usize), GemmError> {
        let tiling = tiling.unwrap_or_else(|| self.split(m, threads, scratch));
        if tiling.rows == 0 || tiling.blocks == 0 {
            return Err(GemmError::Shape(format!(
                "tiling rows ({}) and blocks ({}) must be >= 1",
                tiling.rows, tiling.blocks
            )));
        }
        let nr = self.kernel.nr;
        let (mut rows, mut blocks) = (tiling.rows.min(m), tiling.blocks.min(self.packed.blocks()));
        if scratch {
            // A task's scratch (rows × blocks · NR) at most SCRATCH_CAP (rows, blocks >= 1).
            blocks = blocks.min((SCRATCH_CAP / nr).max(1));
            rows = rows.min((SCRATCH_CAP / (blocks * nr)).max(1));
        }
        Ok((rows, blocks))
    }
}

/// The byte types of requantized C, with quant-params' requantization into each.
trait OutByte: Copy {
    /// One value by one channel's requantizer.
    fn one(r: &Requantizer, v: i32) -> Self;
    /// Whole rows of all `n` channels (`acc` a multiple of `n` long, from column 0).
    fn rows(pc: &PerChannelRequantizer, acc: &[i32], out: &mut [Self]);
    /// A run of values by the per-tensor plan.
    fn per_tensor(p: &RequantPlan, acc: &[i32], out: &mut [Self]);
}

impl OutByte for u8 {
    fn one(r: &Requantizer, v: i32) -> u8 {
        r.requantize(v) as u8
    }
    fn rows(pc: &PerChannelRequantizer, acc: &[i32], out: &mut [u8]) {
        let _ = pc.requantize_rows_u8(acc, out);
    }
    fn per_tensor(p: &RequantPlan, acc: &[i32], out: &mut [u8]) {
        let _ = p.run_u8(acc, out);
    }
}

impl OutByte for i8 {
    fn one(r: &Requantizer, v: i32) -> i8 {
        r.requantize(v) as u8 as i8
    }
    fn rows(pc: &PerChannelRequantizer, acc: &[i32], out: &mut [i8]) {
        let _ = pc.requantize_rows_i8(acc, out);
    }
    fn per_tensor(p: &RequantPlan, acc: &[i32], out: &mut [i8]) {
        let _ = p.run_i8(acc, out);
    }
}

/// Per-channel requantization of `run` (first column `col0`) into `o`: whole dense rows in one
/// call ([`OutByte::rows`]), a column range (GEMV panels) channel by channel
/// ([`OutByte::one`]).
fn per_channel<T: OutByte>(
    pc: &PerChannelRequantizer,
    run: &[i32],
    o: &mut [T],
    col0: usize,
    n: usize,
) {
    if col0 == 0 && run.len().is_multiple_of(n) {
        T::rows(pc, run, o);
    } else {
        for (j, (x, &v)) in o.iter_mut().zip(run).enumerate() {
            if let Some(r) = pc.channel(col0 + j) {
                *x = T::one(r, v);
            }
        }
    }
}

/// One validated call: the plan, A, and the task split of C.
struct Job<'a> {
    plan: &'a PackedB,
    a: &'a [u8],
    lda: usize,
    m: usize,
    ldc: usize,
    rows: usize,
    blocks: usize,
    par: &'a Parallel,
}

impl Job<'_> {
    /// Calls `f(tile, b0, b1)` for every task: a tile of C of up to `rows` rows × `blocks` NR
    /// blocks (NR blocks `b0..b1`), each an exclusive view handed out by
    /// [`Parallel::for_each_tile_mut_by_columns`]: column panels outermost, in one job, so the
    /// tasks a thread takes one after another share one panel of B in L2.
    fn for_each_task<T: Send>(
        &self,
        c: &mut [T],
        f: impl Fn(TileMut<'_, T>, usize, usize) + Sync + Send,
    ) -> Result<(), GemmError> {
        let (n, nr, nb) = (self.plan.n, self.plan.kernel.nr, self.plan.packed.blocks());
        let (m, ldc, rows) = (self.m, self.ldc, self.rows);
        // blocks <= nb: no overflow (nb · NR < n + NR).
        let width = self.blocks * nr;
        self.par
            .for_each_tile_mut_by_columns(c, ldc, m, n, rows, width, |t| {
                let b0 = t.col0() / nr;
                let b1 = (b0 + t.cols().div_ceil(nr)).min(nb);
                f(t, b0, b1)
            })
            .map_err(|e| GemmError::Shape(format!("C: {e}")))
    }

    /// u8/i8 C stored by the plan's fused kernel (`ptr`: the tile's first byte).
    fn run_fused<T: Send>(
        &self,
        c: &mut [T],
        ptr: impl Fn(&mut TileMut<'_, T>) -> *mut u8 + Sync + Send,
        q: &Fp32Requant<'_>,
    ) -> Result<(), GemmError> {
        let f = self
            .plan
            .kernel
            .fused_entries(q)
            .0
            .expect("a fused stage has a fused kernel");
        self.for_each_task(c, |mut t, b0, b1| {
            let (r0, r1, ldc) = (t.row0(), t.row0() + t.rows(), t.stride());
            let base = ptr(&mut t);
            with_pointers(self.plan.kernel.mr, |ptrs, _| {
                // SAFETY: the tile is this task's exclusive view of rows r0..r1, columns
                // b0·NR..min(b1·NR, n) of the byte C (element (r, c) at (r − r0)·ldc + c − b0·NR
                // from its first byte).
                unsafe {
                    self.plan
                        .tile_fp32(self.a, self.lda, r0, r1, b0, b1, f, q, base, ldc, ptrs)
                }
            });
        })
    }

    /// i32 C: the kernels store straight into C, no scratch pass.
    fn run_i32(&self, c: &mut [i32]) -> Result<(), GemmError> {
        self.for_each_task(c, |mut t, b0, b1| {
            let (r0, r1, ldc) = (t.row0(), t.row0() + t.rows(), t.stride());
            let base = t.as_mut_ptr();
            with_pointers(self.plan.kernel.mr, |ptrs, _| {
                // SAFETY: the tile is this task's exclusive view of rows r0..r1, columns
                // b0·NR..min(b1·NR, n) of C, element (r, c) at (r − r0)·ldc + c − b0·NR.
                unsafe {
                    self.plan
                        .tile(self.a, self.lda, r0, r1, b0, b1, base, ldc, ptrs)
                }
            });
        })
    }

    /// C written from each task's i32 scratch by `write(run, dst, col0)`: `run` is part of one
    /// row starting at column `col0`, or whole dense rows (`col0 = 0`, `ldc = n`).
    fn run_scratch<T: Send>(
        &self,
        c: &mut [T],
        write: impl Fn(&[i32], &mut [T], usize) + Sync + Send,
    ) -> Result<(), GemmError> {
        let (n, nr) = (self.plan.n, self.plan.kernel.nr);
        self.for_each_task(c, |mut t, b0, b1| {
            let (r0, r1, width) = (t.row0(), t.row0() + t.rows(), t.cols());
            let c0 = b0 * nr;
            with_pointers(self.plan.kernel.mr, |ptrs, acc| {
                // At most SCRATCH_CAP elements, or one row of one block (task_shape).
                let len = (r1 - r0) * width;
                if acc.len() < len {
                    acc.resize(len, 0);
                }
                let acc = &mut acc[..len];
                // SAFETY: acc holds (r1 − r0) rows of `width` = the task's columns.
                unsafe {
                    self.plan.tile(
                        self.a,
                        self.lda,
                        r0,
                        r1,
                        b0,
                        b1,
                        acc.as_mut_ptr(),
                        width,
                        ptrs,
                    )
                };
                let dense = c0 == 0 && width == n;
                if let Some(o) = t.as_contiguous_mut().filter(|_| dense) {
                    // Dense C (full-width tile, ldc = n): the tile's rows are one run.
                    write(acc, o, 0);
                } else {
                    for (i, row) in acc.chunks_exact(width).enumerate() {
                        write(row, t.row_mut(i), c0);
                    }
                }
            });
        })
    }
}

/// Runs `f` with this thread's scratch: at least `mr` row pointers, and the i32 accumulators.
fn with_pointers(mr: usize, f: impl FnOnce(&mut [*const u8], &mut Vec<i32>)) {
    SCRATCH.with(|s| {
        let (acc, ptrs) = &mut *s.borrow_mut();
        if ptrs.len() < mr {
            ptrs.resize(mr, core::ptr::null());
        }
        f(ptrs, acc)
    })
}

impl PackedB {
    /// How [`PackedB::gemm`] splits `m` rows over `threads` threads: the tasks are tiles of
    /// `rows` rows × `blocks` NR-column blocks.
    ///
    /// * N: a panel of packed B (`blocks` blocks over all of K) fits half of the L2 cache
    ///   ([`cpu_probe::cache_sizes`]), so it stays in L2 while the row blocks of a task stream
    ///   past it; each MR-row block of A (`MR × K` bytes) is reused from L1 across the panel.
    /// * M: a task's i32 accumulators (rows × panel width) fit half of L1, so they are still
    ///   there when the task requantizes them. This is the split of the outputs that go through
    ///   that scratch (f32, per-channel, and u8/i8 without a fused kernel);
    ///   [`PackedB::tiling_direct`] is the one for the outputs the kernels store directly.
    /// * Threads: big enough tasks (>= [`MIN_TASK_MACS`] multiply-adds) and up to
    ///   [`TASKS_PER_THREAD`] per thread, split over rows when there are enough MR-row blocks,
    ///   otherwise over columns (GEMV: M = 1 runs column panels in parallel).
    pub fn tiling(&self, m: usize, threads: usize) -> Tiling {
        self.split(m, threads, true)
    }

    /// The split [`PackedB::gemm`] uses for outputs the kernels store directly (i32 C, and u8/i8
    /// C with an `Fp32` requantizer, per tensor or per channel, on a kernel with it fused): as
    /// [`PackedB::tiling`] without the L1 limit on rows, which only keeps a task's i32 scratch
    /// in L1 (one thread: one task; fewer, longer kernel calls).
    pub fn tiling_direct(&self, m: usize, threads: usize) -> Tiling {
        self.split(m, threads, false)
    }

    fn split(&self, m: usize, threads: usize, scratch: bool) -> Tiling {
        let caches = cpu_probe::cache_sizes();
        let (mr, nr) = (self.kernel.mr, self.kernel.nr);
        let (k, n, nb) = (self.k, self.n, self.packed.blocks());
        let m = m.max(1);
        let block_bytes = self.packed.block_len().max(1) as u64;
        let mut blocks = ((caches.l2 / 2) / block_bytes).clamp(1, nb as u64) as usize;
        let width = (blocks * nr).min(n);
        // The i32 accumulators of a task stay in L1 until they are requantized.
        let row_bytes = (width * 4) as u64;
        // Saturating: `m` and `threads` are the caller's (up to usize::MAX).
        let mut rows = if scratch {
            (((caches.l1d / 2) / row_bytes) as usize / mr * mr).clamp(mr, m.max(mr))
        } else {
            m.div_ceil(mr).saturating_mul(mr)
        };
        let macs = m.saturating_mul(n).saturating_mul(k);
        let want = (macs / MIN_TASK_MACS).clamp(1, threads.max(1).saturating_mul(TASKS_PER_THREAD));
        if threads > 1 && want > 1 {
            let m_blocks = m.div_ceil(mr);
            if m_blocks >= want {
                rows = rows.min(m_blocks.div_ceil(want).saturating_mul(mr));
            } else {
                rows = rows.min(mr);
                // Column panels in a multiple of `threads` tasks (equal shares), each a whole
                // number of 64-byte lines of a u8 C row where the width allows it (no line is
                // written by two tasks).
                let t = threads.max(1);
                let n_tasks = (want.div_ceil(m_blocks) / t).max(1).saturating_mul(t);
                let line = 64usize.div_ceil(nr);
                let share = nb.div_ceil(n_tasks);
                blocks = blocks.min(if share >= line {
                    share.div_ceil(line) * line
                } else {
                    share
                });
            }
        }
        Tiling {
            rows: rows.min(m),
            blocks,
        }
    }

    fn check_per_channel(&self, r: &PerChannelRequantizer, want: QType) -> Result<(), GemmError> {
        if r.channels() != self.n {
            return Err(GemmError::Quant(format!(
                "per-channel requantizer has {} channels but n = {}",
                r.channels(),
                self.n
            )));
        }
        match r.channel(0) {
            Some(c) => self.check_requant(c, want),
            None => Ok(()),
        }
    }

    fn check_requant(&self, r: &Requantizer, want: QType) -> Result<(), GemmError> {
        if r.qtype() != want {
            return Err(GemmError::Shape(format!(
                "requantizer produces {:?} but a {want:?} C was given",
                r.qtype()
            )));
        }
        Ok(())
    }

    /// The byte mask the kernel applies to A: the activation domain's xor, and one more 0x80
    /// for kernels that multiply signed activations.
    fn kernel_xor(&self) -> u8 {
        self.a_xor ^ if self.kernel.signed_a { 0x80 } else { 0 }
    }

    /// The MR row pointers of the row block at `r` with `rows` valid rows: rows past the block
    /// repeat its last row; each row has k readable bytes (checked in `gemm`).
    fn row_pointers(&self, a: &[u8], lda: usize, r: usize, rows: usize, ptrs: &mut [*const u8]) {
        for (i, p) in ptrs.iter_mut().take(self.kernel.mr).enumerate() {
            *p = a[(r + i.min(rows - 1)) * lda..][..self.k].as_ptr();
        }
    }

    /// How many full MR-row blocks from row `r0` (up to `r1`) a strided kernel entry may run:
    /// it reads whole k-groups (`4 · ceil(k / 4)` bytes) of every row, so the last row of the
    /// last block must have them inside A (rows before it do: `lda >= k` and the bytes past `k`
    /// are the next row's).
    fn strided_blocks(&self, a: &[u8], lda: usize, r0: usize, r1: usize) -> usize {
        let mr = self.kernel.mr;
        let group_bytes = 4 * self.k.div_ceil(4);
        let mut mb = (r1 - r0) / mr;
        while mb > 0 && (r0 + mb * mr - 1) * lda + group_bytes > a.len() {
            mb -= 1;
        }
        mb
    }

    /// Rows `r0..r1` × NR blocks `b0..b1` into `acc` (row stride `ldacc`, column 0 = column
    /// `b0 · NR` of C).
    ///
    /// # Safety
    /// For every row `r0 <= r < r1` and column `b0·NR <= c < min(b1·NR, n)`, `acc` is writable
    /// at `(r − r0)·ldacc + c − b0·NR` and no other thread accesses those elements.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        &self,
        a: &[u8],
        lda: usize,
        r0: usize,
        r1: usize,
        b0: usize,
        b1: usize,
        acc: *mut i32,
        ldacc: usize,
        ptrs: &mut [*const u8],
    ) {
        let k = &self.kernel;
        let pk = &self.packed;
        let n = self.n;
        let xor = self.kernel_xor();
        // The task's blocks (checked once, not per kernel call).
        let (w_panel, bias_panel) = pk.block_range(0, b0, b1);
        let (wp, bp) = (w_panel.as_ptr(), bias_panel.as_ptr());
        let mut r = r0;
        if let (Some(g), false) = (k.gemm_i32, pk.needs_row_sums()) {
            // Full row blocks in one call (see `strided_blocks`).
            let mb = self.strided_blocks(a, lda, r0, r1);
            if mb > 0 {
                let ncols = (b1 * k.nr).min(n) - b0 * k.nr;
                // SAFETY: rows r0..r0 + mb·MR are readable for whole k-groups
                // (strided_blocks); `acc` rows 0..mb·MR, columns 0..ncols are the caller's;
                // blocks b0..b1 are consecutive (block_len apart, NR biases apart), packed with
                // ceil(4·kc4 / KR) groups (= ceil(k / KR), KR = 4, 8 or 16); the
                // kernel's ISA is the plan's.
                unsafe {
                    let (bl, kc4, ap) =
                        (pk.block_len(), self.k.div_ceil(4), a.as_ptr().add(r0 * lda));
                    g(mb, ncols, bl, kc4, ap, lda, xor, wp, bp, acc, ldacc);
                }
                r += mb * k.mr;
            }
        }
        while r < r1 {
            let rows = (r1 - r).min(k.mr);
            self.row_pointers(a, lda, r, rows, ptrs);
            let mut row_sums = [0i32; MAX_MR];
            if pk.needs_row_sums() {
                for (i, s) in row_sums.iter_mut().enumerate().take(rows) {
                    *s = a[(r + i) * lda..][..self.k]
                        .iter()
                        .map(|&b| i32::from(b ^ self.a_xor))
                        .sum();
                }
            }
            let blocks = w_panel
                .chunks_exact(pk.block_len())
                .zip(bias_panel.chunks_exact(k.nr));
            for (b, (w, bias)) in (b0..b1).zip(blocks) {
                let col0 = b * k.nr;
                let nr = (n - col0).min(k.nr);
                let at = (r - r0) * ldacc + (col0 - b0 * k.nr);
                // SAFETY: rows r..r + rows and columns col0..col0 + nr are inside the range
                // the caller guarantees writable (and ours alone).
                let out = unsafe { acc.add(at) };
                // SAFETY: ptrs holds MR pointers to k readable bytes; the packed block and its
                // bias have the kernel's sizes; `out` is writable for `rows` rows of stride
                // ldacc with nr columns (above); the kernel's ISA is available (chosen from
                // the IGEMM table for this CPU).
                unsafe {
                    let (kc, ap, wb, bb) = (self.k, ptrs.as_ptr(), w.as_ptr(), bias.as_ptr());
                    (k.run)(rows, nr, 1, kc, ap, xor, wb, bb, out, ldacc);
                }
                if pk.needs_row_sums() {
                    for (i, &rs) in row_sums.iter().enumerate().take(rows) {
                        // SAFETY: row i of the tile, nr columns: inside the caller's range, ours
                        // alone, and not aliased by any other live reference.
                        let row = unsafe { std::slice::from_raw_parts_mut(out.add(i * ldacc), nr) };
                        for (x, &z) in row.iter_mut().zip(&pk.zw()[col0..col0 + nr]) {
                            *x = x.wrapping_sub(z.wrapping_mul(rs));
                        }
                    }
                }
            }
            r += rows;
        }
    }
}

impl PackedB {
    /// [`PackedB::tile`] through a kernel with the Fp32 requantization (per tensor or per
    /// channel) fused, storing bytes (`out`, row stride `ldo` bytes). Only for plans without row
    /// sums.
    ///
    /// # Safety
    /// For every row `r0 <= r < r1` and column `b0·NR <= c < min(b1·NR, n)`, `out` is writable
    /// at `(r − r0)·ldo + c − b0·NR` and no other thread accesses those bytes.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_fp32(
        &self,
        a: &[u8],
        lda: usize,
        r0: usize,
        r1: usize,
        b0: usize,
        b1: usize,
        f: ukernel::IgemmFp32Fn,
        q: &Fp32Requant,
        out: *mut u8,
        ldo: usize,
        ptrs: &mut [*const u8],
    ) {
        let k = &self.kernel;
        let pk = &self.packed;
        let xor = self.kernel_xor();
        // The task's blocks (checked once, not per kernel call).
        let (w_panel, bias_panel) = pk.block_range(0, b0, b1);
        let (wp, bp) = (w_panel.as_ptr(), bias_panel.as_ptr());
        let mut r = r0;
        let col0 = b0 * k.nr;
        let ncols = (b1 * k.nr).min(self.n) - col0;
        // Channel scales from this panel's first column.
        let q = &q.from_column(col0);
        if let Some(g) = k.fused_entries(q).1 {
            // Full row blocks in one call; the kernel reads whole k-groups (kc4 · 4 bytes) of
            // every row, so a block may go only where its last row has them inside A.
            let kc4 = self.k.div_ceil(4);
            let mb = self.strided_blocks(a, lda, r0, r1);
            if mb > 0 {
                // SAFETY: rows r0..r0 + mb·MR are readable for 4·kc4 bytes (above) and, with
                // their output rows, inside the caller's range; the panel's blocks b0..b1 are
                // consecutive (block_len apart) with consecutive NR biases, packed with
                // ceil(k / KR) groups (= ceil(4·kc4 / KR) for KR = 4, 8, 16: what the strided entry
                // reads for kc = 4·kc4); the
                // kernel's ISA is available (the plan's entry).
                unsafe {
                    let (bl, ap) = (pk.block_len(), a.as_ptr().add(r0 * lda));
                    g(mb, ncols, bl, kc4, ap, lda, xor, wp, bp, q, out, ldo);
                }
                r += mb * k.mr;
            }
        }
        while r < r1 {
            let rows = (r1 - r).min(k.mr);
            self.row_pointers(a, lda, r, rows, ptrs);
            // SAFETY: rows r..r + rows, columns col0..col0 + ncols: the caller's range.
            let o = unsafe { out.add((r - r0) * ldo) };
            // SAFETY: as in `tile`; blocks b0..b1 are consecutive in the packed data
            // (block_len bytes apart) with consecutive NR biases; `o` is writable for `rows`
            // rows of ncols bytes at stride ldo (above).
            unsafe {
                let (bl, kc, ap) = (pk.block_len(), self.k, ptrs.as_ptr());
                f(rows, ncols, bl, 1, kc, ap, xor, wp, bp, q, o, ldo);
            }
            r += rows;
        }
    }
}
