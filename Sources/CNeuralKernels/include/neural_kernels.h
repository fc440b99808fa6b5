#ifndef MERD_NEURAL_KERNELS_H
#define MERD_NEURAL_KERNELS_H
// NeuralKit's memory-bound element-wise kernels, in C so that the compiler vectorises them
// for the CPU it runs on (target_clones: AVX-512, AVX2+FMA, or baseline x86-64, chosen once
// at load time by CPU features, so AMD and Intel alike), which Swift's SIMD types cannot do for a portable binary.
#include <stddef.h>

/// x ← x · Φ(x), GELU in its erf form.
void nk_gelu(float *x, size_t count);

/// Each of `rows` rows of `width` values ← softmax of the row (max-subtracted).
void nk_softmax_rows(float *x, size_t rows, size_t width);

/// Each row ← (row − mean) / √(var + eps) · gamma + beta.
void nk_layer_norm_rows(float *x, size_t rows, size_t width, const float *gamma, const float *beta, float eps);

/// Element-wise exp and erf into `y` (for tests of the approximations).
void nk_exp(const float *x, float *y, size_t count);
void nk_erf(const float *x, float *y, size_t count);
#endif
