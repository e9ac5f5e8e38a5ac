/* duet — the op set. Model code builds its forward passes from these calls; each validates its
 * arguments (logging what is wrong, naming tensors and shapes) and hands a duet_op to the
 * backend that owns the tensors. Ops are recorded in order; results are visible to later ops
 * and to duet_tensor_download. All tensors of one op must live on the same backend.
 *
 * Layout conventions (PyTorch's, innermost dimension first in ne[]):
 *   linear activations   [features, tokens, batch...]
 *   attention q/k/v      [head_dim, heads, tokens, batch]
 *   conv1d               [length, channels, batch]
 *   conv2d               [width, height, channels, batch]
 *   conv3d               [width, height, frames, channels]
 * Dtypes: results are f32 (COPY may write f16/bf16). Weight operands (matmul w, conv
 * weights, get_rows table) may be f32, f16 or bf16 and are accumulated in f32; all other
 * operands are f32; ids are i32.
 * Strides: elementwise ops and COPY take any source strides; row-wise ops (norms, softmax,
 * rope, matmul, attention) need nb[0] == element size and take any outer strides; conv,
 * upsample, shuffle, snake and get_rows need contiguous sources. dst must be contiguous except
 * for COPY. Elementwise ops, ROPE, norms and softmax may run in place (dst == src0, same
 * offset and strides). */
#ifndef DUET_OPS_H
#define DUET_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

typedef enum {
    DUET_OP_COPY = 0,        /* dst = src0 (any strides, dtype conversion) */
    DUET_OP_MATMUL,          /* dst = src0 . src1^T (+ src2) */
    DUET_OP_ADD,             /* dst = src0 + src1 (src1 broadcast) */
    DUET_OP_MUL,             /* dst = src0 * src1 (src1 broadcast) */
    DUET_OP_AFFINE,          /* dst = src0 * src1 + src2 (broadcast; src1/src2 optional) */
    DUET_OP_SCALE,           /* dst = src0 * f[0] + f[1] */
    DUET_OP_MODULATE,        /* dst = src0 * (1 + src1) + src2 (broadcast) */
    DUET_OP_GATED_ADD,       /* dst = src0 + src1 * src2 (src2 broadcast) */
    DUET_OP_LAYERNORM,       /* over ne[0]; src1 weight, src2 bias optional; f[0] eps */
    DUET_OP_RMSNORM,         /* over ne[0]; src1 weight optional; f[0] eps */
    DUET_OP_UNARY,           /* dst = fn(src0), i[0] = duet_unary_fn */
    DUET_OP_SWIGLU,          /* dst = silu(src0) * src1 */
    DUET_OP_SOFTMAX,         /* over ne[0] of src0 * f[0] */
    DUET_OP_ROPE,            /* rotate adjacent pairs of src0 by the cos/sin table src1 */
    DUET_OP_ATTENTION,       /* softmax(q k^T * f[0] + bias) v; src = q, k, v, bias? */
    DUET_OP_CONV1D,          /* i = stride, pad, dilation */
    DUET_OP_CONV_TRANSPOSE1D,/* i = stride, pad, output_padding */
    DUET_OP_CONV2D,          /* i = stride_w, stride_h, pad_left, pad_right, pad_top, pad_bottom */
    DUET_OP_CONV3D,          /* i = stride_w, stride_h, stride_t, pad_w, pad_h, pad_t_front */
    DUET_OP_UPSAMPLE_NEAREST,/* i = factor per dim 0, 1, 2 */
    DUET_OP_PIXEL_UNSHUFFLE, /* i[0] = factor r */
    DUET_OP_PIXEL_SHUFFLE,   /* i[0] = factor r */
    DUET_OP_SNAKE_BETA,      /* i[0] = 1 if alpha/beta are stored as logs */
    DUET_OP_GET_ROWS,        /* dst[:, n] = table[:, ids[n]] */
    DUET_OP_COUNT
} duet_op_kind;

typedef enum {
    DUET_UNARY_GELU_TANH = 0,
    DUET_UNARY_GELU_ERF = 1,
    DUET_UNARY_SILU = 2,
    DUET_UNARY_TANH = 3,
    DUET_UNARY_EXP = 4,
    DUET_UNARY_FN_COUNT = 5,
} duet_unary_fn;

#define DUET_OP_MAX_SRC 5
#define DUET_OP_MAX_I 8
#define DUET_OP_MAX_F 4

typedef struct duet_op {
    duet_op_kind kind;
    duet_tensor *dst;
    const duet_tensor *src[DUET_OP_MAX_SRC];
    int32_t i[DUET_OP_MAX_I];
    float f[DUET_OP_MAX_F];
} duet_op;

const char *duet_op_name(duet_op_kind k);

/* Every function below returns DUET_OK, DUET_ERR_INVALID_ARG (shapes/dtypes/strides do not
 * fit; logged with the tensors' names and shapes), DUET_ERR_UNSUPPORTED (the backend lacks the
 * op for these dtypes) or a backend error. None is thread-safe on one backend. */

/* Copy with any strides on both sides; dst and src have the same element count per dim.
 * Converts dtype (f32/f16/bf16). */
duet_status duet_copy(duet_tensor *dst, const duet_tensor *src);
/* Concatenate a and b along `dim` into dst (two copies into views of dst). */
duet_status duet_concat(duet_arena *scratch, duet_tensor *dst, const duet_tensor *a,
                        const duet_tensor *b, int dim);

/* x [K, M, B2, B3]; w [K, N, B2|1, B3|1] (PyTorch Linear weight), or with w_transposed
 * w [N, K, B2|1, B3|1]; bias [N] or NULL; dst [N, M, B2, B3]. */
duet_status duet_matmul(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, bool w_transposed);

/* Broadcasting: each dim of the second operand equals the first's or is 1. */
duet_status duet_add(duet_tensor *dst, const duet_tensor *a, const duet_tensor *b);
duet_status duet_mul(duet_tensor *dst, const duet_tensor *a, const duet_tensor *b);
duet_status duet_affine(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *b);
duet_status duet_scale(duet_tensor *dst, const duet_tensor *x, float scale, float bias);
duet_status duet_modulate(duet_tensor *dst, const duet_tensor *x, const duet_tensor *scale,
                          const duet_tensor *shift);
duet_status duet_gated_add(duet_tensor *dst, const duet_tensor *x, const duet_tensor *y,
                           const duet_tensor *gate);

/* Normalize each row (ne[0] elements). w and b are [ne0] or NULL. */
duet_status duet_layernorm(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                           const duet_tensor *b, float eps);
duet_status duet_rmsnorm(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                         float eps);

duet_status duet_unary(duet_tensor *dst, const duet_tensor *x, duet_unary_fn fn);
duet_status duet_swiglu(duet_tensor *dst, const duet_tensor *gate, const duet_tensor *up);
duet_status duet_softmax(duet_tensor *dst, const duet_tensor *x, float scale);

/* x [D, H, L, B]; table [D, L] f32 holding (cos, sin) for each of the D/2 adjacent pairs:
 * table[2j, l] = cos, table[2j+1, l] = sin. Pair j of token l becomes
 * (x0 cos - x1 sin, x0 sin + x1 cos). A pair that must not rotate has cos 1, sin 0; the
 * table builders in core/rope.h make 3-D split, scaled 1-D and partial tables. */
duet_status duet_rope(duet_tensor *dst, const duet_tensor *x, const duet_tensor *table);

/* q [D, H, Lq, B], k and v [D, H, Lk, B], bias [Lk, Lq, H] f32 or NULL (added to the
 * scaled scores; broadcast over B); dst [D, H, Lq, B]. */
duet_status duet_attention(duet_tensor *dst, const duet_tensor *q, const duet_tensor *k,
                           const duet_tensor *v, const duet_tensor *bias, float scale);

/* x [L, Cin, B]; w [K, Cin, Cout]; bias [Cout] or NULL; dst [Lout, Cout, B] with
 * Lout = (L + 2 pad - dilation (K - 1) - 1) / stride + 1. Zero padding. */
duet_status duet_conv1d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, int stride, int pad, int dilation);
/* x [L, Cin, B]; w [K, Cout, Cin] (PyTorch ConvTranspose1d [Cin, Cout, K]); dst [Lout, Cout, B]
 * with Lout = (L - 1) stride - 2 pad + K + output_padding. */
duet_status duet_conv_transpose1d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                                  const duet_tensor *bias, int stride, int pad,
                                  int output_padding);
/* x [W, H, Cin, B]; w [kw, kh, Cin, Cout]; pad = {left, right, top, bottom} (zeros). */
duet_status duet_conv2d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, int stride_w, int stride_h, const int pad[4]);
/* Causal 3-D convolution. x [W, H, T, Cin]; w [kw, kh, kt, Cin, Cout]; bias [Cout] or NULL.
 * In time, the input is preceded by `cache` [W, H, Tc, Cin] (the last frames of the previous
 * chunk) when given, else by pad_t_front zero frames; nothing is padded behind. Spatial
 * padding pad_w, pad_h on both sides (zeros). dst [Wo, Ho, To, Cout]. */
duet_status duet_conv3d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, const duet_tensor *cache, const int stride[3],
                        int pad_w, int pad_h, int pad_t_front);

/* Repeat each element factor[d] times along dims 0..2. */
duet_status duet_upsample_nearest(duet_tensor *dst, const duet_tensor *x, const int factor[3]);
/* Wan2.2 patchify: x [W r, H r, T, C] -> dst [W, H, T, C r r]; output channel
 * c r r + rw r + rh takes the pixel at offset (rw, rh) inside each r x r patch
 * ("b c f (h q) (w r) -> b (c r q) f h w"). pixel_shuffle is its inverse. */
duet_status duet_pixel_unshuffle(duet_tensor *dst, const duet_tensor *x, int r);
duet_status duet_pixel_shuffle(duet_tensor *dst, const duet_tensor *x, int r);

/* BigVGAN SnakeBeta: x [L, C, B]; alpha, beta [C]; y = x + sin^2(a x) / (b + 1e-9) where
 * a = exp(alpha), b = exp(beta) if log_scale, else alpha, beta as given. */
duet_status duet_snake_beta(duet_tensor *dst, const duet_tensor *x, const duet_tensor *alpha,
                            const duet_tensor *beta, bool log_scale);

/* table [D, V] (f32/f16/bf16); ids [N] i32 in [0, V) (out of range: zeros); dst [D, N]. */
duet_status duet_get_rows(duet_tensor *dst, const duet_tensor *table, const duet_tensor *ids);

#endif
