// The header from C++ (extern "C", no C-only constructs): the CPU report and one quantized GEMM
// with RAII ownership of the handles. Built and run by scripts/c-example.sh on x86_64.
#include <cstdio>
#include <memory>
#include <vector>

#include "edge_kernels.h"

struct GemmDeleter {
    void operator()(EkQGemm *g) const { ek_qgemm_u8s8_destroy(g); }
};

int main() {
    EkCpuReport *r = nullptr;
    if (ek_cpu_report_create(&r) != EK_STATUS_OK) return 1;
    std::printf("C++: %zu cores, dispatch isa %s\n", ek_cpu_report_core_count(r), ek_dispatch_isa());
    ek_cpu_report_destroy(r);

    // Y = A x B with B = identity-like (k = n = 4): requant(a) with unit scales is a itself.
    const size_t m = 2, k = 4, n = 4;
    std::vector<int8_t> b(k * n, 0);
    for (size_t i = 0; i < k; i++) b[i * n + i] = 1;
    std::vector<uint8_t> a = {1, 2, 3, 4, 250, 251, 252, 253}, y(m * n, 0);
    const float one = 1.0f;
    EkQuantU8S8 q = {1.0f, 0, &one, 1, 1.0f, 0};
    EkQGemm *raw = nullptr;
    if (ek_qgemm_u8s8_create(k, n, b.data(), b.size(), &q, 1, &raw) != EK_STATUS_OK) {
        std::fprintf(stderr, "%s\n", ek_last_error_message());
        return 1;
    }
    std::unique_ptr<EkQGemm, GemmDeleter> g(raw);
    if (ek_qgemm_u8s8_run(g.get(), m, a.data(), a.size(), y.data(), y.size()) != EK_STATUS_OK) {
        std::fprintf(stderr, "%s\n", ek_last_error_message());
        return 1;
    }
    if (y != a) {
        std::fprintf(stderr, "C++: identity GEMM gave a different result\n");
        return 1;
    }
    std::printf("C++: identity GEMM ok\n");
    return 0;
}
