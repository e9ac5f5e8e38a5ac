#version 450
// duet — direct convolutions (KIND): 0 CONV1D, 1 CONV_TRANSPOSE1D, 2 CONV2D, 3 causal CONV3D,
// with the layouts and output sizes of core/ops.h (PyTorch's Conv1d/ConvTranspose1d/Conv2d and
// Wan's causal Conv3d with a frame cache). One invocation per output element sums over input
// channels and kernel taps; zero padding is skipped rather than read. w may be f32/f16/bf16
// (W_T); x, bias, cache and dst are contiguous f32.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint KIND = 0;
layout(constant_id = 1) const uint W_T = DT_F32;
layout(constant_id = 2) const uint HAS_BIAS = 0;
layout(constant_id = 3) const uint HAS_CACHE = 0;

layout(binding = 0) writeonly buffer Dst { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };
DECL_BUF(2, w, readonly)
layout(binding = 3) readonly buffer Bias { float bias[]; };
layout(binding = 4) readonly buffer Cache { float cache[]; };

layout(push_constant) uniform PC {
    uint od0, od1, od2, od3;   // dst dims (innermost first)
    uint id0, id1, id2, id3;   // x dims
    uint k0, k1, k2;           // kernel taps per spatial dim
    uint s0, s1, s2;           // strides
    uint p0, p1, p2;           // leading pads (conv3d: pad_w, pad_h, front frames)
    uint dil;                  // conv1d dilation
    uint cin, tc;              // input channels, cache frames (conv3d)
    uint xoff, woff, boff, doff, coff;
    uint n;                    // dst elements
} pc;

float conv1d(uint lo, uint co, uint b) {
    float acc = 0.0;
    uint L = pc.id0;
    for (uint ci = 0u; ci < pc.cin; ci++) {
        uint xb = pc.xoff + L * (ci + pc.cin * b);
        uint wb = pc.woff + pc.k0 * (ci + pc.cin * co);
        for (uint k = 0u; k < pc.k0; k++) {
            int li = int(lo * pc.s0 + k * pc.dil) - int(pc.p0);
            if (li < 0 || li >= int(L)) continue;
            uint wi = wb + k;
            acc += x[xb + uint(li)] * LOAD_F(w, wi, W_T);
        }
    }
    return acc;
}

float conv_transpose1d(uint lo, uint co, uint b) {
    float acc = 0.0;
    uint L = pc.id0, cout = pc.od1;
    for (uint k = 0u; k < pc.k0; k++) {
        int num = int(lo + pc.p0) - int(k);  // = li * stride
        if (num < 0 || num % int(pc.s0) != 0) continue;
        uint li = uint(num) / pc.s0;
        if (li >= L) continue;
        for (uint ci = 0u; ci < pc.cin; ci++) {
            uint wi = pc.woff + k + pc.k0 * (co + cout * ci);
            acc += x[pc.xoff + li + L * (ci + pc.cin * b)] * LOAD_F(w, wi, W_T);
        }
    }
    return acc;
}

float conv2d(uint wo, uint ho, uint co, uint b) {
    float acc = 0.0;
    uint W = pc.id0, H = pc.id1;
    for (uint ci = 0u; ci < pc.cin; ci++) {
        uint xb = pc.xoff + W * H * (ci + pc.cin * b);
        uint wb = pc.woff + pc.k0 * pc.k1 * (ci + pc.cin * co);
        for (uint ky = 0u; ky < pc.k1; ky++) {
            int yi = int(ho * pc.s1 + ky) - int(pc.p1);
            if (yi < 0 || yi >= int(H)) continue;
            for (uint kx = 0u; kx < pc.k0; kx++) {
                int xi = int(wo * pc.s0 + kx) - int(pc.p0);
                if (xi < 0 || xi >= int(W)) continue;
                uint wi = wb + kx + pc.k0 * ky;
                acc += x[xb + uint(xi) + W * uint(yi)] * LOAD_F(w, wi, W_T);
            }
        }
    }
    return acc;
}

// Frames before the input are the cache (when given) or zeros; pc.p2 counts them.
float conv3d(uint wo, uint ho, uint to, uint co) {
    float acc = 0.0;
    uint W = pc.id0, H = pc.id1, T = pc.id2;
    for (uint ci = 0u; ci < pc.cin; ci++) {
        uint wb = pc.woff + pc.k0 * pc.k1 * pc.k2 * (ci + pc.cin * co);
        for (uint kt = 0u; kt < pc.k2; kt++) {
            uint tv = to * pc.s2 + kt;
            bool from_cache = tv < pc.p2;
            if (from_cache && HAS_CACHE == 0u) continue;
            uint fb = from_cache ? pc.coff + W * H * (tv + pc.tc * ci)
                                 : pc.xoff + W * H * ((tv - pc.p2) + T * ci);
            for (uint ky = 0u; ky < pc.k1; ky++) {
                int yi = int(ho * pc.s1 + ky) - int(pc.p1);
                if (yi < 0 || yi >= int(H)) continue;
                for (uint kx = 0u; kx < pc.k0; kx++) {
                    int xi = int(wo * pc.s0 + kx) - int(pc.p0);
                    if (xi < 0 || xi >= int(W)) continue;
                    uint wi = wb + kx + pc.k0 * (ky + pc.k1 * kt);
                    uint ii = fb + uint(xi) + W * uint(yi);
                    float xv = from_cache ? cache[ii] : x[ii];
                    acc += xv * LOAD_F(w, wi, W_T);
                }
            }
        }
    }
    return acc;
}

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint i0 = idx % pc.od0, r = idx / pc.od0;
    uint i1 = r % pc.od1; r /= pc.od1;
    uint i2 = r % pc.od2, i3 = r / pc.od2;
    float acc;
    uint co;
    if (KIND == 0u) { acc = conv1d(i0, i1, i2); co = i1; }
    else if (KIND == 1u) { acc = conv_transpose1d(i0, i1, i2); co = i1; }
    else if (KIND == 2u) { acc = conv2d(i0, i1, i2, i3); co = i2; }
    else { acc = conv3d(i0, i1, i2, i3); co = i3; }
    if (HAS_BIAS != 0u) acc += bias[pc.boff + co];
    d[pc.doff + idx] = acc;
}
