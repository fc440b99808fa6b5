#ifndef MERD_NEURAL_KERNELS_H
#define MERD_NEURAL_KERNELS_H
// NeuralKit's memory-bound element-wise kernels, in C so that the compiler vectorises them
// for the CPU it runs on (target_clones: AVX-512, AVX2+FMA, or baseline x86-64, chosen once
// at load time by CPU features, so AMD and Intel alike), which Swift's SIMD types cannot do for a portable binary.
#include <stddef.h>
#include <stdint.h>

/// x ← x · Φ(x), GELU in its erf form.
void nk_gelu(float *x, size_t count);

/// Each of `rows` rows of `width` values ← softmax of the row (max-subtracted).
void nk_softmax_rows(float *x, size_t rows, size_t width);

/// Each row ← (row − mean) / √(var + eps) · gamma + beta.
void nk_layer_norm_rows(float *x, size_t rows, size_t width, const float *gamma, const float *beta, float eps);

/// One Adam step (with L2 weight decay added to the gradient, as torch.optim.Adam):
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/c₁)/(√(v/c₂) + ε), g = grad + wd·θ.
/// Reads `gradient` only (null: zero, weight decay alone). The four arrays are distinct.
void nk_adam(float *value, const float *gradient, float *m, float *v, size_t count,
             float learning_rate, float beta1, float beta2, float epsilon, float weight_decay,
             float correction1, float correction2);

/// x ← max(x, 0).
void nk_relu(float *x, size_t count);

/// dx ← dx + (x > 0 ? dy : 0): ReLU's backward pass (training). Distinct arrays.
void nk_relu_backward(float *dx, const float *dy, const float *x, size_t count);

/// dx ← dx + dy · m, element-wise (a dropout mask's backward pass). Distinct arrays.
void nk_multiply_add(float *dx, const float *dy, const float *m, size_t count);

/// Inverted dropout's forward pass: mask[i] = scale where SplitMix64's next value, low 24 bits,
/// is at least `threshold`, else 0; y = x ⊙ mask. Draws `count` values from *state and advances it.
void nk_dropout(const float *x, float *y, float *mask, size_t count, uint64_t *state, uint64_t threshold, float scale);

/// x ← x · σ(x) (SiLU, "swish"), with the exp above.
void nk_silu(float *x, size_t count);

/// x ← σ(x) = 1 / (1 + e⁻ˣ).
void nk_sigmoid(float *x, size_t count);

/// Floats of scratch `nk_depthwise_conv2d` needs for one input channel of this geometry.
size_t nk_depthwise_scratch_count(size_t out_h, size_t out_w, size_t kernel_h, size_t kernel_w,
                                  size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w);

/// Depthwise 2-D convolution of one image: input [channels, height, width], weight
/// [channels · multiplier, 1, kernel_h, kernel_w] (PyTorch's layout; output channel o reads
/// input channel o / multiplier), bias [channels · multiplier] or NULL, zero padding of
/// pad_top / pad_left before the first row / column (the bottom and right follow from the
/// output size). Writes every value of output [channels · multiplier, out_h, out_w].
/// Each channel is padded into `scratch` (`nk_depthwise_scratch_count` floats) once, split
/// into stride phases, so that every tap is one contiguous run and the output accumulates in
/// SIMD registers. Fused for EfficientNet's blocks: with `silu_input`, SiLU is applied to the
/// input as it is read; with `silu_output`, to the output; a non-NULL `output_means`
/// [channels · multiplier] receives each output channel's mean (squeeze-and-excitation's
/// pooling), all without another pass over memory.
void nk_depthwise_conv2d(const float *input, size_t channels, size_t height, size_t width,
                         const float *weight, const float *bias, size_t multiplier,
                         size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w,
                         size_t dilation_h, size_t dilation_w, ptrdiff_t pad_top, ptrdiff_t pad_left,
                         float *output, size_t out_h, size_t out_w, float *scratch,
                         int silu_input, int silu_output, float *output_means);

/// Element-wise exp and erf into `y` (for tests of the approximations).
void nk_exp(const float *x, float *y, size_t count);
void nk_erf(const float *x, float *y, size_t count);

/// y ← x rounded to BF16 (nearest even; NaN kept), the inputs of oneDNN's BF16 products: with
/// AVX512_BF16's conversion instruction where the CPU has it (subnormal inputs to zero, as
/// oneDNN's own conversion there), `nk_f32_to_bf16_reference` otherwise.
void nk_f32_to_bf16(const float *x, uint16_t *y, size_t count);

/// The portable rounding of `nk_f32_to_bf16`.
void nk_f32_to_bf16_reference(const float *x, uint16_t *y, size_t count);

#endif

// glibc's malloc_trim(0): returns the heap's free pages to the kernel, wherever they lie
// (malloc.h is not part of Swift's Glibc module). Returns 1 when memory was released.
int nk_release_free_heap(void);
