/* duet — host side of the convolutions (shaders/conv.comp, direct: one invocation per output
 * element): fills the generic push block (dims, taps, strides, leading pads) per kind. */
#include <string.h>

#include "vk_internal.h"

typedef struct {
    uint32_t od[4], id[4], k[3], s[3], p[3];
    uint32_t dil, cin, tc;
    uint32_t xoff, woff, boff, doff, coff;
    uint32_t n;
} conv_push;

static void dims4(uint32_t out[4], const duet_tensor *t) {
    for (int i = 0; i < 4; i++) out[i] = (uint32_t)t->ne[i];
}

/* Fill kind-specific fields; returns the shader's KIND. */
static uint32_t describe(const duet_op *op, conv_push *p) {
    const duet_tensor *x = op->src[0], *w = op->src[1];
    const int32_t *a = op->i;
    switch (op->kind) {
    case DUET_OP_CONV1D: /* w [K, Cin, Cout] */
        p->k[0] = (uint32_t)w->ne[0];
        p->s[0] = (uint32_t)a[0];
        p->p[0] = (uint32_t)a[1];
        p->dil = (uint32_t)a[2];
        p->cin = (uint32_t)x->ne[1];
        return 0;
    case DUET_OP_CONV_TRANSPOSE1D: /* w [K, Cout, Cin] */
        p->k[0] = (uint32_t)w->ne[0];
        p->s[0] = (uint32_t)a[0];
        p->p[0] = (uint32_t)a[1];
        p->cin = (uint32_t)x->ne[1];
        return 1;
    case DUET_OP_CONV2D: /* w [kw, kh, Cin, Cout]; pads left, right, top, bottom */
        p->k[0] = (uint32_t)w->ne[0];
        p->k[1] = (uint32_t)w->ne[1];
        p->s[0] = (uint32_t)a[0];
        p->s[1] = (uint32_t)a[1];
        p->p[0] = (uint32_t)a[2];
        p->p[1] = (uint32_t)a[4];
        p->cin = (uint32_t)x->ne[2];
        return 2;
    default: { /* CONV3D: w [kw, kh, kt, Cin, Cout] */
        const duet_tensor *cache = op->src[3];
        for (int i = 0; i < 3; i++) {
            p->k[i] = (uint32_t)w->ne[i];
            p->s[i] = (uint32_t)a[i];
        }
        p->p[0] = (uint32_t)a[3];
        p->p[1] = (uint32_t)a[4];
        p->tc = cache ? (uint32_t)cache->ne[2] : 0;
        p->p[2] = cache ? p->tc : (uint32_t)a[5];
        p->cin = (uint32_t)x->ne[3];
        return 3;
    }
    }
}

duet_status duet_vk_op_conv(duet_vk_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
    const duet_tensor *cache = op->kind == DUET_OP_CONV3D ? op->src[3] : NULL;
    duet_tensor *dst = op->dst;
    conv_push p;
    memset(&p, 0, sizeof p);
    duet_status st = duet_vk_elem_offset(c, x, &p.xoff);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, w, &p.woff);
    if (st == DUET_OK && bias) st = duet_vk_elem_offset(c, bias, &p.boff);
    if (st == DUET_OK && cache) st = duet_vk_elem_offset(c, cache, &p.coff);
    if (st == DUET_OK) st = duet_vk_elem_offset(c, dst, &p.doff);
    if (st != DUET_OK) return st;
    if (duet_nelements(dst) > (int64_t)UINT32_MAX || duet_nelements(x) > (int64_t)UINT32_MAX) {
        DUET_LOGE("vulkan: %s: tensors above 2^32 elements are not supported",
                  duet_op_name(op->kind));
        return DUET_ERR_UNSUPPORTED;
    }
    dims4(p.od, dst);
    dims4(p.id, x);
    for (int i = 0; i < 3; i++) p.k[i] = p.s[i] = 1;
    uint32_t kind = describe(op, &p);
    p.n = (uint32_t)duet_nelements(dst);

    duet_vk_dispatch d;
    memset(&d, 0, sizeof d);
    d.shader = w->dtype != DUET_F32 && c->use_16bit ? "conv_u16" : "conv_u32";
    d.spec[0] = kind;
    d.spec[1] = duet_vk_dt(w->dtype);
    d.spec[2] = bias != NULL;
    d.spec[3] = cache != NULL;
    d.n_spec = 4;
    d.bind[0] = dst;
    d.bind[1] = x;
    d.bind[2] = w;
    d.bind[3] = bias;
    d.bind[4] = cache;
    memcpy(d.push, &p, sizeof p);
    d.push_bytes = sizeof p;
    duet_vk_grid1d(c, (p.n + 255) / 256, d.groups);
    return duet_vk_record(c, &d);
}
