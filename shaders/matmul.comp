#version 450
// duet — MATMUL, the portable path: dst[n, m] = sum_k x[k, m] w[k, n] (+ bias[n]) per batch,
// i.e. dst = x . w^T with PyTorch's Linear weight layout [N, K] (or [K, N] when TRANS).
// Classic shared-memory tiling: a 256-thread workgroup computes a 64 x 64 tile of dst, each
// thread a 4 x 4 register block of adjacent rows and columns (read from shared memory as one
// vec4 per operand and k), stepping through K in slices of 16 that the whole workgroup
// stages in shared memory. Any M, N, K: loads outside the matrices read zero and
// stores are bounds-checked. x is f32; w is f32/f16/bf16 (W_T), converted when staged.
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 16

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint W_T = DT_F32;
layout(constant_id = 1) const uint TRANS = 0;  // w stored [K, N] (rows of N)
layout(constant_id = 2) const uint HAS_BIAS = 0;

layout(binding = 0) writeonly buffer D { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };
DECL_BUF(2, w, readonly)
layout(binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform PC {
    uint M, N, K;
    uint ldx, ldw;            // row strides of x and w in elements
    uint xs2, xs3, xs4;       // x batch strides (elements)
    uint ws2, ws3, ws4;       // w batch strides (0 where w broadcasts)
    uint ne2, ne3;            // batch sizes of dims 2, 3 (dim 4 follows)
    uint xoff, woff, boff, doff;
    uint batch_base;          // first batch of this dispatch (grids hold 65535 in z)
} pc;

shared vec4 xs[BK][BM / 4];  // xs[k][r / 4][r % 4] = x[m0 + r, k0 + k]
shared vec4 ws[BK][BN / 4];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint tx = t % 16u, ty = t / 16u;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint bidx = pc.batch_base + gl_WorkGroupID.z;
    uint b2 = bidx % pc.ne2, b3 = (bidx / pc.ne2) % pc.ne3, b4 = bidx / (pc.ne2 * pc.ne3);
    uint xbase = pc.xoff + b2 * pc.xs2 + b3 * pc.xs3 + b4 * pc.xs4;
    uint wbase = pc.woff + b2 * pc.ws2 + b3 * pc.ws3 + b4 * pc.ws4;

    float acc[4][4];
    [[unroll]] for (int i = 0; i < 4; i++)
        [[unroll]] for (int j = 0; j < 4; j++) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        // Stage x[k0.., m0..] and w: 1024 elements each, 4 per thread, consecutive threads
        // reading consecutive addresses.
        [[unroll]] for (uint q = 0u; q < 4u; q++) {
            uint e = t + 256u * q;
            uint r = e / BK, k = e % BK;
            uint gm = m0 + r, gk = k0 + k;
            xs[k][r / 4u][r % 4u] = (gm < pc.M && gk < pc.K) ? x[xbase + gm * pc.ldx + gk] : 0.0;
            if (TRANS == 0u) {
                uint gn = n0 + r;
                uint wi = wbase + gn * pc.ldw + gk;
                ws[k][r / 4u][r % 4u] = (gn < pc.N && gk < pc.K) ? LOAD_F(w, wi, W_T) : 0.0;
            } else {
                uint kk = e / BN, c = e % BN;
                uint gn = n0 + c, gk2 = k0 + kk;
                uint wi = wbase + gk2 * pc.ldw + gn;
                ws[kk][c / 4u][c % 4u] = (gn < pc.N && gk2 < pc.K) ? LOAD_F(w, wi, W_T) : 0.0;
            }
        }
        barrier();
        [[unroll]] for (uint k = 0u; k < BK; k++) {
            vec4 a = xs[k][ty], b = ws[k][tx];
            [[unroll]] for (uint i = 0u; i < 4u; i++)
                [[unroll]] for (uint j = 0u; j < 4u; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    uint dbase = pc.doff + bidx * pc.M * pc.N;
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        uint gm = m0 + 4u * ty + i;
        if (gm >= pc.M) continue;
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            uint gn = n0 + 4u * tx + j;
            if (gn >= pc.N) continue;
            float v = acc[i][j];
            if (HAS_BIAS != 0u) v += bias[pc.boff + gn];
            d[dbase + gm * pc.N + gn] = v;
        }
    }
}
