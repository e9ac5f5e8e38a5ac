/* duet — host side of the row-wise ops: LAYERNORM, RMSNORM, SOFTMAX (shaders/rowwise.comp, one
 * workgroup per row) and ROPE (shaders/rope.comp, one invocation per rotated pair). Sources
 * have contiguous rows and any outer strides, passed in elements. */
#include <string.h>

#include "vk_internal.h"

static duet_status too_many(const duet_tensor *t) {
    DUET_LOGE("vulkan: %s is too large for one dispatch (%lld elements)", duet_vk_name(t),
              (long long)duet_nelements(t));
    return DUET_ERR_UNSUPPORTED;
}

duet_status duet_vk_op_rowwise(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0];
    duet_tensor *dst = op->dst;
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    uint32_t st[DUET_MAX_DIMS], off[4] = {0, 0, 0, 0};
    int64_t rows = duet_nelements(x) / x->ne[0];
    if (duet_nelements(x) > (int64_t)UINT32_MAX) return too_many(x);
    duet_status s = duet_vk_elem_strides(x, st);
    if (s == DUET_OK) s = duet_vk_elem_offset(c, dst, &off[0]);
    if (s == DUET_OK) s = duet_vk_elem_offset(c, x, &off[1]);
    for (int i = 1; i < 3 && s == DUET_OK; i++)
        if (op->src[i]) s = duet_vk_elem_offset(c, op->src[i], &off[i + 1]);
    if (s != DUET_OK) return s;
    d.shader = "rowwise";
    d.spec[0] = op->kind == DUET_OP_LAYERNORM ? 0 : op->kind == DUET_OP_RMSNORM ? 1 : 2;
    d.spec[1] = op->src[1] != NULL;
    d.spec[2] = op->src[2] != NULL;
    d.n_spec = 3;
    d.bind[0] = dst;
    for (int i = 0; i < 3; i++) d.bind[i + 1] = op->src[i];
    uint32_t *p = d.push;
    for (int i = 0; i < 4; i++) p[i] = (uint32_t)x->ne[i];
    for (int i = 1; i < 5; i++) p[3 + i] = st[i];
    memcpy(p + 8, off, 16);
    p[12] = (uint32_t)rows;
    memcpy(p + 13, &op->f[0], 4);
    d.push_bytes = 14 * 4;
    duet_vk_grid1d(c, (uint64_t)rows, d.groups);
    return duet_vk_record(c, &d);
}

duet_status duet_vk_op_rope(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0], *tab = op->src[1];
    duet_tensor *dst = op->dst;
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    uint32_t st[DUET_MAX_DIMS], off[3];
    if (duet_nelements(x) > (int64_t)UINT32_MAX) return too_many(x);
    duet_status s = duet_vk_elem_strides(x, st);
    if (s == DUET_OK) s = duet_vk_elem_offset(c, dst, &off[0]);
    if (s == DUET_OK) s = duet_vk_elem_offset(c, x, &off[1]);
    if (s == DUET_OK) s = duet_vk_elem_offset(c, tab, &off[2]);
    if (s != DUET_OK) return s;
    uint32_t pairs = (uint32_t)(duet_nelements(x) / 2);
    d.shader = "rope";
    d.bind[0] = dst;
    d.bind[1] = x;
    d.bind[2] = tab;
    uint32_t *p = d.push;
    p[0] = (uint32_t)(x->ne[0] / 2);
    for (int i = 1; i < 4; i++) p[i] = (uint32_t)x->ne[i];
    for (int i = 1; i < 5; i++) p[3 + i] = st[i];
    memcpy(p + 8, off, 12);
    p[11] = pairs;
    d.push_bytes = 12 * 4;
    duet_vk_grid1d(c, (pairs + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}
