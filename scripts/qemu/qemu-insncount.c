/*
 * qemu-insncount.c: QEMU TCG plugin that counts executed guest AArch64 (or, with arch=a32, A32)
 * instructions, by class,
 * and snapshots the counters at marker system calls made by the guest.
 *
 * Written for the QEMU plugin API version 1 (QEMU 7.2, Debian 12's qemu-user, which is built with
 * plugin support but ships no plugins). The dozen API declarations it uses are repeated below,
 * so it builds with plain gcc and no qemu-plugin.h:
 *   gcc -O2 -shared -fPIC -o libqemu-insncount.so scripts/qemu/qemu-insncount.c -lpthread
 *   qemu-aarch64 -cpu cortex-a53 -L /usr/aarch64-linux-gnu \
 *     -plugin ./libqemu-insncount.so,outfile=counts.txt,percpu=on kbench bench --iterations 3 ...
 *
 * Counting rule (the same as the shared ARM anchors' plugin, ../shared/anchors/arm/insn_count.c,
 * so our counts and theirs compare row by row): when a translation block (TB) is translated, its
 * instructions are classified; every execution of the TB adds its per-class counts (inline adds
 * into global counters, and with percpu=on a callback adding into the executing thread's own
 * counters). A TB left early (a signal) still counts whole; the measured code raises none.
 *
 * Marker: a guest syscall number 4242 whose first argument is 0x496e736e ("Insn") snapshots the
 * counters, tagged with its second argument (QEMU then answers ENOSYS). `kbench bench
 * --iterations N` makes them (crates/kbench/src/count.rs documents the tags); the difference of
 * two snapshots is the work between the two markers plus one marker's own cost, which the
 * empty intervals measure.
 *
 * Classes (A64 encodings; each is a subset count, not a partition): total, branch (branches,
 * exceptions, system), ldst, ldst_fpsimd (loads/stores of FP/SIMD registers), fpsimd_dp (scalar
 * FP and Advanced SIMD data processing), asimd_q (128-bit vector forms), dot (SDOT/UDOT/USDOT/
 * SUDOT), mmla (SMMLA/UMMLA/USMMLA), sve, sme.
 *
 * With arch=a32 (32-bit ARM guests under qemu-arm, e.g. the armv7 builds; the same plugin API
 * and binary) the instructions are classified as A32 (ARM state) encodings instead: branch
 * (B/BL/BLX immediate, BX/BLX register, SVC), ldst (LDR/STR, LDM/STM and their halfword/
 * doubleword forms, VLDR/VSTR/VLDM/VSTM, Advanced SIMD element and structure loads/stores),
 * ldst_fpsimd (the VFP and Advanced SIMD ones), fpsimd_dp (VFP data processing and core <-> VFP
 * moves, Advanced SIMD data processing), asimd_q (Advanced SIMD data processing with bit 6
 * set: the Q (128-bit) bit of most encodings, but also set in every by-scalar form, e.g. VMLAL
 * by lane, and clear in the lengthening forms that write a q register from d registers, e.g.
 * VMOVL, vector VMLAL: an approximation). dot, mmla, sve, sme stay 0. Thumb instructions
 * (2-byte or 4-byte) count in total only.
 *
 * Output (outfile=PATH, else stderr):
 *   classes total branch ldst ...
 *   insns N            vcpus N
 *   mark TAG c0 c1 ...              (global counters at each marker)
 *   markvcpu TAG VCPU c0 c1 ...     (percpu=on: the marking thread's own counters)
 *   end c0 c1 ...                   [vcpu V c0 c1 ... per thread with percpu=on]
 *
 * Moved here from crates/depthwise/tools/ (which only printed a total at exit) and extended.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QEMU plugin API v1, the part used here. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id,
                                       void (*cb)(qemu_plugin_id_t, unsigned int));
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_syscall_cb(
    qemu_plugin_id_t id,
    void (*cb)(qemu_plugin_id_t, unsigned int, int64_t, uint64_t, uint64_t, uint64_t, uint64_t,
               uint64_t, uint64_t, uint64_t, uint64_t));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                          void (*cb)(unsigned int, void *),
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MARK_NR 4242
#define MARK_MAGIC 0x496e736eULL
#define MAX_VCPUS 256

enum { TOTAL, BRANCH, LDST, LDST_FPSIMD, FPSIMD_DP, ASIMD_Q, DOT, MMLA, SVE, SME, NCLASS };
static const char *const names[NCLASS] = {"total",    "branch",  "ldst", "ldst_fpsimd",
                                          "fpsimd_dp", "asimd_q", "dot",  "mmla",
                                          "sve",      "sme"};

/* Adds instruction word w to the class counts n. */
static void classify(uint32_t w, uint64_t n[NCLASS])
{
    uint32_t op1 = (w >> 25) & 0xf; /* bits 28:25, the A64 top-level group */
    if ((op1 & 0xe) == 0xa) n[BRANCH]++;
    if ((op1 & 0x5) == 0x4) {
        n[LDST]++;
        if (w & (1u << 26)) n[LDST_FPSIMD]++; /* V = 1 */
    }
    if ((op1 & 0x7) == 0x7) {
        n[FPSIMD_DP]++;
        if ((w & 0xde000000u) == 0x4e000000u) n[ASIMD_Q]++; /* vector, Q = 1 */
    }
    if ((w & 0x9fe0fc00u) == 0x0e809400u     /* SDOT/UDOT vector */
        || (w & 0xbfe0fc00u) == 0x0e809c00u  /* USDOT vector */
        || (w & 0x9fc0f400u) == 0x0f80e000u  /* SDOT/UDOT by element */
        || (w & 0xbf40f400u) == 0x0f00f000u) /* SUDOT/USDOT by element */
        n[DOT]++;
    uint32_t m = w & 0xffe0fc00u;
    if (m == 0x4e80a400u || m == 0x6e80a400u || m == 0x4e80ac00u) n[MMLA]++;
    if (op1 == 0x2) n[SVE]++;
    if ((w >> 31) == 1 && op1 == 0x0) n[SME]++;
}

/* Adds A32 instruction word w (ARM state) to the class counts n (see the header comment). */
static void classify_a32(uint32_t w, uint64_t n[NCLASS])
{
    uint32_t cond = w >> 28;
    if (cond == 0xf) {
        if ((w & 0xfe000000u) == 0xf2000000u) { /* Advanced SIMD data processing */
            n[FPSIMD_DP]++;
            if (w & (1u << 6)) n[ASIMD_Q]++;
        } else if ((w & 0xff100000u) == 0xf4000000u) { /* Advanced SIMD element/structure ld/st */
            n[LDST]++;
            n[LDST_FPSIMD]++;
        } else if ((w & 0xfe000000u) == 0xfa000000u) { /* BLX immediate */
            n[BRANCH]++;
        }
        return;
    }
    uint32_t op = (w >> 25) & 7; /* bits 27:25 */
    if (op == 5 || (w & 0x0f000000u) == 0x0f000000u /* B/BL, SVC */
        || (w & 0x0ffffff0u) == 0x012fff10u || (w & 0x0ffffff0u) == 0x012fff30u /* BX, BLX */)
        n[BRANCH]++;
    else if (op == 2 || (op == 3 && !(w & 0x10u)) || op == 4 /* LDR/STR (imm., reg.), LDM/STM */
             || (op == 0 && (w & 0x90u) == 0x90u && (w & 0x60u) != 0)) /* LDRH/STRH/LDRD/... */
        n[LDST]++;
    else if ((w & 0x0e000e00u) == 0x0c000a00u) { /* VLDR/VSTR/VLDM/VSTM/VPUSH/VPOP, VMOV 2 regs */
        n[LDST]++;
        n[LDST_FPSIMD]++;
    } else if ((w & 0x0f000e00u) == 0x0e000a00u) /* VFP data processing, VMOV core <-> VFP */
        n[FPSIMD_DP]++;
}

static bool a32;
static uint64_t global[NCLASS];
static uint64_t own[MAX_VCPUS][NCLASS];
static bool percpu;
static unsigned int vcpus;
static char outfile[4096];

struct tbc { uint32_t c[NCLASS]; };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tbc *pool;
static size_t pool_left;

struct mark { uint64_t tag; unsigned int vcpu; uint64_t g[NCLASS], o[NCLASS]; };
static struct mark *marks;
static size_t n_marks, cap_marks;

static void die(const char *what)
{
    fprintf(stderr, "qemu-insncount: %s\n", what);
    exit(1);
}

static void on_vcpu_init(qemu_plugin_id_t id, unsigned int v)
{
    (void)id;
    (void)v;
    __atomic_fetch_add(&vcpus, 1, __ATOMIC_RELAXED);
}

static void on_tb_exec(unsigned int v, void *u)
{
    const struct tbc *t = u;
    uint64_t *o = own[v < MAX_VCPUS ? v : MAX_VCPUS - 1];
    for (int c = 0; c < NCLASS; c++) o[c] += t->c[c];
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    uint64_t n[NCLASS] = {0};
    size_t k = qemu_plugin_tb_n_insns(tb);
    for (size_t j = 0; j < k; j++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, j);
        uint32_t w = 0;
        if (qemu_plugin_insn_size(insn) == 4) {
            memcpy(&w, qemu_plugin_insn_data(insn), 4);
            if (a32)
                classify_a32(w, n);
            else
                classify(w, n);
        }
    }
    n[TOTAL] = k;
    if (percpu) {
        pthread_mutex_lock(&lock);
        if (pool_left == 0) {
            pool_left = 1 << 16;
            pool = malloc(pool_left * sizeof *pool);
            if (!pool) die("out of memory");
        }
        struct tbc *t = pool++;
        pool_left--;
        pthread_mutex_unlock(&lock);
        for (int c = 0; c < NCLASS; c++) t->c[c] = (uint32_t)n[c];
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, t);
    }
    for (int c = 0; c < NCLASS; c++)
        if (n[c]) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &global[c], n[c]);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int v, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    (void)id; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    if (num != MARK_NR || a1 != MARK_MAGIC) return;
    pthread_mutex_lock(&lock);
    if (n_marks == cap_marks) {
        cap_marks = cap_marks ? 2 * cap_marks : 4096;
        marks = realloc(marks, cap_marks * sizeof *marks);
        if (!marks) die("out of memory");
    }
    struct mark *m = &marks[n_marks++];
    m->tag = a2;
    m->vcpu = v;
    memcpy(m->g, global, sizeof global);
    memcpy(m->o, own[v < MAX_VCPUS ? v : MAX_VCPUS - 1], sizeof m->o);
    pthread_mutex_unlock(&lock);
}

static void put(FILE *f, const char *head, const uint64_t *c)
{
    fputs(head, f);
    for (int k = 0; k < NCLASS; k++) fprintf(f, " %llu", (unsigned long long)c[k]);
    fputc('\n', f);
}

static void on_exit_cb(qemu_plugin_id_t id, void *u)
{
    (void)id;
    (void)u;
    FILE *f = outfile[0] ? fopen(outfile, "w") : NULL;
    if (!f) f = stderr;
    fputs("classes", f);
    for (int k = 0; k < NCLASS; k++) fprintf(f, " %s", names[k]);
    fprintf(f, "\ninsns %llu\nvcpus %u\n", (unsigned long long)global[TOTAL], vcpus);
    char head[96];
    for (size_t i = 0; i < n_marks; i++) {
        snprintf(head, sizeof head, "mark %llu", (unsigned long long)marks[i].tag);
        put(f, head, marks[i].g);
        if (percpu) {
            snprintf(head, sizeof head, "markvcpu %llu %u", (unsigned long long)marks[i].tag,
                     marks[i].vcpu);
            put(f, head, marks[i].o);
        }
    }
    put(f, "end", global);
    if (percpu)
        for (int v = 0; v < MAX_VCPUS; v++)
            if (own[v][TOTAL]) {
                snprintf(head, sizeof head, "vcpu %d", v);
                put(f, head, own[v]);
            }
    if (f != stderr) fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const void *info, int argc,
                                                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "outfile=", 8) == 0)
            snprintf(outfile, sizeof outfile, "%s", argv[i] + 8);
        else if (strcmp(argv[i], "percpu=on") == 0)
            percpu = true;
        else if (strcmp(argv[i], "percpu=off") == 0)
            percpu = false;
        else if (strcmp(argv[i], "arch=a32") == 0)
            a32 = true;
        else if (strcmp(argv[i], "arch=a64") == 0)
            a32 = false;
        else {
            fprintf(stderr, "qemu-insncount: unknown argument '%s' (outfile=PATH, percpu=on|off, arch=a64|a32)\n",
                    argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
