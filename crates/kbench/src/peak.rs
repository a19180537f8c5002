//! `kbench peak`: this machine's measured single-core and all-core peaks with small SIMD loops:
//! fp32 FMA, int8 dot product for the ISA in use, and memory read bandwidth.
//!
//! Each compute loop keeps many independent accumulator chains so that throughput, not latency,
//! limits it; the best of several timed repetitions is reported (a peak is a maximum).

use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// One measured peak.
#[derive(Clone, Debug, Serialize)]
pub struct Peak {
    /// What was measured (`fp32 FMA`, `int8 dot`, `memory read`).
    pub what: &'static str,
    /// The instruction sequence used (e.g. `vfmadd231ps zmm`).
    pub kernel: &'static str,
    /// Unit of the two figures (`GFLOP/s`, `GOP/s`, `GB/s`).
    pub unit: &'static str,
    /// One thread.
    pub single_core: f64,
    /// `threads` threads at once, summed.
    pub all_core: f64,
    /// Threads used for `all_core`.
    pub threads: usize,
}

/// The peaks `kbench bench` rates workloads against.
#[derive(Clone, Debug, Serialize)]
pub struct Peaks {
    /// fp32 FMA throughput (a FMA is 2 FLOP).
    pub fp32: Peak,
    /// int8 multiply-accumulate throughput (a MAC is 2 ops).
    pub int8: Peak,
    /// Memory read bandwidth on a buffer far larger than the last-level cache.
    pub memory: Peak,
}

/// A compute loop: runs `iters` iterations, returns the number of operations done.
type Loop = fn(u64) -> f64;

struct Kernel {
    name: &'static str,
    run: Loop,
}

fn best_rate(run: Loop, seconds: f64) -> f64 {
    // Calibrate to ~20 ms per repetition, then keep the best of the repetitions.
    let mut iters = 1u64 << 10;
    loop {
        let t = Instant::now();
        black_box(run(iters));
        if t.elapsed().as_secs_f64() > 0.02 || iters > (1 << 40) {
            break;
        }
        iters *= 2;
    }
    let start = Instant::now();
    let mut best = 0f64;
    while start.elapsed().as_secs_f64() < seconds || best == 0.0 {
        let t = Instant::now();
        let ops = run(iters);
        let dt = t.elapsed().as_secs_f64();
        best = best.max(ops / dt);
    }
    best
}

fn all_core_rate(run: Loop, seconds: f64, threads: usize) -> f64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(move || best_rate(run, seconds)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}

fn measure(
    what: &'static str,
    unit: &'static str,
    k: Kernel,
    seconds: f64,
    threads: usize,
) -> Peak {
    let single = best_rate(k.run, seconds) / 1e9;
    let all = if threads > 1 {
        all_core_rate(k.run, seconds, threads) / 1e9
    } else {
        single
    };
    Peak {
        what,
        kernel: k.name,
        unit,
        single_core: single,
        all_core: all,
        threads,
    }
}

/// Measures all peaks. `seconds` per measurement (0.3 is plenty); `threads` for the all-core row.
pub fn measure_all(seconds: f64, threads: usize) -> Peaks {
    let features = cpu_probe::Features::get();
    Peaks {
        fp32: measure(
            "fp32 FMA",
            "GFLOP/s",
            fp32_kernel(&features),
            seconds,
            threads,
        ),
        int8: measure(
            "int8 dot",
            "GOP/s",
            int8_kernel(&features),
            seconds,
            threads,
        ),
        memory: measure_memory(seconds, threads),
    }
}

/// The Markdown/terminal table of the peaks.
pub fn table(p: &Peaks) -> String {
    let mut s = String::from("| peak | kernel | 1 thread | all threads |\n|---|---|---:|---:|\n");
    for x in [&p.fp32, &p.int8, &p.memory] {
        s += &format!(
            "| {} | {} | {:.1} {} | {:.1} {} ({} threads) |\n",
            x.what, x.kernel, x.single_core, x.unit, x.all_core, x.unit, x.threads
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Portable fallbacks (the compiler vectorises them for the baseline ISA).

fn fp32_portable(iters: u64) -> f64 {
    let mut acc = [[0f32; 8]; 8];
    let m = black_box([1.000_000_1f32; 8]);
    let a = black_box([0.999_999_9f32; 8]);
    for _ in 0..iters {
        for chain in acc.iter_mut() {
            for (x, (&mm, &aa)) in chain.iter_mut().zip(m.iter().zip(&a)) {
                *x = x.mul_add(mm, aa);
            }
        }
    }
    black_box(acc);
    (iters * 64 * 2) as f64
}

fn int8_portable(iters: u64) -> f64 {
    let mut acc = [0i32; 64];
    let a = black_box([3i8; 64]);
    let b = black_box([5i8; 64]);
    for _ in 0..iters {
        for i in 0..64 {
            acc[i] = acc[i].wrapping_add(i32::from(a[i]) * i32::from(b[i]));
        }
    }
    black_box(acc);
    (iters * 64 * 2) as f64
}

#[allow(unused_variables)]
fn fp32_kernel(f: &cpu_probe::Features) -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if f.has_avx512() {
            return Kernel {
                name: "vfmadd231ps zmm x12",
                run: x86::fma_avx512,
            };
        }
        if f.has_avx2_fma() {
            return Kernel {
                name: "vfmadd231ps ymm x12",
                run: x86::fma_avx2,
            };
        }
    }
    #[cfg(target_arch = "aarch64")]
    if f.neon {
        return Kernel {
            name: "fmla v.4s x12",
            run: arm::fma_neon,
        };
    }
    Kernel {
        name: "portable mul_add",
        run: fp32_portable,
    }
}

#[allow(unused_variables)]
fn int8_kernel(f: &cpu_probe::Features) -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if f.has_avx512vnni() {
            return Kernel {
                name: "vpdpbusd zmm x12",
                run: x86::vnni_avx512,
            };
        }
        if f.has_avx2_fma() {
            // The exact sequence of the `__avx2` igemm kernels (i16 operands, one `vpmaddwd`
            // = 16 int8 MACs); see `x86::maddwd_avx2`.
            return Kernel {
                name: "vpmaddwd+vpaddd ymm x12",
                run: x86::maddwd_avx2,
            };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if f.neon_dot {
            return Kernel {
                name: "sdot v.4s x12",
                run: arm::sdot_neon,
            };
        }
        if f.neon {
            return Kernel {
                name: "smlal v.8h->4s x12",
                run: arm::smlal_neon,
            };
        }
    }
    Kernel {
        name: "portable i32 mac",
        run: int8_portable,
    }
}

// ---------------------------------------------------------------------------------------------
// Memory read bandwidth.

const MEM_BYTES: usize = 256 << 20;

fn read_sum(buf: &[u64]) -> u64 {
    // Eight independent sums so the adds never limit the loads.
    let mut s = [0u64; 8];
    for c in buf.chunks_exact(8) {
        for i in 0..8 {
            s[i] = s[i].wrapping_add(c[i]);
        }
    }
    s.iter().fold(0, |a, &b| a.wrapping_add(b))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn read_sum_avx2(buf: &[u64]) -> u64 {
    read_sum(buf)
}

fn read_once(buf: &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if cpu_probe::Features::get().avx2 {
        // SAFETY: AVX2 is available (checked on the line above).
        return unsafe { read_sum_avx2(buf) };
    }
    read_sum(buf)
}

fn mem_rate(buf: &[u64], seconds: f64) -> f64 {
    let start = Instant::now();
    let mut best = 0f64;
    while start.elapsed().as_secs_f64() < seconds || best == 0.0 {
        let t = Instant::now();
        black_box(read_once(black_box(buf)));
        best = best.max(std::mem::size_of_val(buf) as f64 / t.elapsed().as_secs_f64());
    }
    best
}

fn measure_memory(seconds: f64, threads: usize) -> Peak {
    let words = MEM_BYTES / 8;
    let bufs: Vec<Vec<u64>> = (0..threads.max(1))
        .map(|t| (0..words as u64).map(|i| i ^ t as u64).collect())
        .collect();
    let single = mem_rate(&bufs[0], seconds) / 1e9;
    let all = if threads > 1 {
        std::thread::scope(|s| {
            let hs: Vec<_> = bufs
                .iter()
                .map(|b| s.spawn(move || mem_rate(b, seconds)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum::<f64>()
        }) / 1e9
    } else {
        single
    };
    Peak {
        what: "memory read",
        kernel: "256 MiB sequential sum",
        unit: "GB/s",
        single_core: single,
        all_core: all,
        threads,
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;
    use std::hint::black_box;

    /// `N` copies of `init`, laundered through `black_box` so the compiler cannot fold the chains.
    fn chains<T: Copy, const N: usize>(init: T) -> [T; N] {
        let mut acc = [init; N];
        for x in acc.iter_mut() {
            *x = black_box(*x);
        }
        acc
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn fma_avx512_inner(iters: u64) -> f64 {
        let m = _mm512_set1_ps(black_box(1.000_000_1));
        let a = _mm512_set1_ps(black_box(0.999_999_9));
        let mut acc = chains::<_, 12>(_mm512_set1_ps(0.5));
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, m, a);
            }
        }
        black_box(acc);
        (iters * 12 * 16 * 2) as f64
    }

    pub fn fma_avx512(iters: u64) -> f64 {
        // SAFETY: only selected when Features reports AVX-512 F/BW/DQ/VL.
        unsafe { fma_avx512_inner(iters) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_avx2_inner(iters: u64) -> f64 {
        let m = _mm256_set1_ps(black_box(1.000_000_1));
        let a = _mm256_set1_ps(black_box(0.999_999_9));
        let mut acc = chains::<_, 12>(_mm256_set1_ps(0.5));
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, m, a);
            }
        }
        black_box(acc);
        (iters * 12 * 8 * 2) as f64
    }

    pub fn fma_avx2(iters: u64) -> f64 {
        // SAFETY: only selected when Features reports AVX2 and FMA.
        unsafe { fma_avx2_inner(iters) }
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    unsafe fn vnni_inner(iters: u64) -> f64 {
        let a = _mm512_set1_epi8(black_box(3));
        let b = _mm512_set1_epi8(black_box(5));
        let mut acc = chains::<_, 12>(_mm512_setzero_si512());
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_dpbusd_epi32(*x, a, b);
            }
        }
        black_box(acc);
        // 16 lanes x 4 MACs x 2 ops per instruction.
        (iters * 12 * 64 * 2) as f64
    }

    pub fn vnni_avx512(iters: u64) -> f64 {
        // SAFETY: only selected when Features reports AVX-512 with VNNI.
        unsafe { vnni_inner(iters) }
    }

    /// The k-loop step of the `__avx2` igemm kernels, 12 times per iteration: `vpmaddwd`
    /// (16 i16 × i16 products summed in pairs to 8 i32, exact for widened int8 operands) into
    /// a temporary, `vpaddd` into one of 12 accumulators (the kernels' 6 rows × 2 column
    /// halves), 16 ymm in all. In `asm!` because the intrinsics' operands would be loop
    /// invariant: LLVM hoists `vpmaddwd` out of the loop and leaves only the `vpaddd`s (the
    /// earlier `vpmaddubsw` figure of this loop counted 64 ops per `vpaddd` that way). Counts
    /// 16 MACs = 32 ops per `vpmaddwd`, the int8 work it does in the kernels. The kernels'
    /// loads and weight widenings (2 `vpmovsxbw` and 6 `vpbroadcastq` per 12 `vpmaddwd`) run
    /// on other ports and are not in this loop.
    #[target_feature(enable = "avx2")]
    unsafe fn maddwd_inner(iters: u64) -> f64 {
        use core::arch::asm;
        let w = _mm256_set1_epi16(black_box(3));
        let a = _mm256_set1_epi16(black_box(5));
        let [mut x0, mut x1, mut x2, mut x3, mut x4, mut x5, mut x6, mut x7, mut x8, mut x9, mut x10, mut x11] =
            chains::<_, 12>(_mm256_setzero_si256());
        for _ in 0..iters {
            // SAFETY: register-only AVX2 instructions (the caller guarantees AVX2); no memory,
            // no flags, no stack.
            unsafe {
                asm!(
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x0}, {x0}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x1}, {x1}, {t1}",
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x2}, {x2}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x3}, {x3}, {t1}",
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x4}, {x4}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x5}, {x5}, {t1}",
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x6}, {x6}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x7}, {x7}, {t1}",
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x8}, {x8}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x9}, {x9}, {t1}",
                    "vpmaddwd {t0}, {w}, {a}",
                    "vpaddd {x10}, {x10}, {t0}",
                    "vpmaddwd {t1}, {w}, {a}",
                    "vpaddd {x11}, {x11}, {t1}",
                    w = in(ymm_reg) w,
                    a = in(ymm_reg) a,
                    t0 = out(ymm_reg) _,
                    t1 = out(ymm_reg) _,
                    x0 = inout(ymm_reg) x0,
                    x1 = inout(ymm_reg) x1,
                    x2 = inout(ymm_reg) x2,
                    x3 = inout(ymm_reg) x3,
                    x4 = inout(ymm_reg) x4,
                    x5 = inout(ymm_reg) x5,
                    x6 = inout(ymm_reg) x6,
                    x7 = inout(ymm_reg) x7,
                    x8 = inout(ymm_reg) x8,
                    x9 = inout(ymm_reg) x9,
                    x10 = inout(ymm_reg) x10,
                    x11 = inout(ymm_reg) x11,
                    options(pure, nomem, nostack, preserves_flags),
                );
            }
        }
        black_box([x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11]);
        // 12 vpmaddwd × 16 MACs × 2 ops.
        (iters * 12 * 16 * 2) as f64
    }

    pub fn maddwd_avx2(iters: u64) -> f64 {
        // SAFETY: only selected when Features reports AVX2.
        unsafe { maddwd_inner(iters) }
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use core::arch::aarch64::*;
    use std::hint::black_box;

    pub fn fma_neon(iters: u64) -> f64 {
        // SAFETY: NEON is baseline on aarch64; the intrinsics only touch registers.
        unsafe {
            let m = vdupq_n_f32(black_box(1.000_000_1));
            let a = vdupq_n_f32(black_box(0.999_999_9));
            let mut acc = [vdupq_n_f32(black_box(0.5)); 12];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = vfmaq_f32(a, *x, m);
                }
            }
            black_box(acc);
        }
        (iters * 12 * 4 * 2) as f64
    }

    pub fn smlal_neon(iters: u64) -> f64 {
        // SAFETY: NEON is baseline on aarch64; the intrinsics only touch registers.
        unsafe {
            let a = vdup_n_s16(black_box(3));
            let b = vdup_n_s16(black_box(5));
            let mut acc = [vdupq_n_s32(black_box(0)); 12];
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = vmlal_s16(*x, a, b);
                }
            }
            black_box(acc);
        }
        (iters * 12 * 4 * 2) as f64
    }

    #[target_feature(enable = "neon,dotprod")]
    unsafe fn sdot_inner(iters: u64) -> f64 {
        let a = vdupq_n_s8(black_box(3));
        let b = vdupq_n_s8(black_box(5));
        let mut acc = [vdupq_n_s32(black_box(0)); 12];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                // SAFETY: the enclosing function is compiled with dotprod and only called when
                // Features reports it; SDOT reads and writes vector registers only.
                unsafe {
                    core::arch::asm!(
                        "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                        acc = inout(vreg) *x,
                        a = in(vreg) a,
                        b = in(vreg) b,
                        options(pure, nomem, nostack)
                    );
                }
            }
        }
        black_box(acc);
        (iters * 12 * 16 * 2) as f64
    }

    pub fn sdot_neon(iters: u64) -> f64 {
        // SAFETY: only selected when Features reports dotprod.
        unsafe { sdot_inner(iters) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_count_operations_and_terminate() {
        let f = cpu_probe::Features::get();
        for k in [fp32_kernel(&f), int8_kernel(&f)] {
            assert!((k.run)(16) > 0.0, "{}", k.name);
        }
        assert_eq!(fp32_portable(2), 256.0);
        assert_eq!(read_sum(&[1, 2, 3, 4, 5, 6, 7, 8]), 36);
    }
}
