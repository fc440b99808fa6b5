#include "instruction_peak.h"

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>

// Twelve accumulators: more than an FMA's latency (4 cycles) times the ports that issue it
// (2), so the loop is bound by throughput, not by any one dependency chain. The empty asm
// keeps them in registers and keeps the compiler from folding the loop.
#define NK_PEAK_KEEP(a) __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]), \
                                           "+v"(a[6]), "+v"(a[7]), "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]))
#define NK_PEAK_12(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11)

int nk_peak_f32_width(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 256;
    return 0;
}

int nk_peak_has_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

__attribute__((target("avx512f"))) static nk_peak_result nk_peak_f32_fma512(uint32_t iterations) {
    __m512 a[12];
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_setzero_ps();
    for (uint32_t n = 0; n < iterations; n++) {
#define NK_FMA(k) a[k] = _mm512_fmadd_ps(one, one, a[k]);
        NK_PEAK_12(NK_FMA)
#undef NK_FMA
        NK_PEAK_KEEP(a);
    }
    double sum = 0;
    for (int i = 0; i < 12; i++) sum += _mm512_reduce_add_ps(a[i]);
    return (nk_peak_result){(uint64_t)iterations * 12 * 16 * 2, sum};
}

__attribute__((target("avx2,fma"))) static nk_peak_result nk_peak_f32_fma256(uint32_t iterations) {
    __m256 a[12];
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_setzero_ps();
    for (uint32_t n = 0; n < iterations; n++) {
#define NK_FMA(k) a[k] = _mm256_fmadd_ps(one, one, a[k]);
        NK_PEAK_12(NK_FMA)
#undef NK_FMA
        NK_PEAK_KEEP(a);
    }
    double sum = 0;
    float lanes[8];
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(lanes, a[i]);
        for (int l = 0; l < 8; l++) sum += lanes[l];
    }
    return (nk_peak_result){(uint64_t)iterations * 12 * 8 * 2, sum};
}

nk_peak_result nk_peak_f32_fma(uint32_t iterations) {
    switch (nk_peak_f32_width()) {
    case 512: return nk_peak_f32_fma512(iterations);
    case 256: return nk_peak_f32_fma256(iterations);
    default: return (nk_peak_result){0, 0};
    }
}

__attribute__((target("avx512f,avx512bf16"))) static nk_peak_result nk_peak_bf16_dot512(uint32_t iterations) {
    __m512 a[12];
    // BF16 1.0 is 0x3f80: each lane adds 1·1 + 1·1.
    const __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80);
    for (int i = 0; i < 12; i++) a[i] = _mm512_setzero_ps();
    for (uint32_t n = 0; n < iterations; n++) {
#define NK_DOT(k) a[k] = _mm512_dpbf16_ps(a[k], one, one);
        NK_PEAK_12(NK_DOT)
#undef NK_DOT
        NK_PEAK_KEEP(a);
    }
    double sum = 0;
    for (int i = 0; i < 12; i++) sum += _mm512_reduce_add_ps(a[i]);
    return (nk_peak_result){(uint64_t)iterations * 12 * 16 * 4, sum};
}

nk_peak_result nk_peak_bf16_dot(uint32_t iterations) {
    if (!nk_peak_has_bf16()) return (nk_peak_result){0, 0};
    return nk_peak_bf16_dot512(iterations);
}
#else
int nk_peak_f32_width(void) { return 0; }
int nk_peak_has_bf16(void) { return 0; }
nk_peak_result nk_peak_f32_fma(uint32_t iterations) { (void)iterations; return (nk_peak_result){0, 0}; }
nk_peak_result nk_peak_bf16_dot(uint32_t iterations) { (void)iterations; return (nk_peak_result){0, 0}; }
#endif
