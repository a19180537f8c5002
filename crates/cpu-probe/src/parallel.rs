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
