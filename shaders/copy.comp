#version 450
// duet — COPY: dst = src with any strides on both sides and f32/f16/bf16 conversion (i32 and
// same-dtype copies move raw bits). One invocation per element; the host folds contiguous
// dimensions first so most copies index with few divisions. Mirrors core/cpu copy.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint SRC_T = DT_F32;
layout(constant_id = 1) const uint DST_T = DT_F32;
layout(constant_id = 2) const uint N_DIMS = 5;  // dims left after the host folded them

DECL_BUF(0, dst, )  // read too: atomics in the packed 16-bit path
DECL_BUF(1, src, readonly)

layout(push_constant) uniform PC {
    uint ne[5];   // elements per dim, innermost first
    uint dnb[5];  // dst strides in elements
    uint snb[5];  // src strides in elements
    uint doff, soff;  // element offsets inside the bound windows
    uint n;       // total elements
} pc;

void store16(uint i, uint bits) {
#if STORAGE16
    dst_16[i] = uint16_t(bits);
#else
    // Two invocations may own the halves of one word: each clears and sets only its half.
    uint sh = (i & 1u) << 4;
    atomicAnd(dst_32[i >> 1], ~(0xFFFFu << sh));
    atomicOr(dst_32[i >> 1], bits << sh);
#endif
}

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint r = idx, di = pc.doff, si = pc.soff;
    // Integer division is slow on GPUs (and scalar on CPUs): only the folded dims divide,
    // and the outermost needs none.
    [[unroll]] for (uint d = 0u; d < N_DIMS; d++) {
        uint c = d + 1u < N_DIMS ? r % pc.ne[d] : r;
        r /= pc.ne[d];
        di += c * pc.dnb[d];
        si += c * pc.snb[d];
    }
    if (SRC_T == DST_T) {
        if (SRC_T == DT_F32) dst_32[di] = src_32[si];
        else store16(di, BITS16(src, si));
        return;
    }
    float v = LOAD_F(src, si, SRC_T);
    if (DST_T == DT_F32) dst_32[di] = floatBitsToUint(v);
    else if (DST_T == DT_F16) store16(di, f32_to_f16_bits(v));
    else store16(di, f32_to_bf16_bits(v));
}
