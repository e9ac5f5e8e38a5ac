/* duet — host side of ATTENTION (shaders/attention.comp, flash style). Picks the key-tile
 * size BKV so the workgroup's shared memory (query block, K/V tile, probabilities, two
 * reduction arrays) fits maxComputeSharedMemorySize for the head dimension; head dims above
 * 256 are not supported by this kernel. */
#include <string.h>

#include "vk_internal.h"

#define BQ 16
#define MAX_HEAD_DIM 256

static uint64_t shared_bytes(uint64_t dmax, uint64_t bkv) {
    return 4 * (BQ * (dmax + 1) + bkv * (dmax + 1) + BQ * bkv + 256);
}

duet_status duet_vk_op_attention(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *bias = op->src[3];
    duet_tensor *dst = op->dst;
    uint64_t D = (uint64_t)q->ne[0];
    uint64_t dmax = (D + 7) / 8 * 8;
    uint32_t bkv = 0;
    for (uint32_t cand = 64; cand >= 8 && !bkv; cand /= 2)
        if (shared_bytes(dmax, cand) <= c->caps.props.limits.maxComputeSharedMemorySize) bkv = cand;
    if (D > MAX_HEAD_DIM || !bkv) {
        DUET_LOGE("vulkan: attention head dim %llu is not supported (at most %d, and it must fit "
                  "%u bytes of shared memory)",
                  (unsigned long long)D, MAX_HEAD_DIM,
                  c->caps.props.limits.maxComputeSharedMemorySize);
        return DUET_ERR_UNSUPPORTED;
    }
    uint32_t qs[DUET_MAX_DIMS], ks[DUET_MAX_DIMS], vs[DUET_MAX_DIMS], off[5] = {0, 0, 0, 0, 0};
    duet_status st = duet_vk_elem_strides(q, qs);
    if (st == DUET_OK) st = duet_vk_elem_strides(k, ks);
    if (st == DUET_OK) st = duet_vk_elem_strides(v, vs);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, q, &off[0]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, k, &off[1]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, v, &off[2]);
    if (st == DUET_OK && bias) st = duet_vk_elem_offset(c, bias, &off[3]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, dst, &off[4]);
    if (st != DUET_OK) return st;
    const uint32_t *maxg = c->caps.props.limits.maxComputeWorkGroupCount;
    uint64_t gx = ((uint64_t)q->ne[2] + BQ - 1) / BQ;
    if (gx > maxg[0] || (uint64_t)q->ne[1] > maxg[1] || (uint64_t)q->ne[3] > maxg[2]) {
        DUET_LOGE("vulkan: attention %s exceeds the workgroup grid", duet_vk_name(dst));
        return DUET_ERR_UNSUPPORTED;
    }
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    d.shader = "attention";
    d.spec[0] = (uint32_t)dmax;
    d.spec[1] = bkv;
    d.spec[2] = bias != NULL;
    d.n_spec = 3;
    d.bind[0] = dst;
    d.bind[1] = q;
    d.bind[2] = k;
    d.bind[3] = v;
    d.bind[4] = bias;
    uint32_t *p = d.push;
    p[0] = (uint32_t)D;
    p[1] = (uint32_t)q->ne[1];
    p[2] = (uint32_t)q->ne[2];
    p[3] = (uint32_t)k->ne[2];
    for (int i = 1; i < 4; i++) {
        p[3 + i] = qs[i];
        p[6 + i] = ks[i];
        p[9 + i] = vs[i];
    }
    p[13] = off[0];
    p[14] = off[1];
    p[15] = off[2];
    p[16] = off[3];
    p[17] = off[4];
    memcpy(p + 18, &op->f[0], 4);
    d.push_bytes = 19 * 4;
    d.groups[0] = (uint32_t)gx;
    d.groups[1] = (uint32_t)q->ne[1];
    d.groups[2] = (uint32_t)q->ne[3];
    return duet_vk_record(c, &d);
}
