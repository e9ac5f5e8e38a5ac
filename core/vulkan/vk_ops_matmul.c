/* duet — host side of MATMUL: dst [N, M, batch] = x [K, M, batch] . w^T (+ bias). Picks the
 * cooperative-matrix shader (shaders/matmul_coopmat_nv.comp) for f16/bf16 weights when the
 * device and build have it, else the portable tiled kernel (shaders/matmul.comp) with the
 * weight dtype as a specialization constant. Batches (dims 2..4) go in grid z, split into
 * several dispatches beyond maxComputeWorkGroupCount[2]. */
#include <string.h>

#include "vk_internal.h"

#define TILE 64

duet_status duet_vk_op_matmul(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
    duet_tensor *dst = op->dst;
    bool trans = op->i[0] != 0;
    uint32_t xs[DUET_MAX_DIMS], ws[DUET_MAX_DIMS], off[4] = {0, 0, 0, 0};
    duet_status st = duet_vk_elem_strides(x, xs);
    if (st == DUET_OK) st = duet_vk_elem_strides(w, ws);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, x, &off[0]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, w, &off[1]);
    if (st == DUET_OK && bias) st = duet_vk_elem_offset(c, bias, &off[2]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, dst, &off[3]);
    if (st != DUET_OK) return st;
    if (duet_nelements(dst) > (int64_t)UINT32_MAX) {
        DUET_LOGE("vulkan: matmul output %s has more than 2^32 elements", duet_vk_name(dst));
        return DUET_ERR_UNSUPPORTED;
    }
    uint64_t M = (uint64_t)x->ne[1], N = (uint64_t)dst->ne[0], K = (uint64_t)x->ne[0];
    uint64_t batches = (uint64_t)(x->ne[2] * x->ne[3] * x->ne[4]);
    bool coop = c->use_coopmat && (w->dtype == DUET_F16 || w->dtype == DUET_BF16);
    bool half = w->dtype != DUET_F32;

    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    d.shader = coop ? "matmul_coopmat_nv" : half && c->use_16bit ? "matmul_u16" : "matmul_u32";
    d.spec[0] = duet_vk_dt(w->dtype);
    d.spec[1] = trans;
    d.spec[2] = bias != NULL;
    d.n_spec = 3;
    d.bind[0] = dst;
    d.bind[1] = x;
    d.bind[2] = w;
    d.bind[3] = bias;
    uint32_t *p = d.push;
    p[0] = (uint32_t)M;
    p[1] = (uint32_t)N;
    p[2] = (uint32_t)K;
    p[3] = xs[1] ? xs[1] : (uint32_t)K; /* a single row: any stride works */
    p[4] = ws[1] ? ws[1] : (uint32_t)(trans ? N : K);
    for (int i = 2; i < 5; i++) {
        p[3 + i] = xs[i];
        p[6 + i] = w->ne[i] == 1 ? 0 : ws[i];
    }
    p[11] = (uint32_t)x->ne[2];
    p[12] = (uint32_t)x->ne[3];
    memcpy(p + 13, off, 16);
    d.push_bytes = 18 * 4;
    d.groups[0] = (uint32_t)((N + TILE - 1) / TILE);
    d.groups[1] = (uint32_t)((M + TILE - 1) / TILE);
    const uint32_t *maxg = c->caps.props.limits.maxComputeWorkGroupCount;
    if (d.groups[0] > maxg[0] || d.groups[1] > maxg[1]) {
        DUET_LOGE("vulkan: matmul %s of %llu x %llu exceeds the workgroup grid", duet_vk_name(dst),
                  (unsigned long long)M, (unsigned long long)N);
        return DUET_ERR_UNSUPPORTED;
    }
    for (uint64_t b0 = 0; b0 < batches && st == DUET_OK; b0 += maxg[2]) {
        uint64_t nb = batches - b0 < maxg[2] ? batches - b0 : maxg[2];
        d.groups[2] = (uint32_t)nb;
        p[17] = (uint32_t)b0;
        st = duet_vk_record(c, &d);
    }
    return st;
}
