#version 450
// duet — MATMUL on tensor cores through GL_NV_cooperative_matrix: same contract and push
// constants as matmul.comp (dst = x . w^T (+ bias), any M, N, K, batches), but the tiles are
// staged in shared memory as f16 and multiplied as 16 x 16 x 16 f16 cooperative matrices with
// f32 accumulation. Used only when the device reports VK_NV_cooperative_matrix with that
// shape, for f16/bf16 weights (bf16 -> f16 is exact for |w| in [6.1e-5, 65504]; f32 weights
// stay on the portable path). x is split into two f16 parts, x = hi + lo with hi = f16(x) and
// lo = f16(x - hi), and both are multiplied: the product then keeps about 22 bits of x instead
// of 11, close to the f32 kernels' accuracy, for twice the (cheap) tensor-core work. |x| must
// stay below 65504. A 128-thread workgroup (four subgroups of 32) computes a 64 x 64 tile,
// each subgroup a 32 x 32 quarter as 2 x 2 accumulators.
// NOT TESTED: lavapipe has no cooperative matrices; run tests/ops/test_matmul on an NVIDIA GPU.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#define STORAGE16 1
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 32

layout(local_size_x = 128) in;
layout(constant_id = 0) const uint W_T = DT_F16;
layout(constant_id = 1) const uint TRANS = 0;
layout(constant_id = 2) const uint HAS_BIAS = 0;

layout(binding = 0) writeonly buffer D { float d[]; };
layout(binding = 1) readonly buffer X { float x[]; };
DECL_BUF(2, w, readonly)
layout(binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform PC {
    uint M, N, K;
    uint ldx, ldw;
    uint xs2, xs3, xs4;
    uint ws2, ws3, ws4;
    uint ne2, ne3;
    uint xoff, woff, boff, doff;
    uint batch_base;
} pc;

shared float16_t xsh[BM * BK];  // [m][k], high part of x
shared float16_t xlo[BM * BK];  // [m][k], x - high part
shared float16_t wsh[BN * BK];  // [n][k]
shared float csh[BM * BN];      // [m][n] results before the bounds-checked store

#define FMAT16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FMAT32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

void main() {
    uint t = gl_LocalInvocationID.x;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint bidx = pc.batch_base + gl_WorkGroupID.z;
    uint b2 = bidx % pc.ne2, b3 = (bidx / pc.ne2) % pc.ne3, b4 = bidx / (pc.ne2 * pc.ne3);
    uint xbase = pc.xoff + b2 * pc.xs2 + b3 * pc.xs3 + b4 * pc.xs4;
    uint wbase = pc.woff + b2 * pc.ws2 + b3 * pc.ws3 + b4 * pc.ws4;
    uint sm = (gl_SubgroupID / 2u) * 32u, sn = (gl_SubgroupID % 2u) * 32u;

    FMAT32 c00 = FMAT32(0.0), c01 = FMAT32(0.0), c10 = FMAT32(0.0), c11 = FMAT32(0.0);
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        [[unroll]] for (uint q = 0u; q < 16u; q++) {
            uint e = t + 128u * q;
            uint r = e / BK, k = e % BK;
            uint gm = m0 + r, gk = k0 + k;
            float xv = gm < pc.M && gk < pc.K ? x[xbase + gm * pc.ldx + gk] : 0.0;
            float16_t hi = float16_t(xv);
            xsh[r * BK + k] = hi;
            xlo[r * BK + k] = float16_t(xv - float(hi));
            if (TRANS == 0u) {
                uint gn = n0 + r, wi = wbase + gn * pc.ldw + gk;
                wsh[r * BK + k] = float16_t(gn < pc.N && gk < pc.K ? LOAD_F(w, wi, W_T) : 0.0);
            } else {
                uint kk = e / BN, cc = e % BN;
                uint gn = n0 + cc, gk2 = k0 + kk, wi = wbase + gk2 * pc.ldw + gn;
                wsh[cc * BK + kk] = float16_t(gn < pc.N && gk2 < pc.K ? LOAD_F(w, wi, W_T) : 0.0);
            }
        }
        barrier();
        [[unroll]] for (uint kk = 0u; kk < BK; kk += 16u) {
            FMAT16 a0, a1, l0, l1, bb0, bb1;
            coopMatLoadNV(a0, xsh, sm * BK + kk, BK, false);
            coopMatLoadNV(a1, xsh, (sm + 16u) * BK + kk, BK, false);
            coopMatLoadNV(l0, xlo, sm * BK + kk, BK, false);
            coopMatLoadNV(l1, xlo, (sm + 16u) * BK + kk, BK, false);
            // B is K x N; wsh holds it column-major ([n][k], column stride BK).
            coopMatLoadNV(bb0, wsh, sn * BK + kk, BK, true);
            coopMatLoadNV(bb1, wsh, (sn + 16u) * BK + kk, BK, true);
            c00 = coopMatMulAddNV(a0, bb0, c00);
            c01 = coopMatMulAddNV(a0, bb1, c01);
            c10 = coopMatMulAddNV(a1, bb0, c10);
            c11 = coopMatMulAddNV(a1, bb1, c11);
            c00 = coopMatMulAddNV(l0, bb0, c00);
            c01 = coopMatMulAddNV(l0, bb1, c01);
            c10 = coopMatMulAddNV(l1, bb0, c10);
            c11 = coopMatMulAddNV(l1, bb1, c11);
        }
        barrier();
    }
    coopMatStoreNV(c00, csh, sm * BN + sn, BN, false);
    coopMatStoreNV(c01, csh, sm * BN + sn + 16u, BN, false);
    coopMatStoreNV(c10, csh, (sm + 16u) * BN + sn, BN, false);
    coopMatStoreNV(c11, csh, (sm + 16u) * BN + sn + 16u, BN, false);
    barrier();
    uint dbase = pc.doff + bidx * pc.M * pc.N;
    for (uint e = t; e < BM * BN; e += 128u) {
        uint gm = m0 + e / BN, gn = n0 + e % BN;
        if (gm >= pc.M || gn >= pc.N) continue;
        float v = csh[e];
        if (HAS_BIAS != 0u) v += bias[pc.boff + gn];
        d[dbase + gm * pc.N + gn] = v;
    }
}
