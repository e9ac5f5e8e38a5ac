#version 450
// duet — SNAKE_BETA (BigVGAN's SnakeBeta activation): y = x + sin^2(a x) / (b + 1e-9) with
// per-channel a, b (exponentiated when LOG_SCALE). x [L, C, ...] and dst contiguous; one
// invocation per element.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint LOG_SCALE = 0;

layout(binding = 0) writeonly buffer Dst { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) readonly buffer A { float alpha[]; };
layout(binding = 3) readonly buffer B { float beta[]; };

layout(push_constant) uniform PC {
    uint L, C, n;
    uint xoff, aoff, boff, doff;
} pc;

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint c = (idx / pc.L) % pc.C;
    float a = alpha[pc.aoff + c], b = beta[pc.boff + c];
    if (LOG_SCALE != 0u) {
        a = exp(a);
        b = exp(b);
    }
    float v = x[pc.xoff + idx];
    float s = sin(a * v);
    d[pc.doff + idx] = v + s * s / (b + 1e-9);
}
