#version 450
// duet — row-wise ops over ne[0]: LAYERNORM (two-pass mean and variance), RMSNORM, SOFTMAX
// (of src0 * scale, max-subtracted). One workgroup per row; each thread strides over the
// row and a shared-memory tree combines the partial sums/maxima. src0 rows are contiguous
// with any outer strides; dst is contiguous and may be src0 (in place: every thread reads
// its elements in each pass before the last pass writes them).
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;  // 0 layernorm, 1 rmsnorm, 2 softmax
layout(constant_id = 1) const uint HAS_W = 0;
layout(constant_id = 2) const uint HAS_B = 0;

layout(binding = 0) buffer D { float d[]; };
layout(binding = 1) readonly buffer S { float s[]; };
layout(binding = 2) readonly buffer W { float w[]; };
layout(binding = 3) readonly buffer B { float b[]; };

layout(push_constant) uniform PC {
    uint ne0, ne1, ne2, ne3;  // ne4 follows from nrows
    uint nb1, nb2, nb3, nb4;  // src row strides in elements
    uint doff, soff, woff, boff;
    uint nrows;
    float f0;  // eps (norms) or scale (softmax)
} pc;

shared float red[256];

float reduce_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    [[unroll]] for (uint h = 128u; h > 0u; h >>= 1) {
        if (t < h) red[t] += red[t + h];
        barrier();
    }
    float r = red[0];
    barrier();  // red is reused by the next reduction
    return r;
}

float reduce_max(float v) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    [[unroll]] for (uint h = 128u; h > 0u; h >>= 1) {
        if (t < h) red[t] = max(red[t], red[t + h]);
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    uint row = flat_workgroup();
    if (row >= pc.nrows) return;  // uniform per workgroup: barriers stay legal
    uint r = row;
    uint i1 = r % pc.ne1; r /= pc.ne1;
    uint i2 = r % pc.ne2; r /= pc.ne2;
    uint i3 = r % pc.ne3; r /= pc.ne3;
    uint src = pc.soff + i1 * pc.nb1 + i2 * pc.nb2 + i3 * pc.nb3 + r * pc.nb4;
    uint dst = pc.doff + row * pc.ne0;
    uint t = gl_LocalInvocationID.x, n = pc.ne0;

    if (OP == 2u) {
        float m = -1.0 / 0.0;
        for (uint i = t; i < n; i += 256u) m = max(m, s[src + i] * pc.f0);
        m = reduce_max(m);
        float acc = 0.0;
        for (uint i = t; i < n; i += 256u) acc += exp(s[src + i] * pc.f0 - m);
        float inv = 1.0 / reduce_sum(acc);
        for (uint i = t; i < n; i += 256u) d[dst + i] = exp(s[src + i] * pc.f0 - m) * inv;
        return;
    }
    float mean = 0.0;
    if (OP == 0u) {
        float acc = 0.0;
        for (uint i = t; i < n; i += 256u) acc += s[src + i];
        mean = reduce_sum(acc) / float(n);
    }
    float acc2 = 0.0;
    for (uint i = t; i < n; i += 256u) {
        float x = s[src + i] - mean;
        acc2 += x * x;
    }
    float rstd = inversesqrt(reduce_sum(acc2) / float(n) + pc.f0);
    for (uint i = t; i < n; i += 256u) {
        float y = (s[src + i] - mean) * rstd;
        if (HAS_W != 0u) y *= w[pc.woff + i];
        if (HAS_B != 0u) y += b[pc.boff + i];
        d[dst + i] = y;
    }
}
