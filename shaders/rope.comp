#version 450
// duet — ROPE: rotate adjacent pairs (x0, x1) of each head vector by the (cos, sin) table
// [D, L]: (x0 cos - x1 sin, x0 sin + x1 cos). One invocation per pair. x [D, H, L, B]
// has contiguous rows and any outer strides; dst is contiguous and may be x (in place).
#include "common.glsl"

layout(local_size_x = 256) in;

layout(binding = 0) writeonly buffer D { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };
layout(binding = 2) readonly buffer T { float tab[]; };

layout(push_constant) uniform PC {
    uint half_d, h, l, b;      // pairs per row, heads, tokens, batch (ne4 from n)
    uint nb1, nb2, nb3, nb4;   // x strides in elements
    uint doff, xoff, toff;
    uint n;                    // total pairs
} pc;

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint r = idx;
    uint j = r % pc.half_d; r /= pc.half_d;
    uint ih = r % pc.h; r /= pc.h;
    uint il = r % pc.l; r /= pc.l;
    uint ib = r % pc.b; r /= pc.b;
    uint xi = pc.xoff + 2u * j + ih * pc.nb1 + il * pc.nb2 + ib * pc.nb3 + r * pc.nb4;
    uint ti = pc.toff + il * 2u * pc.half_d + 2u * j;
    float x0 = x[xi], x1 = x[xi + 1u];
    float c = tab[ti], s = tab[ti + 1u];
    uint di = pc.doff + 2u * idx;
    d[di] = x0 * c - x1 * s;
    d[di + 1u] = x0 * s + x1 * c;
}
