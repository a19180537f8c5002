/* Throughput of the int8 multiply-accumulate instruction mixes an AVX2 CPU without VNNI can run
 * (built and run by scripts/x86-int8-mix.sh). Each loop repeats one mix over independent
 * accumulators (no loop-carried latency), so the result is the CPU's issue/port limit for it.
 * The clock is calibrated with independent vfmadd231ps at 2 per cycle (Zen 2/3/4, Skylake and
 * later), so "per cycle" is only as right as that assumption.
 *
 *   exact (ours)        vpmaddwd + vpaddd on i16 operands: 16 MACs per multiply
 *   saturating (ORT)    vpmaddubsw + vpmaddwd(ones) + vpaddd: 32 MACs, inexact for u8 x s8
 *                       pairs past 32767 (2 * 255 * 128 > 32767)
 *   sign trick          vpsignb + vpmaddubsw + vpmaddwd(ones) + vpaddd: 32 MACs, exact when
 *                       no weight is -128
 *   6x8 k-step          the igemm_6x8c4__avx2 k-loop body: 2 weight widenings (vpmovsxbw from
 *                       memory), 6 row broadcasts, 12 x (vpmaddwd + vpaddd) = 192 MACs
 *   6x8, i16 weights    the same with the weights pre-widened (2 plain 32-byte loads)
 */
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define ITERS 25000000L
#define CLOBBERS "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
/* A loop of ITERS iterations of `body` with ymm15 = 1 (i16 ones), a 64-byte stack buffer. */
#define LOOP(name, body)                                                                       \
    static double name(void) {                                                                 \
        static char buf[128] __attribute__((aligned(64)));                                   \
        long n = ITERS;                                                                        \
        double t = now();                                                                      \
        __asm__ volatile("vpxor %%xmm0, %%xmm0, %%xmm0\n vpxor %%xmm1, %%xmm1, %%xmm1\n"       \
                         "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n vpsrlw $15, %%ymm15, %%ymm15\n" \
                         "1:\n" body "dec %0\n jnz 1b\n"                                       \
                         : "+r"(n)                                                             \
                         : "r"(buf)                                                            \
                         : CLOBBERS);                                                          \
        return now() - t;                                                                      \
    }

#define FMA(a) "vfmadd231ps %%ymm14, %%ymm13, %%ymm" #a "\n"
LOOP(fma8, FMA(2) FMA(3) FMA(4) FMA(5) FMA(6) FMA(7) FMA(8) FMA(9))

#define MA(t, a) "vpmaddwd %%ymm14, %%ymm13, %%ymm" #t "\n vpaddd %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n"
LOOP(exact8, MA(10, 2) MA(11, 3) MA(12, 4) MA(10, 5) MA(11, 6) MA(12, 7) MA(10, 8) MA(11, 9))

#define SAT(t, a) "vpmaddubsw %%ymm14, %%ymm13, %%ymm" #t "\n vpmaddwd %%ymm15, %%ymm" #t ", %%ymm" #t \
    "\n vpaddd %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n"
LOOP(sat8, SAT(10, 2) SAT(11, 3) SAT(12, 4) SAT(10, 5) SAT(11, 6) SAT(12, 7) SAT(10, 8) SAT(11, 9))

#define SGN(t, a) "vpsignb %%ymm13, %%ymm14, %%ymm" #t "\n vpmaddubsw %%ymm" #t ", %%ymm1, %%ymm" #t \
    "\n vpmaddwd %%ymm15, %%ymm" #t ", %%ymm" #t "\n vpaddd %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n"
LOOP(sign8, SGN(10, 2) SGN(11, 3) SGN(12, 4) SGN(10, 5) SGN(11, 6) SGN(12, 7) SGN(10, 8) SGN(11, 9))

/* 6 rows x 2 column halves: accumulators ymm0..ymm11, weights ymm12/ymm13, broadcast ymm14. */
#define ROW(b, a0, a1) "vpbroadcastq " #b "(%1), %%ymm14\n"                                     \
    "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n vpaddd %%ymm15, %%ymm" #a0 ", %%ymm" #a0 "\n"      \
    "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n vpaddd %%ymm15, %%ymm" #a1 ", %%ymm" #a1 "\n"
#define ROWS ROW(64, 0, 1) ROW(72, 2, 3) ROW(80, 4, 5) ROW(88, 6, 7) ROW(96, 8, 9) ROW(104, 10, 11)
LOOP(k6x8, "vpmovsxbw (%1), %%ymm12\n vpmovsxbw 16(%1), %%ymm13\n" ROWS)
LOOP(k6x8w16, "vmovdqu (%1), %%ymm12\n vmovdqu 32(%1), %%ymm13\n" ROWS)

int main(void) {
    double f = 1e9;
    for (int r = 0; r < 5; r++) { /* the first runs also wake the core up */
        double s = fma8();
        if (s < f) f = s;
    }
    double hz = ITERS * 8 / 2.0 / f;
    printf("clock (8 independent vfmadd231ps per iteration at 2 per cycle): %.2f GHz\n", hz / 1e9);
    struct {
        const char *name;
        double (*run)(void);
        double macs; /* per iteration */
        double mults; /* multiply-class instructions per iteration */
    } mixes[] = {
        {"exact: vpmaddwd + vpaddd", exact8, 8 * 16, 8},
        {"saturating: vpmaddubsw + vpmaddwd + vpaddd", sat8, 8 * 32, 16},
        {"sign trick: vpsignb + vpmaddubsw + vpmaddwd + vpaddd", sign8, 8 * 32, 16},
        {"6x8 k-step (i8 weights widened)", k6x8, 192, 12},
        {"6x8 k-step (i16 weights)", k6x8w16, 192, 12},
    };
    printf("| mix | MACs per cycle | multiplies per cycle |\n|---|---:|---:|\n");
    for (unsigned i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double s = mixes[i].run();
            if (s < best) best = s;
        }
        double cycles = best * hz;
        printf("| %s | %.1f | %.2f |\n", mixes[i].name, ITERS * mixes[i].macs / cycles,
               ITERS * mixes[i].mults / cycles);
    }
    return 0;
}
