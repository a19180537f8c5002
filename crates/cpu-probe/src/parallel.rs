//! The one place where edge-kernels runs work on several threads.
//!
//! Micro-kernels are single-threaded pure functions over a tile; operators split their output
//! into tiles and hand them to a [`Parallel`]. It lives in `cpu-probe` because every kernel crate
//! already depends on this crate and because its default thread count comes from the probe:
//! the number of cores in the fastest cluster ([`crate::recommended_threads`]).
//!
//! ```
//! use cpu_probe::parallel::Parallel;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! let pool = Parallel::new(2);
//! let sum = AtomicUsize::new(0);
//! pool.for_each(100, |i| {
//!     sum.fetch_add(i, Ordering::Relaxed);
//! });
//! assert_eq!(sum.into_inner(), 4950);
//! ```
//!
//! # How a job runs
//!
//! A pool of `T` threads is the calling thread plus `T − 1` workers (the pthreadpool design that
//! QNNPACK and XNNPACK use, not a work-stealing scheduler): [`Parallel::for_each`] publishes the
//! job and starts on it at once; the caller and the workers that join take task indices from one
//! atomic counter. When the caller runs out of tasks it closes the job (no worker joins after
//! that) and waits only for the workers that joined, so a worker that is asleep or descheduled
//! (a loaded machine) costs nothing but a wake-up call: the caller does the work. Workers that
//! finish a job spin for [`SPIN`] before they sleep, so the back-to-back operator calls of an
//! inference loop reach them awake; the caller waits for joined workers the same way.
//!
//! All `Parallel`s of one thread count share one set of workers (one pool per process, as
//! XNNPACK's operators share one pthreadpool), so the workers of one operator never spin on the
//! cores the next operator needs. One job runs on a pool at a time. A `for_each` that finds the
//! pool busy (called from inside a task, or from another thread using the same pool) runs its
//! tasks inline on its own thread instead of waiting: nested calls cannot deadlock and results
//! never depend on the thread count. A panic in a task is re-raised on the calling thread after every worker has
//! left the job.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, TryLockError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker (and a caller waiting for the last task) spins before it sleeps.
pub const SPIN: Duration = Duration::from_micros(200);

/// A thread count and, when it is above one, the worker threads that share jobs with the
/// caller.
///
/// Cheap to clone (the workers are shared; they stop when the last clone is dropped). With one
/// thread, work runs inline on the caller's thread with no synchronisation at all.
#[derive(Clone)]
pub struct Parallel {
    threads: usize,
    pool: Option<Arc<Pool>>,
}

impl std::fmt::Debug for Parallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parallel")
            .field("threads", &self.threads)
            .finish()
    }
}

impl Default for Parallel {
    fn default() -> Self {
        Parallel::new(0)
    }
}

/// The task function of the current job with its lifetime erased (see `Pool::run`).
type TaskRef = *const (dyn Fn(usize) + Sync);

struct Shared {
    /// `epoch << 32 | CLOSED? | joined workers`: the caller stores a new epoch (open, 0 joined) to
    /// publish a job; workers join with a compare-and-swap while it is open and leave with a
    /// decrement; the caller sets CLOSED when it runs out of tasks and waits for 0 joined.
    state: AtomicU64,
    /// The current job's function; written by the caller before the epoch is published.
    job: UnsafeCell<Option<TaskRef>>,
    /// Tasks of the current job and the next index to take.
    tasks: AtomicUsize,
    next: AtomicUsize,
    panicked: AtomicBool,
    stop: AtomicBool,
    /// Sleeping workers, and the lock + condition they sleep on.
    sleepers: AtomicUsize,
    sleep_lock: Mutex<()>,
    sleep_cv: Condvar,
    /// The caller sleeping until the joined workers have left.
    caller_waits: AtomicBool,
    done_lock: Mutex<()>,
    done_cv: Condvar,
}

const CLOSED: u64 = 1 << 31;
const JOINED: u64 = CLOSED - 1;

fn epoch_of(state: u64) -> u64 {
    state >> 32
}

// SAFETY: `job` is written only by the thread holding `Pool::busy` while the previous job is
// closed with no worker joined, and read by a worker only after it joined the open job that
// published it (Acquire on `state`, paired with the publishing Release store) and before it
// leaves; the function it points to is `Sync`. Every other field is an atomic or a lock.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

/// The live pools by requested thread count (see [`Parallel::new`]).
static REGISTRY: Mutex<Vec<(usize, Weak<Pool>)>> = Mutex::new(Vec::new());

struct Pool {
    shared: Arc<Shared>,
    /// Held by the thread running a job on this pool.
    busy: Mutex<()>,
    workers: Vec<JoinHandle<()>>,
}

/// The most threads a [`Parallel`] runs: larger requests are capped to this.
pub const MAX_THREADS: usize = 256;

impl Parallel {
    /// A pool with `threads` threads (the caller and `threads − 1` workers); `0` means
    /// [`crate::recommended_threads`]. Every `Parallel` of one thread count alive at the same
    /// time shares the same workers.
    ///
    /// If the operating system refuses to start threads, this uses the ones it got (down to
    /// one, inline) rather than failing: the result of every operator is the same for any
    /// thread count.
    ///
    /// Counts above [`MAX_THREADS`] are capped to it (a count from a configuration file must not
    /// ask for billions of OS threads).
    pub fn new(threads: usize) -> Parallel {
        let threads = if threads == 0 {
            crate::recommended_threads()
        } else {
            threads
        }
        .min(MAX_THREADS);
        if threads <= 1 {
            return Parallel::single();
        }
        // One set of workers per thread count for the whole process, shared by every
        // `Parallel` of that count (every operator plan), as one pthreadpool is shared by all
        // of XNNPACK's operators: separate pools would leave one plan's workers spinning on the
        // cores the next plan needs.
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        registry.retain(|(_, w)| w.strong_count() > 0);
        if let Some(pool) = registry
            .iter()
            .find(|(t, _)| *t == threads)
            .and_then(|(_, w)| w.upgrade())
        {
            return Parallel {
                threads: pool.workers.len() + 1,
                pool: Some(pool),
            };
        }
        let p = Parallel::spawn(threads);
        if let Some(pool) = &p.pool {
            registry.push((threads, Arc::downgrade(pool)));
        }
        p
    }

    /// Starts `threads − 1` new workers.
    fn spawn(threads: usize) -> Parallel {
        let shared = Arc::new(Shared {
            state: AtomicU64::new(CLOSED),
            job: UnsafeCell::new(None),
            tasks: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            sleep_cv: Condvar::new(),
            caller_waits: AtomicBool::new(false),
            done_lock: Mutex::new(()),
            done_cv: Condvar::new(),
        });
        let mut workers = Vec::with_capacity(threads - 1);
        for i in 0..threads - 1 {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("edge-kernels-{}", i + 1))
                .spawn(move || worker(&s))
            {
                Ok(h) => workers.push(h),
                Err(_) => break,
            }
        }
        if workers.is_empty() {
            return Parallel::single();
        }
        Parallel {
            threads: workers.len() + 1,
            pool: Some(Arc::new(Pool {
                shared,
                busy: Mutex::new(()),
                workers,
            })),
        }
    }

    /// Run everything on the calling thread.
    pub fn single() -> Parallel {
        Parallel {
            threads: 1,
            pool: None,
        }
    }

    /// The number of threads work is spread over.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Calls `f(i)` for every `i` in `0..n`, spread over the pool's threads (in no particular
    /// order when there is more than one thread).
    pub fn for_each<F>(&self, n: usize, f: F)
    where
        F: Fn(usize) + Sync + Send,
    {
        match &self.pool {
            Some(pool) if n > 1 => pool.run(n, &f),
            _ => (0..n).for_each(f),
        }
    }

    /// Calls `f(i, j)` for every `i` in `0..n0` and `j` in `0..n1` (a 2-D tile grid,
    /// linearised row-major and split across threads).
    pub fn for_each_2d<F>(&self, n0: usize, n1: usize, f: F)
    where
        F: Fn(usize, usize) + Sync + Send,
    {
        if n1 == 0 {
            return;
        }
        self.for_each(n0 * n1, |t| f(t / n1, t % n1));
    }

    /// Splits `0..n` into contiguous chunks of at most `chunk` items and calls `f(start..end)`
    /// for each chunk.
    pub fn for_each_chunk<F>(&self, n: usize, chunk: usize, f: F)
    where
        F: Fn(std::ops::Range<usize>) + Sync + Send,
    {
        let chunk = chunk.max(1);
        let chunks = n.div_ceil(chunk);
        self.for_each(chunks, |c| {
            let start = c * chunk;
            f(start..(start + chunk).min(n))
        });
    }

    /// Splits `data` into consecutive chunks of `chunk` elements (the last may be shorter; a
    /// `chunk` of 0 counts as 1) and calls `f(index, chunk)` for each, spread over the pool's
    /// threads: the safe way for tasks to write disjoint parts of one output.
    ///
    /// ```
    /// use cpu_probe::parallel::Parallel;
    /// let mut v = vec![0usize; 10];
    /// Parallel::new(2).for_each_chunk_mut(&mut v, 3, |i, c| c.fill(i));
    /// assert_eq!(v, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
    /// ```
    pub fn for_each_chunk_mut<T, F>(&self, data: &mut [T], chunk: usize, f: F)
    where
        T: Send,
        F: Fn(usize, &mut [T]) + Sync + Send,
    {
        let chunk = chunk.max(1);
        let len = data.len();
        let base = SendPtr(data.as_mut_ptr());
        self.for_each(len.div_ceil(chunk), |i| {
            let start = i * chunk;
            let n = chunk.min(len - start);
            // SAFETY: `start + n <= len`, so the range lies inside `data`, which this call
            // borrows mutably for its whole duration; distinct `i` give disjoint ranges and each
            // `i` is handed to exactly one task, so no two live slices overlap.
            let c = unsafe { std::slice::from_raw_parts_mut(base.get().add(start), n) };
            f(i, c)
        });
    }

    /// Splits a `rows × cols` row-major matrix stored in `data` (row `r` starts at element
    /// `r · stride`) into tiles of `tile_rows × tile_cols` and calls `f(tile)` for each tile,
    /// spread over the pool's threads. Each [`TileMut`] is an exclusive view of its elements, so
    /// tasks write disjoint parts of the output without raw pointers shared between threads.
    ///
    /// Errors (nothing runs) if `cols > stride` with more than one row, or if `data` is shorter
    /// than the matrix. A tile size of 0 counts as 1.
    ///
    /// ```
    /// use cpu_probe::parallel::Parallel;
    /// let mut m = vec![0u32; 3 * 5]; // 3 rows of 4 columns, row stride 5
    /// Parallel::new(2)
    ///     .for_each_tile_mut(&mut m, 5, 3, 4, 2, 3, |mut t| {
    ///         for r in 0..t.rows() {
    ///             let (r0, c0) = (t.row0(), t.col0());
    ///             for (c, x) in t.row_mut(r).iter_mut().enumerate() {
    ///                 *x = (10 * (r0 + r) + c0 + c) as u32;
    ///             }
    ///         }
    ///     })
    ///     .unwrap();
    /// assert_eq!(&m[5..10], &[10, 11, 12, 13, 0]);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn for_each_tile_mut<T, F>(
        &self,
        data: &mut [T],
        stride: usize,
        rows: usize,
        cols: usize,
        tile_rows: usize,
        tile_cols: usize,
        f: F,
    ) -> Result<(), TileError>
    where
        T: Send,
        F: Fn(TileMut<'_, T>) + Sync + Send,
    {
        self.tiles_mut(data, stride, [rows, cols], [tile_rows, tile_cols], false, f)
    }

    /// As [`Parallel::for_each_tile_mut`], but tiles are taken column of tiles by column of
    /// tiles (all row tiles of the first `tile_cols` columns, then the next columns): tasks that
    /// run one after another share their columns, e.g. one panel of packed GEMM weights in L2.
    #[allow(clippy::too_many_arguments)]
    pub fn for_each_tile_mut_by_columns<T, F>(
        &self,
        data: &mut [T],
        stride: usize,
        rows: usize,
        cols: usize,
        tile_rows: usize,
        tile_cols: usize,
        f: F,
    ) -> Result<(), TileError>
    where
        T: Send,
        F: Fn(TileMut<'_, T>) + Sync + Send,
    {
        self.tiles_mut(data, stride, [rows, cols], [tile_rows, tile_cols], true, f)
    }

    /// Cuts `data` into the blocks `layout` describes (a tiled 4-D tensor, see
    /// [`TiledLayout`]) and calls `f(block)` for every block, spread over the pool's threads;
    /// each [`BlockMut`] is an exclusive view of its elements. For tasks whose outputs are
    /// scattered (every pixel of a run of tiles in a group of channels), where
    /// [`Parallel::for_each_chunk_mut`] and [`Parallel::for_each_tile_mut`] do not fit.
    ///
    /// Errors (nothing runs) when the layout maps two coordinates to one element, does not fit
    /// in `data`, or names tiles the tensor does not have.
    ///
    /// ```
    /// use cpu_probe::parallel::{Parallel, TiledLayout};
    /// // One 5x5 image of 2 channels (NCHW) in 2x2 tiles (9 tiles), blocks of 4 tiles x 1 channel.
    /// let mut out = vec![0usize; 2 * 5 * 5];
    /// let layout = TiledLayout::nchw(1, 2, 5, 5).with_tiles(2, 2).with_blocks(4, 1);
    /// Parallel::new(2)
    ///     .for_each_block_mut(&mut out, &layout, |mut b| {
    ///         let id = b.index() + 1;
    ///         for t in b.tiles() {
    ///             for c in b.channels() {
    ///                 for dy in 0..b.tile_pos(t).3 {
    ///                     b.row_mut(t, c, dy).fill(id);
    ///                 }
    ///             }
    ///         }
    ///     })
    ///     .unwrap();
    /// assert!(out.iter().all(|&x| x > 0)); // every element written, by exactly one block
    /// assert_eq!(out[4 * 5 + 4], 5); // tile 8 (the last) of channel 0: block 2 · 2 + 0
    /// ```
    pub fn for_each_block_mut<T, F>(
        &self,
        data: &mut [T],
        layout: &TiledLayout,
        f: F,
    ) -> Result<(), TileError>
    where
        T: Send,
        F: Fn(BlockMut<'_, T>) + Sync + Send,
    {
        let blocks = BlocksMut::new(data, layout)?;
        self.for_each(blocks.len(), |_| {
            if let Some(b) = blocks.next() {
                f(b)
            }
        });
        Ok(())
    }

    /// The tile primitives' common body: checks the matrix against `data`, then hands out the
    /// tiles in row-major (`by_columns == false`) or column-major tile order.
    fn tiles_mut<T, F>(
        &self,
        data: &mut [T],
        stride: usize,
        [rows, cols]: [usize; 2],
        [tile_rows, tile_cols]: [usize; 2],
        by_columns: bool,
        f: F,
    ) -> Result<(), TileError>
    where
        T: Send,
        F: Fn(TileMut<'_, T>) + Sync + Send,
    {
        if rows == 0 || cols == 0 {
            return Ok(());
        }
        if rows > 1 && cols > stride {
            return Err(TileError(format!(
                "{cols} columns do not fit in a row stride of {stride} elements"
            )));
        }
        let need = (rows - 1)
            .checked_mul(stride)
            .and_then(|x| x.checked_add(cols))
            .ok_or_else(|| {
                TileError(format!(
                    "a {rows}x{cols} matrix with row stride {stride} overflows usize"
                ))
            })?;
        if data.len() < need {
            return Err(TileError(format!(
                "a {rows}x{cols} matrix with row stride {stride} needs {need} elements, the \
                 buffer has {}",
                data.len()
            )));
        }
        let (tr, tc) = (tile_rows.max(1), tile_cols.max(1));
        let (nr, nc) = (rows.div_ceil(tr), cols.div_ceil(tc));
        let base = SendPtr(data.as_mut_ptr());
        self.for_each(nr * nc, |t| {
            // No overflow in nr · nc: it is at most rows · cols, and with cols <= stride (or one
            // row) rows · cols <= (rows − 1) · stride + cols = need <= data.len().
            let (i, j) = if by_columns {
                (t % nr, t / nr)
            } else {
                (t / nc, t % nc)
            };
            let (r0, c0) = (i * tr, j * tc);
            f(TileMut {
                // SAFETY: r0 < rows and c0 < cols, so r0 · stride + c0 < need <= data.len().
                ptr: unsafe { base.get().add(r0 * stride + c0) },
                rows: tr.min(rows - r0),
                cols: tc.min(cols - c0),
                stride,
                row0: r0,
                col0: c0,
                _borrow: std::marker::PhantomData,
            })
        });
        Ok(())
    }
}

/// A raw pointer the tasks of one [`Parallel`] job share; only the safe primitives of this
/// module use it, each task on a disjoint range.
struct SendPtr<T>(*mut T);
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: the primitives that build a `SendPtr` hand each task a disjoint part of a buffer that
// they borrow mutably for the whole job, so sharing the base pointer races on nothing.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

/// A `rows() × cols()` block of a row-major matrix handed to one task by
/// [`Parallel::for_each_tile_mut`]: an exclusive borrow of those elements, as `&mut [T]` is.
pub struct TileMut<'a, T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    stride: usize,
    row0: usize,
    col0: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `TileMut` is an exclusive borrow of its elements (no two tiles of one call overlap),
// so moving it to another thread is as sound as moving a `&mut [T]`.
unsafe impl<T: Send> Send for TileMut<'_, T> {}

impl<T> TileMut<'_, T> {
    /// Rows in this tile.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Columns in this tile.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Elements between the starts of consecutive rows (the whole matrix's stride).
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The matrix row of the tile's first row.
    pub fn row0(&self) -> usize {
        self.row0
    }
    /// The matrix column of the tile's first column.
    pub fn col0(&self) -> usize {
        self.col0
    }
    /// Row `r` of the tile (`cols()` elements). Panics if `r >= rows()`.
    pub fn row_mut(&mut self, r: usize) -> &mut [T] {
        assert!(r < self.rows, "row {r} of a tile of {} rows", self.rows);
        // SAFETY: r < rows, so the row lies inside the matrix the tile was cut from (checked by
        // `for_each_tile_mut`) and inside this tile's exclusive elements.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.stride), self.cols) }
    }
    /// The whole tile as one slice, when its rows are adjacent in memory (one row, or
    /// `cols() == stride()`); `None` otherwise.
    pub fn as_contiguous_mut(&mut self) -> Option<&mut [T]> {
        if self.rows <= 1 || self.cols == self.stride {
            // SAFETY: rows are adjacent (or there is one), so the tile's elements are the
            // `rows · cols` consecutive elements from `ptr`, all inside the matrix (checked by
            // the tile primitive) and exclusively this tile's.
            Some(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.rows * self.cols) })
        } else {
            None
        }
    }

    /// The tile's first element, for micro-kernels that store through a pointer: element
    /// `(r, c)` of the tile is at `r · stride() + c` for `r < rows()`, `c < cols()`; nothing
    /// else may be written through it. The pointer is valid while the tile is borrowed.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }
}

/// A matrix that [`Parallel::for_each_tile_mut`] cannot cut into tiles (the message names the
/// numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileError(pub String);

impl std::fmt::Display for TileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TileError {}

/// Where the elements of a 4-D tensor (images × channels × height × width, any layout) lie and
/// how [`Parallel::for_each_block_mut`] / [`BlocksMut`] cut it into blocks.
///
/// The spatial plane of each image is cut into `tile[0] × tile[1]` tiles (the last row and
/// column of tiles cropped to the image), numbered row-major, image after image:
/// tile `t = (n · tiles_y + ty) · tiles_x + tx`. A block is `block[0]` consecutive tiles of
/// `tiles` (the last block may be shorter) times `block[1]` consecutive channels (the last group
/// may be smaller); block `i` is tile block `i / channel_groups`, channel group
/// `i % channel_groups`. Element `(n, c, y, x)` lies at `n·strides[0] + c·strides[1] +
/// y·strides[2] + x·strides[3]`.
///
/// This covers the scattered outputs of tiled convolutions (Winograd, FFT: a task writes every
/// output pixel of its tiles in its channels, which is neither one chunk nor one 2-D tile of the
/// buffer) and lane-major scratch arrays (describe them with tiles of a whole plane).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TiledLayout {
    /// Extents: `[images, channels, height, width]`.
    pub dims: [usize; 4],
    /// Elements between neighbours along each of `dims`.
    pub strides: [usize; 4],
    /// Tile height and width (0 counts as 1).
    pub tile: [usize; 2],
    /// The tiles handed out (`None`: all of them).
    pub tiles: Option<std::ops::Range<usize>>,
    /// Tiles and channels per block (0 counts as 1).
    pub block: [usize; 2],
}

impl TiledLayout {
    /// A dense NCHW tensor, one tile per image, one block per tile with all channels. Strides
    /// that overflow saturate (then [`BlocksMut::new`] refuses the layout).
    pub fn nchw(n: usize, c: usize, h: usize, w: usize) -> TiledLayout {
        let hw = h.saturating_mul(w);
        TiledLayout {
            dims: [n, c, h, w],
            strides: [c.saturating_mul(hw), hw, w, 1],
            tile: [h, w],
            tiles: None,
            block: [1, c],
        }
    }

    /// A dense NHWC tensor (`dims` are still given as images, channels, height, width).
    pub fn nhwc(n: usize, c: usize, h: usize, w: usize) -> TiledLayout {
        let wc = w.saturating_mul(c);
        TiledLayout {
            dims: [n, c, h, w],
            strides: [h.saturating_mul(wc), 1, wc, c],
            tile: [h, w],
            tiles: None,
            block: [1, c],
        }
    }

    /// The same layout cut into `th × tw` tiles.
    pub fn with_tiles(self, th: usize, tw: usize) -> TiledLayout {
        TiledLayout {
            tile: [th, tw],
            ..self
        }
    }

    /// The same layout handing out only `tiles`.
    pub fn with_tile_range(self, tiles: std::ops::Range<usize>) -> TiledLayout {
        TiledLayout {
            tiles: Some(tiles),
            ..self
        }
    }

    /// The same layout with blocks of `tiles` tiles × `channels` channels.
    pub fn with_blocks(self, tiles: usize, channels: usize) -> TiledLayout {
        TiledLayout {
            block: [tiles, channels],
            ..self
        }
    }
}

/// A tensor cut into blocks (see [`TiledLayout`]) that tasks of one job take one at a time with
/// [`BlocksMut::next`]: each block is handed out once, as an exclusive [`BlockMut`] of its
/// elements, so tasks may take blocks dynamically (a task looping until none is left).
///
/// Why this is sound, in one place (the `unsafe` of this type and [`BlockMut`] rests on it):
/// 1. `new` borrows the buffer mutably for `'a` and checks, with checked arithmetic, that the
///    layout is *injective* (sorted by stride, each dimension's stride is at least the span of
///    the dimensions below it, the mixed-radix condition: distinct coordinates, distinct
///    offsets) and that the largest offset lies inside the buffer.
/// 2. Blocks partition the coordinates: tiles partition each image's plane, tile blocks are
///    disjoint ranges of tile numbers, channel groups disjoint ranges of channels.
/// 3. `next` hands out each block index at most once (a compare-and-swap counter that never
///    passes the block count), so no two `BlockMut`s of one `BlocksMut` share an element, and
///    every `BlockMut` borrows the `BlocksMut`, hence the buffer, for no longer than `'a`.
///
/// A Miri-style reading: every pointer is derived from the one `&mut [T]` given to `new`
/// (a single parent tag); tasks write through copies of it only at offsets of their own block
/// (the accessors assert this), so no two threads access one location without the pool's
/// synchronisation, and no `&mut` to an element outlives the `BlockMut` it came from.
pub struct BlocksMut<'a, T> {
    ptr: *mut T,
    dims: [usize; 4],
    strides: [usize; 4],
    tile: [usize; 2],
    tiles_x: usize,
    tiles_per_image: usize,
    tiles: std::ops::Range<usize>,
    block: [usize; 2],
    groups: usize,
    blocks: usize,
    next: AtomicUsize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a shared `BlocksMut` only hands out `BlockMut`s, each at most once and each an
// exclusive view of elements no other block holds (see the type's docs), so tasks on different
// threads never access one element; `T: Send` as for sharing `&mut [T]` pieces across threads.
unsafe impl<T: Send> Sync for BlocksMut<'_, T> {}

impl<T> std::fmt::Debug for BlocksMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlocksMut")
            .field("dims", &self.dims)
            .field("strides", &self.strides)
            .field("tile", &self.tile)
            .field("tiles", &self.tiles)
            .field("block", &self.block)
            .field("blocks", &self.blocks)
            .finish()
    }
}

fn layout_err(l: &TiledLayout, what: &str) -> TileError {
    TileError(format!(
        "tensor {:?} with strides {:?}: {what}",
        l.dims, l.strides
    ))
}

impl<'a, T> BlocksMut<'a, T> {
    /// Checks `layout` against `data` (see the type's docs): errors, naming the numbers, when
    /// two coordinates share an element, the tensor does not fit in `data`, or the tile range
    /// is not inside the tensor's tiles. An empty tensor has no blocks.
    pub fn new(data: &'a mut [T], layout: &TiledLayout) -> Result<BlocksMut<'a, T>, TileError> {
        let (dims, strides) = (layout.dims, layout.strides);
        let empty = dims.contains(&0);
        // Injectivity and extent: dimensions of extent > 1 by increasing stride; each stride at
        // least the span (largest offset + 1) of those before it.
        let mut order: [usize; 4] = [0, 1, 2, 3];
        order.sort_by_key(|&d| strides[d]);
        let mut span = 1usize;
        for &d in order.iter().filter(|&&d| dims[d] > 1) {
            if empty {
                break;
            }
            if strides[d] < span {
                return Err(layout_err(
                    layout,
                    "two coordinates share an element (a stride is smaller than the span of \
                     the dimensions inside it)",
                ));
            }
            span = (dims[d] - 1)
                .checked_mul(strides[d])
                .and_then(|x| x.checked_add(span))
                .ok_or_else(|| layout_err(layout, "the largest offset overflows usize"))?;
        }
        if !empty && span > data.len() {
            return Err(layout_err(
                layout,
                &format!("needs {span} elements, the buffer has {}", data.len()),
            ));
        }
        let tile = [layout.tile[0].max(1), layout.tile[1].max(1)];
        let tiles_x = dims[3].div_ceil(tile[1]);
        // Without overflow: the tile count is at most n·h·w, the element count (checked above)
        // when the tensor is not empty.
        let tiles_per_image = dims[2].div_ceil(tile[0]) * tiles_x;
        let total = if empty { 0 } else { dims[0] * tiles_per_image };
        let tiles = layout.tiles.clone().unwrap_or(0..total);
        if tiles.start > tiles.end || tiles.end > total {
            return Err(layout_err(
                layout,
                &format!("tile range {tiles:?} is not inside its {total} tiles"),
            ));
        }
        let block = [layout.block[0].max(1), layout.block[1].max(1)];
        let groups = dims[1].div_ceil(block[1]);
        let blocks = (tiles.end - tiles.start).div_ceil(block[0]) * groups;
        Ok(BlocksMut {
            ptr: data.as_mut_ptr(),
            dims,
            strides,
            tile,
            tiles_x,
            tiles_per_image,
            tiles,
            block,
            groups,
            blocks,
            next: AtomicUsize::new(0),
            _borrow: std::marker::PhantomData,
        })
    }

    /// The number of blocks.
    pub fn len(&self) -> usize {
        self.blocks
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.blocks == 0
    }

    /// The next block not yet handed out (in block order), or `None` when all were.
    pub fn next(&self) -> Option<BlockMut<'_, T>> {
        let n = self.blocks;
        let i = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                (i < n).then_some(i + 1)
            })
            .ok()?;
        let (tb, g) = (i / self.groups, i % self.groups);
        let t0 = self.tiles.start + tb * self.block[0];
        let c0 = g * self.block[1];
        Some(BlockMut {
            blocks: self,
            index: i,
            tiles: t0..(t0 + self.block[0]).min(self.tiles.end),
            channels: c0..(c0 + self.block[1]).min(self.dims[1]),
            _borrow: std::marker::PhantomData,
        })
    }
}

/// One block of a [`BlocksMut`]: an exclusive borrow of the elements `(n, c, y, x)` with
/// `c` in [`BlockMut::channels`] and `(n, y, x)` in a tile of [`BlockMut::tiles`].
pub struct BlockMut<'b, T> {
    blocks: &'b BlocksMut<'b, T>,
    index: usize,
    tiles: std::ops::Range<usize>,
    channels: std::ops::Range<usize>,
    _borrow: std::marker::PhantomData<&'b mut [T]>,
}

impl<T> BlockMut<'_, T> {
    /// The block's number (tile block · channel groups + channel group).
    pub fn index(&self) -> usize {
        self.index
    }
    /// The block's tiles.
    pub fn tiles(&self) -> std::ops::Range<usize> {
        self.tiles.clone()
    }
    /// The block's channels.
    pub fn channels(&self) -> std::ops::Range<usize> {
        self.channels.clone()
    }

    /// `(n, y0, x0, rows, cols)` of tile `t` (cropped to the image). Panics unless `t` is one
    /// of the block's tiles.
    pub fn tile_pos(&self, t: usize) -> (usize, usize, usize, usize, usize) {
        assert!(
            self.tiles.contains(&t),
            "tile {t} is not in this block's tiles {:?}",
            self.tiles
        );
        let b = self.blocks;
        let (n, r) = (t / b.tiles_per_image, t % b.tiles_per_image);
        let (y0, x0) = ((r / b.tiles_x) * b.tile[0], (r % b.tiles_x) * b.tile[1]);
        let rows = b.tile[0].min(b.dims[2] - y0);
        let cols = b.tile[1].min(b.dims[3] - x0);
        (n, y0, x0, rows, cols)
    }

    /// Offset of element `(dy, dx)` of tile `t` in channel `c`; panics unless it is this
    /// block's.
    fn offset(&self, t: usize, c: usize, dy: usize, dx: usize) -> usize {
        let (n, y0, x0, rows, cols) = self.tile_pos(t);
        assert!(
            self.channels.contains(&c) && dy < rows && dx < cols,
            "element ({c}, {dy}, {dx}) of tile {t} is not in this block (channels {:?}, tile \
             {rows}x{cols})",
            self.channels
        );
        let s = self.blocks.strides;
        // No overflow: every coordinate is inside the tensor, whose largest offset was
        // computed with checked arithmetic in `BlocksMut::new`.
        n * s[0] + c * s[1] + (y0 + dy) * s[2] + (x0 + dx) * s[3]
    }

    /// Pointer to element `(dy, dx)` of tile `t` in channel `c`, for micro-kernels that store
    /// through pointers; panics unless the element is this block's. Writing through it (or
    /// through [`BlockMut::as_mut_ptr`]) is sound only at elements of this block, while the
    /// block is alive.
    pub fn ptr_at(&mut self, t: usize, c: usize, dy: usize, dx: usize) -> *mut T {
        let off = self.offset(t, c, dy, dx);
        // SAFETY: `off` is the offset of an element of the tensor, inside the buffer
        // (`BlocksMut::new`), so the result stays in the same allocation.
        unsafe { self.blocks.ptr.add(off) }
    }

    /// Pointer to element `(0, 0, 0, 0)` of the tensor, for micro-kernels that compute their
    /// positions from the whole tensor's geometry: they may write only elements of this block
    /// (see [`BlockMut::ptr_at`]).
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.blocks.ptr
    }

    /// Row `dy` of tile `t` in channel `c` (the tile's cropped width). Panics unless the row is
    /// this block's and the width stride is 1.
    pub fn row_mut(&mut self, t: usize, c: usize, dy: usize) -> &mut [T] {
        assert_eq!(
            self.blocks.strides[3], 1,
            "row_mut needs a width stride of 1"
        );
        let off = self.offset(t, c, dy, 0);
        let cols = self.tile_pos(t).4;
        // SAFETY: with a width stride of 1 the row's elements are `cols` consecutive elements
        // from `off`, all of this block (tile `t`, channel `c`, inside the cropped tile) and
        // inside the buffer; the block's elements are exclusively its own (see `BlocksMut`),
        // and `&mut self` keeps this slice the only live access through this block.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.ptr.add(off), cols) }
    }

    /// The block's channels of pixel `(dy, dx)` of tile `t`. Panics unless the pixel is this
    /// block's and the channel stride is 1.
    pub fn pixel_mut(&mut self, t: usize, dy: usize, dx: usize) -> &mut [T] {
        assert_eq!(
            self.blocks.strides[1], 1,
            "pixel_mut needs a channel stride of 1"
        );
        let off = self.offset(t, self.channels.start, dy, dx);
        let n = self.channels.len();
        // SAFETY: with a channel stride of 1 the block's channels of this pixel are `n`
        // consecutive elements from `off`, all of this block and inside the buffer; exclusive
        // as in `row_mut`.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.ptr.add(off), n) }
    }
}

/// Takes task indices of the current job until none are left; returns false if a task
/// panicked.
fn take_tasks(s: &Shared, f: &(dyn Fn(usize) + Sync)) -> bool {
    let n = s.tasks.load(Ordering::Relaxed);
    catch_unwind(AssertUnwindSafe(|| loop {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        f(i);
    }))
    .is_ok()
}

/// Spins until `done()` holds or [`SPIN`] has passed (the clock read every 64 spins); returns
/// whether `done()` held. The caller then sleeps on its condition, if it must.
fn spin_until(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() >= SPIN {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

/// The epoch after the current one (32 bits, wrapping), shifted into place in `state`.
fn next_epoch(s: &Shared) -> u64 {
    (epoch_of(s.state.load(Ordering::Relaxed)).wrapping_add(1) & 0xFFFF_FFFF) << 32
}

fn worker(s: &Shared) {
    let mut seen = 0u64;
    loop {
        // Wait for a new epoch: spin for SPIN, then sleep.
        if !spin_until(|| epoch_of(s.state.load(Ordering::Acquire)) != seen) {
            let mut guard = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.sleepers.fetch_add(1, Ordering::SeqCst);
            while epoch_of(s.state.load(Ordering::SeqCst)) == seen {
                guard = s.sleep_cv.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
        let mut state = s.state.load(Ordering::Acquire);
        seen = epoch_of(state);
        if s.stop.load(Ordering::Acquire) {
            return;
        }
        // Join the job while it is open and still the one we saw.
        let mut joined = false;
        while epoch_of(state) == seen && state & CLOSED == 0 {
            match s.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    joined = true;
                    break;
                }
                Err(now) => state = now,
            }
        }
        if !joined {
            continue;
        }
        // SAFETY: we joined the open job of epoch `seen`: the caller stored `job` before
        // publishing that epoch (Release, paired with our Acquire) and waits for us to leave
        // before it returns or publishes another job, so the function it points to is alive.
        let job = unsafe { *s.job.get() };
        if let Some(f) = job {
            // SAFETY: as above: `f` points to the caller's live `Sync` closure.
            if !take_tasks(s, unsafe { &*f }) {
                s.panicked.store(true, Ordering::Relaxed);
            }
        }
        let before = s.state.fetch_sub(1, Ordering::SeqCst);
        if before & JOINED == 1 && s.caller_waits.load(Ordering::SeqCst) {
            let _g = s.done_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.done_cv.notify_one();
        }
    }
}

impl Pool {
    fn run(&self, n: usize, f: &(dyn Fn(usize) + Sync)) {
        let _busy = match self.busy.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            // Nested call or another thread's job: run inline.
            Err(TryLockError::WouldBlock) => return (0..n).for_each(f),
        };
        let s = &*self.shared;
        // SAFETY: lifetime erasure only; `Finish` below does not let this function return (or
        // unwind) before every worker has left the job, after which no worker reads `job`.
        let erased: TaskRef =
            unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), TaskRef>(f) };
        // SAFETY: we hold `busy` and the previous job is closed with no worker joined (it ended
        // with `Finish`), so no worker reads `job` now.
        unsafe { *s.job.get() = Some(erased) };
        s.tasks.store(n, Ordering::Relaxed);
        s.next.store(0, Ordering::Relaxed);
        s.panicked.store(false, Ordering::Relaxed);
        s.state.store(next_epoch(s), Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.sleep_cv.notify_all();
        }
        let finish = Finish(s);
        let ok = take_tasks(s, f);
        drop(finish);
        // SAFETY: the job is closed and every worker that joined it has left (Finish).
        unsafe { *s.job.get() = None };
        if !ok || s.panicked.load(Ordering::Relaxed) {
            resume_unwind(Box::new("a task of Parallel::for_each panicked"));
        }
    }
}

/// Closes the current job and waits (spin, then sleep) until every worker that joined it has
/// left; also on unwind.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let s = self.0;
        s.state.fetch_or(CLOSED, Ordering::AcqRel);
        if !spin_until(|| s.state.load(Ordering::Acquire) & JOINED == 0) {
            let mut guard = s.done_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.caller_waits.store(true, Ordering::SeqCst);
            while s.state.load(Ordering::SeqCst) & JOINED != 0 {
                guard = s.done_cv.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            s.caller_waits.store(false, Ordering::SeqCst);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let s = &*self.shared;
        s.stop.store(true, Ordering::Release);
        s.state.store(next_epoch(s) | CLOSED, Ordering::SeqCst);
        {
            let _g = s.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            s.sleep_cv.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn chunk_and_tile_primitives_cover_every_element_once() {
        for threads in [1, 2, 3] {
            let p = Parallel::new(threads);
            let mut v = vec![0u32; 1001];
            p.for_each_chunk_mut(&mut v, 64, |_, c| c.iter_mut().for_each(|x| *x += 1));
            assert!(v.iter().all(|&x| x == 1));
            let (rows, cols, stride) = (37, 29, 31);
            let mut m = vec![0u32; (rows - 1) * stride + cols];
            p.for_each_tile_mut(&mut m, stride, rows, cols, 4, 8, |mut t| {
                for r in 0..t.rows() {
                    t.row_mut(r).iter_mut().for_each(|x| *x += 1);
                }
            })
            .unwrap();
            for r in 0..rows {
                for c in 0..stride {
                    let want = u32::from(c < cols);
                    if r * stride + c < m.len() {
                        assert_eq!(m[r * stride + c], want, "({r}, {c})");
                    }
                }
            }
            assert!(p
                .for_each_tile_mut(&mut m, stride, rows + 1, cols, 4, 8, |_| ())
                .unwrap_err()
                .0
                .contains("needs"));
            assert!(p
                .for_each_tile_mut(&mut m, usize::MAX, 3, 1, 1, 1, |_| ())
                .is_err());
            let order = std::sync::Mutex::new(Vec::new());
            let mut d = vec![0u8; 6 * 4];
            Parallel::single()
                .for_each_tile_mut_by_columns(&mut d, 4, 6, 4, 2, 2, |mut t| {
                    order.lock().unwrap().push((t.row0(), t.col0()));
                    assert!(t.as_contiguous_mut().is_none());
                })
                .unwrap();
            assert_eq!(
                order.into_inner().unwrap(),
                [(0, 0), (2, 0), (4, 0), (0, 2), (2, 2), (4, 2)]
            );
            p.for_each_tile_mut(&mut d, 4, 6, 4, 3, 4, |mut t| {
                t.as_contiguous_mut().unwrap().fill(7);
            })
            .unwrap();
            assert!(d.iter().all(|&x| x == 7));
        }
    }

    /// Every element of the tensor is handed to exactly one block (counted with atomics through
    /// each accessor), padding between strides is never touched, and blocks come in order.
    fn check_blocks(layout: &TiledLayout, len: usize, threads: usize) {
        let mut data = vec![0u32; len];
        let hits: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
        let base = data.as_ptr() as usize;
        let p = Parallel::new(threads);
        p.for_each_block_mut(&mut data, layout, |mut b| {
            let id = b.index() as u32 + 1;
            for t in b.tiles() {
                let (_, _, _, rows, cols) = b.tile_pos(t);
                for c in b.channels() {
                    for dy in 0..rows {
                        for dx in 0..cols {
                            let q = b.ptr_at(t, c, dy, dx);
                            let i = (q as usize - base) / 4;
                            hits[i].fetch_add(1, Ordering::Relaxed);
                            // SAFETY: `ptr_at` returned an element of this block.
                            unsafe { *q = id };
                        }
                    }
                }
            }
        })
        .unwrap();
        let [n, ch, h, w] = layout.dims;
        let s = layout.strides;
        let mut inside = vec![false; len];
        let (th, tw) = (layout.tile[0].max(1), layout.tile[1].max(1));
        let tiles_x = w.div_ceil(tw);
        let per_image = h.div_ceil(th) * tiles_x;
        let range = layout.tiles.clone().unwrap_or(0..n * per_image);
        for (ni, ci, y, x) in (0..n).flat_map(|a| {
            (0..ch).flat_map(move |b| (0..h).flat_map(move |c| (0..w).map(move |d| (a, b, c, d))))
        }) {
            let t = ni * per_image + (y / th) * tiles_x + x / tw;
            let off = ni * s[0] + ci * s[1] + y * s[2] + x * s[3];
            if range.contains(&t) {
                inside[off] = true;
                let tb = (t - range.start) / layout.block[0].max(1);
                let groups = ch.div_ceil(layout.block[1].max(1));
                let want = tb * groups + ci / layout.block[1].max(1) + 1;
                assert_eq!(data[off] as usize, want, "{layout:?} ({ni},{ci},{y},{x})");
            }
        }
        for i in 0..len {
            let want = usize::from(inside[i]);
            assert_eq!(
                hits[i].load(Ordering::Relaxed),
                want,
                "{layout:?} element {i}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn blocks_cover_every_element_once(
            dims in proptest::array::uniform4(0usize..6),
            kind in 0usize..3,
            tile in proptest::array::uniform2(0usize..4),
            block in proptest::array::uniform2(0usize..4),
            cut in proptest::array::uniform2(0usize..100),
            threads in 1usize..4,
        ) {
            let [n, c, h, w] = dims;
            let l = match kind {
                0 => TiledLayout::nchw(n, c, h, w),
                1 => TiledLayout::nhwc(n, c, h, w),
                // Lane-major scratch style ([h][n][c][w], padded): one tile per image.
                _ => TiledLayout {
                    dims,
                    strides: [c * w + 1, w, n * (c * w + 1) + 2, 1],
                    tile: [h, w],
                    tiles: None,
                    block: [1, 1],
                },
            };
            let l = if kind < 2 { l.with_tiles(tile[0], tile[1]) } else { l };
            let l = l.with_blocks(block[0], block[1]);
            let total = if dims.contains(&0) {
                0
            } else {
                n * h.div_ceil(l.tile[0].max(1)) * w.div_ceil(l.tile[1].max(1))
            };
            let (a, b) = (cut[0] % (total + 1), cut[1] % (total + 1));
            let l = l.with_tile_range(a.min(b)..a.max(b));
            let s = l.strides;
            let len = if dims.contains(&0) {
                3
            } else {
                (n - 1) * s[0] + (c - 1) * s[1] + (h - 1) * s[2] + (w - 1) * s[3] + 1 + 3
            };
            check_blocks(&l, len, threads);
        }
    }

    #[test]
    fn blocks_refuse_overlaps_short_buffers_and_bad_ranges() {
        let mut d = vec![0u8; 100];
        let l = TiledLayout::nchw(1, 2, 3, 4);
        assert!(BlocksMut::new(&mut d[..23], &l)
            .unwrap_err()
            .0
            .contains("needs 24"));
        assert_eq!(BlocksMut::new(&mut d[..24], &l).unwrap().len(), 1);
        // Channel stride below the plane's span: channel 1 would overlap channel 0.
        let bad = TiledLayout {
            strides: [24, 11, 4, 1],
            ..l.clone()
        };
        assert!(BlocksMut::new(&mut d, &bad)
            .unwrap_err()
            .0
            .contains("share"));
        let bad = TiledLayout {
            strides: [24, 12, 4, usize::MAX / 2],
            ..l.clone()
        };
        assert!(BlocksMut::new(&mut d, &bad).is_err());
        let huge = TiledLayout::nchw(usize::MAX, 2, 3, 4);
        assert!(BlocksMut::new(&mut d, &huge).is_err());
        let r = l.clone().with_tiles(2, 2).with_tile_range(3..5);
        assert!(BlocksMut::new(&mut d, &r)
            .unwrap_err()
            .0
            .contains("tile range"));
        // Empty tensors have no blocks, whatever the strides.
        let e = TiledLayout::nchw(0, usize::MAX, 7, 7);
        assert!(BlocksMut::new(&mut d[..0], &e).unwrap().is_empty());
    }

    #[test]
    fn blocks_taken_dynamically_and_accessors() {
        // Tasks loop on `next` (as a task per workspace slot does).
        let l = TiledLayout::nhwc(2, 3, 3, 5)
            .with_tiles(2, 2)
            .with_blocks(5, 3);
        let mut d = vec![0u16; 2 * 3 * 5 * 3];
        let blocks = BlocksMut::new(&mut d, &l).unwrap();
        assert_eq!(blocks.len(), 3); // 12 tiles in blocks of 5
        Parallel::new(3).for_each(2, |_| {
            while let Some(mut b) = blocks.next() {
                for t in b.tiles() {
                    let (_, _, _, rows, cols) = b.tile_pos(t);
                    for dy in 0..rows {
                        for dx in 0..cols {
                            b.pixel_mut(t, dy, dx).iter_mut().for_each(|x| *x += 1);
                        }
                    }
                }
            }
        });
        assert!(blocks.next().is_none());
        assert!(d.iter().all(|&x| x == 1));
        // Accessors refuse elements of other blocks.
        let l = TiledLayout::nchw(1, 2, 4, 4)
            .with_tiles(2, 2)
            .with_blocks(2, 1);
        let blocks = BlocksMut::new(&mut d[..32], &l).unwrap();
        let mut b = blocks.next().unwrap();
        assert_eq!((b.tiles(), b.channels()), (0..2, 0..1));
        assert_eq!(b.row_mut(1, 0, 1).len(), 2);
        for bad in [(2, 0, 0), (0, 1, 0), (0, 0, 2)] {
            let r = catch_unwind(AssertUnwindSafe(|| {
                b.ptr_at(bad.0, bad.1, bad.2, 0);
            }));
            assert!(r.is_err(), "{bad:?}");
        }
        assert!(catch_unwind(AssertUnwindSafe(|| {
            b.pixel_mut(0, 0, 0);
        }))
        .is_err());
    }

    #[test]
    fn every_index_once() {
        for threads in [1, 2, 3] {
            let p = Parallel::new(threads);
            let hits: Vec<AtomicUsize> = (0..257).map(|_| AtomicUsize::new(0)).collect();
            p.for_each(257, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            let count = AtomicUsize::new(0);
            p.for_each_2d(7, 5, |i, j| {
                assert!(i < 7 && j < 5);
                count.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(count.into_inner(), 35);
            let total = AtomicUsize::new(0);
            p.for_each_chunk(10, 3, |r| {
                total.fetch_add(r.len(), Ordering::Relaxed);
            });
            assert_eq!(total.into_inner(), 10);
        }
    }

    #[test]
    fn many_jobs_after_sleeping_workers() {
        let p = Parallel::new(3);
        for round in 0..2000usize {
            if round % 500 == 0 {
                // Let the workers fall asleep, so both wake paths run.
                std::thread::sleep(SPIN * 3);
            }
            let n = round % 17;
            let sum = AtomicUsize::new(0);
            p.for_each(n, |i| {
                sum.fetch_add(i + 1, Ordering::Relaxed);
            });
            assert_eq!(sum.into_inner(), n * (n + 1) / 2);
        }
    }

    #[test]
    fn nested_and_shared_calls_run_inline() {
        let p = Parallel::new(2);
        let total = AtomicUsize::new(0);
        p.for_each(8, |_| {
            p.for_each(4, |_| {
                total.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 32);
        // Two threads using clones of one pool at once.
        let q = p.clone();
        let other = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            sc.spawn(|| {
                for _ in 0..200 {
                    q.for_each(10, |_| {
                        other.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            for _ in 0..200 {
                p.for_each(10, |_| {
                    total.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
        assert_eq!(other.into_inner(), 2000);
        assert_eq!(total.into_inner(), 32 + 2000);
    }

    #[test]
    fn a_panicking_task_reaches_the_caller_and_the_pool_survives() {
        let p = Parallel::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            p.for_each(16, |i| {
                if i == 11 {
                    panic!("task 11");
                }
            })
        }));
        assert!(r.is_err());
        let sum = AtomicUsize::new(0);
        p.for_each(10, |i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.into_inner(), 45);
    }

    #[test]
    fn dropping_the_last_clone_stops_the_workers() {
        for _ in 0..50 {
            let p = Parallel::new(2);
            p.for_each(4, |_| {});
            drop(p.clone());
            drop(p);
        }
    }
}
