#version 450
// duet — ATTENTION, flash style (Dao et al., FlashAttention): softmax(q k^T * scale + bias) v
// without materializing the Lq x Lk score matrix. One workgroup per (block of BQ queries,
// head, batch); K and V stream through shared memory in tiles of BKV keys; each query row
// keeps a running maximum m, running sum l and an output accumulator rescaled by
// exp(m_old - m_new) whenever the maximum grows (online softmax). 128 threads: 8 per query
// row, each holding D_MAX / 8 output elements. Sizes come as specialization constants so
// the host can fit the shared-memory budget (BKV shrinks as D grows).
//   q [D, H, Lq, B], k/v [D, H, Lk, B] with contiguous rows and any outer strides,
//   bias [Lk, Lq, H] (broadcast over B) or none, dst [D, H, Lq, B] contiguous.
#include "common.glsl"

layout(local_size_x = 128) in;
layout(constant_id = 0) const uint D_MAX = 64;  // >= D, multiple of 8
layout(constant_id = 1) const uint BKV = 32;    // keys per tile, multiple of 8
layout(constant_id = 2) const uint HAS_BIAS = 0;

#define BQ 16u
#define LANES 8u
#define DS (D_MAX + 1u)  // padded row stride in shared memory (avoids bank conflicts)

layout(binding = 0) writeonly buffer Dst { float dst[]; };
layout(binding = 1) readonly buffer Q { float q[]; };
layout(binding = 2) readonly buffer K { float k[]; };
layout(binding = 3) readonly buffer V { float v[]; };
layout(binding = 4) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform PC {
    uint D, H, Lq, Lk;
    uint qs1, qs2, qs3;
    uint ks1, ks2, ks3;
    uint vs1, vs2, vs3;
    uint qoff, koff, voff, boff, doff;
    float scale;
} pc;

shared float qsh[BQ * DS];
shared float kvsh[BKV * DS];
shared float psh[BQ * BKV];
shared float redm[128];
shared float reds[128];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint row = t / LANES, lane = t % LANES;
    uint q0 = gl_WorkGroupID.x * BQ, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    uint D = pc.D;
    const uint NO = D_MAX / LANES;
    const uint NC = BKV / LANES;

    for (uint e = t; e < BQ * D; e += 128u) {
        uint r = e / D, dd = e % D, qi = q0 + r;
        uint gi = pc.qoff + dd + h * pc.qs1 + qi * pc.qs2 + b * pc.qs3;
        qsh[r * DS + dd] = qi < pc.Lq ? q[gi] : 0.0;
    }
    float o[NO];
    [[unroll]] for (uint i = 0u; i < NO; i++) o[i] = 0.0;
    float m = -1.0 / 0.0, l = 0.0;
    uint qi = q0 + row;
    uint brow = pc.boff + pc.Lk * (min(qi, pc.Lq - 1u) + pc.Lq * h);

    for (uint j0 = 0u; j0 < pc.Lk; j0 += BKV) {
        barrier();  // previous tile's V (and psh) fully consumed; qsh written
        for (uint e = t; e < BKV * D; e += 128u) {
            uint j = e / D, dd = e % D, kj = j0 + j;
            uint gi = pc.koff + dd + h * pc.ks1 + kj * pc.ks2 + b * pc.ks3;
            kvsh[j * DS + dd] = kj < pc.Lk ? k[gi] : 0.0;
        }
        barrier();
        float s[NC];
        float mloc = -1.0 / 0.0;
        [[unroll]] for (uint u = 0u; u < NC; u++) {
            uint c = lane + LANES * u, kj = j0 + c;
            float acc = 0.0;
            for (uint dd = 0u; dd < D; dd++) acc += qsh[row * DS + dd] * kvsh[c * DS + dd];
            acc *= pc.scale;
            if (HAS_BIAS != 0u && kj < pc.Lk) acc += bias[brow + kj];
            s[u] = kj < pc.Lk ? acc : -1.0 / 0.0;
            mloc = max(mloc, s[u]);
        }
        redm[t] = mloc;
        barrier();
        float mrow = m;
        [[unroll]] for (uint i = 0u; i < LANES; i++) mrow = max(mrow, redm[row * LANES + i]);
        // A row whose scores are all -inf so far has nothing to rescale and adds nothing.
        float alpha = mrow == -1.0 / 0.0 ? 1.0 : exp(m - mrow);
        float sloc = 0.0;
        [[unroll]] for (uint u = 0u; u < NC; u++) {
            float p = mrow == -1.0 / 0.0 ? 0.0 : exp(s[u] - mrow);
            psh[row * BKV + lane + LANES * u] = p;
            sloc += p;
        }
        reds[t] = sloc;
        barrier();  // psh and reds complete; everyone is done reading K from kvsh
        float srow = 0.0;
        [[unroll]] for (uint i = 0u; i < LANES; i++) srow += reds[row * LANES + i];
        l = l * alpha + srow;
        m = mrow;
        for (uint e = t; e < BKV * D; e += 128u) {
            uint j = e / D, dd = e % D, kj = j0 + j;
            uint gi = pc.voff + dd + h * pc.vs1 + kj * pc.vs2 + b * pc.vs3;
            kvsh[j * DS + dd] = kj < pc.Lk ? v[gi] : 0.0;
        }
        barrier();
        [[unroll]] for (uint i = 0u; i < NO; i++) {
            uint dd = lane + LANES * i;
            if (dd >= D) break;
            float acc = o[i] * alpha;
            for (uint c = 0u; c < BKV; c++) acc += psh[row * BKV + c] * kvsh[c * DS + dd];
            o[i] = acc;
        }
    }
    if (qi >= pc.Lq) return;
    float inv = 1.0 / l;
    uint obase = pc.doff + D * (h + pc.H * (qi + pc.Lq * b));
    [[unroll]] for (uint i = 0u; i < NO; i++) {
        uint dd = lane + LANES * i;
        if (dd < D) dst[obase + dd] = o[i] * inv;
    }
}
