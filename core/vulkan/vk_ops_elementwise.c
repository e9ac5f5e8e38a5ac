/* duet — host side of COPY (shaders/copy.comp) and the elementwise family
 * (shaders/elementwise.comp): element strides per operand, size-1 and contiguous dimensions
 * folded away so the shaders index with few divisions, broadcast operands given stride 0. */
#include <string.h>

#include "vk_internal.h"

#define NMAX 4 /* operands per op: dst + 3 sources */

/* Shape shared by n operands with per-operand element strides; folded in place. */
typedef struct {
    uint32_t ne[DUET_MAX_DIMS];
    uint32_t st[NMAX][DUET_MAX_DIMS];
    int n;
} folded;

/* Drop size-1 dims and merge dim d into the previous kept one when every operand steps
 * through them as one (stride[d] == stride[prev] * ne[prev]). Returns the dims left (>= 1). */
static uint32_t fold(folded *f, const int64_t *ne) {
    uint32_t one[DUET_MAX_DIMS], ost[NMAX][DUET_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < DUET_MAX_DIMS; d++) {
        if (ne[d] == 1) continue;
        bool merge = nd > 0;
        for (int k = 0; k < f->n && merge; k++) merge = f->st[k][d] == ost[k][nd - 1] * one[nd - 1];
        if (merge) {
            one[nd - 1] *= (uint32_t)ne[d];
            continue;
        }
        one[nd] = (uint32_t)ne[d];
        for (int k = 0; k < f->n; k++) ost[k][nd] = f->st[k][d];
        nd++;
    }
    for (int d = 0; d < DUET_MAX_DIMS; d++) {
        f->ne[d] = d < nd ? one[d] : 1;
        for (int k = 0; k < f->n; k++) f->st[k][d] = d < nd ? ost[k][d] : 0;
    }
    return nd > 0 ? (uint32_t)nd : 1u;
}

static duet_status count(const duet_tensor *t, uint32_t *n) {
    int64_t total = duet_nelements(t);
    if (total > (int64_t)UINT32_MAX) {
        DUET_LOGE("vulkan: %s has %lld elements; one dispatch handles below 2^32", duet_vk_name(t),
                  (long long)total);
        return DUET_ERR_UNSUPPORTED;
    }
    *n = (uint32_t)total;
    return DUET_OK;
}

duet_status duet_vk_op_copy(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *src = op->src[0];
    duet_tensor *dst = op->dst;
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    folded f = {.n = 2};
    uint32_t n, doff, soff;
    duet_status st = count(dst, &n);
    if (st == DUET_OK) st = duet_vk_elem_strides(dst, f.st[0]);
    if (st == DUET_OK) st = duet_vk_elem_strides(src, f.st[1]);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, dst, &doff);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, src, &soff);
    if (st != DUET_OK) return st;
    uint32_t nd = fold(&f, dst->ne);
    bool half = dst->dtype == DUET_F16 || dst->dtype == DUET_BF16 || src->dtype == DUET_F16 ||
                src->dtype == DUET_BF16;
    d.shader = half && c->use_16bit ? "copy_u16" : "copy_u32";
    d.spec[0] = duet_vk_dt(src->dtype);
    d.spec[1] = duet_vk_dt(dst->dtype);
    d.spec[2] = nd;
    d.n_spec = 3;
    d.bind[0] = dst;
    d.bind[1] = src;
    uint32_t *p = d.push;
    memcpy(p, f.ne, 20);
    memcpy(p + 5, f.st[0], 20);
    memcpy(p + 10, f.st[1], 20);
    p[15] = doff;
    p[16] = soff;
    p[17] = n;
    d.push_bytes = 18 * 4;
    duet_vk_grid1d(c, (n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}

enum { EW_ADD, EW_MUL, EW_AFFINE, EW_SCALE, EW_MODULATE, EW_GATED_ADD, EW_UNARY, EW_SWIGLU };

static uint32_t ew_code(duet_op_kind k) {
    switch (k) {
    case DUET_OP_ADD: return EW_ADD;
    case DUET_OP_MUL: return EW_MUL;
    case DUET_OP_AFFINE: return EW_AFFINE;
    case DUET_OP_SCALE: return EW_SCALE;
    case DUET_OP_MODULATE: return EW_MODULATE;
    case DUET_OP_GATED_ADD: return EW_GATED_ADD;
    case DUET_OP_UNARY: return EW_UNARY;
    default: return EW_SWIGLU;
    }
}

duet_status duet_vk_op_elementwise(duet_vk_ctx *c, const duet_op *op) {
    duet_tensor *dst = op->dst;
    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    folded f = {.n = 4};
    uint32_t n, off[4] = {0, 0, 0, 0};
    duet_status st = count(dst, &n);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, dst, &off[0]);
    memset(f.st[0], 0, sizeof f.st[0]);
    for (int i = 0; i < 3 && st == DUET_OK; i++) {
        const duet_tensor *s = op->src[i];
        if (!s) {
            memset(f.st[i + 1], 0, sizeof f.st[i + 1]);
            continue;
        }
        st = duet_vk_elem_strides(s, f.st[i + 1]); /* size-1 dims get stride 0: broadcast */
        if (st == DUET_OK) st = duet_vk_elem_offset(c, s, &off[i + 1]);
    }
    if (st != DUET_OK) return st;
    /* dst is contiguous: its stride row only constrains folding to dst order */
    uint32_t acc = 1;
    for (int k = 0; k < DUET_MAX_DIMS; k++) {
        f.st[0][k] = dst->ne[k] == 1 ? 0 : acc;
        acc *= (uint32_t)dst->ne[k];
    }
    uint32_t nd = fold(&f, dst->ne);
    d.shader = "elementwise";
    d.spec[0] = ew_code(op->kind);
    d.spec[1] = op->kind == DUET_OP_UNARY ? (uint32_t)op->i[0] : 0;
    d.spec[2] = op->src[1] != NULL;
    d.spec[3] = op->src[2] != NULL;
    d.spec[4] = nd;
    d.n_spec = 5;
    for (int i = 0; i < 4; i++) d.bind[i] = i ? op->src[i - 1] : dst;
    uint32_t *p = d.push;
    memcpy(p, f.ne, 20);
    for (int k = 0; k < 3; k++) memcpy(p + 5 + 5 * k, f.st[k + 1], 20);
    memcpy(p + 20, off, 16);
    p[24] = n;
    memcpy(p + 25, &op->f[0], 4);
    memcpy(p + 26, &op->f[1], 4);
    d.push_bytes = 27 * 4;
    duet_vk_grid1d(c, (n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}
