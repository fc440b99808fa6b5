#ifndef MERD_INSTRUCTION_PEAK_H
#define MERD_INSTRUCTION_PEAK_H
// What one core's multiply-add instructions reach with nothing else in the way: the ceiling
// any matrix product of that precision has on this CPU, for `merd bench` to print beside what
// the products reach (gemm, hubert, engine, faces).
#include <stdint.h>

/// One timed loop's result: floating-point operations done and a checksum that proves the
/// loop ran (each accumulator ends at `iterations` × its per-instruction increment).
typedef struct {
    uint64_t operations;
    double checksum;
} nk_peak_result;

/// Vector width in bits of the widest F32 FMA this CPU has (512, 256), 0 without FMA.
int nk_peak_f32_width(void);
/// Whether this CPU has AVX512_BF16's dot products (vdpbf16ps).
int nk_peak_has_bf16(void);

/// `iterations` rounds of 12 independent F32 FMAs (x·1 + acc, x = 1) on the widest vectors
/// (`nk_peak_f32_width`); every lane of every accumulator ends at `iterations`, so the
/// checksum is 12 × lanes × `iterations` (exact while iterations ≤ 2^24). Nothing without FMA.
nk_peak_result nk_peak_f32_fma(uint32_t iterations);
/// The same with AVX512_BF16's vdpbf16ps (two BF16 products summed into each F32 lane, 4
/// operations a lane); each lane ends at 2 × `iterations` (exact while that is ≤ 2^24: the
/// instruction adds its two products one at a time, each rounded). Nothing without AVX512_BF16.
nk_peak_result nk_peak_bf16_dot(uint32_t iterations);
#endif
