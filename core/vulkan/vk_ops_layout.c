/* duet — host side of the layout ops: UPSAMPLE_NEAREST, PIXEL_UNSHUFFLE, PIXEL_SHUFFLE
 * (shaders/resample.comp), SNAKE_BETA (shaders/snake.comp) and GET_ROWS
 * (shaders/get_rows.comp). All sources are contiguous; one invocation per dst element. */
#include <string.h>

#include "vk_internal.h"

static duet_status resample(duet_vk_ctx *c, const duet_op *op, uint32_t n) {
    const duet_tensor *x = op->src[0];
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    uint32_t *p = d.push;
    duet_status st = duet_vk_elem_offset(c, x, &p[11]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, op->dst, &p[12]);
    if (st != DUET_OK) return st;
    for (int i = 0; i < 4; i++) {
        p[i] = (uint32_t)op->dst->ne[i];
        p[4 + i] = (uint32_t)x->ne[i];
    }
    bool up = op->kind == DUET_OP_UPSAMPLE_NEAREST;
    p[8] = (uint32_t)op->i[0];
    p[9] = up ? (uint32_t)op->i[1] : 1;
    p[10] = up ? (uint32_t)op->i[2] : 1;
    p[13] = n;
    d.shader = "resample";
    d.spec[0] = up ? 0 : op->kind == DUET_OP_PIXEL_UNSHUFFLE ? 1 : 2;
    d.n_spec = 1;
    d.bind[0] = op->dst;
    d.bind[1] = x;
    d.push_bytes = 14 * 4;
    duet_vk_grid1d(c, (n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}

static duet_status snake(duet_vk_ctx *c, const duet_op *op, uint32_t n) {
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    uint32_t *p = d.push;
    p[0] = (uint32_t)op->src[0]->ne[0];
    p[1] = (uint32_t)op->src[0]->ne[1];
    p[2] = n;
    duet_status st = DUET_OK;
    for (int i = 0; i < 3 && st == DUET_OK; i++) st = duet_vk_elem_offset(c, op->src[i], &p[3 + i]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, op->dst, &p[6]);
    if (st != DUET_OK) return st;
    d.shader = "snake";
    d.spec[0] = op->i[0] != 0;
    d.n_spec = 1;
    d.bind[0] = op->dst;
    for (int i = 0; i < 3; i++) d.bind[1 + i] = op->src[i];
    d.push_bytes = 7 * 4;
    duet_vk_grid1d(c, (n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}

static duet_status get_rows(duet_vk_ctx *c, const duet_op *op, uint32_t n) {
    const duet_tensor *tab = op->src[0], *ids = op->src[1];
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    uint32_t *p = d.push;
    p[0] = (uint32_t)tab->ne[0];
    p[1] = (uint32_t)tab->ne[1];
    p[2] = n;
    duet_status st = duet_vk_elem_offset(c, tab, &p[3]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, ids, &p[4]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, op->dst, &p[5]);
    if (st != DUET_OK) return st;
    d.shader = tab->dtype != DUET_F32 && c->use_16bit ? "get_rows_u16" : "get_rows_u32";
    d.spec[0] = duet_vk_dt(tab->dtype);
    d.n_spec = 1;
    d.bind[0] = op->dst;
    d.bind[1] = tab;
    d.bind[2] = ids;
    d.push_bytes = 6 * 4;
    duet_vk_grid1d(c, (n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}

duet_status duet_vk_op_layout(duet_vk_ctx *c, const duet_op *op) {
    if (duet_nelements(op->dst) > (int64_t)UINT32_MAX) {
        DUET_LOGE("vulkan: %s: output above 2^32 elements", duet_op_name(op->kind));
        return DUET_ERR_UNSUPPORTED;
    }
    uint32_t n = (uint32_t)duet_nelements(op->dst);
    switch (op->kind) {
    case DUET_OP_UPSAMPLE_NEAREST:
    case DUET_OP_PIXEL_UNSHUFFLE:
    case DUET_OP_PIXEL_SHUFFLE: return resample(c, op, n);
    case DUET_OP_SNAKE_BETA: return snake(c, op, n);
    case DUET_OP_GET_ROWS: return get_rows(c, op, n);
    default: return DUET_ERR_UNSUPPORTED;
    }
}
