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

/// One Adam step (with L2 weight decay added to the gradient, as torch.optim.Adam):
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/c₁)/(√(v/c₂) + ε), g = grad + wd·θ.
void nk_adam(float *value, const float *gradient, float *m, float *v, size_t count,
             float learning_rate, float beta1, float beta2, float epsilon, float weight_decay,
             float correction1, float correction2);

/// Element-wise exp and erf into `y` (for tests of the approximations).
void nk_exp(const float *x, float *y, size_t count);
void nk_erf(const float *x, float *y, size_t count);
#endif
