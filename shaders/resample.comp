#version 450
// duet — layout ops that move elements without arithmetic (KIND): 0 UPSAMPLE_NEAREST (repeat
// each element f0, f1, f2 times along dims 0..2), 1 PIXEL_UNSHUFFLE and 2 PIXEL_SHUFFLE (Wan2.2
// patchify and its inverse: channel c r r + rw r + rh of the small tensor holds pixel
// (rw, rh) of each r x r patch of channel c). One invocation per dst element; x and dst are
// contiguous.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint KIND = 0;

layout(binding = 0) writeonly buffer Dst { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };

layout(push_constant) uniform PC {
    uint od0, od1, od2, od3;  // dst dims 0..3 (dim 4 follows from n)
    uint xd0, xd1, xd2, xd3;  // x dims 0..3
    uint f0, f1, f2;          // upsample factors; f0 = r for the shuffles
    uint xoff, doff, n;
} pc;

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint i0 = idx % pc.od0, r = idx / pc.od0;
    uint i1 = r % pc.od1; r /= pc.od1;
    uint i2 = r % pc.od2; r /= pc.od2;
    uint i3 = r % pc.od3, i4 = r / pc.od3;
    uint j0, j1, j2, j3;
    if (KIND == 0u) {
        j0 = i0 / pc.f0; j1 = i1 / pc.f1; j2 = i2 / pc.f2; j3 = i3;
    } else if (KIND == 1u) {  // dst [W, H, T, C r r] <- x [W r, H r, T, C]
        uint rr = pc.f0, c = i3 / (rr * rr), rem = i3 % (rr * rr);
        j0 = i0 * rr + rem / rr; j1 = i1 * rr + rem % rr; j2 = i2; j3 = c;
    } else {                  // dst [W r, H r, T, C] <- x [W, H, T, C r r]
        uint rr = pc.f0;
        j0 = i0 / rr; j1 = i1 / rr; j2 = i2; j3 = i3 * rr * rr + (i0 % rr) * rr + (i1 % rr);
    }
    uint xi = j0 + pc.xd0 * (j1 + pc.xd1 * (j2 + pc.xd2 * (j3 + pc.xd3 * i4)));
    d[pc.doff + idx] = x[pc.xoff + xi];
}
