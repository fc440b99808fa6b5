#include "neural_kernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define NK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NK_CLONES
#endif

// erf as the odd/even rational approximation on [-4, 4] used by Eigen and XLA (beyond ±4,
// erf is ±1 in float32). Plain arithmetic only, so the loops below vectorise.
static inline float nk_erf1(float a) {
    float x = a < -4.0f ? -4.0f : (a > 4.0f ? 4.0f : a);
    float x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = x2 * p + -2.10102402082508e-06f;
    p = x2 * p + -5.69250639462346e-05f;
    p = x2 * p + -7.34990630326855e-04f;
    p = x2 * p + -2.95459980854025e-03f;
    p = x2 * p + -1.60960333262415e-02f;
    p = x * p;
    float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
    q = x2 * q + -1.68282697438203e-03f;
    q = x2 * q + -7.37332916720468e-03f;
    q = x2 * q + -1.42647390514189e-02f;
    return p / q;
}

// exp after Cephes' expf: n = round(x / ln 2) by the 1.5·2²³ trick, r = x − n·ln 2 in two
// parts, a degree-6 polynomial, 2ⁿ set in the exponent bits. 0 below -87.34 (no denormals).
static inline float nk_exp1(float input) {
    float x = input < -87.336544f ? -87.336544f : (input > 88.722839f ? 88.722839f : input);
    float shifted = x * 1.44269504f + 12582912.0f;
    float n = shifted - 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    int32_t integer = bits - 0x4B400000;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t scale_bits = (integer + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    float result = y * scale;
    return input < -87.336544f ? 0.0f : result;
}

// Sums and maxima with 16 independent accumulators: float addition is not associative, so
// a compiler may not vectorise a single running sum; these lanes it can.
#define NK_LANES 16

static inline float nk_sum(const float *x, size_t count) {
    float lanes[NK_LANES] = {0};
    size_t i = 0;
    for (; i + NK_LANES <= count; i += NK_LANES)
        for (size_t l = 0; l < NK_LANES; l++) lanes[l] += x[i + l];
    float sum = 0.0f;
    for (; i < count; i++) sum += x[i];
    for (size_t l = 0; l < NK_LANES; l++) sum += lanes[l];
    return sum;
}

static inline float nk_squared_deviation(const float *x, size_t count, float mean) {
    float lanes[NK_LANES] = {0};
    size_t i = 0;
    for (; i + NK_LANES <= count; i += NK_LANES)
        for (size_t l = 0; l < NK_LANES; l++) {
            float d = x[i + l] - mean;
            lanes[l] += d * d;
        }
    float sum = 0.0f;
    for (; i < count; i++) sum += (x[i] - mean) * (x[i] - mean);
    for (size_t l = 0; l < NK_LANES; l++) sum += lanes[l];
    return sum;
}

static inline float nk_max(const float *x, size_t count) {
    float lanes[NK_LANES];
    for (size_t l = 0; l < NK_LANES; l++) lanes[l] = -__builtin_inff();
    size_t i = 0;
    for (; i + NK_LANES <= count; i += NK_LANES)
        for (size_t l = 0; l < NK_LANES; l++) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
    float largest = -__builtin_inff();
    for (; i < count; i++) largest = x[i] > largest ? x[i] : largest;
    for (size_t l = 0; l < NK_LANES; l++) largest = lanes[l] > largest ? lanes[l] : largest;
    return largest;
}

NK_CLONES void nk_gelu(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + nk_erf1(v * 0.70710678118654752f));
    }
}

NK_CLONES void nk_softmax_rows(float *x, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        float largest = nk_max(row, width);
        if (largest == -__builtin_inff()) {  // every entry masked: no distribution, zeros not NaN
            for (size_t i = 0; i < width; i++) row[i] = 0.0f;
            continue;
        }
        for (size_t i = 0; i < width; i++) row[i] = nk_exp1(row[i] - largest);
        float inverse = 1.0f / nk_sum(row, width);
        for (size_t i = 0; i < width; i++) row[i] *= inverse;
    }
}

NK_CLONES void nk_layer_norm_rows(float *x, size_t rows, size_t width, const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        float mean = nk_sum(row, width) / (float)width;
        float squares = nk_squared_deviation(row, width, mean);
        float inverse = 1.0f / __builtin_sqrtf(squares / (float)width + eps);
        for (size_t i = 0; i < width; i++) row[i] = (row[i] - mean) * inverse * gamma[i] + beta[i];
    }
}

NK_CLONES void nk_exp(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = nk_exp1(x[i]);
}

NK_CLONES void nk_erf(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = nk_erf1(x[i]);
}

NK_CLONES void nk_adam(float *restrict value, const float *restrict gradient, float *restrict m, float *restrict v, size_t count,
                       float learning_rate, float beta1, float beta2, float epsilon, float weight_decay,
                       float correction1, float correction2) {
    // The bias corrections as one scale and one reciprocal: three divisions an element were
    // the loop's bound (4.1 ms for 3.8 M parameters, 2.7 ms without two of them; the last
    // bits of the update may differ from dividing). The gradient is only read: the caller
    // marks it as zeros for the next step rather than this loop writing them (a quarter of the
    // stores of a loop bound by memory). A null gradient is zero: weight decay alone.
    const float step = learning_rate / correction1, inverse2 = 1.0f / correction2;
    if (gradient) {
        for (size_t i = 0; i < count; i++) {
            float g = gradient[i] + weight_decay * value[i];
            float mi = beta1 * m[i] + (1.0f - beta1) * g;
            float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            value[i] -= step * mi / (__builtin_sqrtf(vi * inverse2) + epsilon);
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            float g = weight_decay * value[i];
            float mi = beta1 * m[i] + (1.0f - beta1) * g;
            float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            value[i] -= step * mi / (__builtin_sqrtf(vi * inverse2) + epsilon);
        }
    }
}

// Swift's `max(x, 0)` over an array stayed scalar: ReLU's forward pass was 4 % of training's
// time. The same comparison as Swift's `max` (0 >= x ? 0 : x), so a NaN stays NaN and −0
// becomes +0, as before.
NK_CLONES void nk_relu(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] = 0.0f >= x[i] ? 0.0f : x[i];
}

// Swift cannot tell that a node's gradient and its input's are distinct arrays, so its loops
// stayed scalar and branchy (ReLU's backward alone was 5 % of training's time).
NK_CLONES void nk_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

NK_CLONES void nk_multiply_add(float *restrict dx, const float *restrict dy, const float *restrict m, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] += dy[i] * m[i];
}

// SplitMix64 is a counter: the i-th value after state s is mix(s + i·γ), so the draws do not
// depend on one another and the loop vectorises (the generator was a sequential Swift loop, 6 %
// of structure 2's training time). The same values as NeuralKit's SplitMix64, in order.
NK_CLONES void nk_dropout(const float *restrict x, float *restrict y, float *restrict mask, size_t count, uint64_t *state,
                          uint64_t threshold, float scale) {
    const uint64_t gamma = 0x9E3779B97F4A7C15ull, start = *state;
    for (size_t i = 0; i < count; i++) {
        uint64_t z = start + (uint64_t)(i + 1) * gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        float m = (z & 0xFFFFFFull) >= threshold ? scale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
    *state = start + (uint64_t)count * gamma;
}

static inline float nk_silu1(float x) { return x / (1.0f + nk_exp1(-x)); }

NK_CLONES void nk_silu(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] = nk_silu1(x[i]);
}

NK_CLONES void nk_sigmoid(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] = 1.0f / (1.0f + nk_exp1(-x[i]));
}

// Depthwise convolution, per channel: the zero-padded input is split into stride phases
// (row mod stride_h, column mod stride_w), each phase plane Q columns wide, Q being the output
// width plus the kernel's reach in that phase. Output (oy, ox), computed at flat index
// q = oy·Q + ox, then reads tap (i, j) at a fixed offset from q in one phase plane, so each tap
// is one contiguous run over the whole plane, whatever the stride; the Q − out_w columns past
// each row's end are computed and dropped. Runs of NK_DW_RUN outputs accumulate every tap in
// registers before one store.
#define NK_DW_RUN 64

typedef struct {
    size_t rows, columns;     // R, Q of a phase plane holding data
    size_t length, padded;    // out_h·Q, rounded up to a whole run
    size_t plane;             // floats per phase plane, with room for the last run's reads
} nk_dw_layout;

static inline nk_dw_layout nk_dw_layout_of(size_t out_h, size_t out_w, size_t kernel_h, size_t kernel_w,
                                           size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w) {
    nk_dw_layout l;
    l.rows = out_h + (kernel_h - 1) * dilation_h / stride_h;
    l.columns = out_w + (kernel_w - 1) * dilation_w / stride_w;
    l.length = out_h * l.columns;
    l.padded = (l.length + NK_DW_RUN - 1) / NK_DW_RUN * NK_DW_RUN;
    size_t reach = (kernel_h - 1) * dilation_h / stride_h * l.columns + (kernel_w - 1) * dilation_w / stride_w;
    l.plane = reach + l.padded;
    return l;
}

size_t nk_depthwise_scratch_count(size_t out_h, size_t out_w, size_t kernel_h, size_t kernel_w,
                                  size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w) {
    nk_dw_layout l = nk_dw_layout_of(out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w);
    return stride_h * stride_w * l.plane + l.padded;
}

// Phase plane (a, b) row r, column q ← padded input (r·stride_h + a, q·stride_w + b); zeros
// outside the image and past the data.
__attribute__((always_inline)) static inline void nk_dw_split(const float *image, size_t height, size_t width, ptrdiff_t pad_top, ptrdiff_t pad_left,
                               size_t stride_h, size_t stride_w, nk_dw_layout l, int silu, float *scratch) {
    for (size_t a = 0; a < stride_h; a++) {
        for (size_t b = 0; b < stride_w; b++) {
            float *plane = scratch + (a * stride_w + b) * l.plane;
            // Columns q whose input column q·s + b − pad_left lies inside [0, width).
            ptrdiff_t first = pad_left - (ptrdiff_t)b;
            size_t lo = first <= 0 ? 0 : (size_t)((first + (ptrdiff_t)stride_w - 1) / (ptrdiff_t)stride_w);
            ptrdiff_t end = (ptrdiff_t)width + pad_left - (ptrdiff_t)b;
            size_t hi = end <= 0 ? 0 : (size_t)((end + (ptrdiff_t)stride_w - 1) / (ptrdiff_t)stride_w);
            if (hi > l.columns) hi = l.columns;
            if (lo > hi) lo = hi;
            for (size_t r = 0; r < l.rows; r++) {
                float *line = plane + r * l.columns;
                ptrdiff_t iy = (ptrdiff_t)(r * stride_h + a) - pad_top;
                if (iy < 0 || iy >= (ptrdiff_t)height) {
                    for (size_t q = 0; q < l.columns; q++) line[q] = 0.0f;
                    continue;
                }
                const float *source = image + (size_t)iy * width + (ptrdiff_t)b - pad_left;
                for (size_t q = 0; q < lo; q++) line[q] = 0.0f;
                if (stride_w == 1) {
                    memcpy(line + lo, source + lo, (hi - lo) * sizeof(float));
                } else if (stride_w == 2) {
                    for (size_t q = lo; q < hi; q++) line[q] = source[2 * q];
                } else {
                    for (size_t q = lo; q < hi; q++) line[q] = source[q * stride_w];
                }
                for (size_t q = hi; q < l.columns; q++) line[q] = 0.0f;
            }
            for (size_t q = l.rows * l.columns; q < l.plane; q++) plane[q] = 0.0f;
            // The activation of the layer before, over the whole plane in one run (SiLU(0) = 0
            // keeps the padding).
            if (silu) for (size_t q = 0; q < l.rows * l.columns; q++) plane[q] = nk_silu1(plane[q]);
        }
    }
}

NK_CLONES void nk_depthwise_conv2d(const float *input, size_t channels, size_t height, size_t width,
                                   const float *weight, const float *bias, size_t multiplier,
                                   size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w,
                                   size_t dilation_h, size_t dilation_w, ptrdiff_t pad_top, ptrdiff_t pad_left,
                                   float *output, size_t out_h, size_t out_w, float *scratch,
                                   int silu_input, int silu_output, float *output_means) {
    if (out_h == 0 || out_w == 0) return;
    nk_dw_layout l = nk_dw_layout_of(out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w);
    size_t taps = kernel_h * kernel_w;
    size_t offsets[taps];
    for (size_t i = 0; i < kernel_h; i++) {
        for (size_t j = 0; j < kernel_w; j++) {
            size_t y = i * dilation_h, x = j * dilation_w;
            offsets[i * kernel_w + j] = ((y % stride_h) * stride_w + x % stride_w) * l.plane + y / stride_h * l.columns + x / stride_w;
        }
    }
    float *flat = scratch + stride_h * stride_w * l.plane;
    for (size_t c = 0; c < channels; c++) {
        nk_dw_split(input + c * height * width, height, width, pad_top, pad_left, stride_h, stride_w, l, silu_input, scratch);
        for (size_t m = 0; m < multiplier; m++) {
            size_t oc = c * multiplier + m;
            const float *k = weight + oc * taps;
            float b = bias ? bias[oc] : 0.0f;
            for (size_t q = 0; q < l.padded; q += NK_DW_RUN) {
                float acc[NK_DW_RUN];
                for (size_t e = 0; e < NK_DW_RUN; e++) acc[e] = b;
                for (size_t t = 0; t < taps; t++) {
                    const float *source = scratch + offsets[t] + q;
                    float tap = k[t];
                    for (size_t e = 0; e < NK_DW_RUN; e++) acc[e] += tap * source[e];
                }
                for (size_t e = 0; e < NK_DW_RUN; e++) flat[q + e] = acc[e];
            }
            if (silu_output) for (size_t q = 0; q < l.length; q++) flat[q] = nk_silu1(flat[q]);
            float *destination = output + oc * out_h * out_w;
            if (l.columns == out_w) {
                memcpy(destination, flat, out_h * out_w * sizeof(float));
            } else {
                for (size_t oy = 0; oy < out_h; oy++) memcpy(destination + oy * out_w, flat + oy * l.columns, out_w * sizeof(float));
            }
            if (output_means) output_means[oc] = nk_sum(destination, out_h * out_w) / (float)(out_h * out_w);
        }
    }
}

#if defined(__GLIBC__)
#include <malloc.h>
int nk_release_free_heap(void) { return malloc_trim(0); }
#else
int nk_release_free_heap(void) { return 0; }
#endif

// F32 → BF16, rounding to nearest even; NaN stays NaN (quietened). The portable form, for
// CPUs without AVX512_BF16 (where merd does not run BF16 products) and for the tests.
void nk_f32_to_bf16_reference(const float *x, uint16_t *y, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        if ((bits & 0x7fffffffu) > 0x7f800000u) {
            y[i] = (uint16_t)((bits >> 16) | 0x0040u);
        } else {
            y[i] = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
        }
    }
}

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>

// vcvtne2ps2bf16: 32 values an instruction, the rounding of the portable form (the instruction
// takes subnormal inputs as zero, as oneDNN's own conversion on these CPUs does).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void nk_f32_to_bf16_avx512(const float *x, uint16_t *y, size_t count) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(y + i), (__m512i)pair);
    }
    for (; i < count; i += 16) {
        size_t left = count - i < 16 ? count - i : 16;
        __mmask16 mask = (__mmask16)((1u << left) - 1u);
        __m256bh half = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i));
        _mm256_mask_storeu_epi16((void *)(y + i), mask, (__m256i)half);
    }
}
#endif

void nk_f32_to_bf16(const float *x, uint16_t *y, size_t count) {
#if defined(__x86_64__) && defined(__linux__)
    if (__builtin_cpu_supports("avx512bf16")) {
        nk_f32_to_bf16_avx512(x, y, count);
        return;
    }
#endif
    nk_f32_to_bf16_reference(x, y, count);
}
