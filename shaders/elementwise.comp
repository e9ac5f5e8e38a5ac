#version 450
// duet — the elementwise family: ADD, MUL, AFFINE, SCALE, MODULATE, GATED_ADD, UNARY, SWIGLU
// (core/ops.h gives the formulas). src0 has dst's shape with any strides; src1/src2
// broadcast (the host passes stride 0 along their size-1 dims). dst is contiguous and may be
// src0 itself (in place): each invocation reads its element before writing it.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;        // vk_ops_elementwise.c: EW_*
layout(constant_id = 1) const uint UNARY_FN = 0;  // duet_unary_fn
layout(constant_id = 2) const uint HAS1 = 1;      // src1 present
layout(constant_id = 3) const uint HAS2 = 0;      // src2 present
layout(constant_id = 4) const uint N_DIMS = 5;    // dims left after the host folded them

#define EW_ADD 0u
#define EW_MUL 1u
#define EW_AFFINE 2u
#define EW_SCALE 3u
#define EW_MODULATE 4u
#define EW_GATED_ADD 5u
#define EW_UNARY 6u
#define EW_SWIGLU 7u

layout(binding = 0) writeonly buffer D { float d[]; };
layout(binding = 1) readonly buffer S0 { float s0[]; };
layout(binding = 2) readonly buffer S1 { float s1[]; };
layout(binding = 3) readonly buffer S2 { float s2[]; };

layout(push_constant) uniform PC {
    uint ne[5];
    uint nb0[5], nb1[5], nb2[5];  // source strides in elements (0 = broadcast)
    uint doff, off0, off1, off2;
    uint n;
    float f0, f1;
} pc;

float tanh_safe(float x) { return abs(x) < 10.0 ? tanh(x) : sign(x); }

// erfc with fractional error below 1.2e-7 everywhere (Chebyshev fit, Numerical Recipes 6.2).
float erf_approx(float x) {
    float z = abs(x), t = 1.0 / (1.0 + 0.5 * z);
    float p = -z * z - 1.26551223 +
              t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
              t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
              t * 0.17087277))))))));
    float erfc_z = t * exp(p);
    return x >= 0.0 ? 1.0 - erfc_z : erfc_z - 1.0;
}

float silu(float x) { return x / (1.0 + exp(-x)); }

float unary(float x) {
    if (UNARY_FN == 0u) {  // GELU, tanh approximation
        float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        return 0.5 * x * (1.0 + tanh_safe(u));
    }
    if (UNARY_FN == 1u) return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476));
    if (UNARY_FN == 2u) return silu(x);
    if (UNARY_FN == 3u) return tanh_safe(x);
    return exp(x);
}

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint r = idx, i0 = pc.off0, i1 = pc.off1, i2 = pc.off2;
    // Only the folded dims divide (integer division is slow), the outermost needs none.
    [[unroll]] for (uint k = 0u; k < N_DIMS; k++) {
        uint c = k + 1u < N_DIMS ? r % pc.ne[k] : r;
        r /= pc.ne[k];
        i0 += c * pc.nb0[k];
        i1 += c * pc.nb1[k];
        i2 += c * pc.nb2[k];
    }
    float a = s0[i0];
    float b = HAS1 != 0u ? s1[i1] : 0.0;
    float c = HAS2 != 0u ? s2[i2] : 0.0;
    float y;
    if (OP == EW_ADD) y = a + b;
    else if (OP == EW_MUL) y = a * b;
    else if (OP == EW_AFFINE) y = (HAS1 != 0u ? a * b : a) + c;
    else if (OP == EW_SCALE) y = a * pc.f0 + pc.f1;
    else if (OP == EW_MODULATE) y = a * (1.0 + b) + c;
    else if (OP == EW_GATED_ADD) y = a + b * c;
    else if (OP == EW_UNARY) y = unary(a);
    else y = silu(a) * b;
    d[pc.doff + idx] = y;
}
