/*
 * edge-kernels from C: three int8 workloads of bench/workloads.json (Q1, Q5, D3), with the
 * inputs, weights and quantization kbench uses (crates/kbench/src/cases.rs), run through the
 * C ABI and checked bit-exactly: the FNV-1a hash of each output must equal the value in
 * kbench_expected.h, which a Rust test (crates/capi/tests/kbench_checksums.rs) computes from
 * the scalar reference kernels.
 *
 *   Q1  quantized GEMM 1 x 1024 x 1000        ek_qgemm_u8s8_*   (weights packed at create)
 *   Q5  grouped 1x1 QLinearConv 240->240 28x28 ek_qconv_u8s8_*   (NHWC, groups 3)
 *   D3  depthwise 5x5 QLinearConv 240 14x14    ek_plan_create    (ONNX-style node, NHWC)
 *
 * Build: cc -std=c99 -Wall -Wextra -O2 -I crates/capi/include examples/c/kbench_workloads.c \
 *           target/release/libedge_kernels.a -lpthread -ldl -lm
 * (scripts/c-example.sh does this for x86_64 and for aarch64 under QEMU.)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_kernels.h"
#include "kbench_expected.h"

/* kbench's quantization (cases.rs): u8 activations (zero point 128), symmetric s8 weights. */
#define A_SCALE 0.02f
#define A_ZP 128
#define W_SCALE 0.005f
#define Y_SCALE 0.1f
#define Y_ZP 128

/* kbench's data generator: a 64-bit LCG, the top byte of each state. */
static void lcg_bytes(uint8_t *out, size_t n, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(s >> 56);
    }
}

/* kbench's weights: the same bytes as int8, clamped to [-127, 127]. */
static void lcg_weights(int8_t *out, size_t n, uint64_t seed) {
    uint8_t *b = malloc(n ? n : 1);
    if (!b) { fprintf(stderr, "out of memory\n"); exit(1); }
    lcg_bytes(b, n, seed);
    for (size_t i = 0; i < n; i++) {
        int v = (int)(int8_t)b[i];
        out[i] = (int8_t)(v < -127 ? -127 : v);
    }
    free(b);
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        EkStatus st_ = (call);                                                         \
        if (st_ != EK_STATUS_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call,  \
                    ek_status_string((int32_t)st_), ek_last_error_message());          \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static int report(const char *id, const char *kernel, uint64_t got, uint64_t want) {
    int ok = got == want;
    printf("%-3s %-48s fnv1a %016" PRIx64 " %s\n", id, kernel, got,
           ok ? "bit-exact (matches the Rust reference)" : "MISMATCH");
    if (!ok) printf("    expected %016" PRIx64 "\n", want);
    return ok ? 0 : 1;
}

/* Q1: Y[1 x 1000] = A[1 x 1024] (u8) x B[1024 x 1000] (s8). */
static int run_q1(void) {
    const size_t m = 1, k = 1024, n = 1000;
    uint8_t *a = xmalloc(m * k), *y = xmalloc(m * n);
    int8_t *b = xmalloc(k * n);
    lcg_bytes(a, m * k, 1);
    lcg_weights(b, k * n, 2);
    const float w_scale = W_SCALE;
    EkQuantU8S8 q = {A_SCALE, A_ZP, &w_scale, 1, Y_SCALE, Y_ZP};
    EkQGemm *g = NULL;
    CHECK(ek_qgemm_u8s8_create(k, n, b, k * n, &q, 1, &g));
    CHECK(ek_qgemm_u8s8_run(g, m, a, m * k, y, m * n));
    char kernel[128];
    ek_qgemm_u8s8_describe(g, kernel, sizeof kernel);
    int bad = report("Q1", kernel, fnv1a(y, m * n), EK_EXPECTED_Q1_FNV1A);
    ek_qgemm_u8s8_destroy(g);
    free(a); free(b); free(y);
    return bad;
}

/* Q5: grouped 1x1 convolution, 240 -> 240 channels, 28 x 28, 3 groups, NHWC. */
static int run_q5(void) {
    const size_t h = 28, w = 28, c = 240, groups = 3, cin_g = c / groups, kk = 1;
    EkConvDesc d;
    memset(&d, 0, sizeof d);
    d.batch = 1; d.height = h; d.width = w; d.in_channels = c; d.out_channels = c;
    d.kernel_h = 1; d.kernel_w = 1; d.stride_h = 1; d.stride_w = 1;
    d.dilation_h = 1; d.dilation_w = 1; d.groups = groups;
    d.activation = EK_ACTIVATION_NONE;
    const size_t wn = c * cin_g * kk;
    uint8_t *x = xmalloc(h * w * c), *y = xmalloc(h * w * c);
    int8_t *w_ohwi = xmalloc(wn);
    lcg_bytes(x, h * w * c, 1);
    lcg_weights(w_ohwi, wn, 2); /* OHWI; with a 1x1 kernel OHWI == OIHW */
    const float w_scale = W_SCALE;
    EkQuantU8S8 q = {A_SCALE, A_ZP, &w_scale, 1, Y_SCALE, Y_ZP};
    EkQConv *conv = NULL;
    CHECK(ek_qconv_u8s8_create(&d, w_ohwi, wn, NULL, 0, &q, 1, &conv));
    size_t shape[4];
    CHECK(ek_qconv_u8s8_output_shape(conv, shape));
    const size_t yn = shape[0] * shape[1] * shape[2] * shape[3];
    CHECK(ek_qconv_u8s8_run(conv, x, h * w * c, y, yn));
    char kernel[128];
    ek_qconv_u8s8_describe(conv, kernel, sizeof kernel);
    int bad = report("Q5", kernel, fnv1a(y, yn), EK_EXPECTED_Q5_FNV1A);
    ek_qconv_u8s8_destroy(conv);
    free(x); free(y); free(w_ohwi);
    return bad;
}

/* D3: depthwise 5x5, 240 channels, 14 x 14, pad 2, as an ONNX QLinearConv node (NHWC). */
static int run_d3(void) {
    const size_t h = 14, w = 14, c = 240, k = 5;
    uint8_t *x = xmalloc(h * w * c);
    int8_t *w_hwc = xmalloc(k * k * c), *w_oihw = xmalloc(k * k * c);
    lcg_bytes(x, h * w * c, 1);
    lcg_weights(w_hwc, k * k * c, 2); /* kbench keeps depthwise weights as H x W x C */
    for (size_t ch = 0; ch < c; ch++)
        for (size_t t = 0; t < k * k; t++) w_oihw[ch * k * k + t] = w_hwc[t * c + ch];

    const int64_t pads[4] = {2, 2, 2, 2}, strides[2] = {1, 1}, kshape[2] = {5, 5};
    EkAttribute attrs[4];
    memset(attrs, 0, sizeof attrs);
    attrs[0].name = "pads"; attrs[0].kind = EK_ATTRIBUTE_KIND_INTS; attrs[0].ints = pads; attrs[0].len = 4;
    attrs[1].name = "strides"; attrs[1].kind = EK_ATTRIBUTE_KIND_INTS; attrs[1].ints = strides; attrs[1].len = 2;
    attrs[2].name = "kernel_shape"; attrs[2].kind = EK_ATTRIBUTE_KIND_INTS; attrs[2].ints = kshape; attrs[2].len = 2;
    attrs[3].name = "group"; attrs[3].kind = EK_ATTRIBUTE_KIND_INT; attrs[3].i = (int64_t)c;

    const size_t x_shape[4] = {1, h, w, c}; /* NHWC (EkPlanOptions.layout) */
    const size_t w_shape[4] = {c, 1, k, k};
    const float xs = A_SCALE, ws = W_SCALE, ys = Y_SCALE;
    const uint8_t xz = A_ZP, yz = Y_ZP;
    const int8_t wz = 0;
    EkPlanInput in[8];
    memset(in, 0, sizeof in);
    in[0].kind = EK_INPUT_KIND_RUNTIME;
    in[0].tensor = (EkTensor){EK_DATA_TYPE_U8, 4, x_shape, NULL, 0};
    in[1].kind = EK_INPUT_KIND_CONSTANT; in[1].tensor = (EkTensor){EK_DATA_TYPE_F32, 0, NULL, &xs, 1};
    in[2].kind = EK_INPUT_KIND_CONSTANT; in[2].tensor = (EkTensor){EK_DATA_TYPE_U8, 0, NULL, &xz, 1};
    in[3].kind = EK_INPUT_KIND_CONSTANT; in[3].tensor = (EkTensor){EK_DATA_TYPE_I8, 4, w_shape, w_oihw, k * k * c};
    in[4].kind = EK_INPUT_KIND_CONSTANT; in[4].tensor = (EkTensor){EK_DATA_TYPE_F32, 0, NULL, &ws, 1};
    in[5].kind = EK_INPUT_KIND_CONSTANT; in[5].tensor = (EkTensor){EK_DATA_TYPE_I8, 0, NULL, &wz, 1};
    in[6].kind = EK_INPUT_KIND_CONSTANT; in[6].tensor = (EkTensor){EK_DATA_TYPE_F32, 0, NULL, &ys, 1};
    in[7].kind = EK_INPUT_KIND_CONSTANT; in[7].tensor = (EkTensor){EK_DATA_TYPE_U8, 0, NULL, &yz, 1};
    EkPlanOptions opts = {1, EK_LAYOUT_NHWC, 0};
    EkPlan *plan = NULL;
    CHECK(ek_plan_create("QLinearConv", attrs, 4, in, 8, &opts, &plan));

    EkTensor xt = {EK_DATA_TYPE_U8, 4, x_shape, x, h * w * c};
    const EkTensor *run_in[1] = {&xt};
    EkOutputs *out = NULL;
    CHECK(ek_plan_run(plan, run_in, 1, &out));
    EkTensor yt;
    CHECK(ek_outputs_get(out, 0, &yt));
    if (ek_outputs_count(out) != 1 || yt.dtype != EK_DATA_TYPE_U8 || yt.rank != 4) {
        fprintf(stderr, "D3: unexpected output\n");
        exit(1);
    }
    char kernel[128];
    ek_plan_describe(plan, kernel, sizeof kernel);
    int bad = report("D3", kernel, fnv1a(yt.data, yt.len), EK_EXPECTED_D3_FNV1A);
    ek_outputs_destroy(out);
    ek_plan_destroy(plan);
    free(x); free(w_hwc); free(w_oihw);
    return bad;
}

int main(void) {
    EkCpuReport *cpu = NULL;
    CHECK(ek_cpu_report_create(&cpu));
    EkCluster cl;
    CHECK(ek_cpu_report_cluster(cpu, 0, &cl));
    printf("edge-kernels %s; %zu cores in %zu cluster(s), fastest: %zu x %s; dispatch isa %s\n",
           ek_version(), ek_cpu_report_core_count(cpu), ek_cpu_report_cluster_count(cpu),
           cl.core_count, cl.uarch, ek_dispatch_isa());
    ek_cpu_report_destroy(cpu);

    /* An error path: a NULL weight pointer is refused with a message, not a crash. */
    EkQGemm *g = NULL;
    const float one = 1.0f;
    EkQuantU8S8 q = {1.0f, 0, &one, 1, 1.0f, 0};
    if (ek_qgemm_u8s8_create(2, 2, NULL, 4, &q, 1, &g) != EK_STATUS_INVALID_ARGUMENT || g) {
        fprintf(stderr, "a NULL weight pointer was not refused\n");
        return 1;
    }
    printf("error path: %s\n", ek_last_error_message());

    int bad = run_q1() + run_q5() + run_d3();
    if (bad) {
        printf("%d workload(s) differ\n", bad);
        return 1;
    }
    printf("all workloads bit-exact\n");
    return 0;
}
