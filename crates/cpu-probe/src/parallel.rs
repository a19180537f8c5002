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

use rayon::prelude::*;
use std::sync::Arc;

/// A thread count and, when it is above one, a pool of that many worker threads (rayon).
///
/// Cheap to clone (the pool is shared). With one thread, work runs inline on the caller's thread
/// with no synchronisation at all.
#[derive(Clone)]
pub struct Parallel {
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
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

impl Parallel {
    /// A pool with `threads` threads; `0` means [`crate::recommended_threads`].
    ///
    /// If the operating system refuses to start threads, this degrades to one thread (inline)
    /// rather than failing: the result of every operator is the same for any thread count.
    pub fn new(threads: usize) -> Parallel {
        let threads = if threads == 0 {
            crate::recommended_threads()
        } else {
            threads
        };
        if threads <= 1 {
            return Parallel::single();
        }
        match rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("edge-kernels-{i}"))
            .build()
        {
            Ok(pool) => Parallel {
                threads,
                pool: Some(Arc::new(pool)),
            },
            Err(_) => Parallel::single(),
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
            Some(pool) if n > 1 => pool.install(|| (0..n).into_par_iter().for_each(&f)),
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
}
